import Foundation
import SNPTesting
import Testing

@Suite("PRO and SLOT commands end to end")
struct SlotAndProfessionalTests {
    @Test func professionalIsCreatedReadListedAndDeactivated() async throws {
        try await withDaemon { d in
            let c = try await d.admin()
            let put = try await c.send(
                "PRO PUT id=\(rpps(1)) prof=kine name=\"Yann Le Bihan\" lat=47.6582 lon=-2.7608 home_radius_km=12 weekly_cap=20 territory=CPTS-VANNES")
            #expect(put.lines == ["OK pro=\(rpps(1))"])
            let get = try await c.send("PRO GET \(rpps(1))")
            #expect(get["prof"] == "kine")
            #expect(get["name"] == "Yann Le Bihan")
            #expect(get["home_radius_km"] == "12.0")
            #expect(get["weekly_cap"] == "20")
            #expect(get["territory"] == "CPTS-VANNES")
            #expect(get["active"] == "true")
            try await c.putPro(rpps(2), prof: "gp")
            #expect(try await c.send("PRO LIST").items.count == 2)
            let kines = try await c.send("PRO LIST prof=kine")
            #expect(kines.items.map { $0["id"] } == [rpps(1)])
            #expect(kines.items.first?["kind"] == "pro")
            #expect(try await c.send("PRO LIST territory=CPTS-VANNES").items.count == 1)
            #expect(try await c.send("PRO GET \(rpps(3))").code == "NOT_FOUND")
            #expect(try await c.send("PRO OFF \(rpps(3))").code == "NOT_FOUND")
            try await c.expectOK("PRO OFF \(rpps(1))")
            #expect(try await c.send("PRO GET \(rpps(1))")["active"] == "false")
        }
    }

    @Test func invalidRPPSIsRefused() async throws {
        try await withDaemon { d in
            let c = try await d.admin()
            let good = rpps(7)
            var badKey = Array(good)
            badKey[10] = badKey[10] == "0" ? "1" : "0"
            for id in ["1234567890", "123456789012", "1000000000a", String(badKey)] {
                let r = try await c.send("PRO PUT id=\(id) prof=gp name=X lat=47 lon=-2")
                #expect(r.code == "BAD_REQUEST", "\(id): \(r)")
            }
            #expect(try await c.send("PRO LIST")["count"] == "0")
        }
    }

    @Test func slotIsPublishedListedFoundAndWithdrawn() async throws {
        try await withDaemon { d in
            let c = try await d.admin()
            try await c.putPro(rpps(1))
            try await c.putPro(rpps(2), at: Place.ploeren)
            let near = try await c.expectOK(d.slotLine(pro: rpps(1), hours: 4, extra: "capacity=2"))["slot"]!
            let far = try await c.expectOK(d.slotLine(pro: rpps(2), hours: 4, extra: "mode=office"))["slot"]!
            let list = try await c.send("SLOT LIST")
            #expect(list.items.map { $0["id"] } == [near, far])
            #expect(list.items[0]["capacity"] == "2")
            #expect(list.items[0]["booked"] == "0")
            #expect(list.items[0]["kind"] == "slot")
            #expect(try await c.send("SLOT LIST pro=\(rpps(2))").items.map { $0["id"] } == [far])
            let found = try await c.send("SLOT FIND prof=gp lat=\(Place.vannes.lat) lon=\(Place.vannes.lon)")
            #expect(found.items.map { $0["id"] } == [near, far], "the nearer slot costs less")
            #expect(Double(found.items[0]["dist_km"]!)! < 0.1)
            #expect(Double(found.items[1]["dist_km"]!)! > 5)
            #expect(Double(found.items[0]["cost"]!)! < Double(found.items[1]["cost"]!)!)
            #expect(try await c.send("SLOT FIND prof=gp lat=\(Place.vannes.lat) lon=\(Place.vannes.lon) radius_km=2").items.count == 1)
            #expect(try await c.send("SLOT FIND prof=kine lat=47.6 lon=-2.7")["count"] == "0")
            #expect(try await c.send("SLOT FIND prof=gp lat=47.6582 lon=-2.7608 within=2h")["count"] == "0")
            let del = try await c.send("SLOT DEL \(near)")
            #expect(del["state"] == "withdrawn")
            #expect(try await c.send("SLOT LIST").items.map { $0["id"] } == [far])
            #expect(try await c.send("SLOT DEL \(near)").code == "CONFLICT")
            #expect(try await c.send("SLOT DEL s999").code == "NOT_FOUND")
        }
    }

    /// The bounds that keep a search short (docs/DECISIONS.md): out of range is a
    /// `BAD_REQUEST` that says what is allowed.
    @Test func searchBoundsAreRefusedWithTheRangeAllowed() async throws {
        try await withDaemon { d in
            let c = try await d.admin()
            let find = "SLOT FIND prof=gp lat=\(Place.vannes.lat) lon=\(Place.vannes.lon)"
            #expect(try await c.send("\(find) limit=101").lines == ["ERR BAD_REQUEST limit must be between 1 and 100, got 101"])
            #expect(
                try await c.send("\(find) radius_km=20000").lines == [
                    "ERR BAD_REQUEST radius_km must be between 0.1 and 300, got 20000"
                ])
            #expect(try await c.send("\(find) limit=100 radius_km=300").isOK)
            #expect(try await c.send("SLOT LIST limit=100001").code == "BAD_REQUEST")
        }
    }

    @Test func slotRulesAreEnforced() async throws {
        try await withDaemon { d in
            let c = try await d.admin()
            try await c.putPro(rpps(1))
            let first = try await c.expectOK(d.slotLine(pro: rpps(1), hours: 4, minutes: 30))["slot"]!
            let overlap = try await c.send(d.slotLine(pro: rpps(1), hours: 4.25, minutes: 30))
            #expect(overlap.code == "CONFLICT")
            #expect(try await c.send("SLOT ADD pro=\(rpps(1)) start=\(d.at(hours: 6)) end=\(d.at(hours: 5))").code == "BAD_REQUEST")
            #expect(try await c.send("SLOT ADD pro=\(rpps(1)) start=\(d.at(hours: 6)) end=\(d.at(hours: 6))").code == "BAD_REQUEST")
            #expect(try await c.send(d.slotLine(pro: rpps(1), hours: -1)).code == "BAD_REQUEST", "in the past")
            #expect(try await c.send(d.slotLine(pro: rpps(1), hours: 8 * 24)).code == "BAD_REQUEST", "beyond the horizon")
            #expect(try await c.send("SLOT ADD pro=\(rpps(1)) start=2030-01-01T09:00:00 end=2030-01-01T09:20:00").code == "BAD_REQUEST")
            #expect(try await c.send("SLOT ADD pro=\(rpps(1)) start=tomorrow end=later").code == "BAD_REQUEST")
            for cap in ["0", "-1", "two"] {
                #expect(try await c.send(d.slotLine(pro: rpps(1), hours: 10, extra: "capacity=\(cap)")).code == "BAD_REQUEST")
            }
            #expect(try await c.send(d.slotLine(pro: rpps(1), hours: 10, extra: "mode=visio")).code == "BAD_REQUEST")
            #expect(try await c.send(d.slotLine(pro: rpps(9), hours: 10)).code == "NOT_FOUND")
            #expect(try await c.send("SLOT LIST")["count"] == "1", "nothing but the first slot was created")
            // The same ref again returns the same slot.
            let a = try await c.expectOK(d.slotLine(pro: rpps(1), hours: 20, extra: "ref=cabinet-42"))["slot"]
            let b = try await c.expectOK(d.slotLine(pro: rpps(1), hours: 20, extra: "ref=cabinet-42"))["slot"]
            #expect(a == b && a != first)
        }
    }

    @Test func deactivatingAProfessionalSendsTheirBookingsBackToMatching() async throws {
        try await withDaemon { d in
            let c = try await d.admin()
            try await c.putPro(rpps(1))
            try await c.putPro(rpps(2))
            let s1 = try await c.expectOK(d.slotLine(pro: rpps(1), hours: 2))["slot"]!
            let r = try await c.expectOK("REQ ADD ref=A1 prof=gp lat=47.6582 lon=-2.7608")
            #expect(r["slot"] == s1)
            let s2 = try await c.expectOK(d.slotLine(pro: rpps(2), hours: 6))["slot"]!
            let off = try await c.expectOK("PRO OFF \(rpps(1))")
            #expect(off["requeued"] == "1")
            let after = try await c.send("REQ GET ref=A1")
            #expect(after["state"] == "booked")
            #expect(after["slot"] == s2)
            #expect(try await c.send("SLOT LIST pro=\(rpps(1))")["count"] == "0")
            #expect(try await c.send(d.slotLine(pro: rpps(1), hours: 8)).code == "CONFLICT", "inactive professional")
        }
    }
}
