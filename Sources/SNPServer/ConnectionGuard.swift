import Logging
import NIOCore
import NIOSSL

/// Closes a connection that holds the server without making progress, saying why in the log.
///
/// Two ways a client can tie up a connection while the other limits stay quiet:
/// - **a line that never ends** (slowloris): bytes arrive, the `\n` does not. The line's
///   bytes are bounded by the frame decoder; the time it may take is bounded here. The
///   clock starts at the first byte of an unfinished line and is not reset by more bytes
///   without `\n`, so a byte a second does not keep it alive.
/// - **replies nobody reads**: a client that pipelines without reading fills the socket's
///   send buffer; what the connection has not written grows to its bound
///   (`UnwrittenBytes`) and the connection stops being read (bounded memory). If it stays
///   stopped this long, the client is not coming back for its replies, and the connection
///   is closed.
///
/// An idle connection with no unfinished line is left alone: a `WATCH` client may be
/// silent for hours. Everything runs on the channel's event loop.
final class ConnectionGuard: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let lineTimeout: TimeAmount
    private let writeTimeout: TimeAmount
    private let logger: Logger
    private let unwritten: UnwrittenBytes
    private var unfinishedLine: Scheduled<Void>?
    private var unwritable: Scheduled<Void>?

    init(lineTimeout: Duration, writeTimeout: Duration, unwritten: UnwrittenBytes, logger: Logger) {
        self.lineTimeout = TimeAmount(lineTimeout)
        self.writeTimeout = TimeAmount(writeTimeout)
        self.unwritten = unwritten
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data).readableBytesView
        if let last = bytes.last {
            if last == UInt8(ascii: "\n") {
                unfinishedLine?.cancel()
                unfinishedLine = nil
            } else if unfinishedLine == nil {
                unfinishedLine = closeLater(context, after: lineTimeout, reason: "a line was not finished in time")
            }
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is UnwrittenBytes.Changed {
            if !unwritten.isOver {
                unwritable?.cancel()
                unwritable = nil
            } else if unwritable == nil {
                unwritable = closeLater(context, after: writeTimeout, reason: "the client does not read its replies")
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A refused handshake (no client certificate, an unknown CA, plain text on the TLS
        // port) is worth a line in the log: it is how a misconfigured peer shows up.
        if error is NIOSSLError || error is BoringSSLError {
            let peer = context.channel.remoteAddress.map { "\($0)" } ?? "unix socket"
            logger.notice("closing a TLS connection: \(error)", metadata: ["peer": "\(peer)"])
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
    }

    private func cancelTimers() {
        unfinishedLine?.cancel()
        unwritable?.cancel()
        unfinishedLine = nil
        unwritable = nil
    }

    private func closeLater(_ context: ChannelHandlerContext, after delay: TimeAmount, reason: String) -> Scheduled<Void> {
        let logger = self.logger
        let peer = context.channel.remoteAddress.map { "\($0)" } ?? "unix socket"
        return context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            logger.warning("closing a connection: \(reason)", metadata: ["peer": "\(peer)", "after": "\(delay.seconds) s"])
            context.close(promise: nil)
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// Whole and fractional seconds, for logs.
    var seconds: Double { Double(nanoseconds) / 1e9 }
}
