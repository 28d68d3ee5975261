import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOSSL
import SNPCore
import SNPStore
import ServiceLifecycle
import Synchronization

/// Delivers the SAS appointment feed (SPEC §8) from the outbox: a worker of the leader only
/// (`Daemon.serve` runs it while leading; a standby never sends).
///
/// The outbox is the truth: a message is sent until the SAS accepts it, then marked
/// delivered in the database, so a restart (or a standby taking over) resumes exactly
/// where delivery stopped. Each round takes the next message of every appointment that has
/// one due (`Store.dueFeedMessages`) and sends them concurrently: one appointment's
/// messages go strictly in order (the next is not due before the previous is delivered),
/// different appointments do not wait for each other.
///
/// - `2xx`: delivered (a conditional update may answer `201`).
/// - `408`, `429`, `5xx`, no answer: retried after a delay that doubles at each attempt,
///   from `retryMin` up to `retryMax`, with jitter.
/// - any other `4xx`: the message and its appointment's later ones are parked with the
///   SAS's OperationOutcome, for the operator (`snpd feed list`, `snpd feed retry`).
///
/// No second appointment at the SAS: before a `POST` is sent, the outbox marks it in
/// doubt; if no answer comes back (a dropped connection, a timeout, a crash), it stays in
/// doubt and every later attempt is a conditional update,
/// `PUT <base>/Appointment?identifier=<system>|<value>`, which updates the appointment if
/// the `POST` created it and creates it otherwise.
public final class FeedWorker: Sendable {
    let settings: FeedSettings
    let store: Store
    let metrics: ServerMetrics
    let logger: Logger
    let client: HTTPClient

    /// At most this many appointments in flight at once.
    static let concurrency = 16

    public init(settings: FeedSettings, store: Store, metrics: ServerMetrics, logger: Logger) throws {
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.logger = logger
        let tls = try FeedWorker.tlsConfiguration(settings)
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        let timeout = TimeAmount.nanoseconds(Int64(settings.timeout.components.seconds) * 1_000_000_000
            + settings.timeout.components.attoseconds / 1_000_000_000)
        configuration.timeout = .init(connect: timeout, read: timeout)
        configuration.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration, backgroundActivityLogger: logger)
    }

    /// The client side of mutual TLS: our certificate and key, and the CA the SAS server's
    /// certificate must chain to. Also called at start (`Daemon.run`), so that unreadable
    /// files stop the daemon at once, and a standby, not only when it takes over.
    public static func tlsConfiguration(_ settings: FeedSettings) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(settings.clientCertificatePath).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: settings.clientKeyPath, format: .pem))
            if let ca = settings.caPath { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) }
        } catch {
            throw SettingsError("the SAS feed's certificate, key or CA cannot be read: \(error)")
        }
        return tls
    }

    /// Warns when the feed is on and regulator tokens cannot be reported (no operator identity).
    public func warnAboutTokens() async {
        guard let names = try? await store.regulatorTokensWithoutOperator(), !names.isEmpty else { return }
        logger.warning(
            "the SAS feed is on, but these regulator tokens have no operator identity: their bookings are not reported (snpd token add … --operator)",
            metadata: ["tokens": "\(names.joined(separator: ","))"])
    }

    /// Appointments with a message being sent (not asked for again meanwhile).
    private let inFlight = Mutex<Set<String>>([])
    /// Counts finished deliveries: the loop looks at once for what became due.
    private let finished = Atomic<UInt64>(0)

    /// Delivers until a graceful stop or cancellation. `writes` counts the commits that wrote
    /// messages (`MatchingService.feedWrites`): a change, or a finished delivery, wakes the
    /// worker at once; otherwise it looks at the outbox once a second (retries falling due).
    /// A slow appointment (a timeout) holds up only itself.
    public func run(writes: @escaping @Sendable () -> UInt64) async {
        var lastPrune = ContinuousClock.now - .seconds(3600)
        var lastLevels = ContinuousClock.now - .seconds(60)
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                if ContinuousClock.now - lastLevels >= .seconds(1) {
                    lastLevels = ContinuousClock.now
                    await publishLevels()
                }
                if ContinuousClock.now - lastPrune >= .seconds(3600) {
                    lastPrune = ContinuousClock.now
                    if let n = try? await store.pruneFeed(olderThanDays: settings.retentionDays), n > 0 {
                        logger.info("SAS feed: delivered messages pruned", metadata: ["count": "\(n)"])
                    }
                }
                let (seenWrites, seenFinished) = (writes(), finished.load(ordering: .acquiring))
                var started = 0
                let busy = inFlight.withLock { $0 }
                if busy.count < FeedWorker.concurrency {
                    do {
                        let due = try await store.dueFeedMessages(limit: FeedWorker.concurrency * 2)
                        for entry in due where !busy.contains(entry.appointment) {
                            guard busy.count + started < FeedWorker.concurrency else { break }
                            inFlight.withLock { _ = $0.insert(entry.appointment) }
                            started += 1
                            group.addTask {
                                await self.deliver(entry)
                                self.inFlight.withLock { _ = $0.remove(entry.appointment) }
                                self.finished.add(1, ordering: .releasing)
                            }
                        }
                    } catch {
                        logger.warning("SAS feed: cannot read the outbox", metadata: ["error": "\(Store.classify(error).message)"])
                    }
                }
                if started > 0 { continue }
                // Idle: wake on a new message or a finished delivery, else after a second.
                let until = ContinuousClock.now + .seconds(1)
                while ContinuousClock.now < until, writes() == seenWrites, finished.load(ordering: .acquiring) == seenFinished,
                    !Task.isShuttingDownGracefully, !Task.isCancelled
                {
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
        }
        try? await client.shutdown()
    }

    private func publishLevels() async {
        guard let levels = try? await store.feedLevels() else { return }
        metrics.gauge("snpd_feed_waiting", levels.waiting)
        metrics.gauge("snpd_feed_parked", levels.parked)
        metrics.gauge("snpd_feed_oldest_waiting_seconds", Int(levels.oldestWaitingSeconds.rounded(.up)))
    }

    /// What a request to the SAS came to.
    enum Outcome {
        case delivered
        case retry(String, answered: Bool)
        case park(String)
    }

    /// Sends one message and records what became of it.
    func deliver(_ entry: OutboxEntry) async {
        let post = entry.method == .post && !entry.inDoubt
        let outcome: Outcome
        do {
            try await store.feedAttemptStarting(entry.id, post: post)
        } catch {
            return  // The database is away: nothing was sent; the next round tries again.
        }
        outcome = await send(entry, post: post)
        do {
            switch outcome {
            case .delivered:
                try await store.feedDelivered(entry.id)
                metrics.feedDelivery("delivered")
            case .retry(let why, let answered):
                let delay = FeedWorker.delay(afterAttempt: entry.attempts + 1, min: settings.retryMin, max: settings.retryMax)
                logger.warning(
                    "SAS feed: delivery failed; retrying",
                    metadata: ["appointment": "\(entry.appointment)", "error": "\(why)", "retry_in": "\(delay)"])
                try await store.feedFailed(entry.id, error: why, answered: answered, delay: delay)
                metrics.feedDelivery("retried")
            case .park(let why):
                logger.error(
                    "SAS feed: the SAS refused a message; its appointment is parked (snpd feed list --parked)",
                    metadata: ["appointment": "\(entry.appointment)", "error": "\(why)"])
                try await store.feedParked(entry.id, appointment: entry.appointment, error: why)
                metrics.feedDelivery("parked")
            }
        } catch {
            // Not recorded: the message is sent again (a delivered one is then a harmless
            // conditional update, as after any unanswered POST: it is still in doubt).
            logger.warning("SAS feed: cannot record a delivery", metadata: ["error": "\(Store.classify(error).message)"])
        }
    }

    func send(_ entry: OutboxEntry, post: Bool) async -> Outcome {
        let url: String
        var request: HTTPClientRequest
        if post {
            url = settings.baseURL + "/Appointment"
            request = HTTPClientRequest(url: url)
            request.method = .POST
        } else {
            url = settings.baseURL + "/Appointment?identifier=" + FeedWorker.queryEncode(settings.appointmentSystem + "|" + entry.appointment)
            request = HTTPClientRequest(url: url)
            request.method = .PUT
        }
        request.headers.add(name: "Content-Type", value: "application/fhir+json")
        request.headers.add(name: "Accept", value: "application/fhir+json")
        request.body = .bytes(ByteBuffer(string: entry.body))
        do {
            let response = try await client.execute(request, timeout: .seconds(Int64(settings.timeout.components.seconds) + 1))
            let body = (try? await response.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
            let code = Int(response.status.code)
            let why = "HTTP \(code)" + (body.isEmpty ? "" : ": \(body)")
            switch code {
            case 200..<300: return .delivered
            case 408, 429: return .retry(why, answered: true)
            case 400..<500: return .park(why)
            default: return .retry(why, answered: true)
            }
        } catch {
            return .retry("\(error)", answered: false)
        }
    }

    /// The delay after `attempt` failures: `min` doubled each time, capped at `max`, with
    /// up to a quarter more at random (so that appointments failing together do not retry
    /// in lockstep).
    static func delay(afterAttempt attempt: Int, min: Duration, max: Duration) -> Duration {
        let factor = Double(1 << Swift.min(Swift.max(attempt - 1, 0), 30))
        let base = Swift.min(Double(min.components.seconds) * factor + Double(min.components.attoseconds) / 1e18 * factor,
            Double(max.components.seconds) + Double(max.components.attoseconds) / 1e18)
        return .milliseconds(Int64(base * 1000 * Double.random(in: 1...1.25)))
    }

    /// A query parameter's value, percent-encoded (`:`, `/` and `|` included).
    static func queryEncode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}
