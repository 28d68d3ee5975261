import Foundation
import PostgresNIO
import SNPCore
import SNPStore
import SNPTesting
import Testing

@Suite("REQ commands end to end")
struct RequestTests {
    @Test func requestIsBookedOnTheBestSlotInOneRoundTrip() async throws {
        try await withDaemon { d in
            let c = try await d.admin()
            let reg = try await d.client(role: .regulator, name: "samu56")
            try await c.putPro(rpps(1))
            try await c.putPro(rpps(2), at: Place.ploeren)
            _ = try await c.expectOK(d.slotLine(pro: rpps(2), hours: 3))
            let near = try await c.expectOK(d.slotLine(pro: rpps(1), hours: 3))["slot"]!
            let r = try await reg.send("REQ ADD ref=SAS-1 prof=gp lat=\(Place.vannes.lat) lon=\(Place.vannes.lon) prio=1")
            #expect(r["state"] == "booked")
            #expect(r["slot"] == near)
            #expect(r["pro"] == rpps(1))
            #expect(r["mode"] == "office")
            #expect(r["start"] == d.at(hours: 3))
            // cost = 2.0 × 3 h + 1.0 × ~0 km + 0.5 × 0 bookings
            #expect(abs(Double(r["cost"]!)! - 6.0) < 0.01)
            let get = try await reg.send("REQ GET \(r["req"]!)")
            #expect(get["ref"] == "SAS-1")
            #expect(get["state"] == "booked")
            #expect(get["prio"] == "1")
            #expect(get["slot"] == near)
            #expect(get["deadline"] == d.at(hours: 48))
            #expect(try await reg.send("REQ GET ref=SAS-1")["req"] == r["req"])
            #expect(try await c.send("SLOT LIST pro=\(rpps(1))").items.first?["booked"] == "1")
        }
    }

    @Test func sameRefRetriedReturnsTheSameRequest() async throws {
        try await withDaemon { d in
            let reg = try await d.client(role: .regulator, name: "samu56")
            let line = "REQ ADD ref=SAS-7 prof=gp lat=47.6 lon=-2.7 prio=2"
            let first = try await reg.expectOK(line)
            let again = try await reg.expectOK(line)
            #expect(first["req"] == again["req"])
            #expect(again["state"] == "queued")
            #expect(try await reg.send("REQ ADD ref=SAS-7 prof=gp lat=47.6 lon=-2.7 prio=1").code == "CONFLICT")
            #expect(try await reg.send("REQ LIST")["count"] == "1")
        }
    }

    @Test func queuedRequestIsBookedWhenASlotAppearsAndItsRegulatorIsTold() async throws {
        try await withDaemon { d in
            let admin = try await d.admin()
            try await admin.putPro(rpps(1))
            let reg = try await d.client(role: .regulator, name: "samu56")
            let other = try await d.client(role: .regulator, name: "samu29")
            try await reg.expectOK("WATCH")
            try await other.expectOK("WATCH")
            let low = try await reg.expectOK("REQ ADD ref=L prof=gp lat=47.6582 lon=-2.7608 prio=3")
            let high = try await reg.expectOK("REQ ADD ref=H prof=gp lat=47.6582 lon=-2.7608 prio=1")
            #expect(low["state"] == "queued" && low["rank"] == "1")
            #expect(high["state"] == "queued" && high["rank"] == "1", "prio 1 goes ahead")
            #expect(try await reg.send("REQ GET ref=L")["rank"] == "2")
            let slot = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 5))
            #expect(slot["booked"] == high["req"])
            let event = try #require(try await reg.nextEvent())
            #expect(event.contains("req=\(high["req"]!)") && event.contains("state=booked") && event.contains("slot=\(slot["slot"]!)"))
            #expect(try await reg.send("REQ GET ref=H")["state"] == "booked")
            #expect(try await reg.send("REQ GET ref=L")["state"] == "queued")
            #expect(try await other.send("PING").isOK)
            #expect(other.takeEvents().isEmpty, "another regulator sees nothing of it")
        }
    }

    @Test func holdConfirmDeclineCancelAndOutcome() async throws {
        try await withDaemon { d in
            let admin = try await d.admin()
            try await admin.putPro(rpps(1))
            try await admin.putPro(rpps(2), at: Place.ploeren)
            let a = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 2))["slot"]!
            let b = try await admin.expectOK(d.slotLine(pro: rpps(2), hours: 2))["slot"]!
            let reg = try await d.client(role: .regulator, name: "samu56")
            let held = try await reg.expectOK("REQ ADD ref=X prof=gp lat=47.6582 lon=-2.7608 hold=120")
            #expect(held["state"] == "held")
            #expect(held["slot"] == a)
            #expect(held["hold_until"] == RFC3339.format(d.clock.now.addingTimeInterval(120)))
            let confirmed = try await reg.expectOK("REQ CONFIRM \(held["req"]!)")
            #expect(confirmed["state"] == "booked")
            #expect(try await reg.send("REQ CONFIRM \(held["req"]!)").code == "CONFLICT")
            let declined = try await reg.expectOK("REQ DECLINE \(held["req"]!)")
            #expect(declined["state"] == "held", "matched again, with a hold as first asked")
            #expect(declined["slot"] == b)
            let again = try await reg.expectOK("REQ DECLINE \(held["req"]!)")
            #expect(again["state"] == "queued", "a declined slot is never proposed again")
            let booked = try await reg.expectOK("REQ ADD ref=Y prof=gp lat=47.6582 lon=-2.7608")
            #expect(booked["slot"] == a)
            #expect(try await reg.send("REQ OUTCOME \(booked["req"]!) result=honored").code == "CONFLICT", "before the start")
            d.clock.advance(by: 2.5 * 3600)
            #expect(try await reg.send("REQ OUTCOME \(booked["req"]!) result=maybe").code == "BAD_REQUEST")
            #expect(try await reg.send("REQ OUTCOME \(booked["req"]!) result=honored")["state"] == "honored")
            let cancelled = try await reg.expectOK("REQ CANCEL \(held["req"]!) reason=\"patient went to A&E\"")
            #expect(cancelled["state"] == "cancelled")
            #expect(try await reg.send("REQ CANCEL \(held["req"]!)").code == "CONFLICT")
            #expect(try await reg.send("REQ CANCEL r999").code == "NOT_FOUND")
            #expect(try await reg.send("REQ LIST state=cancelled").items.map { $0["id"] } == [held["req"]])
        }
    }

    @Test func lapsedHoldIsCancelledAndItsSlotGoesToTheQueue() async throws {
        try await withDaemon { d in
            let admin = try await d.admin()
            try await admin.putPro(rpps(1))
            let slot = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 3))["slot"]!
            let reg = try await d.client(role: .regulator, name: "samu56")
            let held = try await reg.expectOK("REQ ADD ref=H prof=gp lat=47.6582 lon=-2.7608 hold=60")
            let waiting = try await reg.expectOK("REQ ADD ref=W prof=gp lat=47.6582 lon=-2.7608")
            #expect(waiting["state"] == "queued")
            d.clock.advance(by: 61)
            let lapsed = try await reg.send("REQ GET \(held["req"]!)")
            #expect(lapsed["state"] == "cancelled")
            #expect(lapsed["reason"] == "hold_expired")
            #expect(try await reg.send("REQ CONFIRM \(held["req"]!)").code == "CONFLICT")
            let now = try await reg.send("REQ GET ref=W")
            #expect(now["state"] == "booked")
            #expect(now["slot"] == slot)
        }
    }

    @Test func queuedRequestExpiresAtItsDeadline() async throws {
        try await withDaemon { d in
            let reg = try await d.client(role: .regulator, name: "samu56")
            let r = try await reg.expectOK("REQ ADD ref=E prof=nurse lat=47.6 lon=-2.7 within=2h")
            #expect(r["deadline"] == d.at(hours: 2))
            d.clock.advance(by: 3600)
            #expect(try await reg.send("REQ GET ref=E")["state"] == "queued")
            d.clock.advance(by: 3601)
            #expect(try await reg.send("REQ GET ref=E")["state"] == "expired")
        }
    }

    @Test func specificSlotIsBookedOnlyIfEligible() async throws {
        try await withDaemon { d in
            let admin = try await d.admin()
            try await admin.putPro(rpps(1))
            try await admin.putPro(rpps(2), at: Place.lorient)
            let near = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 6))["slot"]!
            let far = try await admin.expectOK(d.slotLine(pro: rpps(2), hours: 2))["slot"]!
            let reg = try await d.client(role: .regulator, name: "samu56")
            #expect(try await reg.send("REQ ADD ref=F prof=gp lat=47.6582 lon=-2.7608 slot=\(far)").code == "CONFLICT")
            #expect(try await reg.send("REQ ADD ref=F prof=gp lat=47.6582 lon=-2.7608 slot=s4242").code == "CONFLICT")
            #expect(try await reg.send("REQ LIST")["count"] == "0", "nothing created")
            let r = try await reg.expectOK("REQ ADD ref=F prof=gp lat=47.6582 lon=-2.7608 slot=\(near)")
            #expect(r["slot"] == near)
        }
    }

    @Test func withdrawnSlotSendsItsBookingBackToMatchingWithAnEvent() async throws {
        try await withDaemon { d in
            let admin = try await d.admin()
            try await admin.putPro(rpps(1))
            let slot = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 3))["slot"]!
            let reg = try await d.client(role: .regulator, name: "samu56")
            try await reg.expectOK("WATCH")
            let r = try await reg.expectOK("REQ ADD ref=W prof=gp lat=47.6582 lon=-2.7608 prio=1")
            #expect(r["slot"] == slot)
            try await admin.expectOK("SLOT DEL \(slot)")
            let event = try #require(try await reg.nextEvent())
            #expect(event.contains("req=\(r["req"]!)") && event.contains("state=queued"))
            let get = try await reg.send("REQ GET \(r["req"]!)")
            #expect(get["state"] == "queued")
            #expect(get["prio"] == "1")
            #expect(get["deadline"] == r["deadline"] ?? get["deadline"])
        }
    }
}

extension RequestTests {
    /// Issue 14: once a request left a professional's slot (declined, or the slot withdrawn),
    /// that professional no longer sees it: not by `REQ GET` or `REQ LIST`, nor its later
    /// `EVENT`s (a cancellation's reason). It is told once, when the request leaves.
    @Test func aProfessionalNoLongerSeesARequestThatLeftItsSlot() async throws {
        try await withDaemon { d in
            let admin = try await d.admin()
            try await admin.putPro(rpps(1))
            try await admin.putPro(rpps(2))
            try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 3))
            let pro1 = try await d.client(role: .pro, name: "dr1", pro: RPPS(trusted: rpps(1)))
            let pro2 = try await d.client(role: .pro, name: "dr2", pro: RPPS(trusted: rpps(2)))
            try await pro1.expectOK("WATCH")
            try await pro2.expectOK("WATCH")
            let reg = try await d.client(role: .regulator, name: "samu56")
            let r = try await reg.expectOK("REQ ADD ref=MOVE-1 prof=gp lat=47.6582 lon=-2.7608")["req"]!
            #expect(try await pro1.send("REQ GET \(r)")["state"] == "booked", "its own booking")

            // Declined, and nothing else eligible: queued.
            #expect(try await reg.expectOK("REQ DECLINE \(r)")["state"] == "queued")
            var told: String?
            for _ in 0..<3 where told == nil {  // the booking's own event comes first
                let e = try #require(try await pro1.nextEvent())
                if e.contains("req=\(r) ") && e.contains("state=queued") { told = e }
            }
            #expect(told.map { !$0.contains("slot=") } == true, "told once that it left: \(String(describing: told))")
            #expect(try await pro1.send("REQ GET \(r)").code == "FORBIDDEN")
            #expect(try await pro1.send("REQ LIST")["count"] == "0")

            // Booked again, on professional 2's new slot; then that slot is withdrawn.
            let s2 = try await admin.expectOK(d.slotLine(pro: rpps(2), hours: 5))
            #expect(s2["booked"] == r)
            #expect(try await pro2.send("REQ GET \(r)")["state"] == "booked")
            try await admin.expectOK("SLOT DEL \(s2["slot"]!)")
            #expect(try await pro2.send("REQ GET \(r)").code == "FORBIDDEN")
            #expect(try await admin.send("REQ GET \(r)")["state"] == "queued")

            // The regulator cancels with its own words: neither former professional hears of it.
            try await Task.sleep(for: .milliseconds(200))
            for pro in [pro1, pro2] {
                #expect(try await pro.send("PING").isOK)  // reads the events sent so far
                _ = pro.takeEvents()
            }
            try await reg.expectOK("REQ CANCEL \(r) reason=\"patient went to the ER\"")
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await pro1.send("PING").isOK)
            #expect(try await pro2.send("PING").isOK)
            #expect(pro1.takeEvents().isEmpty)
            #expect(pro2.takeEvents().isEmpty)

            // The same after a restart (what the store wrote back).
            let db = d.database
            await d.stop()
            let again = try await TestDaemon.start(database: db)
            let pro1b = try await again.client(role: .pro, name: "dr1b", pro: RPPS(trusted: rpps(1)))
            #expect(try await pro1b.send("REQ GET \(r)").code == "FORBIDDEN")
            await again.stop()
        }
    }
}

extension RequestTests {
    /// Issue 14: `REQ LIST` shows the newest requests first, and pages back with `before=`.
    @Test func requestListIsNewestFirstAndPagesBackWithBefore() async throws {
        try await withDaemon { d in
            let reg = try await d.client(role: .regulator, name: "samu56")
            let other = try await d.client(role: .regulator, name: "samu29")
            var ids: [String] = []
            for i in 1...5 {
                ids.append(try await reg.expectOK("REQ ADD ref=P\(i) prof=gp lat=47.6582 lon=-2.7608")["req"]!)
                try await other.expectOK("REQ ADD ref=O\(i) prof=gp lat=47.6582 lon=-2.7608")
                if i == 3 { d.clock.advance(by: 60) }
            }
            let newestFirst = Array(ids.reversed())
            #expect(try await reg.send("REQ LIST").items.map { $0["id"]! } == newestFirst)
            let page1 = try await reg.send("REQ LIST limit=2").items.map { $0["id"]! }
            #expect(page1 == Array(newestFirst[0..<2]))
            let page2 = try await reg.send("REQ LIST limit=2 before=\(page1.last!)").items.map { $0["id"]! }
            #expect(page2 == Array(newestFirst[2..<4]))
            let page3 = try await reg.send("REQ LIST limit=2 before=\(page2.last!)").items.map { $0["id"]! }
            #expect(page3 == [ids[0]])
            #expect(try await reg.send("REQ LIST before=\(ids[0])")["count"] == "0")
            // since= keeps working, in the same order: P4 and P5 were created a minute later.
            let since = try await reg.send("REQ LIST since=\(d.at(hours: 0))").items.map { $0["id"]! }
            #expect(since == [ids[4], ids[3]])
            #expect(try await reg.send("REQ LIST before=s3").code == "BAD_REQUEST")
            // An admin sees both regulators', newest first as well.
            let all = try await d.admin().send("REQ LIST limit=3").items.map { $0["ref"]! }
            #expect(all == ["O5", "P5", "O4"])
        }
    }
}

/// §3.8 and issue 14: a request's `ref` belongs to the regulator token that created it.
@Suite("Request refs per regulator")
struct RequestRefTests {
    @Test func twoRegulatorsWithTheSameCaseNumberingEachHaveTheirRequest() async throws {
        try await withDaemon { d in
            let admin = try await d.admin()
            try await admin.putPro(rpps(1))
            try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 3))
            let a = try await d.client(role: .regulator, name: "samu56")
            let b = try await d.client(role: .regulator, name: "samu29")
            let ra = try await a.expectOK("REQ ADD ref=2026-0001 prof=gp lat=47.6582 lon=-2.7608")["req"]!
            #expect(try await b.send("REQ GET ref=2026-0001").code == "NOT_FOUND", "never revealed")
            #expect(try await b.send("REQ GET ref=2026-0001 owner=samu56").code == "NOT_FOUND")
            let rb = try await b.expectOK("REQ ADD ref=2026-0001 prof=gp lat=47.6582 lon=-2.7608 prio=1")["req"]!
            #expect(ra != rb)
            #expect(try await a.send("REQ GET ref=2026-0001")["req"] == ra)
            #expect(try await b.send("REQ GET ref=2026-0001")["req"] == rb)
            #expect(try await b.send("REQ GET ref=2026-0001 owner=samu29")["req"] == rb)
            // A retry is recognised per regulator.
            #expect(try await b.send("REQ ADD ref=2026-0001 prof=gp lat=47.6582 lon=-2.7608 prio=1")["req"] == rb)
            #expect(try await b.send("REQ ADD ref=2026-0001 prof=gp lat=47.6582 lon=-2.7608").code == "CONFLICT")
            // The roles that read every request name the owner when several used the ref.
            #expect(try await admin.send("REQ GET ref=2026-0001").code == "BAD_REQUEST")
            #expect(try await admin.send("REQ GET ref=2026-0001 owner=samu56")["req"] == ra)
            #expect(try await admin.send("REQ GET ref=2026-0001 owner=samu35").code == "NOT_FOUND")
            // The professional sees the one booked on its slot (a's), and not the other.
            let pro = try await d.client(role: .pro, name: "dr1", pro: RPPS(trusted: rpps(1)))
            #expect(try await pro.send("REQ GET ref=2026-0001")["req"] == ra)

            // Both were committed, and both come back after a restart.
            let db = d.database
            let rows = try await TestPostgres.withStore(db) {
                try await $0.integer("SELECT count(*)::int FROM requests WHERE ref = '2026-0001'")
            }
            #expect(rows == 2)
            await d.stop()
            let again = try await TestDaemon.start(database: db)
            let admin2 = try await again.admin()
            #expect(try await admin2.send("REQ GET ref=2026-0001 owner=samu29")["req"] == rb)
            #expect(try await admin2.send("REQ GET ref=2026-0001 owner=samu56")["req"] == ra)
            await again.stop()
        }
    }

    /// sql/010: a database with requests made under the old rule (ref unique) migrates; the
    /// database then refuses the same (owner, ref) twice and accepts it for two owners.
    @Test func existingRequestsMigrateToRefsPerOwner() async throws {
        let db = try await TestPostgres.freshDatabase(migrated: false)
        let older = FileManager.default.temporaryDirectory.appendingPathComponent("snpd-sql-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: older, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: older) }
        for file in try FileManager.default.contentsOfDirectory(atPath: TestPostgres.migrations.path)
        where file.hasSuffix(".sql") && file < "010" {
            try FileManager.default.copyItem(
                at: TestPostgres.migrations.appendingPathComponent(file), to: older.appendingPathComponent(file))
        }
        @Sendable func insert(_ id: Int, owner: String) -> String {
            """
            INSERT INTO requests (id, ref, owner, profession, priority, modes, lat, lon, within_s, created_at, deadline,
                state, updated_at)
            VALUES (\(id), 'CASE-1', '\(owner)', 'gp', 2, 'office,home', 47.6, -2.7, 172800, now(),
                now() + interval '48 hours', 'queued', now())
            """
        }
        let outcome = try await TestPostgres.withStore(db) { store in
            _ = try await store.migrate(directory: older)
            try await store.client.query(PostgresQuery(unsafeSQL: insert(1, owner: "samu56")))
            let before = (try? await store.client.query(PostgresQuery(unsafeSQL: insert(2, owner: "samu29")))) != nil
            let applied = try await store.migrate(directory: TestPostgres.migrations)
            try await store.client.query(PostgresQuery(unsafeSQL: insert(2, owner: "samu29")))
            let sameOwner = (try? await store.client.query(PostgresQuery(unsafeSQL: insert(3, owner: "samu29")))) != nil
            let rows = try await store.integer("SELECT count(*)::int FROM requests")
            return (before, applied, sameOwner, rows)
        }
        #expect(outcome.0 == false, "the old rule: one ref for the whole service")
        #expect(outcome.1.contains("010_request_ref_per_owner.sql"))
        #expect(outcome.2 == false, "the same owner and ref twice is refused")
        #expect(outcome.3 == 2)
    }
}
