import ArgumentParser
import Foundation
import Logging
import SNPCore
import SNPReport
import SNPServer
import SNPStore
import Prometheus
import SNPHTTP
import ServiceLifecycle

@main
struct Snpd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snpd",
        abstract: "Matches unscheduled-care requests (soins non programmés) to volunteer slots.",
        version: Daemon.version,
        subcommands: [Serve.self, Migrate.self, Report.self, Retention.self, Token.self, Feed.self],
        defaultSubcommand: nil)
}

/// Flags shared by every subcommand that talks to the database.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL (postgres://user:password@host:port/db); else SNPD_DATABASE_URL, else PG* variables.")
    var databaseURL: String?

    @Option(help: "A file of KEY=VALUE settings (SNPD_*, PG*); the environment and flags take precedence.")
    var config: String?

    func settings(extra: [String: String] = [:]) throws -> DaemonSettings {
        var overrides = extra
        if let databaseURL { overrides["SNPD_DATABASE_URL"] = databaseURL }
        do {
            return try DaemonSettings.resolve(
                overrides: overrides, environment: ProcessInfo.processInfo.environment, configFile: config)
        } catch let e as SettingsError {
            throw ValidationError(e.description)
        }
    }
}

func makeLogger(_ level: Logger.Level) -> Logger {
    LoggingSystem.bootstrap { label in
        var h = StreamLogHandler.standardError(label: label)
        h.logLevel = level
        return h
    }
    var logger = Logger(label: "snpd")
    logger.logLevel = level
    return logger
}

/// Runs `body` with a live connection pool, then stops the pool.
func withStore<T: Sendable>(_ settings: DaemonSettings, _ body: @Sendable @escaping (Store) async throws -> T) async throws -> T {
    var logger = Logger(label: "snpd")
    logger.logLevel = .warning
    return try await Store.withRunning(settings.database, logger: logger, body)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the daemon (line protocol on --listen).")

    @OptionGroup var database: DatabaseOptions

    @Option(help: "HOST:PORT to listen on (default 127.0.0.1:7441; SNPD_LISTEN).")
    var listen: String?

    @Option(help: "Also listen on this Unix-domain socket (SNPD_UNIX).")
    var unix: String?

    @Option(help: "Also listen with TLS on this HOST:PORT (SNPD_TLS_LISTEN; needs --tls-cert and --tls-key).")
    var tlsListen: String?

    @Option(help: "PEM certificate chain of the TLS listener (SNPD_TLS_CERT).")
    var tlsCert: String?

    @Option(help: "PEM private key of the TLS listener (SNPD_TLS_KEY).")
    var tlsKey: String?

    @Option(help: "Require client certificates signed by this PEM CA on the TLS listener (SNPD_TLS_CLIENT_CA).")
    var tlsClientCA: String?

    @Option(help: "HOST:PORT of the plain HTTP listener: FHIR, /metrics, /health (SNPD_HTTP_LISTEN; off by default).")
    var httpListen: String?

    @Option(help: "HOST:PORT of the HTTPS listener (SNPD_HTTPS_LISTEN; needs --tls-cert and --tls-key).")
    var httpsListen: String?

    @Flag(help: "Do not apply pending migrations at start.")
    var noMigrate = false

    @Option(help: "trace, debug, info, notice, warning, error or critical (SNPD_LOG_LEVEL).")
    var logLevel: String?

    func run() async throws {
        var extra: [String: String] = [:]
        if let listen { extra["SNPD_LISTEN"] = listen }
        if let unix { extra["SNPD_UNIX"] = unix }
        if let tlsListen { extra["SNPD_TLS_LISTEN"] = tlsListen }
        if let tlsCert { extra["SNPD_TLS_CERT"] = tlsCert }
        if let tlsKey { extra["SNPD_TLS_KEY"] = tlsKey }
        if let tlsClientCA { extra["SNPD_TLS_CLIENT_CA"] = tlsClientCA }
        if let httpListen { extra["SNPD_HTTP_LISTEN"] = httpListen }
        if let httpsListen { extra["SNPD_HTTPS_LISTEN"] = httpsListen }
        if let logLevel { extra["SNPD_LOG_LEVEL"] = logLevel }
        if noMigrate { extra["SNPD_NO_MIGRATE"] = "1" }
        let settings = try database.settings(extra: extra)
        let logger = makeLogger(settings.logLevel)
        logger.notice("starting", metadata: ["version": "\(Daemon.version)", "database": "\(settings.database.redacted)"])
        let store = try Store(settings: settings.database, logger: logger)
        let registry = PrometheusCollectorRegistry()
        let daemon = Daemon(
            settings: settings, store: store, logger: logger,
            metrics: ServerMetrics(factory: PrometheusMetricsFactory(registry: registry)))
        let http = HTTPService(daemon: daemon, registry: registry, logger: logger)
        var configuration = ServiceGroupConfiguration(
            services: [
                .init(service: store.client),
                .init(service: daemon, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: http, successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // A stop always ends: what still runs after SNPD_STOP_TIMEOUT is cancelled, and a
        // cancellation that does not end within 5 s ends the process (ServiceLifecycle logs
        // which service it waited for).
        configuration.maximumGracefulShutdownDuration = settings.stopTimeout
        configuration.maximumCancellationDuration = .seconds(5)
        try await ServiceGroup(configuration: configuration).run()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending schema migrations from sql/.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let settings = try database.settings()
        guard let dir = settings.migrationsDirectory else {
            throw ValidationError("cannot find the sql/ migrations folder; set SNPD_SQL_DIR")
        }
        let applied = try await withStore(settings) { try await $0.migrate(directory: dir) }
        print(applied.isEmpty ? "schema up to date" : "applied: \(applied.joined(separator: ", "))")
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage access tokens.", subcommands: [Add.self, List.self, Revoke.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token; prints its secret alone on the first line, once.")

        @OptionGroup var database: DatabaseOptions

        @Option(help: "admin, coordinator, regulator, pro or reporter.")
        var role: String

        @Option(help: "A unique name (shown in AUTH replies and logs).")
        var name: String

        @Option(help: "The RPPS a pro token acts for.")
        var pro: String?

        @Option(
            help: "Who books, for the SAS feed (regulator or admin): IDNPS:8<RPPS> or INTRN:<SAS uuid>.")
        var `operator`: String?

        func run() async throws {
            guard let role = Role(rawValue: role) else {
                throw ValidationError("--role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var rpps: RPPS?
            if let pro {
                do { rpps = try RPPS(validating: pro) } catch { throw ValidationError(error.message) }
            }
            var identity: OperatorIdentity?
            if let op = `operator` {
                do { identity = try OperatorIdentity(validating: op) } catch { throw ValidationError(error.message) }
                guard role == .regulator || role == .admin else {
                    throw ValidationError("--operator goes only with --role regulator or admin")
                }
            }
            let principal = Principal(name: name, role: role, pro: rpps, operatorIdentity: identity)
            let settings = try database.settings()
            do {
                let secret = try await withStore(settings) { try await $0.addToken(principal) }
                print(secret)
            } catch let e as SettingsError {
                throw ValidationError(e.description)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let tokens = try await withStore(try database.settings()) { try await $0.listTokens() }
            for t in tokens {
                var line = "\(t.principal.name)\trole=\(t.principal.role.rawValue)"
                if let pro = t.principal.pro { line += "\tpro=\(pro)" }
                if let op = t.principal.operatorIdentity { line += "\toperator=\(op)" }
                line += "\tcreated=\(RFC3339.format(t.createdAt))"
                if let r = t.revokedAt { line += "\trevoked=\(RFC3339.format(r))" }
                print(line)
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token: new AUTHs with it fail at once.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The token's name.")
        var name: String

        func run() async throws {
            let found = try await withStore(try database.settings()) { try await $0.revokeToken(name: name) }
            guard found else { throw ValidationError("no active token named \(name)") }
            print("revoked \(name)")
        }
    }
}

/// The SAS appointment feed's outbox (SPEC §8), for the operator.
struct Feed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The SAS appointment feed: what waits, what the SAS refused, and sending it again.",
        subcommands: [List.self, Retry.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Messages not yet delivered, oldest first: appointment, state, attempts, last error.")

        @OptionGroup var database: DatabaseOptions

        @Flag(help: "Only the parked ones (refused by the SAS: they wait for `snpd feed retry`).")
        var parked = false

        func run() async throws {
            let parkedOnly = parked
            let entries = try await withStore(try database.settings()) { try await $0.pendingFeedMessages(parkedOnly: parkedOnly) }
            for e in entries {
                var line = "\(e.appointment)\tseq=\(e.seq)\t\(e.method.rawValue)\tstate=\(e.state)\tattempts=\(e.attempts)"
                line += "\tcreated=\(RFC3339.format(e.createdAt))"
                if e.state == "waiting" { line += "\tnext=\(RFC3339.format(e.nextAttemptAt))" }
                if let err = e.lastError {
                    line += "\terror=" + err.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " ")
                }
                print(line)
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a parked appointment's messages again (the leader picks them up at once).")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The appointment identifier's value (as `snpd feed list` and `REQ GET` show it).")
        var appointment: String?

        @Flag(help: "Every parked appointment.")
        var allParked = false

        func validate() throws {
            guard (appointment != nil) != allParked else { throw ValidationError("give an appointment or --all-parked") }
        }

        func run() async throws {
            let which = allParked ? nil : appointment
            let n = try await withStore(try database.settings()) { try await $0.feedRetry(appointment: which) }
            guard n > 0 else { throw ValidationError(which.map { "no parked message for \($0)" } ?? "nothing is parked") }
            print("\(n) message(s) waiting again")
        }
    }
}

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute the ACI indicators (§5) for a day or a period, store the run, write the files.",
        discussion: """
            Days are Europe/Paris days. Without --day or --from/--to: yesterday (what the nightly
            timer runs); with --catch-up, every day since the last stored day run up to yesterday
            (at most 31), so that downtime leaves no hole. Files go to --out (SNPD_REPORT_DIR, else
            ./reports) as snp-report-FROM[_TO][-TERRITORY].{json,csv,html}.
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(help: "One day, YYYY-MM-DD.")
    var day: String?

    @Option(help: "First day of a period, YYYY-MM-DD (with --to).")
    var from: String?

    @Option(help: "Last day of a period, inclusive.")
    var to: String?

    @Flag(help: "Report every day not yet reported, up to yesterday (the nightly timer uses it).")
    var catchUp = false

    @Option(help: "Only this territory (CPTS code).")
    var territory: String?

    @Option(help: "Comma-separated: json, csv, html.")
    var format = "json,csv,html"

    @Option(help: "Output folder (SNPD_REPORT_DIR, else ./reports).")
    var out: String?

    @Option(help: "Target 48-hour rate drawn on the chart, 0 to 1 (SNPD_REPORT_TARGET, else 0.8).")
    var target: Double?

    @Flag(help: "Do not store the run in PostgreSQL (for a read-only replica).")
    var noStore = false

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let periods: [ReportPeriod]
        do {
            switch (day, from, to, catchUp) {
            case (let d?, nil, nil, false): periods = [try ReportPeriod(from: d, to: d)]
            case (nil, let f?, let t?, false): periods = [try ReportPeriod(from: f, to: t)]
            case (nil, nil, nil, _): periods = [ReportPeriod.yesterday(now: Date())]
            default: throw ValidationError("give --day, or both --from and --to, or --catch-up alone")
            }
        } catch let e as ReportError {
            throw ValidationError(e.description)
        }
        var formats: [ReportFormat] = []
        for name in format.split(separator: ",") {
            guard let f = ReportFormat(rawValue: name.trimmingCharacters(in: .whitespaces).lowercased()) else {
                throw ValidationError("--format takes json, csv, html; got \(name)")
            }
            formats.append(f)
        }
        let goal = target ?? env["SNPD_REPORT_TARGET"].flatMap(Double.init) ?? 0.8
        guard (0...1).contains(goal) else { throw ValidationError("--target is a rate between 0 and 1") }
        let folder = URL(fileURLWithPath: out ?? env["SNPD_REPORT_DIR"] ?? "reports")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let settings = try database.settings()
        let (territory, store, catchUp) = (self.territory, !noStore, self.catchUp)
        let reports = try await withStore(settings) { db in
            let builder = ReportBuilder(store: db, version: Daemon.version)
            var todo = periods
            if catchUp, let last = try await builder.lastReportedDay(territory: territory) {
                let yesterday = periods[0].toDay
                todo = (max(last + 1, yesterday - 30)...max(yesterday, last + 1)).filter { $0 <= yesterday }
                    .map { ReportPeriod(fromDay: $0, toDay: $0) }
            }
            var out: [(ReportPeriod, SNPReport.Report)] = []
            for period in todo {
                var report = try await builder.build(period: period, territory: territory, target: goal, now: Date())
                if store { try await builder.save(report, period: period) }
                report.history = try await builder.history(endingAt: period.toDay, territory: territory)
                out.append((period, report))
            }
            return out
        }
        if reports.isEmpty { print("nothing to report: every day up to yesterday is already stored") }
        for (period, report) in reports {
            var name = "snp-report-\(period.from)"
            if !period.isSingleDay { name += "_\(period.to)" }
            if let territory { name += "-" + territory.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" } }
            var written: [String] = []
            for f in formats {
                let url = folder.appendingPathComponent("\(name).\(f.fileExtension)")
                try f.render(report).write(to: url, atomically: true, encoding: .utf8)
                written.append(url.path)
            }
            let t = report.total
            print(
                "\(period.from)..\(period.to) \(report.territory): requests=\(t.requests) booked=\(t.booked) "
                    + "rate_48h=\(String(format: "%.3f", t.rate_48h)) expired=\(t.expired) → \(written.joined(separator: " "))")
        }
    }
}

struct Retention: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Blur the location of requests older than the retention period (RGPD minimisation).",
        discussion: """
            Requests created more than --days days ago (SNPD_RETENTION_DAYS, else 90) get their
            location snapped to a 0.1° grid, after the territory they count in has been frozen, so
            that reports over old periods keep their figures. Run nightly after the report
            (snpd-report.service). A running daemon snaps its own copies in memory the same way
            (same SNPD_RETENTION_DAYS); it never writes them back.
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Retention in days (SNPD_RETENTION_DAYS, else 90).")
    var days: Int?

    @Flag(help: "Only say how many requests would be blurred.")
    var dryRun = false

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let text = days.map(String.init) ?? env["SNPD_RETENTION_DAYS"]
        let retention: Int
        if let text {
            guard let n = LocationRetention.days(parsing: text) else {
                throw ValidationError("the retention is a whole number of days, at least 1; got \(text)")
            }
            retention = n
        } else {
            retention = LocationRetention.defaultDays
        }
        let settings = try database.settings()
        let now = Date()
        let cutoff = SNPReport.Retention.cutoff(now: now, days: retention)
        let dryRun = self.dryRun
        let count = try await withStore(settings) { db in
            let job = SNPReport.Retention(store: db)
            return dryRun ? try await job.pending(before: cutoff) : try await job.blurLocations(before: cutoff, now: now)
        }
        let verb = dryRun ? "would blur" : "blurred"
        print("\(verb) the location of \(count) request(s) created before \(RFC3339.format(cutoff)) (retention \(retention) days)")
    }
}
