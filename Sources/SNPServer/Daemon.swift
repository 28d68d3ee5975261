import Foundation
import Logging
import SNPCore
import SNPFHIR
import SNPStore
import ServiceLifecycle
import Synchronization

/// Everything `snpd serve` needs, resolved from flags, environment and config file.
public struct DaemonSettings: Sendable {
    public var listener = ListenerSettings()
    public var policy = MatchingPolicy()
    public var database = DatabaseSettings()
    public var migrationsDirectory: URL?
    /// Apply pending migrations at start (`--no-migrate` turns it off).
    public var migrate = true
    /// `SNPD_ADMIN_TOKEN`: a secret that acts as the `admin` token from start on.
    public var adminToken: String?
    /// How long a graceful stop (SIGTERM) may take before the daemon cancels what is still
    /// running, then exits (`SNPD_STOP_TIMEOUT`): a stop always ends, whatever hangs.
    public var stopTimeout: Duration = .seconds(20)
    public var logLevel: Logger.Level = .info
    /// The HTTP listeners (SPEC §7): FHIR for the SAS platform, metrics, health.
    public var http = HTTPSettings()
    /// The SAS appointment feed (SPEC §8), `nil` when off.
    public var feed: FeedSettings?
    /// Whether `REQ ADD` searches in the connection's task before the actor applies it
    /// (`MatchingService.prepare`); `SNPD_PREPARE_SEARCHES=0` searches on the actor only,
    /// the same decisions, to compare the two.
    public var prepareSearches = true

    public init() {}
}

/// The SAS appointment feed (SPEC §8): where, with which certificate, how patiently.
public struct FeedSettings: Sendable {
    /// `SNPD_SAS_FHIR_BASE`, without a trailing `/`.
    public var baseURL: String
    /// `SNPD_APPOINTMENT_SYSTEM`: the URI of our appointment identifiers.
    public var appointmentSystem: String
    /// `SNPD_SAS_CLIENT_CERT`, `SNPD_SAS_CLIENT_KEY`: PEM, the client certificate (mutual TLS).
    public var clientCertificatePath: String
    public var clientKeyPath: String
    /// `SNPD_SAS_CA`: PEM, the CA the SAS server's certificate must chain to; else the system's.
    public var caPath: String?
    /// The delay before the first retry (`SNPD_SAS_RETRY_MIN_MS`, 1 s), doubled at each
    /// failure up to `retryMax` (`SNPD_SAS_RETRY_MAX_MS`, 5 min).
    public var retryMin: Duration = .seconds(1)
    public var retryMax: Duration = .seconds(300)
    /// One request's limit, connection included (`SNPD_SAS_TIMEOUT_MS`, 10 s).
    public var timeout: Duration = .seconds(10)
    /// Delivered messages are deleted after this many days (`SNPD_SAS_RETENTION_DAYS`, 30).
    public var retentionDays = 30

    public init(
        baseURL: String, appointmentSystem: String, clientCertificatePath: String, clientKeyPath: String, caPath: String?
    ) {
        self.baseURL = baseURL
        self.appointmentSystem = appointmentSystem
        self.clientCertificatePath = clientCertificatePath
        self.clientKeyPath = clientKeyPath
        self.caPath = caPath
    }
}

/// The HTTP side (SPEC §7.1): off unless a listener is set.
public struct HTTPSettings: Sendable {
    /// `SNPD_HTTP_LISTEN` / `--http-listen`: plain HTTP/1.1. Port 0 picks a free one (tests).
    public var listen: (host: String, port: Int)?
    /// `SNPD_HTTPS_LISTEN` / `--https-listen`: TLS with `SNPD_TLS_CERT`, `SNPD_TLS_KEY`, and
    /// with `SNPD_TLS_CLIENT_CA` a client certificate required (mutual TLS).
    public var httpsListen: (host: String, port: Int)?
    public var certificatePath: String?
    public var keyPath: String?
    public var clientCAPath: String?
    /// `SNPD_FHIR_CLIENT_NAMES`: the client certificate subject CNs allowed to call `/fhir`
    /// over HTTPS (empty: any certificate the CA signed).
    public var fhirClientNames: Set<String> = []
    /// `SNPD_PUBLIC_URL`: the base of `fullUrl`s (plus `/fhir`); else the request's own.
    public var publicURL: String?
    /// `SNPD_BOOKING_URL`: a template where `{rpps}` becomes the 11-digit RPPS (Slot.comment).
    public var bookingURL: String?
    /// `SNPD_CPTS_FINESS`, `SNPD_CPTS_NAME`: the CPTS form of the search (INT_R04).
    public var cptsFiness: String?
    public var cptsName: String?
    /// A connection idle this long is closed (`SNPD_HTTP_IDLE_TIMEOUT`, default 30 s).
    public var idleTimeout: Duration = .seconds(30)
    /// At most this many HTTP connections at once, per listener (`SNPD_HTTP_MAX_CONNECTIONS`).
    public var maxConnections = 1_024

    public init() {}

    public var isEnabled: Bool { listen != nil || httpsListen != nil }
}

/// The daemon as one service: prepares the database, loads the state, then serves the
/// line protocol and applies time (holds, deadlines) until it is asked to stop.
public final class Daemon: Service, Sendable {
    /// Tells systemd when the daemon serves (`READY=1`), keeps its watchdog fed while the
    /// engine answers, and says `STOPPING=1` at the start of a graceful stop.
    private func reportToSystemd(_ systemd: SystemdNotifier) async {
        while server.port == nil && !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let (open, queued, pending) = service.stats
        systemd.notify(
            "READY=1\nSTATUS=serving on \(settings.listener.host):\(server.port ?? 0), \(open) open slots, \(queued) queued, \(pending) pending")
        await withGracefulShutdownHandler {
            guard let interval = systemd.watchdogInterval else {
                // No watchdog: nothing to do but say STOPPING=1 when the stop comes.
                try? await gracefulShutdown()
                return
            }
            // Cancelled too when the leadership is lost: the sleep then returns at once.
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                try? await Task.sleep(for: interval / 3)
                // Fed only if the engine actor answers: a wedged engine gets restarted.
                await service.tick()
                systemd.notify("WATCHDOG=1")
            }
        } onGracefulShutdown: {
            systemd.notify("STOPPING=1\nSTATUS=stopping: finishing in-flight commands")
        }
    }

    public static let version = "0.1.0"

    public let settings: DaemonSettings
    public let store: Store
    public let service: MatchingService
    public let server: LineServer
    public let metrics: ServerMetrics
    let logger: Logger
    private let leading = Atomic<Bool>(false)
    /// Whether this daemon leads its database (a standby does not serve).
    public var isLeading: Bool { leading.load(ordering: .relaxed) }

    public init(
        settings: DaemonSettings, store: Store, logger: Logger, metrics: ServerMetrics = ServerMetrics(),
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.settings = settings
        self.store = store
        self.logger = logger
        self.metrics = metrics
        let events = EventHub()
        service = MatchingService(
            policy: settings.policy, store: store, events: events, logger: logger, metrics: metrics,
            feed: settings.feed.map { AppointmentFeed(system: $0.appointmentSystem) },
            prepareSearches: settings.prepareSearches, clock: clock)
        server = LineServer(
            settings: settings.listener, service: service, store: store, events: events, logger: logger,
            version: Daemon.version)
    }

    /// What a new leader does under the leadership lock, before it claims the epoch and
    /// loads: apply pending migrations (never before the lock: a standby, perhaps a newer
    /// version, must not change the schema under the daemon that serves), then make the
    /// admin token exist.
    private func prepareDatabase() async throws {
        if settings.migrate {
            guard let dir = settings.migrationsDirectory else {
                throw SettingsError("cannot find the sql/ migrations folder; set SNPD_SQL_DIR")
            }
            let applied = try await store.migrate(directory: dir)
            if !applied.isEmpty { logger.notice("migrations applied", metadata: ["files": "\(applied.joined(separator: ","))"]) }
        }
        if let secret = settings.adminToken {
            try await store.ensureAdminToken(secret: secret)
        }
    }

    public func run() async throws {
        if settings.migrate, settings.migrationsDirectory == nil {
            throw SettingsError("cannot find the sql/ migrations folder; set SNPD_SQL_DIR")
        }
        if let secret = settings.adminToken, secret.count < 22 {
            logger.warning("SNPD_ADMIN_TOKEN is short (under 128 bits if random); use `openssl rand -base64 24 | tr '+/' '-_' | tr -d =`")
        }
        if let feed = settings.feed { _ = try FeedWorker.tlsConfiguration(feed) }
        let systemd = SystemdNotifier()
        let leadership = Leadership(
            store: store, logger: logger, holder: "\(ProcessInfo.processInfo.hostName) pid \(getpid())")
        let (acquired, acquiredSignal) = AsyncStream<Int64>.makeStream()
        let (lost, lostSignal) = AsyncStream<LeadershipLost>.makeStream()
        store.onLeadershipLost.withLock { $0 = { lostSignal.yield($0) } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The lock first, then the migrations (`prepareDatabase`), then the epoch. Losing
            // the lock to another daemon ends `hold` with `LeadershipLost`, which ends `run`
            // at once: the listeners close, and `snpd serve` exits non-zero.
            group.addTask {
                // A failure (migrations, a lost leadership) also ends the wait below.
                defer { acquiredSignal.finish() }
                do {
                    try await leadership.hold(prepare: { try await self.prepareDatabase() }) { acquiredSignal.yield($0) }
                } catch let lost as LeadershipLost {
                    self.logger.critical("leadership lost: stopping at once", metadata: ["reason": "\(lost)"])
                    await self.server.stopListening()
                    throw lost
                }
            }
            group.addTask {
                for await l in lost {
                    await self.server.stopListening()
                    throw l
                }
            }
            // A standby neither loads nor listens until it leads.
            systemd.notify("STATUS=standby: waiting for the database's leadership lock")
            var leading = false
            await withGracefulShutdownHandler {
                for await _ in acquired {
                    leading = true
                    break
                }
            } onGracefulShutdown: {
                acquiredSignal.finish()
            }
            guard leading else {
                // A graceful stop while standby (`hold` then returns), or `hold` failed
                // (its error, a migration's say, ends the daemon).
                lostSignal.finish()
                group.cancelAll()
                while try await group.next() != nil {}
                return
            }
            try await service.load()
            self.leading.store(true, ordering: .relaxed)
            group.addTask { try await self.serve(systemd) }
            // The first child to finish is `serve`, at a graceful stop; the others only
            // finish by throwing (leadership lost), which ends the daemon.
            try await group.next()
            logger.debug("serving ended; waiting for the last commits")
            await service.drain()
            logger.debug("drained; giving the leadership back")
            lostSignal.finish()
            group.cancelAll()
        }
        systemd.notify("STATUS=stopped")
        logger.notice("stopped")
    }

    /// Serves the line protocol and applies time until a graceful stop.
    private func serve(_ systemd: SystemdNotifier) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.server.run() }
            group.addTask {
                // Holds and deadlines lapse with time, not only when commands arrive.
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    await self.service.tick()
                }
            }
            if systemd.isActive {
                group.addTask { await self.reportToSystemd(systemd) }
            }
            // The SAS feed: the leader delivers (this runs only while leading).
            if let feed = settings.feed {
                let worker = try FeedWorker(settings: feed, store: store, metrics: metrics, logger: logger)
                group.addTask {
                    await worker.warnAboutTokens()
                    await worker.run { [service = self.service] in service.feedWrites }
                }
            }
        }
    }
}
