import Foundation
import SNPCore
import SNPTesting
import Testing

/// `REQ ADD … decide=` (SPEC §3.8, issue 17) over a real socket and PostgreSQL.
@Suite("Pending requests (decide=) end to end")
struct PendingRequestTests {
    static let add = "REQ ADD prof=gp lat=47.6582 lon=-2.7608"

    @Test func aPendingRequestIsShownThenBookedAtItsDecideByWithAnEvent() async throws {
        try await withDaemon { d in
            let admin = try await d.admin()
            try await admin.putPro(rpps(1))
            let slot = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 3))["slot"]!
            let reg = try await d.client(role: .regulator, name: "samu56")
            try await reg.expectOK("WATCH")
            let r = try await reg.expectOK("\(Self.add) ref=P decide=1h")
            #expect(r["state"] == "pending")
            #expect(r["decide_by"] == d.at(hours: 1))
            #expect(r["slot"] == nil)
            let id = try #require(r["req"])
            let get = try await reg.send("REQ GET \(id)")
            #expect(get["state"] == "pending" && get["decide_by"] == d.at(hours: 1))
            let list = try await reg.send("REQ LIST state=pending")
            #expect(list["count"] == "1" && list.items.first?["decide_by"] == d.at(hours: 1))
            #expect(try await admin.send("STATS")["pending"] == "1")
            // It holds no place meanwhile.
            #expect(try await admin.send("SLOT LIST state=open")["count"] == "1")
            // The same ref again: the same request, still pending.
            #expect(try await reg.expectOK("\(Self.add) ref=P decide=1h")["req"] == id)

            d.clock.advance(by: 3600)
            let decided = try await reg.send("REQ GET \(id)")
            #expect(decided["state"] == "booked" && decided["slot"] == slot)
            let event = try #require(try await reg.nextEvent())
            #expect(event.contains("req=\(id)") && event.contains("state=booked") && event.contains("slot=\(slot)"))
            #expect(try await admin.send("STATS")["pending"] == "0")
        }
    }

    @Test func aDueRequestWithNothingEligibleIsQueuedWithAnEvent() async throws {
        try await withDaemon { d in
            let reg = try await d.client(role: .regulator, name: "samu56")
            try await reg.expectOK("WATCH")
            let id = try #require(try await reg.expectOK("\(Self.add) ref=Q decide=30m")["req"])
            d.clock.advance(by: 1800)
            #expect(try await reg.send("REQ GET \(id)")["state"] == "queued")
            let event = try #require(try await reg.nextEvent())
            #expect(event.contains("req=\(id)") && event.contains("state=queued"))
        }
    }

    @Test func aPendingRequestCanBeCancelled() async throws {
        try await withDaemon { d in
            let admin = try await d.admin()
            try await admin.putPro(rpps(1))
            try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 3))
            let reg = try await d.client(role: .regulator, name: "samu56")
            let id = try #require(try await reg.expectOK("\(Self.add) ref=C decide=1h")["req"])
            let cancelled = try await reg.expectOK("REQ CANCEL \(id) reason=\"called back, seen elsewhere\"")
            #expect(cancelled["state"] == "cancelled")
            d.clock.advance(by: 2 * 3600)
            #expect(try await reg.send("REQ GET \(id)")["state"] == "cancelled")
            #expect(try await admin.send("SLOT LIST state=open")["count"] == "1", "the slot was never taken")
        }
    }

    @Test func badDecideValuesAreRefusedAndCreateNothing() async throws {
        try await withDaemon { d in
            let admin = try await d.admin()
            try await admin.putPro(rpps(1))
            let slot = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 3))["slot"]!
            let reg = try await d.client(role: .regulator, name: "samu56")
            for extra in [
                "decide=30s", "decide=13h", "decide=0", "decide=-5m", "decide=soon", "within=1h decide=50m",
                "decide=1h hold=300", "decide=1h slot=\(slot)",
            ] {
                let r = try await reg.send("\(Self.add) ref=B \(extra)")
                #expect(r.code == "BAD_REQUEST", "\(extra): \(r)")
            }
            #expect(try await reg.send("REQ LIST")["count"] == "0")
        }
    }

    /// A pending request survives a restart with its decide_by; one that fell due while no
    /// daemon ran is decided at start (and that decision is committed).
    @Test func pendingSurvivesARestartAndDueDecisionsAreTakenAtStart() async throws {
        let db = try await TestPostgres.freshDatabase()
        let clock = TestClock()
        let first = try await TestDaemon.start(database: db, clock: clock)
        let admin = try await first.admin()
        try await admin.putPro(rpps(1))
        let slot = try await admin.expectOK(first.slotLine(pro: rpps(1), hours: 5))["slot"]!
        // Requests of the admin token, which every start recreates with the same name.
        let early = try #require(try await admin.expectOK("\(Self.add) ref=E decide=1h")["req"])
        let late = try #require(try await admin.expectOK("\(Self.add) ref=L decide=3h prio=3")["req"])
        let before = try await admin.send("REQ GET \(early)")
        await first.stop()

        let second = try await TestDaemon.start(database: db, clock: clock)
        let reg2 = try await second.admin()
        #expect(try await reg2.send("REQ GET \(early)").lines == before.lines, "pending, same decide_by")
        // The same ref again after the restart is still the same request.
        #expect(try await reg2.expectOK("\(Self.add) ref=E decide=1h")["req"] == early)
        await second.stop()

        clock.advance(by: 2 * 3600)  // down while `early` falls due, not `late`
        let third = try await TestDaemon.start(database: db, clock: clock)
        let reg3 = try await third.admin()
        let decided = try await reg3.send("REQ GET \(early)")
        #expect(decided["state"] == "booked" && decided["slot"] == slot)
        #expect(try await reg3.send("REQ GET \(late)")["state"] == "pending")
        await third.stop()

        let fourth = try await TestDaemon.start(database: db, clock: clock)
        #expect(try await fourth.admin().send("REQ GET \(early)")["state"] == "booked", "the decision was committed")
        await fourth.stop()
    }
}
