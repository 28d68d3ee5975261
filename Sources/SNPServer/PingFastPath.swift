import NIOCore
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

/// Answers `PING` on the event loop itself when nothing else of the connection is waiting
/// for its reply: no trip through the session's task, the reply queue and the writer task
/// (three hops between threads for eight bytes). Replies stay in order: with anything in
/// flight, `PING` takes the normal path behind it.
///
/// Only the exact line `PING` (any case, optional `\r`) is answered here; `PING x` and
/// everything else go to the session as before.
final class PingFastPath: ChannelInboundHandler {
    typealias InboundIn = InboundLine
    typealias InboundOut = InboundLine
    typealias OutboundOut = ByteBuffer

    private let inFlight: LinesInFlight
    private let pong: ByteBuffer

    init(inFlight: LinesInFlight) {
        self.inFlight = inFlight
        pong = ByteBuffer(string: "OK pong\n")
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .line(let line) = unwrapInboundIn(data), inFlight.isZero, Self.isBarePing(line) {
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
            return
        }
        inFlight.add()
        context.fireChannelRead(data)
    }

    static func isBarePing(_ line: ByteBuffer) -> Bool {
        let bytes = line.readableBytesView
        guard bytes.count == 4 || (bytes.count == 5 && bytes.last == UInt8(ascii: "\r")) else { return false }
        // ASCII letters: clearing bit 5 makes them upper case.
        let word: [UInt8] = Array("PING".utf8)
        return zip(bytes.prefix(4), word).allSatisfy { $0 & 0xDF == $1 }
    }
}
