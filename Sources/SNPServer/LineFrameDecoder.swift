import NIOCore
import SNPProtocol

/// What the framing layer hands to a session.
public enum InboundLine: Sendable {
    /// A complete line, without its `\n`.
    case line(ByteBuffer)
    /// A line longer than the limit: it has been (or is being) discarded up to its `\n`.
    case tooLong
}

/// Cuts the byte stream into lines of at most `maxLength` bytes (§3.1). A longer line is
/// reported once as `.tooLong` and its bytes are dropped until its end, without buffering
/// them, so a client cannot make the server hold an unbounded line in memory.
public struct LineFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = InboundLine

    let maxLength: Int
    private var discarding = false

    public init(maxLength: Int = LineParser.maxLineBytes) { self.maxLength = maxLength }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        if let newline = view.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - view.startIndex
            if discarding {
                buffer.moveReaderIndex(forwardBy: length + 1)
                discarding = false
                return .continue
            }
            // A trailing \r does not count against the limit.
            let content = length > 0 && view[newline - 1] == UInt8(ascii: "\r") ? length - 1 : length
            if content > maxLength {
                buffer.moveReaderIndex(forwardBy: length + 1)
                context.fireChannelRead(wrapInboundOut(.tooLong))
                return .continue
            }
            let line = buffer.readSlice(length: length)!
            buffer.moveReaderIndex(forwardBy: 1)
            context.fireChannelRead(wrapInboundOut(.line(line)))
            return .continue
        }
        if buffer.readableBytes > maxLength + 1 {
            if !discarding {
                discarding = true
                context.fireChannelRead(wrapInboundOut(.tooLong))
            }
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        }
        return .needMoreData
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A last line without \n is still a command (e.g. `printf 'PING' | nc`).
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0, !discarding {
            let line = buffer.readSlice(length: buffer.readableBytes)!
            context.fireChannelRead(wrapInboundOut(.line(line)))
        }
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        return .needMoreData
    }
}
