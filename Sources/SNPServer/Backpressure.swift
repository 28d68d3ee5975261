import NIOCore
import Synchronization

/// What one connection has produced for its client and the kernel has not yet taken, in
/// bytes: replies waiting for their commit or for the writer, events, and what sits in the
/// channel's outgoing buffer. A list of 100 lines counts for its size; each item also
/// counts `overheadPerItem` for its bookkeeping, so that a flood of 8-byte `OK pong` is not
/// free either.
///
/// The one bound on what a client that sends without reading can make the daemon hold
/// (SPEC §4.4), whatever path its lines take: every reply and event is counted here when it
/// is produced (`add`) and counted down when its write completes (`remove`). At `high` the
/// connection stops being read: its `ReadGate` keeps the lines already decoded and asks the
/// socket for no more, and its session waits (`waitForRoom`) before taking another line;
/// TCP then pushes back on the client. Reading resumes once the kernel has taken enough
/// that at most `low` is left. `ConnectionGuard` closes a connection that stays stopped for
/// `SNPD_WRITE_TIMEOUT`. Events, which the commit path offers without waiting, are refused
/// above `eventLimit` (the watcher is then closed).
///
/// A connection can hold at most about `high` plus one reply (the one that crossed it) plus
/// the lines of one read from its socket.
final class UnwrittenBytes: Sendable {
    /// Fired down the connection's pipeline, from its head and on its event loop, after the
    /// connection stops or may resume being read. It carries no state: handlers read
    /// `isOver`, which is always current, so two of these seen out of order do no harm.
    struct Changed {}

    /// What an item costs beyond its bytes: the queue's entry, or the channel's pending write.
    static let overheadPerItem = 64

    let high: Int
    let low: Int
    let eventLimit: Int
    private let channel: any Channel

    private struct State {
        var bytes = 0
        var over = false
        var finished = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    init(channel: any Channel, high: Int) {
        self.channel = channel
        self.high = high
        self.low = high / 4
        self.eventLimit = high * 4
    }

    /// What a reply or event of `byteCount` bytes counts for.
    static func cost(ofBytes byteCount: Int) -> Int { byteCount + overheadPerItem }

    /// Whether the connection is over its bound (and not yet back to `low`): read nothing more.
    var isOver: Bool { state.withLock { $0.over } }

    var bytes: Int { state.withLock { $0.bytes } }

    /// Counts `cost` produced for the client.
    func add(_ cost: Int) {
        let stopped = state.withLock { s in
            s.bytes += cost
            guard !s.over, s.bytes >= high else { return false }
            s.over = true
            return true
        }
        if stopped { announce() }
    }

    /// Counts `cost` taken by the kernel (or dropped with the connection).
    func remove(_ cost: Int) {
        let resumed: [CheckedContinuation<Void, Never>]? = state.withLock { s in
            s.bytes -= cost
            guard s.over, s.bytes <= low else { return nil }
            s.over = false
            defer { s.waiters = [] }
            return s.waiters
        }
        guard let resumed else { return }
        for w in resumed { w.resume() }
        announce()
    }

    /// Returns once the connection may be read again (at once if it is not over its bound).
    func waitForRoom() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s in
                guard s.over, !s.finished else { return true }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    /// The connection is ending: nobody waits for room any more.
    func finish() {
        let waiters = state.withLock { s in
            s.finished = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }

    private func announce() {
        let channel = self.channel
        channel.eventLoop.execute { channel.pipeline.fireUserInboundEventTriggered(Changed()) }
    }
}

/// Stops reading a connection while it is over its `UnwrittenBytes` bound, on every path:
/// the lines that `FastPath` answers on the event loop and those that go to the session.
///
/// Sits right after the line decoder. While the connection is over its bound, the lines
/// already decoded (at most one read's worth) wait here, in order, and the socket is not
/// asked for more (`read` is held back, as with `autoRead` off); TCP then fills up and the
/// client's sends block. When the bound frees, the waiting lines go on one at a time, as
/// long as the bound allows, then reading resumes. A half-close (`inputClosed`) waits
/// behind the lines, so that they are still answered. Everything runs on the event loop.
final class ReadGate: ChannelDuplexHandler {
    typealias InboundIn = InboundLine
    typealias InboundOut = InboundLine
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Waiting {
        case line(NIOAny)
        case event(Any)
    }

    private let unwritten: UnwrittenBytes
    private var waiting = CircularBuffer<Waiting>()
    private var readHeldBack = false

    init(unwritten: UnwrittenBytes) { self.unwritten = unwritten }

    private var mustWait: Bool { !waiting.isEmpty || unwritten.isOver }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if mustWait {
            waiting.append(.line(data))
        } else {
            context.fireChannelRead(data)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is UnwrittenBytes.Changed {
            if !unwritten.isOver { release(context) }
        } else if !waiting.isEmpty {
            waiting.append(.event(event))
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func read(context: ChannelHandlerContext) {
        if mustWait {
            readHeldBack = true
        } else {
            context.read()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Closed under us: the waiting lines have nobody to answer to.
        waiting.removeAll()
        context.fireChannelInactive()
    }

    /// Passes on the waiting lines while the bound allows, then asks for more bytes.
    private func release(_ context: ChannelHandlerContext) {
        var passed = false
        while let first = waiting.first, !unwritten.isOver {
            waiting.removeFirst()
            switch first {
            case .line(let data):
                passed = true
                context.fireChannelRead(data)
            case .event(let event):
                context.fireUserInboundEventTriggered(event)
            }
        }
        // The channel's async side hands lines to the session on read-complete.
        if passed { context.fireChannelReadComplete() }
        if readHeldBack && !mustWait {
            readHeldBack = false
            context.read()
        }
    }
}
