import Foundation
import PostgresNIO

/// Where the database is: `--database-url`/`SNPD_DATABASE_URL`, else the standard `PG*`
/// variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`), as
/// `psql` reads them, so an operator's usual environment just works.
public struct DatabaseSettings: Sendable, Equatable {
    public var host = "127.0.0.1"
    /// A Unix-socket directory (a `PGHOST` or URL host starting with `/`).
    public var socketDirectory: String?
    public var port = 5432
    public var user = "postgres"
    public var password: String?
    public var database = "snpd"
    /// `disable`, `prefer` or `require`, as libpq's `sslmode`.
    public var sslMode = "prefer"
    /// How long a commit may wait for the database before the daemon settles its outcome
    /// itself (`SNPD_COMMIT_TIMEOUT_MS`, 100 to 600 000; default 5 s).
    public var commitTimeout: Duration = .seconds(5)
    /// How many group commits may be in flight at once, each on its own connection
    /// (`SNPD_COMMIT_CONCURRENCY`, 1 to 4; default 1: one at a time). Commits in flight
    /// together touch disjoint records (`Store.commitKeys`), so they commute.
    public var commitConcurrency = 1

    public init() {}

    /// Reads `postgres://user:password@host:port/database?sslmode=…`.
    public init(url text: String) throws {
        guard let c = URLComponents(string: text), c.scheme == "postgres" || c.scheme == "postgresql" else {
            throw SettingsError("database URL must look like postgres://user:password@host:port/database, got \(text)")
        }
        if let h = c.host, !h.isEmpty { host = h }
        if let p = c.port { port = p }
        if let u = c.user, !u.isEmpty { user = u.removingPercentEncoding ?? u }
        password = c.password?.removingPercentEncoding
        let path = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
        if !path.isEmpty { database = path }
        for item in c.queryItems ?? [] {
            switch item.name {
            case "sslmode": sslMode = item.value ?? sslMode
            case "host": if let v = item.value, v.hasPrefix("/") { socketDirectory = v }
            default: break
            }
        }
    }

    /// The URL if one is given, else the `PG*` variables of `environment`.
    public static func resolve(url: String?, environment: [String: String]) throws -> DatabaseSettings {
        var s = try location(url: url, environment: environment)
        if let text = environment["SNPD_COMMIT_TIMEOUT_MS"], !text.isEmpty {
            guard let ms = Int(text), (100...600_000).contains(ms) else {
                throw SettingsError("SNPD_COMMIT_TIMEOUT_MS must be a number of milliseconds from 100 to 600000, got \(text)")
            }
            s.commitTimeout = .milliseconds(ms)
        }
        if let text = environment["SNPD_COMMIT_CONCURRENCY"], !text.isEmpty {
            guard let n = Int(text), (1...4).contains(n) else {
                throw SettingsError("SNPD_COMMIT_CONCURRENCY must be a number of commits in flight from 1 to 4, got \(text)")
            }
            s.commitConcurrency = n
        }
        return s
    }

    private static func location(url: String?, environment: [String: String]) throws -> DatabaseSettings {
        if let url = url ?? environment["SNPD_DATABASE_URL"], !url.isEmpty { return try DatabaseSettings(url: url) }
        var s = DatabaseSettings()
        if let h = environment["PGHOST"], !h.isEmpty {
            if h.hasPrefix("/") { s.socketDirectory = h } else { s.host = h }
        }
        if let p = environment["PGPORT"], let n = Int(p) { s.port = n }
        if let u = environment["PGUSER"] ?? environment["USER"], !u.isEmpty { s.user = u }
        s.password = environment["PGPASSWORD"]
        if let d = environment["PGDATABASE"], !d.isEmpty { s.database = d }
        if let m = environment["PGSSLMODE"], !m.isEmpty { s.sslMode = m }
        return s
    }

    /// For logs: never the password.
    public var redacted: String {
        "postgres://\(user)@\(socketDirectory ?? host):\(port)/\(database)"
    }

    func clientConfiguration() throws -> PostgresClient.Configuration {
        var config: PostgresClient.Configuration
        if let dir = socketDirectory {
            config = .init(unixSocketPath: "\(dir)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        } else {
            let tls: PostgresClient.Configuration.TLS =
                switch sslMode {
                case "disable", "allow": .disable
                case "require", "verify-ca", "verify-full": .require(.makeClientConfiguration())
                default: host == "127.0.0.1" || host == "localhost" || host == "::1" ? .disable : .prefer(.makeClientConfiguration())
                }
            config = .init(host: host, port: port, username: user, password: password, database: database, tls: tls)
        }
        // Fail fast when the server is away: a regulator on the phone needs an answer,
        // even if it is UNAVAILABLE.
        config.options.connectTimeout = .seconds(3)
        config.options.maximumConnections = 8
        return config
    }
}

public struct SettingsError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
