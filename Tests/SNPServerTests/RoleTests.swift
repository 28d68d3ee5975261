import Foundation
import SNPCore
import SNPTesting
import Testing

@Suite("Roles (§3.5)")
struct RoleTests {
    @Test func proTokenTouchesOnlyItsOwnSlots() async throws {
        try await withDaemon { d in
            let admin = try await d.admin()
            try await admin.putPro(rpps(1))
            try await admin.putPro(rpps(2))
            let other = try await admin.expectOK(d.slotLine(pro: rpps(2), hours: 3))["slot"]!
            let pro = try await d.client(role: .pro, name: "cabinet-1", pro: try RPPS(validating: rpps(1)))
            let own = try await pro.expectOK(
                "SLOT ADD start=\(d.at(hours: 4)) end=\(d.at(hours: 4.5))")["slot"]!
            #expect(try await pro.send(d.slotLine(pro: rpps(2), hours: 6)).code == "FORBIDDEN")
            #expect(try await pro.send("SLOT DEL \(other)").code == "FORBIDDEN")
            #expect(try await pro.send("SLOT LIST pro=\(rpps(2))").code == "FORBIDDEN")
            #expect(try await pro.send("SLOT LIST").items.map { $0["id"] } == [own])
            #expect(try await pro.send("PRO GET \(rpps(2))").code == "FORBIDDEN")
            #expect(try await pro.send("PRO GET \(rpps(1))").isOK)
            #expect(try await pro.send("PRO PUT id=\(rpps(1)) prof=gp name=X lat=47 lon=-2").code == "FORBIDDEN")
            #expect(try await pro.send("REQ ADD ref=P prof=gp lat=47 lon=-2").code == "FORBIDDEN")
            try await pro.expectOK("SLOT DEL \(own)")
            #expect(try await admin.send("SLOT LIST pro=\(rpps(2))")["count"] == "1", "the other slot is untouched")
        }
    }

    @Test func regulatorSeesAndChangesOnlyItsOwnRequests() async throws {
        try await withDaemon { d in
            let mine = try await d.client(role: .regulator, name: "samu56")
            let theirs = try await d.client(role: .regulator, name: "samu29")
            let r = try await theirs.expectOK("REQ ADD ref=T1 prof=gp lat=47 lon=-2")["req"]!
            #expect(try await mine.send("REQ GET \(r)").code == "FORBIDDEN")
            #expect(try await mine.send("REQ CANCEL \(r)").code == "FORBIDDEN")
            #expect(try await mine.send("REQ LIST")["count"] == "0")
            #expect(try await mine.send("REQ GET ref=T1").code == "NOT_FOUND", "another's ref is not revealed")
            let own = try await mine.expectOK("REQ ADD ref=T1 prof=gp lat=47 lon=-2")["req"]!
            #expect(own != r, "the same ref from another regulator is another request")
            #expect(try await mine.send("PRO PUT id=\(rpps(1)) prof=gp name=X lat=47 lon=-2").code == "FORBIDDEN")
            #expect(try await mine.send("STATS").code == "FORBIDDEN")
            #expect(try await mine.send("SLOT FIND prof=gp lat=47 lon=-2").isOK)
            #expect(try await theirs.send("REQ GET \(r)")["state"] == "queued")
        }
    }

    @Test func reporterAndCoordinatorRights() async throws {
        try await withDaemon { d in
            let reporter = try await d.client(role: .reporter, name: "ars")
            let coordinator = try await d.client(role: .coordinator, name: "cpts")
            try await coordinator.putPro(rpps(1))
            try await coordinator.expectOK(d.slotLine(pro: rpps(1), hours: 3))
            #expect(try await reporter.send("STATS").isOK)
            #expect(try await reporter.send("PRO LIST")["count"] == "1")
            #expect(try await reporter.send("SLOT LIST")["count"] == "1")
            #expect(try await reporter.send(d.slotLine(pro: rpps(1), hours: 5)).code == "FORBIDDEN")
            #expect(try await reporter.send("REQ ADD ref=R prof=gp lat=47 lon=-2").code == "FORBIDDEN")
            #expect(try await reporter.send("WATCH").code == "FORBIDDEN")
            #expect(try await coordinator.send("REQ ADD ref=R prof=gp lat=47 lon=-2").code == "FORBIDDEN")
            #expect(try await coordinator.send("REQ LIST").isOK)
        }
    }
}
