import NIOCore
import SNPProtocol
import SNPStore
import Synchronization

/// How many lines of one connection have been handed to its session and not yet answered.
///
/// Incremented on the event loop when a line goes to the session; decremented when the
/// line turns out to need no reply (a blank line), or, for replies, by a task the writer
/// puts on the event loop *after* handing the reply to the channel: the event loop runs
/// its tasks in order, so once the count reads zero there, every reply has been written.
final class LinesInFlight: Sendable {
    private let count = Atomic<Int>(0)

    func add() { count.add(1, ordering: .relaxed) }
    func done(_ n: Int = 1) { count.subtract(n, ordering: .relaxed) }
    var isZero: Bool { count.load(ordering: .relaxed) == 0 }
}

/// Answers `PING`, and read-only commands whose answer is already durable, on the event
/// loop itself when nothing else of the connection is waiting for its reply: no trip through
/// the session's task, the reply queue and the writer task (three hops between threads).
/// Replies stay in order: with anything in flight, every line takes the normal path behind it.
///
/// Only the exact line `PING` (any case, optional `\r`) is answered here without a
/// principal. A read whose work and reply are bounded (`SLOT FIND`, `REQ GET`…,
/// `CommandHandlers.boundedReads`) is answered here when the connection has authenticated
/// with a role that may run it, and the engine has no change waiting for its commit and
/// nothing due (`MatchingService.read(…, onlyIfDurable: true)`). The lists, which may scan
/// every record and run to 100 000 lines, are not: they would hold up every connection of
/// this event loop. Everything else, errors included, goes to the session as before,
/// which answers it exactly as if this handler were not there.
///
/// Replies written here count in the connection's `UnwrittenBytes` like the session's, and
/// `ReadGate`, before this handler, stops passing lines while the connection is over its
/// bound: a client that sends without reading is not read, whichever path answers it.
final class FastPath: ChannelInboundHandler {
    typealias InboundIn = InboundLine
    typealias InboundOut = InboundLine
    typealias OutboundOut = ByteBuffer

    private let inFlight: LinesInFlight
    private let principal: SharedPrincipal
    private let server: ServerContext
    private let unwritten: UnwrittenBytes
    private let pong: ByteBuffer
    private var needsFlush = false

    init(inFlight: LinesInFlight, principal: SharedPrincipal, server: ServerContext, unwritten: UnwrittenBytes) {
        self.inFlight = inFlight
        self.principal = principal
        self.server = server
        self.unwritten = unwritten
        pong = ByteBuffer(string: "OK pong\n")
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .line(let line) = unwrapInboundIn(data), inFlight.isZero {
            if Self.isBarePing(line) {
                write(pong, context: context)
                return
            }
            if let text = read(line) {
                write(ByteBuffer(string: text), context: context)
                return
            }
        }
        inFlight.add()
        context.fireChannelRead(data)
    }

    /// Writes a reply, counted unwritten until the kernel has it. Flushed once the lines
    /// of this read are handled (one system call for a pipelined batch, not one a reply).
    private func write(_ reply: ByteBuffer, context: ChannelHandlerContext) {
        let cost = UnwrittenBytes.cost(ofBytes: reply.readableBytes)
        let unwritten = self.unwritten
        unwritten.add(cost)
        context.write(wrapOutboundOut(reply)).whenComplete { _ in unwritten.remove(cost) }
        needsFlush = true
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded(context)
        context.fireChannelReadComplete()
    }

    /// A last line decoded at a half-close comes without a read-complete.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        flushIfNeeded(context)
        context.fireUserInboundEventTriggered(event)
    }

    private func flushIfNeeded(_ context: ChannelHandlerContext) {
        guard needsFlush else { return }
        needsFlush = false
        context.flush()
    }

    /// The reply to `line` if it is a read this connection may run and that needs no commit.
    private func read(_ line: ByteBuffer) -> String? {
        guard let principal = principal.value,
            let parsed = try? LineParser.parse(line.readableBytesView),
            let (spec, args) = try? CommandTable.resolve(parsed),
            CommandHandlers.boundedReads.contains(spec.name),
            spec.roles?.contains(principal.role) == true
        else { return nil }
        return server.service.read(
            spec, args, as: principal, connections: server.connectionCount(), onlyIfDurable: true)?.text
    }

    static func isBarePing(_ line: ByteBuffer) -> Bool {
        let bytes = line.readableBytesView
        guard bytes.count == 4 || (bytes.count == 5 && bytes.last == UInt8(ascii: "\r")) else { return false }
        // ASCII letters: clearing bit 5 makes them upper case.
        let word: [UInt8] = Array("PING".utf8)
        return zip(bytes.prefix(4), word).allSatisfy { $0 & 0xDF == $1 }
    }
}

/// The connection's principal once it has authenticated: set by its session, read by its
/// `FastPath` on the event loop and by its authentication timer.
final class SharedPrincipal: Sendable {
    private let principal = Mutex<Principal?>(nil)

    func set(_ p: Principal) { principal.withLock { $0 = p } }
    var value: Principal? { principal.withLock { $0 } }
    var isSet: Bool { value != nil }
}
