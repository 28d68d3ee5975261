import Foundation
import Logging
import SNPCore
import SNPStore

extension DaemonSettings {
    /// Resolves settings from, in order of precedence: `overrides` (command-line flags, as
    /// `SNPD_*` keys), the process environment, then an optional config file of `KEY=VALUE`
    /// lines (the format of a systemd `EnvironmentFile`, so one file serves both).
    public static func resolve(
        overrides: [String: String], environment: [String: String], configFile: String?
    ) throws -> DaemonSettings {
        var merged: [String: String] = [:]
        if let path = configFile ?? environment["SNPD_CONFIG"] {
            merged = try parseConfigFile(path)
        }
        merged.merge(environment) { _, env in env }
        merged.merge(overrides) { _, flag in flag }

        var s = DaemonSettings()
        s.database = try DatabaseSettings.resolve(url: merged["SNPD_DATABASE_URL"], environment: merged)
        if let listen = merged["SNPD_LISTEN"] {
            (s.listener.host, s.listener.port) = try hostAndPort(listen, "SNPD_LISTEN / --listen")
        }
        s.listener.unixPath = merged["SNPD_UNIX"].flatMap { $0.isEmpty ? nil : $0 }
        if let v = merged["SNPD_MAX_CONNECTIONS"] { s.listener.maxConnections = try int(v, "SNPD_MAX_CONNECTIONS", 1...1_000_000) }
        if let v = merged["SNPD_AUTH_TIMEOUT"] { s.listener.authTimeout = .seconds(try seconds(v, "SNPD_AUTH_TIMEOUT")) }
        if let v = merged["SNPD_MAX_CONNECTIONS_PER_ADDRESS"] {
            s.listener.maxConnectionsPerAddress = try int(v, "SNPD_MAX_CONNECTIONS_PER_ADDRESS", 1...1_000_000)
        }
        if let v = merged["SNPD_LINE_TIMEOUT"] { s.listener.lineTimeout = .seconds(try seconds(v, "SNPD_LINE_TIMEOUT")) }
        if let v = merged["SNPD_STOP_TIMEOUT"] { s.stopTimeout = .seconds(try seconds(v, "SNPD_STOP_TIMEOUT")) }
        if let v = merged["SNPD_WRITE_TIMEOUT"] { s.listener.writeTimeout = .seconds(try seconds(v, "SNPD_WRITE_TIMEOUT")) }
        s.listener.tls = try tlsListener(merged)
        s.http = try http(merged)
        s.feed = try feed(merged)
        s.adminToken = merged["SNPD_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        if let t = s.adminToken, t.count > 200 || !t.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) {
            throw SettingsError("SNPD_ADMIN_TOKEN must be letters, digits, '-' or '_' (at most 200), so that it travels as a bare word")
        }
        if merged["SNPD_NO_MIGRATE"].map({ $0 == "1" || $0 == "true" }) == true { s.migrate = false }
        if merged["SNPD_PREPARE_SEARCHES"].map({ $0 == "0" || $0 == "false" }) == true { s.prepareSearches = false }
        s.migrationsDirectory = Store.migrationsDirectory(environment: merged)
        if let v = merged["SNPD_LOG_LEVEL"] {
            guard let level = Logger.Level(rawValue: v.lowercased()) else {
                throw SettingsError("SNPD_LOG_LEVEL must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            s.logLevel = level
        }

        var p = MatchingPolicy()
        if let v = merged["SNPD_STRATEGY"] {
            // `scarcity:live=0` and the other settings of docs/MATCHING.md, as snp-sim takes them.
            guard let named = MatchingPolicy(strategyNamed: v) else {
                throw SettingsError(
                    "SNPD_STRATEGY must be one of \(MatchingStrategy.allCases.map(\.rawValue).joined(separator: ", ")), optionally with settings (e.g. scarcity:live=0; docs/MATCHING.md); got \(v)"
                )
            }
            p = named
        }
        if let v = merged["SNPD_LEAD"] { p.leadSeconds = try seconds(v, "SNPD_LEAD") }
        if let v = merged["SNPD_WINDOW"] { p.windowSeconds = try seconds(v, "SNPD_WINDOW") }
        if let v = merged["SNPD_HORIZON"] { p.horizonSeconds = try seconds(v, "SNPD_HORIZON") }
        if let v = merged["SNPD_MAX_HOLD"] { p.maxHoldSeconds = try seconds(v, "SNPD_MAX_HOLD") }
        if let v = merged["SNPD_OFFICE_RADIUS_KM"] { p.officeRadiusKm = try double(v, "SNPD_OFFICE_RADIUS_KM") }
        if let v = merged["SNPD_HOME_RADIUS_KM"] { p.homeRadiusKm = try double(v, "SNPD_HOME_RADIUS_KM") }
        if let v = merged["SNPD_W_DIST"] { p.distanceWeight = try double(v, "SNPD_W_DIST") }
        if let v = merged["SNPD_W_LOAD"] { p.loadWeight = try double(v, "SNPD_W_LOAD") }
        if let v = merged["SNPD_RETENTION_DAYS"] {
            guard let days = LocationRetention.days(parsing: v) else {
                throw SettingsError("SNPD_RETENTION_DAYS must be a whole number of days, at least 1; got \(v)")
            }
            p.locationRetentionSeconds = days * 86_400
        }
        if let v = merged["SNPD_W_TIME"] {
            let parts = v.split(separator: ",")
            guard parts.count == 3 else { throw SettingsError("SNPD_W_TIME must be three weights, for prio 1,2,3: e.g. 2.0,0.5,0.1") }
            for (i, part) in parts.enumerated() { p.timeWeight[i + 1] = try double(String(part), "SNPD_W_TIME") }
        }
        s.policy = p
        return s
    }

    /// `SNPD_TLS_LISTEN` turns the TLS listener on; it then needs a certificate and a key.
    private static func tlsListener(_ merged: [String: String]) throws -> TLSListenerSettings? {
        let value = { (key: String) in merged[key].flatMap { $0.isEmpty ? nil : $0 } }
        guard let listen = value("SNPD_TLS_LISTEN") else {
            if (value("SNPD_TLS_CERT") != nil || value("SNPD_TLS_KEY") != nil) && value("SNPD_HTTPS_LISTEN") == nil {
                throw SettingsError(
                    "SNPD_TLS_CERT / SNPD_TLS_KEY are set but neither SNPD_TLS_LISTEN nor SNPD_HTTPS_LISTEN is: say where TLS listens (HOST:PORT)")
            }
            return nil
        }
        guard let cert = value("SNPD_TLS_CERT"), let key = value("SNPD_TLS_KEY") else {
            throw SettingsError("SNPD_TLS_LISTEN needs SNPD_TLS_CERT and SNPD_TLS_KEY (PEM files)")
        }
        var tls = TLSListenerSettings(certificatePath: cert, keyPath: key, clientCAPath: value("SNPD_TLS_CLIENT_CA"))
        (tls.host, tls.port) = try hostAndPort(listen, "SNPD_TLS_LISTEN")
        return tls
    }

    /// The SAS appointment feed of SPEC §8: on when `SNPD_SAS_FHIR_BASE` is set.
    static func feed(_ merged: [String: String]) throws -> FeedSettings? {
        let value = { (key: String) in merged[key].flatMap { $0.isEmpty ? nil : $0 } }
        guard let base = value("SNPD_SAS_FHIR_BASE") else { return nil }
        guard let url = URL(string: base), url.scheme == "https", url.host != nil else {
            throw SettingsError("SNPD_SAS_FHIR_BASE must be an https:// URL (the SAS platform's FHIR base), got \(base)")
        }
        guard let system = value("SNPD_APPOINTMENT_SYSTEM"), let u = URL(string: system), u.scheme != nil else {
            throw SettingsError(
                "the SAS feed (SNPD_SAS_FHIR_BASE) needs SNPD_APPOINTMENT_SYSTEM, the URI of snpd's appointment identifiers")
        }
        guard let cert = value("SNPD_SAS_CLIENT_CERT"), let key = value("SNPD_SAS_CLIENT_KEY") else {
            throw SettingsError("the SAS feed (SNPD_SAS_FHIR_BASE) needs SNPD_SAS_CLIENT_CERT and SNPD_SAS_CLIENT_KEY (PEM files)")
        }
        var f = FeedSettings(
            baseURL: base.hasSuffix("/") ? String(base.dropLast()) : base, appointmentSystem: system,
            clientCertificatePath: cert, clientKeyPath: key, caPath: value("SNPD_SAS_CA"))
        if let v = value("SNPD_SAS_RETRY_MIN_MS") { f.retryMin = .milliseconds(try int(v, "SNPD_SAS_RETRY_MIN_MS", 1...3_600_000)) }
        if let v = value("SNPD_SAS_RETRY_MAX_MS") { f.retryMax = .milliseconds(try int(v, "SNPD_SAS_RETRY_MAX_MS", 1...86_400_000)) }
        if let v = value("SNPD_SAS_TIMEOUT_MS") { f.timeout = .milliseconds(try int(v, "SNPD_SAS_TIMEOUT_MS", 100...600_000)) }
        if let v = value("SNPD_SAS_RETENTION_DAYS") { f.retentionDays = try int(v, "SNPD_SAS_RETENTION_DAYS", 1...3650) }
        return f
    }

    /// The HTTP listeners of SPEC §7.1 and the FHIR answer's settings.
    private static func http(_ merged: [String: String]) throws -> HTTPSettings {
        let value = { (key: String) in merged[key].flatMap { $0.isEmpty ? nil : $0 } }
        var h = HTTPSettings()
        if let v = value("SNPD_HTTP_LISTEN") { h.listen = try hostAndPort(v, "SNPD_HTTP_LISTEN / --http-listen") }
        if let v = value("SNPD_HTTPS_LISTEN") {
            h.httpsListen = try hostAndPort(v, "SNPD_HTTPS_LISTEN / --https-listen")
            guard let cert = value("SNPD_TLS_CERT"), let key = value("SNPD_TLS_KEY") else {
                throw SettingsError("SNPD_HTTPS_LISTEN needs SNPD_TLS_CERT and SNPD_TLS_KEY (PEM files)")
            }
            (h.certificatePath, h.keyPath, h.clientCAPath) = (cert, key, value("SNPD_TLS_CLIENT_CA"))
        }
        if let v = value("SNPD_FHIR_CLIENT_NAMES") {
            h.fhirClientNames = Set(v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        if let v = value("SNPD_PUBLIC_URL") {
            guard let url = URL(string: v), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw SettingsError("SNPD_PUBLIC_URL must be an http(s) URL such as https://snpd.example.fr, got \(v)")
            }
            h.publicURL = v.hasSuffix("/") ? String(v.dropLast()) : v
        }
        h.bookingURL = value("SNPD_BOOKING_URL")
        if let finess = value("SNPD_CPTS_FINESS") {
            guard finess.count == 9, finess.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "A" || $0 == "B") }) else {
                throw SettingsError("SNPD_CPTS_FINESS must be a FINESS number (9 characters), got \(finess)")
            }
            h.cptsFiness = finess
            h.cptsName = value("SNPD_CPTS_NAME") ?? "CPTS"
        }
        if let v = value("SNPD_HTTP_MAX_CONNECTIONS") {
            h.maxConnections = try int(v, "SNPD_HTTP_MAX_CONNECTIONS", 1...1_000_000)
        }
        if let v = value("SNPD_HTTP_IDLE_TIMEOUT") { h.idleTimeout = .seconds(try seconds(v, "SNPD_HTTP_IDLE_TIMEOUT")) }
        return h
    }

    private static func hostAndPort(_ value: String, _ key: String) throws -> (String, Int) {
        guard let colon = value.lastIndex(of: ":"), let port = Int(value[value.index(after: colon)...]), (0...65535).contains(port)
        else { throw SettingsError("\(key) must be HOST:PORT, got \(value)") }
        return (String(value[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
    }

    static func parseConfigFile(_ path: String) throws -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SettingsError("cannot read config file \(path)")
        }
        var out: [String: String] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else { throw SettingsError("\(path):\(n + 1): expected KEY=VALUE") }
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.first == "\"", value.last == "\"" { value = String(value.dropFirst().dropLast()) }
            out[line[..<eq].trimmingCharacters(in: .whitespaces)] = value
        }
        return out
    }

    private static func int(_ v: String, _ key: String, _ range: ClosedRange<Int>) throws -> Int {
        guard let n = Int(v), range.contains(n) else { throw SettingsError("\(key) must be a whole number in \(range), got \(v)") }
        return n
    }

    private static func double(_ v: String, _ key: String) throws -> Double {
        guard let x = Double(v), x.isFinite, x >= 0 else { throw SettingsError("\(key) must be a non-negative number, got \(v)") }
        return x
    }

    private static func seconds(_ v: String, _ key: String) throws -> Int {
        do { return try DurationText.parseSeconds(v) } catch { throw SettingsError("\(key): \(error.message)") }
    }
}
