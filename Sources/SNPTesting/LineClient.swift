import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import SNPServer

/// One reply of the line protocol, as a client sees it.
public struct Reply: Sendable, CustomStringConvertible {
    /// The first line and, for lists, the N item lines.
    public var lines: [String]

    public var isOK: Bool { lines.first?.hasPrefix("OK") ?? false }
    /// The code of an `ERR` reply.
    public var code: String? {
        guard let first = lines.first, first.hasPrefix("ERR ") else { return nil }
        return String(first.dropFirst(4).prefix { $0 != " " })
    }
    /// `key=value` fields of the first line.
    public var fields: [String: String] { Reply.fields(of: lines.first ?? "") }
    /// Fields of each list item (the kind word is under key `kind`).
    public var items: [[String: String]] {
        lines.dropFirst().map { line in
            var f = Reply.fields(of: line)
            f["kind"] = String(line.prefix { $0 != " " })
            return f
        }
    }
    public subscript(key: String) -> String? { fields[key] }
    public var description: String { lines.joined(separator: "\n") }

    /// Splits `WORD k=v k="q v"` into fields; quoted values are unescaped.
    public static func fields(of line: String) -> [String: String] {
        var out: [String: String] = [:]
        var chars = Array(line)[...]
        while !chars.isEmpty {
            while chars.first == " " { chars = chars.dropFirst() }
            var key = ""
            while let c = chars.first, c != " ", c != "=" { key.append(c); chars = chars.dropFirst() }
            guard chars.first == "=" else { continue }
            chars = chars.dropFirst()
            var value = ""
            if chars.first == "\"" {
                chars = chars.dropFirst()
                while let c = chars.first, c != "\"" {
                    if c == "\\", chars.count > 1 { chars = chars.dropFirst() }
                    value.append(chars.first!)
                    chars = chars.dropFirst()
                }
                chars = chars.dropFirst()
            } else {
                while let c = chars.first, c != " " { value.append(c); chars = chars.dropFirst() }
            }
            out[key] = value
        }
        return out
    }
}

public struct ClientError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// Hands the lines a client receives to an `AsyncStream`.
final class LineCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = InboundLine
    let continuation: AsyncStream<String>.Continuation

    init(_ continuation: AsyncStream<String>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .line(var buffer) = unwrapInboundIn(data) {
            continuation.yield(buffer.readString(length: buffer.readableBytes) ?? "")
        }
    }

    func channelInactive(context: ChannelHandlerContext) { continuation.finish() }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        continuation.finish()
        context.close(promise: nil)
    }
}

/// A line-protocol client for tests, over a real TCP socket. `EVENT` lines are set aside
/// in `events` as they come, so replies read cleanly. Used from one task at a time.
public final class LineClient {
    public let channel: any Channel
    private var iterator: AsyncStream<String>.AsyncIterator
    /// Events received and not yet taken.
    public private(set) var events: [String] = []

    init(channel: any Channel, lines: AsyncStream<String>) {
        self.channel = channel
        self.iterator = lines.makeAsyncIterator()
    }

    /// How long a read waits for a line before the client gives up and closes: the read
    /// then sees the end of the stream, and its test fails instead of hanging.
    public static let patience: TimeAmount = .seconds(60)

    /// The next line from the server, or `nil` once closed (or after `patience`).
    private func nextLine() async -> String? {
        let channel = self.channel
        let expiry = channel.eventLoop.scheduleTask(in: Self.patience) { channel.close(promise: nil) }
        defer { expiry.cancel() }
        return await iterator.next()
    }

    /// Connects to `127.0.0.1:port`; with `tls`, through a TLS handshake; with `from`,
    /// from that local address (another loopback address, say, to look like another host).
    public static func connect(port: Int, tls: TLSConfiguration? = nil, from local: String? = nil) async throws -> LineClient {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let sslContext = try tls.map { try NIOSSLContext(configuration: $0) }
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try ch.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: nil))
                    }
                    try ch.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLength: 1 << 20)))
                    try ch.pipeline.syncOperations.addHandler(LineCollector(continuation))
                }
            }
        if let local { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: local, port: 0)) }
        let channel = try await bootstrap.connect(host: "127.0.0.1", port: port).get()
        return LineClient(channel: channel, lines: stream)
    }

    /// Events received so far (and forgets them).
    public func takeEvents() -> [String] {
        defer { events = [] }
        return events
    }

    public func write(_ text: String) async throws { try await writeBytes(Array(text.utf8)) }

    public func writeBytes(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    /// The next line that is not an event; `nil` when the server closed the connection.
    public func readLine() async throws -> String? {
        while let line = await nextLine() {
            if line.hasPrefix("EVENT ") {
                events.append(line)
                continue
            }
            return line
        }
        return nil
    }

    /// Waits for the next event line; fails if a reply comes instead.
    public func nextEvent() async throws -> String? {
        if !events.isEmpty { return events.removeFirst() }
        guard let line = await nextLine() else { return nil }
        guard line.hasPrefix("EVENT ") else { throw ClientError("expected an event, got \(line)") }
        return line
    }

    /// Reads one whole reply (a list's N lines included).
    public func readReply() async throws -> Reply {
        guard let first = try await readLine() else { throw ClientError("connection closed") }
        var reply = Reply(lines: [first])
        if first.hasPrefix("OK count="), let n = Int(Reply.fields(of: first)["count"] ?? "") {
            for _ in 0..<n {
                guard let l = try await readLine() else { throw ClientError("connection closed inside a list") }
                reply.lines.append(l)
            }
        }
        return reply
    }

    public func send(_ line: String) async throws -> Reply {
        try await write(line + "\n")
        return try await readReply()
    }

    @discardableResult
    public func expectOK(_ line: String) async throws -> Reply {
        let r = try await send(line)
        guard r.isOK else { throw ClientError("\(line) → \(r)") }
        return r
    }

    public func close() async {
        try? await channel.close()
    }
}
