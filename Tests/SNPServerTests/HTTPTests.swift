import Foundation
import SNPCore
import SNPStore
import SNPTesting
import Testing

/// SPEC §7.1 and §7.3: the HTTP listener, its access rules, health and metrics.
@Suite("HTTP: health, readiness, metrics, access to /fhir")
struct HTTPTests {
    static func withHTTP(database: DatabaseSettings? = nil) async throws -> (TestDaemon, Int) {
        let db: DatabaseSettings
        if let database { db = database } else { db = try await TestPostgres.freshDatabase() }
        let d = try await TestDaemon.start(database: db) { $0.http.listen = ("127.0.0.1", 0) }
        return (d, try await d.waitForHTTPPort())
    }

    @Test func healthReadinessAndMetricsAnswer() async throws {
        let (d, port) = try await Self.withHTTP()
        let admin = try await d.admin()
        try await admin.putPro(rpps(1))
        try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 3))
        #expect(try await admin.send("PRO GET 123").code == "BAD_REQUEST")
        #expect(try await RawHTTPClient.get(port: port, "/health").status == 200)
        #expect(try await RawHTTPClient.get(port: port, "/ready").status == 200)
        let metrics = try await RawHTTPClient.get(port: port, "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
        let text = metrics.body
        #expect(text.contains(#"snpd_commands_total{command="SLOT ADD",outcome="OK"} 1"#), "\(text.prefix(2000))")
        #expect(text.contains(#"snpd_commands_total{command="PRO GET",outcome="BAD_REQUEST"} 1"#))
        #expect(text.contains("snpd_command_duration_seconds_bucket"))
        #expect(text.contains("snpd_commit_batch_commands"))
        #expect(text.contains("snpd_open_slots 1"))
        #expect(text.contains("snpd_queued_requests 0"))
        #expect(text.contains(#"snpd_commits_total{outcome="landed"}"#))
        await d.stop()
    }

    @Test func fhirRefusesWithAnOperationOutcomeAndTheRightStatus() async throws {
        let (d, port) = try await Self.withHTTP()
        let pro = try await d.daemon.store.addToken(Principal(name: "doc", role: .pro, pro: RPPS(trusted: rpps(1))))
        let regulator = try await d.daemon.store.addToken(Principal(name: "samu56", role: .regulator))
        let query = "/fhir/Slot?start=ge2026-12-01T08:00:00%2B01:00&start=le2026-12-02T08:00:00%2B01:00&schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1%7C8\(rpps(1))"
        let cases: [(String, [String: String], Int)] = [
            (query, [:], 401),
            (query, ["Authorization": "Bearer not-a-token"], 401),
            (query, ["Authorization": "Basic abc"], 401),
            (query, ["Authorization": "Bearer \(pro)"], 403),
            (query, ["Authorization": "Bearer \(regulator)", "Accept": "application/xml"], 406),
            ("/fhir/Slot?start=ge2026-12-01", ["Authorization": "Bearer \(regulator)"], 400),
            ("/fhir/Slot?garbage%%%=&&&=", ["Authorization": "Bearer \(regulator)"], 400),
            ("/fhir/Patient/1", ["Authorization": "Bearer \(regulator)"], 404),
        ]
        for (target, headers, status) in cases {
            let answer = try await RawHTTPClient.get(port: port, target, headers: headers)
            #expect(answer.status == status, "\(target) \(headers) → \(answer.status) \(answer.body)")
            #expect(answer.headers["content-type"] == "application/fhir+json")
            let outcome = answer.json as? [String: Any]
            #expect(outcome?["resourceType"] as? String == "OperationOutcome", "\(answer.body)")
            let issue = (outcome?["issue"] as? [[String: Any]])?.first
            #expect((issue?["diagnostics"] as? String)?.isEmpty == false, "a message a person understands")
        }
        let ok = try await RawHTTPClient.get(port: port, query, headers: ["Authorization": "Bearer \(regulator)"])
        #expect(ok.status == 200, "\(ok.body)")
        let metadata = try await RawHTTPClient.get(port: port, "/fhir/metadata")
        #expect(metadata.status == 200)
        #expect((metadata.json as? [String: Any])?["resourceType"] as? String == "CapabilityStatement")
        #expect((metadata.json as? [String: Any])?["fhirVersion"] as? String == "4.0.1")
        await d.stop()
    }

    @Test func aStandbyAnswersHealthButNotReadyNorFHIR() async throws {
        let db = try await TestPostgres.freshDatabase()
        let (leader, _) = try await Self.withHTTP(database: db)
        let regulator = try await leader.daemon.store.addToken(Principal(name: "samu56", role: .regulator))
        let standby = try TestDaemon.launch(database: db) { $0.http.listen = ("127.0.0.1", 0) }
        let port = try await standby.waitForHTTPPort()
        #expect(try await RawHTTPClient.get(port: port, "/health").status == 200)
        #expect(try await RawHTTPClient.get(port: port, "/ready").status == 503)
        let search = try await RawHTTPClient.get(
            port: port,
            "/fhir/Slot?start=ge2026-12-01T08:00:00Z&start=le2026-12-02T08:00:00Z&schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1|8\(rpps(1))",
            headers: ["Authorization": "Bearer \(regulator)"])
        #expect(search.status == 503, "\(search.body)")
        await standby.stop()
        await leader.stop()
    }
}

/// SPEC §7.1: HTTPS with mutual TLS; the certificate's CN must be in
/// `SNPD_FHIR_CLIENT_NAMES` (when set) to call `/fhir`; `/health` needs nothing.
@Suite("HTTPS with client certificates")
struct HTTPSTests {
    static func daemon(_ certs: TestCertificates, allowed: Set<String>) async throws -> (TestDaemon, Int) {
        let db = try await TestPostgres.freshDatabase()
        let d = try await TestDaemon.start(database: db) {
            $0.http.httpsListen = ("127.0.0.1", 0)
            $0.http.certificatePath = certs.serverCertificate
            $0.http.keyPath = certs.serverKey
            $0.http.clientCAPath = certs.caCertificate
            $0.http.fhirClientNames = allowed
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while d.http.httpsPort == nil && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(25)) }
        return (d, try #require(d.http.httpsPort))
    }

    @Test(.timeLimit(.minutes(3)))
    func theCertificatesNameDecidesWhoSearches() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        let client = try TLSTests.clientConfiguration(certs, certificate: certs.clientCertificate, key: certs.clientKey)
        let target = "/fhir/Slot?start=ge2026-12-01T08:00:00Z&start=le2026-12-02T08:00:00Z&schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1|8\(rpps(1))"

        let (allowed, port) = try await Self.daemon(certs, allowed: ["sas-platform"])
        let ok = try await RawHTTPClient.get(port: port, target, tls: client)
        #expect(ok.status == 200, "\(ok.body)")
        #expect(try await RawHTTPClient.get(port: port, "/health", tls: client).status == 200)
        // No client certificate: the handshake itself fails.
        let anonymous = try TLSTests.clientConfiguration(certs)
        #expect((try? await RawHTTPClient.get(port: port, "/health", tls: anonymous)) == nil)
        // A certificate from elsewhere: refused at the handshake too.
        let stranger = try TLSTests.clientConfiguration(
            certs, certificate: certs.strangerCertificate, key: certs.strangerKey)
        #expect((try? await RawHTTPClient.get(port: port, "/health", tls: stranger)) == nil)
        await allowed.stop()

        let (others, port2) = try await Self.daemon(certs, allowed: ["another-platform"])
        let refused = try await RawHTTPClient.get(port: port2, target, tls: client)
        #expect(refused.status == 403, "\(refused.body)")
        #expect(refused.body.contains("sas-platform"))
        await others.stop()
    }
}

/// SPEC §7 and issue 15: the HTTP side is bounded like the line side; hostile input gets a
/// clear answer, never a crash or a hang.
@Suite("HTTP: hostile input")
struct HTTPHostileTests {
    @Test(.timeLimit(.minutes(3)))
    func oversizedGarbageAndSlowRequestsLeaveTheServerAnswering() async throws {
        let db = try await TestPostgres.freshDatabase()
        let d = try await TestDaemon.start(database: db) {
            $0.http.listen = ("127.0.0.1", 0)
            $0.http.idleTimeout = .seconds(3)
        }
        let port = try await d.waitForHTTPPort()
        let regulator = try await d.daemon.store.addToken(Principal(name: "samu56", role: .regulator))
        let auth = ["Authorization": "Bearer \(regulator)"]
        // A header of 200 KB: refused (or the connection cut), never kept.
        let big = try? await RawHTTPClient.get(port: port, "/health", headers: ["X-Big": String(repeating: "a", count: 200_000)])
        #expect(big == nil || big!.status >= 400, "\(String(describing: big?.status))")
        // A window of a year, a query of 100 KB of garbage, bytes that are not HTTP.
        let year = try await RawHTTPClient.get(
            port: port,
            "/fhir/Slot?start=ge2026-01-01T00:00:00Z&start=le2027-01-01T00:00:00Z&schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1|8\(rpps(1))",
            headers: auth)
        #expect(year.status == 400, "\(year.body)")
        let garbage = try? await RawHTTPClient.get(port: port, "/fhir/Slot?" + String(repeating: "%zz&=;", count: 15_000), headers: auth)
        #expect(garbage == nil || garbage!.status == 400 || garbage!.status == 431 || garbage!.status == 414)
        let notHTTP = try? await RawHTTPClient.exchange(port: port, bytes: Array("\u{0}\u{1}HELLO snpd\r\n\r\n".utf8))
        #expect(notHTTP.map { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 4") || $0.isEmpty } ?? true)
        // A client that opens a connection and says nothing is closed after the idle limit.
        // (Closed before the empty write reached it, the client sees an error: closed too.)
        let silent = Task { try await RawHTTPClient.exchange(port: port, bytes: []) }
        let closed = (try? await silent.value) ?? []
        #expect(closed.isEmpty, "closed without an answer")
        // And the server still answers at once.
        #expect(try await RawHTTPClient.get(port: port, "/health").status == 200)
        await d.stop()
    }

    /// One connection more than `SNPD_HTTP_MAX_CONNECTIONS` is closed unread; once the
    /// others go, a new one is served.
    @Test(.timeLimit(.minutes(3)))
    func connectionsBeyondTheCapAreClosed() async throws {
        let db = try await TestPostgres.freshDatabase()
        let d = try await TestDaemon.start(database: db) {
            $0.http.listen = ("127.0.0.1", 0)
            $0.http.maxConnections = 3
        }
        let port = try await d.waitForHTTPPort()
        // Three silent connections hold every place (they send nothing: the idle limit is 30 s).
        let holders = (0..<3).map { _ in Task { try await RawHTTPClient.exchange(port: port, bytes: []) } }
        while d.http.openConnections < 3 { try await Task.sleep(for: .milliseconds(20)) }
        let fourth = try? await RawHTTPClient.get(port: port, "/health")
        #expect(fourth == nil || fourth!.status != 200, "the fourth connection is not served")
        for h in holders { h.cancel() }
        await d.stop()
    }
}
