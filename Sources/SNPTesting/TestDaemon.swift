import Foundation
import Logging
import SNPCore
import Prometheus
import SNPHTTP
import SNPServer
import SNPStore
import ServiceLifecycle
import Synchronization

/// A clock tests move by hand, shared by the daemon they start.
public final class TestClock: Sendable {
    private let current: Mutex<Date>

    public init(_ start: Date = Date(epochSeconds: Date().epochSeconds)) { current = Mutex(start) }

    public var now: Date { current.withLock { $0 } }

    public func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// A flag set once, read from any task.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

/// A real snpd, in process: its own connection pool, the daemon service, a TCP port
/// chosen by the system, and a test clock. `stop()` shuts it down as SIGTERM would.
public final class TestDaemon: Sendable {
    public let daemon: Daemon
    public let http: HTTPService
    public let clock: TestClock
    public let database: DatabaseSettings
    let group: ServiceGroup
    let running: Task<Void, any Error>
    /// Set when `running` ends.
    let ended: Flag

    public static let adminSecret = "test-admin-secret-0123456789"

    public static func start(
        database: DatabaseSettings, clock: TestClock = TestClock(),
        configure: (inout DaemonSettings) -> Void = { _ in }
    ) async throws -> TestDaemon {
        let instance = try launch(database: database, clock: clock, configure: configure)
        guard try await instance.waitUntilListening(seconds: 30) else {
            await instance.stop()
            throw SettingsError("the test daemon did not start listening")
        }
        return instance
    }

    /// Starts a daemon without waiting for it to listen (a standby does not).
    public static func launch(
        database: DatabaseSettings, clock: TestClock = TestClock(),
        configure: (inout DaemonSettings) -> Void = { _ in }
    ) throws -> TestDaemon {
        var settings = DaemonSettings()
        settings.database = database
        settings.listener.port = 0
        settings.migrationsDirectory = TestPostgres.migrations
        settings.adminToken = adminSecret
        configure(&settings)
        var logger = Logger(label: "snpd-test")
        logger.logLevel = ProcessInfo.processInfo.environment["SNPD_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        let store = try Store(settings: database, logger: logger)
        let c = clock
        let registry = PrometheusCollectorRegistry()
        let daemon = Daemon(
            settings: settings, store: store, logger: logger,
            metrics: ServerMetrics(factory: PrometheusMetricsFactory(registry: registry)), clock: { c.now })
        let http = HTTPService(daemon: daemon, registry: registry, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: store.client),
                    .init(service: daemon, successTerminationBehavior: .gracefullyShutdownGroup,
                          failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: http, successTerminationBehavior: .ignore,
                          failureTerminationBehavior: .gracefullyShutdownGroup),
                ],
                logger: logger))
        let ended = Flag()
        let running = Task {
            defer { ended.set() }
            try await group.run()
        }
        return TestDaemon(
            daemon: daemon, http: http, clock: clock, database: database, group: group, running: running, ended: ended)
    }

    /// The HTTP listener's port (with `settings.http.listen` set, port 0 in tests), once bound.
    public func waitForHTTPPort(seconds: Double = 10) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if let port = http.httpPort { return port }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw SettingsError("the test daemon's HTTP listener did not start")
    }

    /// Whether it listens within `seconds` (polling; not a measure of speed).
    public func waitUntilListening(seconds: Double) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if daemon.server.port != nil { return true }
            try await Task.sleep(for: .milliseconds(25))
        }
        return daemon.server.port != nil
    }

    init(
        daemon: Daemon, http: HTTPService, clock: TestClock, database: DatabaseSettings, group: ServiceGroup,
        running: Task<Void, any Error>, ended: Flag
    ) {
        self.daemon = daemon
        self.http = http
        self.clock = clock
        self.database = database
        self.group = group
        self.running = running
        self.ended = ended
    }

    /// Whether the daemon's run has ended within `seconds` (a stop, or an error such as a
    /// lost leadership), polling.
    public func waitUntilEnded(seconds: Double) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if ended.isSet { return true }
            try await Task.sleep(for: .milliseconds(25))
        }
        return ended.isSet
    }

    public var port: Int { daemon.server.port! }

    /// Stops as on SIGTERM: no new connections, in-flight commands finish, then close. A
    /// graceful stop still running after `stopPatience` is said on standard error and
    /// cancelled (as systemd would kill it), so that one stuck stop does not hang the run.
    public func stop() async {
        await group.triggerGracefulShutdown()
        let running = self.running
        let watchdog = Task {
            try await Task.sleep(for: Self.stopPatience)
            FileHandle.standardError.write(
                Data("TestDaemon: the graceful stop still runs after \(Self.stopPatience): cancelled\n".utf8))
            running.cancel()
        }
        _ = try? await running.value
        watchdog.cancel()
    }

    public static let stopPatience: Duration = .seconds(30)

    /// Connects and authenticates as the admin.
    public func admin() async throws -> LineClient {
        let c = try await LineClient.connect(port: port)
        try await c.expectOK("AUTH \(TestDaemon.adminSecret)")
        return c
    }

    /// Creates a token in the database and returns a client authenticated with it.
    public func client(role: Role, name: String, pro: RPPS? = nil) async throws -> LineClient {
        let secret = try await daemon.store.addToken(Principal(name: name, role: role, pro: pro))
        let c = try await LineClient.connect(port: port)
        try await c.expectOK("AUTH \(secret)")
        return c
    }
}
