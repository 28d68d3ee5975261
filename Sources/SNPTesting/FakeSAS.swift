import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A fake SAS platform for the appointment feed's tests (SPEC §8): HTTPS, with a client
/// certificate required and checked against the test CA (mutual TLS, as the SAS requires),
/// speaking just enough FHIR: `POST /fhir/Appointment` creates, `PUT
/// /fhir/Appointment?identifier=<system>|<value>` updates or creates (conditional update).
/// It keeps every request it received and the appointments it holds, and answers as
/// `rule` says: normally, with a status of the test's choice, or by dropping the
/// connection (after doing the work, as a SAS whose answer was lost would).
public final class FakeSAS: Sendable {
    /// One request as received.
    public struct Received: Sendable {
        public var method: String
        public var uri: String
        public var body: Data
        /// The identifier's value in the body's Appointment.
        public var identifier: String?
        public var status: String?
        public var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
    }

    public enum Answer: Sendable {
        /// Created (`201`) or updated (`200`).
        case normal
        /// This status and an OperationOutcome, nothing done.
        case status(Int)
        /// Done, then the connection closed without an answer.
        case dropAfterWork
    }

    private struct State {
        var received: [Received] = []
        /// Appointments by identifier value: the statuses they went through.
        var appointments: [String: [String]] = [:]
        /// POSTs of an identifier the SAS already had: each is a second appointment.
        var duplicates = 0
        var rule: @Sendable (Received) -> Answer = { _ in .normal }
    }

    private let state = Mutex(State())
    private let channel: any Channel
    public let port: Int
    /// The client checks the server's certificate against 127.0.0.1 (its subjectAltName).
    public var baseURL: String { "https://127.0.0.1:\(port)/fhir" }

    private init(channel: any Channel, port: Int) {
        self.channel = channel
        self.port = port
    }

    public static func start(certificates: TestCertificates) async throws -> FakeSAS {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificates.serverCertificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: certificates.serverKey, format: .pem)))
        tls.certificateVerification = .noHostnameVerification
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificates.caCertificate))
        let context = try NIOSSLContext(configuration: tls)
        let box = Mutex<FakeSAS?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler { box.withLock { $0 } })
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let sas = FakeSAS(channel: channel, port: channel.localAddress!.port!)
        box.withLock { $0 = sas }
        return sas
    }

    public func stop() async { try? await channel.close() }

    /// How the next requests are answered.
    public func setRule(_ rule: @escaping @Sendable (Received) -> Answer) { state.withLock { $0.rule = rule } }

    public var received: [Received] { state.withLock { $0.received } }
    /// The statuses each appointment went through, by identifier value.
    public var appointments: [String: [String]] { state.withLock { $0.appointments } }
    public var duplicates: Int { state.withLock { $0.duplicates } }

    /// The status line and body to answer, or `nil` to close without answering.
    fileprivate func handle(method: String, uri: String, body: Data) -> (Int, String)? {
        var r = Received(method: method, uri: uri, body: body)
        if let json = r.json {
            r.status = json["status"] as? String
            r.identifier = ((json["identifier"] as? [[String: Any]])?.first?["value"] as? String)
        }
        return state.withLock { s -> (Int, String)? in
            s.received.append(r)
            let answer = s.rule(r)
            if case .status(let code) = answer {
                return (code, FakeSAS.outcome("refused by the test (\(code))"))
            }
            guard let id = r.identifier, let status = r.status, uri.hasPrefix("/fhir/Appointment") else {
                return (400, FakeSAS.outcome("not an Appointment"))
            }
            var code = 200
            if method == "POST" {
                if s.appointments[id] != nil { s.duplicates += 1 }
                code = 201
            } else if method == "PUT" {
                // Conditional update: the identifier in the query must be the body's.
                guard uri.removingPercentEncoding?.hasSuffix("|" + id) == true else {
                    return (400, FakeSAS.outcome("identifier in the query is not the body's"))
                }
                if s.appointments[id] == nil { code = 201 }
            } else {
                return (405, FakeSAS.outcome("method"))
            }
            s.appointments[id, default: []].append(status)
            if case .dropAfterWork = answer { return nil }
            return (code, String(decoding: body, as: UTF8.self))
        }
    }

    static func outcome(_ text: String) -> String {
        #"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"\#(text)"}]}"#
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        // @unchecked: used only on its channel's event loop, as every NIO handler.
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let sas: @Sendable () -> FakeSAS?
        var head: HTTPRequestHead?
        var body = ByteBuffer()

        init(_ sas: @escaping @Sendable () -> FakeSAS?) { self.sas = sas }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h):
                head = h
                body.clear()
            case .body(var b):
                body.writeBuffer(&b)
            case .end:
                guard let head, let sas = sas() else { return }
                let answer = sas.handle(
                    method: head.method.rawValue, uri: head.uri, body: Data(body.readableBytesView))
                guard let (code, text) = answer else {
                    context.close(promise: nil)
                    return
                }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/fhir+json")
                headers.add(name: "Content-Length", value: String(text.utf8.count))
                context.write(
                    wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .init(statusCode: code), headers: headers))),
                    promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }
}
