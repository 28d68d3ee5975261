import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import SNPStore

/// An HTTP/1.1 client that sends the request line exactly as given (no URL normalisation:
/// the tests need raw `|`, `+` and percent-encodings) and reads the answer until the server
/// closes (`Connection: close`).
public enum RawHTTPClient {
    public struct Answer: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: String

        public var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) }
    }

    public static func get(
        port: Int, _ target: String, headers: [String: String] = [:], method: String = "GET", tls: TLSConfiguration? = nil
    ) async throws -> Answer {
        var request = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (k, v) in headers { request += "\(k): \(v)\r\n" }
        request += "\r\n"
        let raw = try await exchange(port: port, bytes: Array(request.utf8), tls: tls)
        return try parse(raw)
    }

    /// Sends `bytes` and returns all the server sends until it closes; a server that has
    /// not closed after `limit` fails the exchange (a test fails, it does not hang).
    public static func exchange(
        port: Int, bytes: [UInt8], tls: TLSConfiguration? = nil, limit: TimeAmount = .seconds(60)
    ) async throws -> [UInt8] {
        let context = try tls.map { try NIOSSLContext(configuration: $0) }
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                    }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let expiry = channel.channel.eventLoop.scheduleTask(in: limit) { channel.channel.close(promise: nil) }
        defer { expiry.cancel() }
        let started = NIODeadline.now()
        let out = try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: bytes))
            var out: [UInt8] = []
            for try await chunk in inbound { out += Array(buffer: chunk) }
            return out
        }
        if NIODeadline.now() - started >= limit {
            throw SettingsError("the server at port \(port) did not close the connection within \(limit)")
        }
        return out
    }

    static func parse(_ raw: [UInt8]) throws -> Answer {
        let text = String(decoding: raw, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw SettingsError("not an HTTP answer: \(text.prefix(200))") }
        let head = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw SettingsError("bad status line \(head[0])") }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = String(text[split.upperBound...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = dechunk(body) }
        return Answer(status: status, headers: headers, body: body)
    }

    static func dechunk(_ body: String) -> String {
        var bytes = Array(body.utf8)[...]
        var out: [UInt8] = []
        while let lineEnd = bytes.firstIndex(of: UInt8(ascii: "\r")) {
            let sizeText = String(decoding: bytes[bytes.startIndex..<lineEnd], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";")[0], radix: 16), size > 0 else { break }
            let start = lineEnd + 2
            guard start + size <= bytes.endIndex else { break }
            out += bytes[start..<start + size]
            bytes = bytes[(start + size + 2)...]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
