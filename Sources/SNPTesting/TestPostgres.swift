import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import PostgresNIO
import SNPStore

/// A real PostgreSQL server for tests, and a fresh database on it for each test.
///
/// The server is the one `scripts/test` started (`SNPD_TEST_DATABASE_URL`); when that is
/// not set (a plain `swift test`), one is started with `scripts/pg-local` in a temporary
/// folder, once per test process. Tests never share a database, so they run in parallel.
public enum TestPostgres {
    /// The repository's root, found from this file's path.
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static var migrations: URL { repositoryRoot.appendingPathComponent("sql") }

    private static let server: Result<DatabaseSettings, any Error> = {
        do {
            if let url = ProcessInfo.processInfo.environment["SNPD_TEST_DATABASE_URL"], !url.isEmpty {
                return .success(try DatabaseSettings(url: url))
            }
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("snpd-tests-\(getpid())")
            let out = try run(repositoryRoot.appendingPathComponent("scripts/pg-local").path, ["start", dir.path])
            atexit {
                let dir = FileManager.default.temporaryDirectory.appendingPathComponent("snpd-tests-\(getpid())")
                _ = try? TestPostgres.run(
                    TestPostgres.repositoryRoot.appendingPathComponent("scripts/pg-local").path, ["destroy", dir.path])
            }
            return .success(try DatabaseSettings(url: out.trimmingCharacters(in: .whitespacesAndNewlines)))
        } catch {
            return .failure(error)
        }
    }()

    /// Creates an empty database, with the schema applied if `migrated`.
    public static func freshDatabase(migrated: Bool = true) async throws -> DatabaseSettings {
        var settings = try concurrent(server.get())
        let name = "snpd_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        var admin = settings
        admin.database = "postgres"
        _ = try await withStore(admin) { store in
            try await store.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        }
        settings.database = name
        if migrated {
            try await withStore(settings) { store in _ = try await store.migrate(directory: migrations) }
        }
        return settings
    }

    /// `SNPD_COMMIT_CONCURRENCY` of the test run's environment, so that the whole suite can
    /// run with concurrent commits (the daemons started as processes read it themselves).
    static func concurrent(_ settings: DatabaseSettings) -> DatabaseSettings {
        var s = settings
        if let text = ProcessInfo.processInfo.environment["SNPD_COMMIT_CONCURRENCY"], let n = Int(text) {
            s.commitConcurrency = n
        }
        return s
    }

        /// Runs `body` with a running connection pool on `settings`.
    public static func withStore<T: Sendable>(
        _ settings: DatabaseSettings, _ body: @Sendable @escaping (Store) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "snpd-test")
        logger.logLevel = .error
        return try await Store.withRunning(settings, logger: logger, body)
    }

    /// A PostgreSQL server of a test's own (to stop and start it), with the schema applied.
    public static func privateCluster() async throws -> (settings: DatabaseSettings, directory: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("snpd-own-\(UUID().uuidString.prefix(8))").path
        let url = try run(pgLocal, ["start", dir]).trimmingCharacters(in: .whitespacesAndNewlines)
        let settings = concurrent(try DatabaseSettings(url: url))
        _ = try await withStore(settings) { store in try await store.migrate(directory: migrations) }
        return (settings, dir)
    }

    /// Stops a private cluster (fast shutdown: sessions are cut).
    public static func stopCluster(_ directory: String) throws { try run(pgLocal, ["stop", directory]) }

    /// Starts a private cluster again, on the same port, with its data.
    public static func startCluster(_ directory: String) throws { try run(pgLocal, ["start", directory]) }

    public static func destroyCluster(_ directory: String) { _ = try? run(pgLocal, ["destroy", directory]) }

    static var pgLocal: String { repositoryRoot.appendingPathComponent("scripts/pg-local").path }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        // Through system(3) and a file rather than Process and a pipe: the PostgreSQL
        // server that pg-local starts inherits the child's descriptors, and Foundation's
        // Process then never sees its child end.
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("snpd-run-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let quoted = ([executable] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let status = system(quoted.joined(separator: " ") + " < /dev/null > '\(out.path)'")
        guard status == 0 else {
            throw SettingsError("\(executable) \(arguments.joined(separator: " ")) failed with status \(status)")
        }
        return (try? String(contentsOf: out, encoding: .utf8)) ?? ""
    }
}

extension Store {
    /// The one integer `sql` selects (a count, say): what tests read back from the database.
    public func integer(_ sql: String) async throws -> Int {
        var n: Int?
        for try await v in try await client.query(PostgresQuery(unsafeSQL: sql)).decode(Int.self) { n = v }
        guard let n else { throw SettingsError("no row for: \(sql)") }
        return n
    }
}
