import NIOCore
import Synchronization

/// At most `limit` HTTP connections at once (`SNPD_HTTP_MAX_CONNECTIONS`), as the line
/// listener bounds its own: one more is closed at once, before it is read. Shared by the
/// handler of every connection of a listener.
final class ConnectionCap: Sendable {
    let limit: Int
    private let open = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    var openConnections: Int { open.load(ordering: .relaxed) }
    /// Connections closed for being one too many, since start.
    var refusedConnections: Int { refused.load(ordering: .relaxed) }

    /// A handler for one new connection: counts it while it lives, closes it if over the cap.
    func handler() -> Handler { Handler(cap: self) }

    final class Handler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
        typealias InboundIn = Any
        let cap: ConnectionCap
        private let counted = Atomic<Bool>(false)

        init(cap: ConnectionCap) { self.cap = cap }

        func handlerAdded(context: ChannelHandlerContext) {
            if cap.open.add(1, ordering: .relaxed).newValue > cap.limit {
                cap.open.subtract(1, ordering: .relaxed)
                cap.refused.add(1, ordering: .relaxed)
                context.close(promise: nil)
                return
            }
            counted.store(true, ordering: .relaxed)
        }

        func handlerRemoved(context: ChannelHandlerContext) { release() }

        func channelInactive(context: ChannelHandlerContext) {
            release()
            context.fireChannelInactive()
        }

        private func release() {
            if counted.exchange(false, ordering: .relaxed) { cap.open.subtract(1, ordering: .relaxed) }
        }
    }
}
