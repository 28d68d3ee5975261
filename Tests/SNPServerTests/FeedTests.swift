import Foundation
import SNPCore
import SNPServer
import SNPStore
import SNPTesting
import Synchronization
import Testing

/// The SAS appointment feed (SPEC §8, issue 16), end to end: a real daemon and PostgreSQL,
/// and a fake SAS platform over HTTPS that requires our client certificate (`FakeSAS`).
@Suite(.serialized) struct FeedTests {
    static let system = "urn:oid:1.2.250.1.999.7.1"
    static let operatorRPPS = rpps(90)

    /// A daemon with the feed on, pointed at a fresh fake SAS; quick retries.
    func withFeed(http: Bool = false, _ body: (TestDaemon, FakeSAS, TestCertificates) async throws -> Void) async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        let sas = try await FakeSAS.start(certificates: certs)
        do {
            try await withDaemon(configure: { s in
                s.feed = Self.settings(sas, certs)
                if http { s.http.listen = ("127.0.0.1", 0) }
            }) { d in
                try await body(d, sas, certs)
            }
        } catch {
            await sas.stop()
            throw error
        }
        await sas.stop()
    }

    static func settings(_ sas: FakeSAS, _ certs: TestCertificates) -> FeedSettings {
        var f = FeedSettings(
            baseURL: sas.baseURL, appointmentSystem: system, clientCertificatePath: certs.clientCertificate,
            clientKeyPath: certs.clientKey, caPath: certs.caCertificate)
        f.retryMin = .milliseconds(50)
        f.retryMax = .milliseconds(400)
        f.timeout = .seconds(3)
        return f
    }

    /// A regulator whose token carries an operator identity (or none).
    static func regulator(_ d: TestDaemon, _ name: String, operator op: String? = "IDNPS:8\(operatorRPPS)") async throws
        -> LineClient
    {
        let identity = try op.map { try OperatorIdentity(validating: $0) }
        let secret = try await d.daemon.store.addToken(Principal(name: name, role: .regulator, operatorIdentity: identity))
        let c = try await LineClient.connect(port: d.port)
        try await c.expectOK("AUTH \(secret)")
        return c
    }

    /// Waits until `condition` holds (polling), up to `seconds`.
    static func eventually(_ seconds: Double = 15, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    static func key(_ reply: Reply) -> String { "\(reply["req"]!)-\(reply["slot"]!)" }

    /// Every captured Appointment, checked by the independent validator (`fhir.resources`, R4B).
    static func validate(_ received: [FakeSAS.Received]) async throws {
        try await FHIRSearchTests.validate(received.map { String(decoding: $0.body, as: UTF8.self) })
    }

    @Test(.timeLimit(.minutes(2)))
    func everyLifecycleReachesTheSASInOrder() async throws {
        try await withFeed { d, sas, _ in
            let admin = try await d.admin()
            try await admin.putPro(rpps(1))
            try await admin.putPro(rpps(2), at: Place.ploeren)
            let a = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 2))["slot"]!
            let b = try await admin.expectOK(d.slotLine(pro: rpps(2), hours: 2))["slot"]!
            let reg = try await Self.regulator(d, "samu56")

            // Booked at once: a POST.
            let r1 = try await reg.expectOK("REQ ADD ref=A prof=gp lat=47.6582 lon=-2.7608")
            #expect(r1["state"] == "booked" && r1["slot"] == a)
            #expect(try await reg.send("REQ GET \(r1["req"]!)")["appointment"] == Self.key(r1))
            // A hold: nothing until it is confirmed.
            let r2 = try await reg.expectOK("REQ ADD ref=B prof=gp lat=47.6582 lon=-2.7608 hold=120")
            #expect(r2["state"] == "held" && r2["slot"] == b)
            #expect(try await reg.send("REQ GET \(r2["req"]!)")["appointment"] == nil)
            #expect(try await Self.eventually { sas.appointments[Self.key(r1)] == ["booked"] })
            try await Task.sleep(for: .milliseconds(300))
            #expect(sas.received.allSatisfy { $0.identifier != Self.key(r2) }, "a hold is not an appointment")
            try await reg.expectOK("REQ CONFIRM \(r2["req"]!)")
            // From the queue: no slot left, then one is published.
            let r3 = try await reg.expectOK("REQ ADD ref=C prof=gp lat=47.6582 lon=-2.7608")
            #expect(r3["state"] == "queued")
            let c = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 5))["slot"]!
            let r3booked = try await reg.send("REQ GET \(r3["req"]!)")
            #expect(r3booked["state"] == "booked" && r3booked["slot"] == c)
            // Cancelled by the regulator.
            try await reg.expectOK("REQ CANCEL \(r2["req"]!)")
            // Moved off a withdrawn slot: to b, freed by the cancellation.
            try await admin.expectOK("SLOT DEL \(c)")
            let moved = try await reg.send("REQ GET \(r3["req"]!)")
            #expect(moved["state"] == "booked" && moved["slot"] == b)
            // Honoured, and not honoured.
            d.clock.advance(by: 2.5 * 3600)
            try await reg.expectOK("REQ OUTCOME \(r1["req"]!) result=honored")
            try await reg.expectOK("REQ OUTCOME \(r3["req"]!) result=noshow")

            let expected: [String: [String]] = [
                Self.key(r1): ["booked", "fulfilled"],
                "\(r2["req"]!)-\(b)": ["booked", "cancelled"],
                "\(r3["req"]!)-\(c)": ["booked", "cancelled"],
                "\(r3["req"]!)-\(b)": ["booked", "noshow"],
            ]
            let all = try await Self.eventually { sas.appointments == expected }
            #expect(all, "the SAS holds \(sas.appointments)")
            #expect(sas.duplicates == 0)
            let received = sas.received
            for (key, _) in expected {
                let methods = received.filter { $0.identifier == key }.map(\.method)
                #expect(methods == ["POST", "PUT"], "\(key): \(methods)")
            }
            for r in received {
                let json = try #require(r.json)
                let meta = json["meta"] as? [String: Any]
                #expect((meta?["profile"] as? [String]) == ["http://sas.fr/fhir/StructureDefinition/FrAppointmentSAS"])
                let identifier = (json["identifier"] as? [[String: Any]])?.first
                #expect(identifier?["system"] as? String == Self.system)
                let ext = (json["extension"] as? [[String: Any]])?.first
                #expect(ext?["url"] as? String == "http://interopsante.org/fhir/StructureDefinition/FrAppointmentOperator")
                let opIdentifier = (ext?["valueReference"] as? [String: Any])?["identifier"] as? [String: Any]
                #expect(opIdentifier?["value"] as? String == "8" + Self.operatorRPPS)
                #expect(opIdentifier?["system"] as? String == "urn:oid:1.2.250.1.71.4.2.1")
                let participant = (json["participant"] as? [[String: Any]])?.first
                let actor = (participant?["actor"] as? [String: Any])?["identifier"] as? [String: Any]
                let pro = r.identifier!.hasSuffix("-\(a)") || r.identifier!.hasSuffix("-\(c)") ? rpps(1) : rpps(2)
                #expect(actor?["value"] as? String == "8" + pro, "the participant's prefixed RPPS")
                #expect(participant?["status"] as? String == "accepted")
                if r.method == "PUT" {
                    #expect(r.uri.removingPercentEncoding == "/fhir/Appointment?identifier=\(Self.system)|\(r.identifier!)")
                }
            }
            print("feed lifecycle: \(received.count) requests to the SAS, \(sas.appointments.count) appointments, duplicates \(sas.duplicates)")
            try await Self.validate(received)
            // The SAS answered each message before the worker marks it delivered: wait for
            // the marks (bounded), not for a time.
            var levels = try await d.daemon.store.feedLevels()
            let deadline = ContinuousClock.now + .seconds(30)
            while levels.waiting > 0 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
                levels = try await d.daemon.store.feedLevels()
            }
            #expect(levels.waiting == 0 && levels.parked == 0)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func bookingsOfATokenWithoutOperatorAreCountedNotSent() async throws {
        try await withFeed { d, sas, _ in
            let admin = try await d.admin()
            try await admin.putPro(rpps(1))
            _ = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 2))
            _ = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 3))
            let anonymous = try await Self.regulator(d, "no-operator", operator: nil)
            let r = try await anonymous.expectOK("REQ ADD ref=N prof=gp lat=47.6582 lon=-2.7608")
            #expect(r["state"] == "booked")
            let stats = try await admin.send("STATS")
            #expect(stats["feed_skipped"] == "1", "\(stats)")
            let named = try await Self.regulator(d, "samu", operator: "INTRN:3F2504E0-4F89-11D3-9A0C-0305E82C3301")
            let r2 = try await named.expectOK("REQ ADD ref=M prof=gp lat=47.6582 lon=-2.7608")
            #expect(try await Self.eventually { sas.appointments[Self.key(r2)] == ["booked"] })
            try #require(sas.received.count == 1, "only the booking with an operator identity")
            let op = ((sas.received[0].json?["extension"] as? [[String: Any]])?.first?["valueReference"] as? [String: Any])?[
                "identifier"] as? [String: Any]
            #expect(op?["value"] as? String == "3f2504e0-4f89-11d3-9a0c-0305e82c3301")
            #expect(op?["system"] as? String == "urn:oid:1.2.250.1.213.3.6")
            #expect(((op?["type"] as? [String: Any])?["coding"] as? [[String: Any]])?.first?["code"] as? String == "INTRN")
            try await Self.validate(sas.received)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func theSASDownForAWhileDelaysButLosesNothing() async throws {
        try await withFeed(http: true) { d, sas, _ in
            let failures = Atomic<Int>(0)
            sas.setRule { _ in failures.add(1, ordering: .relaxed).newValue <= 4 ? .status(503) : .normal }
            let admin = try await d.admin()
            try await admin.putPro(rpps(1))
            _ = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 2))
            let reg = try await Self.regulator(d, "samu56")
            let r = try await reg.expectOK("REQ ADD ref=A prof=gp lat=47.6582 lon=-2.7608")
            try await reg.expectOK("REQ CANCEL \(r["req"]!)")
            #expect(try await Self.eventually { sas.appointments[Self.key(r)] == ["booked", "cancelled"] })
            let attempts = sas.received.count
            print("feed SAS 503 x4: \(attempts) requests for 2 messages, duplicates \(sas.duplicates)")
            #expect(attempts == 6)
            #expect(sas.duplicates == 0)
            try await Task.sleep(for: .milliseconds(1200))  // the levels are published once a second
            let metrics = try await RawHTTPClient.get(port: try await d.waitForHTTPPort(), "/metrics").body
            #expect(metrics.contains(#"snpd_feed_messages_total{outcome="retried"} 4"#), "\(metrics)")
            #expect(metrics.contains(#"snpd_feed_messages_total{outcome="delivered"} 2"#))
            #expect(metrics.contains("snpd_feed_waiting 0"))
            #expect(metrics.contains("snpd_feed_parked 0"))
            #expect(metrics.contains("snpd_feed_oldest_waiting_seconds 0"))
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aRefusedAppointmentIsParkedTheOthersFlowAndRetrySendsIt() async throws {
        try await withFeed { d, sas, _ in
            let refused = Mutex<String?>(nil)
            sas.setRule { r in r.identifier != nil && r.identifier == refused.withLock({ $0 }) ? .status(422) : .normal }
            let admin = try await d.admin()
            try await admin.putPro(rpps(1))
            for h in [2.0, 3, 4] { _ = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: h)) }
            let reg = try await Self.regulator(d, "samu56")
            // The next booking's appointment is r1-s1: the first request on the first slot.
            refused.withLock { $0 = "r1-s1" }
            let bad = try await reg.expectOK("REQ ADD ref=BAD prof=gp lat=47.6582 lon=-2.7608")
            #expect(Self.key(bad) == "r1-s1")
            #expect(
                try await Self.eventually {
                    try await d.daemon.store.pendingFeedMessages(parkedOnly: true).map(\.appointment) == ["r1-s1"]
                })
            try await reg.expectOK("REQ CANCEL \(bad["req"]!)")  // waits behind the parked booking
            let good = try await reg.expectOK("REQ ADD ref=GOOD prof=gp lat=47.6582 lon=-2.7608")
            #expect(try await Self.eventually { sas.appointments[Self.key(good)] == ["booked"] }, "the others flow")
            // The SAS has the good one before the worker marks its row delivered: wait for that.
            #expect(
                try await Self.eventually {
                    try await d.daemon.store.pendingFeedMessages(parkedOnly: false).map(\.appointment) == ["r1-s1", "r1-s1"]
                })
            let parked = try await d.daemon.store.pendingFeedMessages(parkedOnly: false)
            #expect(parked.map(\.appointment) == ["r1-s1", "r1-s1"])
            #expect(parked.first?.lastError?.contains("422") == true)
            #expect(parked.first?.lastError?.contains("OperationOutcome") == true)
            #expect(sas.appointments["r1-s1"] == nil)
            // The operator fixed it at the SAS: `snpd feed retry r1-s1`.
            refused.withLock { $0 = nil }
            #expect(try await d.daemon.store.feedRetry(appointment: "r1-s1") == 1)
            #expect(try await Self.eventually { sas.appointments["r1-s1"] == ["booked", "cancelled"] })
            let methods = sas.received.filter { $0.identifier == "r1-s1" }.map(\.method)
            print("feed 422: r1-s1 sent as \(methods) (parked, then retried); others delivered meanwhile")
            #expect(methods == ["POST", "POST", "PUT"], "a refused POST created nothing: POST again")
            // Delivered messages are pruned after the retention period, the others kept.
            #expect(try await Self.eventually { try await d.daemon.store.pendingFeedMessages(parkedOnly: false).isEmpty })
            try await d.daemon.store.client.query(
                "UPDATE feed_outbox SET delivered_at = now() - interval '31 days' WHERE appointment = 'r1-s1'")
            #expect(try await d.daemon.store.pruneFeed(olderThanDays: 30) == 2)
            #expect(try await d.daemon.store.pruneFeed(olderThanDays: 30) == 0)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aPostWhoseAnswerIsLostIsFollowedByAPutNeverASecondPost() async throws {
        try await withFeed { d, sas, _ in
            let dropped = Atomic<Bool>(false)
            sas.setRule { r in
                r.method == "POST" && !dropped.exchange(true, ordering: .relaxed) ? .dropAfterWork : .normal
            }
            let admin = try await d.admin()
            try await admin.putPro(rpps(1))
            _ = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 2))
            let reg = try await Self.regulator(d, "samu56")
            let r = try await reg.expectOK("REQ ADD ref=A prof=gp lat=47.6582 lon=-2.7608")
            #expect(
                try await Self.eventually {
                    try await d.daemon.store.pendingFeedMessages(parkedOnly: false).isEmpty && !sas.received.isEmpty
                })
            let methods = sas.received.map(\.method)
            print("feed lost answer: \(methods), SAS appointments \(sas.appointments), duplicates \(sas.duplicates)")
            #expect(methods == ["POST", "PUT"])
            #expect(sas.duplicates == 0)
            #expect(sas.appointments == [Self.key(r): ["booked", "booked"]])
        }
    }

    /// Issue 16's "done when": the real `snpd`, booking from two regulators' connections
    /// while the feed delivers, killed with SIGKILL mid-way; a standby (started before the
    /// kill) takes over, delivers what was left and books more: every acknowledged booking
    /// reaches the SAS once, and none twice.
    @Test(.timeLimit(.minutes(3)))
    func killNineOfTheLeaderWhileBookingAndDeliveringLosesAndDuplicatesNothing() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        let sas = try await FakeSAS.start(certificates: certs)
        // Slow answers, so that the kill finds messages in flight.
        sas.setRule { _ in
            usleep(50_000)
            return .normal
        }
        let db = try await TestPostgres.freshDatabase()
        let daemon = try DaemonProcess(database: db)
        daemon.environment = [
            "SNPD_SAS_FHIR_BASE": sas.baseURL, "SNPD_APPOINTMENT_SYSTEM": Self.system,
            "SNPD_SAS_CLIENT_CERT": certs.clientCertificate, "SNPD_SAS_CLIENT_KEY": certs.clientKey,
            "SNPD_SAS_CA": certs.caCertificate, "SNPD_SAS_RETRY_MIN_MS": "50", "SNPD_SAS_RETRY_MAX_MS": "500",
        ]
        let secret = try await TestPostgres.withStore(db) { store in
            try await store.addToken(
                Principal(
                    name: "samu56", role: .regulator, operatorIdentity: try OperatorIdentity(validating: "IDNPS:8\(Self.operatorRPPS)")))
        }
        try await daemon.start()
        let admin = try await LineClient.connect(port: daemon.port)
        try await admin.expectOK("AUTH \(daemon.adminSecret)")
        for p in 1...4 { try await admin.putPro(rpps(p)) }
        for i in 0..<60 {
            let start = Date().addingTimeInterval(Double(2 * 3600 + (i / 4) * 1800))
            try await admin.expectOK(
                "SLOT ADD pro=\(rpps(i % 4 + 1)) start=\(RFC3339.format(start)) end=\(RFC3339.format(start.addingTimeInterval(1200)))")
        }
        await admin.close()

        let tally = Tally()
        /// Books from `clients` connections until `stop` or a connection fails (the kill).
        @Sendable func book(port: Int, clients: Int, stop: @escaping @Sendable () -> Bool) async {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<clients {
                    group.addTask {
                        guard let c = try? await LineClient.connect(port: port),
                            (try? await c.send("AUTH \(secret)"))?.isOK == true
                        else { return }
                        while !stop() {
                            let n = tally.counter.add(1, ordering: .relaxed).newValue
                            guard let r = try? await c.send("REQ ADD ref=K\(n) prof=gp lat=47.6582 lon=-2.7608") else { return }
                            if r.isOK, r["state"] == "booked" { tally.acknowledged.withLock { _ = $0.insert(Self.key(r)) } }
                            if r.isOK, r["state"] == "queued" { return }  // no slot left
                        }
                        await c.close()
                    }
                }
            }
        }
        let standby = try DaemonProcess(database: db)
        standby.environment = daemon.environment
        try await standby.start(waitUntilServing: false)
        // The leader: killed while booking and delivering (after about 20 bookings).
        let killed = Atomic<Bool>(false)
        async let first: Void = book(port: daemon.port, clients: 2, stop: { killed.load(ordering: .relaxed) })
        while tally.acknowledged.withLock({ $0.count }) < 20 { try await Task.sleep(for: .milliseconds(5)) }
        await daemon.kill9()
        killed.store(true, ordering: .relaxed)
        await first
        let beforeKill = tally.acknowledged.withLock { $0.count }
        let deliveredAtKill = Set(sas.appointments.keys)
        let waitingAtKill = try await TestPostgres.withStore(db) { try await $0.pendingFeedMessages(parkedOnly: false).count }
        // The standby takes over: more bookings, then everything delivered.
        try await standby.waitUntilServing(seconds: 30)
        await book(port: standby.port, clients: 2, stop: { tally.acknowledged.withLock { $0.count } >= beforeKill + 15 })
        let drained = try await Self.eventually(60) {
            try await TestPostgres.withStore(db) { try await $0.pendingFeedMessages(parkedOnly: false).isEmpty }
        }
        _ = await standby.terminate()
        await sas.stop()
        let acked = tally.acknowledged.withLock { $0 }
        let atSAS = sas.appointments
        let missing = acked.filter { atSAS[$0] == nil }
        let posts = sas.received.filter { $0.method == "POST" }.count
        let puts = sas.received.filter { $0.method == "PUT" }.count
        print(
            """
            feed kill -9 of the leader, standby took over: acknowledged \(acked.count) (\(beforeKill) before the kill), delivered \(acked.count - missing.count), \
            missing \(missing.count), duplicates \(sas.duplicates); at the SAS when killed \(deliveredAtKill.count), \
            waiting in the outbox \(waitingAtKill); \
            SAS requests \(posts) POST + \(puts) PUT; booked but unacknowledged (answer lost to the kill) \
            \(Set(atSAS.keys).subtracting(acked).count)
            """)
        #expect(drained, "the outbox drained")
        #expect(missing.isEmpty, "missing: \(missing.sorted())")
        #expect(sas.duplicates == 0)
        #expect(atSAS.values.allSatisfy { $0.allSatisfy { $0 == "booked" } })
    }
}

/// What the kill -9 test's clients saw acknowledged.
final class Tally: Sendable {
    let acknowledged = Mutex<Set<String>>([])
    let counter = Atomic<Int>(0)
}
