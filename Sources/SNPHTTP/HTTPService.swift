import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import Prometheus
import SNPCore
import SNPFHIR
import SNPServer
import SNPStore
import ServiceLifecycle
import Synchronization

/// The request context of snpd's HTTP side: Hummingbird's core, and the connection's channel
/// (for the client certificate of a mutual-TLS connection).
public struct SNPRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// The HTTP listeners of SPEC §7.1 on Hummingbird 2: `/health`, `/ready`, `/metrics`, and
/// `/fhir` (the SAS platform's slot search and the CapabilityStatement). A standby binds
/// them too: `/health` answers, `/ready` and `/fhir` say `503` until it leads.
///
/// It decides nothing: FHIR searches read the engine through `MatchingService.inspect` (the
/// line protocol's read rules), tokens are checked by the store's `authenticate`, and the
/// answer is built by `FHIRSearch` from what the engine returned.
public final class HTTPService: Service, Sendable {
    let daemon: Daemon
    let settings: HTTPSettings
    let registry: PrometheusCollectorRegistry
    let logger: Logger
    /// Bearer tokens of `/fhir` checked in the last second (`TokenCache`).
    let tokens = TokenCache()
    /// Each professional's `include` entries of FHIR answers, written once (`IncludedEntryCache`).
    let includedEntries = IncludedEntryCache()
    private let ports = Mutex<(http: Int?, https: Int?)>((nil, nil))
    private let caps: (http: ConnectionCap, https: ConnectionCap)

    /// HTTP connections open now, on both listeners.
    public var openConnections: Int { caps.http.openConnections + caps.https.openConnections }

    /// The ports bound, once listening (the settings may ask for port 0).
    public var httpPort: Int? { ports.withLock { $0.http } }
    public var httpsPort: Int? { ports.withLock { $0.https } }

    public init(daemon: Daemon, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.daemon = daemon
        self.settings = daemon.settings.http
        self.registry = registry
        self.logger = logger
        caps = (ConnectionCap(limit: settings.maxConnections), ConnectionCap(limit: settings.maxConnections))
    }

    public func run() async throws {
        guard settings.isEnabled else { return }
        try await withThrowingDiscardingTaskGroup { group in
            if let (host, port) = settings.listen {
                let app = Application(
                    router: makeRouter(tls: false),
                    server: .http1(configuration: http1Configuration(caps.http)),
                    configuration: .init(address: .hostname(host, port: port), serverName: nil),
                    onServerRunning: { channel in self.ports.withLock { $0.http = channel.localAddress?.port } },
                    logger: logger)
                group.addTask { try await app.runService() }
            }
            if let (host, port) = settings.httpsListen {
                let app = Application(
                    router: makeRouter(tls: true),
                    server: try .tls(.http1(configuration: http1Configuration(caps.https)), tlsConfiguration: tlsConfiguration()),
                    configuration: .init(address: .hostname(host, port: port), serverName: nil),
                    onServerRunning: { channel in self.ports.withLock { $0.https = channel.localAddress?.port } },
                    logger: logger)
                group.addTask { try await app.runService() }
            }
        }
    }

    /// HTTP/1.1 with the idle limit and the connection cap of the settings.
    func http1Configuration(_ cap: ConnectionCap) -> HTTP1Channel.Configuration {
        .init(additionalChannelHandlers: [cap.handler()], idleTimeout: TimeAmount(settings.idleTimeout))
    }

    /// TLS 1.2 at least; with a client CA, a client certificate signed by it is required.
    func tlsConfiguration() throws -> TLSConfiguration {
        guard let certPath = settings.certificatePath, let keyPath = settings.keyPath else {
            throw SettingsError("the HTTPS listener needs SNPD_TLS_CERT and SNPD_TLS_KEY")
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certPath).map { NIOSSLCertificateSource.certificate($0) }
            var tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem)))
            tls.minimumTLSVersion = .tlsv12
            if let ca = settings.clientCAPath {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
                tls.certificateVerification = .noHostnameVerification
            }
            return tls
        } catch {
            throw SettingsError("cannot use the HTTPS certificate, key or client CA: \(error)")
        }
    }

    func makeRouter(tls: Bool) -> Router<SNPRequestContext> {
        let router = Router(context: SNPRequestContext.self)
        router.get("health") { _, _ in Self.text(.ok, "ok\n") }
        router.get("ready") { _, _ in
            self.isReady ? Self.text(.ok, "ready\n") : Self.text(.serviceUnavailable, self.notReadyReason + "\n")
        }
        router.get("metrics") { _, _ in
            self.recordLevels()
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: self.registry.emitToBuffer())))
        }
        let fhir = FHIREndpoints(service: self, tls: tls)
        router.get("fhir/metadata") { request, context in await fhir.metadata(request, context) }
        router.get("fhir/Slot") { request, context in await fhir.searchSlots(request, context) }
        router.get("fhir/**") { request, context in await fhir.notFound(request, context) }
        router.on("fhir/**", method: .post) { request, context in await fhir.notFound(request, context) }
        return router
    }

    /// Leads its database, and the database answered the last commit.
    var isReady: Bool { daemon.isLeading && daemon.service.acceptsChanges }

    var notReadyReason: String {
        daemon.isLeading ? "the database is unavailable" : "standby: another snpd serves this database"
    }

    /// Levels are read when scraped, not kept up to date at every change.
    func recordLevels() {
        guard daemon.isLeading else { return }
        let (open, queued, pending) = daemon.service.stats
        daemon.metrics.gauge("snpd_open_slots", open)
        daemon.metrics.gauge("snpd_queued_requests", queued)
        daemon.metrics.gauge("snpd_pending_requests", pending)
        daemon.metrics.gauge("snpd_connections", daemon.server.openConnections)
        daemon.metrics.gauge("snpd_leading", daemon.isLeading ? 1 : 0)
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
