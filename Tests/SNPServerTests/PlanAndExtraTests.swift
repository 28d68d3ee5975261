import Foundation
import SNPCore
import SNPTesting
import Testing

/// §3.10 plans and §3.7 extra capacity, end to end over the socket against PostgreSQL.
@Suite("PLAN commands and extra capacity end to end")
struct PlanAndExtraTests {
    /// Monday 11 January 2027, 09:00 in Paris (08:00Z).
    static let monday = Date(epochSeconds: 1_799_654_400)

    /// The start and fields of every slot line of a `SLOT LIST`, with the slot's own `kind=`
    /// (the client's `items` puts the line's first word there).
    static func slots(_ c: LineClient, _ args: String = "") async throws -> [[String: String]] {
        try await c.send("SLOT LIST \(args)").lines.dropFirst().map { Reply.fields(of: $0) }
    }

    @Test func planIsAddedListedPublishedDailyAndDeleted() async throws {
        #expect(RFC3339.format(Self.monday) == "2027-01-11T08:00:00Z")
        let db = try await TestPostgres.freshDatabase()
        let clock = TestClock(Self.monday)
        let d = try await TestDaemon.start(database: db, clock: clock)
        let c = try await d.admin()
        try await c.putPro(rpps(1))
        // Monday and Wednesday, 08:00–10:00 Paris in 30-minute slots: today's 08:00 and 08:30
        // are past; 09:00, 09:30, Wednesday's four and next Monday's 08:00, 08:30 and 09:00
        // (up to the horizon, Monday 18 09:00 included) are published.
        let add = try await c.expectOK("PLAN ADD pro=\(rpps(1)) days=mon,wed from=08:00 to=10:00 length=30m")
        #expect(add.lines == ["OK plan=p1 published=9 skipped=2"])
        var slots = try await Self.slots(c)
        #expect(slots.count == 9)
        #expect(slots.first?["start"] == "2027-01-11T08:00:00Z")
        #expect(slots.allSatisfy { $0["kind"] == "regular" })
        let list = try await c.send("PLAN LIST pro=\(rpps(1))")
        #expect(list.lines.count == 2)
        #expect(
            list.lines[1]
                == "plan id=p1 pro=\(rpps(1)) days=mon,wed from=08:00 to=10:00 length=30m mode=office capacity=1 kind=regular until=none published=9 skipped=2"
        )
        // Two days later, the daemon's timer has published what came within the horizon
        // (Monday 18 09:30, Wednesday 20 08:00 to 09:00) by itself.
        clock.advance(by: 2 * 86_400)
        try await Task.sleep(for: .milliseconds(1500))
        slots = try await Self.slots(c, "from=\(RFC3339.format(Self.monday))")
        #expect(slots.count == 13)
        #expect(try await c.send("PLAN LIST")["count"] == "1")
        // A booking keeps its slot (Wednesday 09:30: 09:00 starts now, within the lead); the
        // other future slots go; the one under way stays.
        let reg = try await d.client(role: .regulator, name: "samu56")
        let booked = try await reg.expectOK("REQ ADD ref=A prof=gp lat=47.6582 lon=-2.7608")
        #expect(booked["state"] == "booked")
        let del = try await c.expectOK("PLAN DEL p1 withdraw=1")
        #expect(del.lines == ["OK plan=p1 state=stopped withdrawn=7"])
        #expect(try await Self.slots(c).count == 2)
        #expect(try await c.send("PLAN DEL p1").code == "CONFLICT")
        #expect(try await c.send("PLAN LIST")["count"] == "0")
        await d.stop()
    }

    @Test func badPlansAreRefusedWithTheirCodeAndChangeNothing() async throws {
        let db = try await TestPostgres.freshDatabase()
        let d = try await TestDaemon.start(database: db, clock: TestClock(Self.monday))
        let c = try await d.admin()
        try await c.putPro(rpps(1))
        try await c.putPro(rpps(2))
        let pro = try await d.client(role: .pro, name: "dr-one", pro: RPPS(trusted: rpps(1)))
        let reg = try await d.client(role: .regulator, name: "samu56")
        let p = "PLAN ADD pro=\(rpps(1))"
        let cases: [(LineClient, String, String)] = [
            (c, "\(p) days=mon,funday from=08:00 to=10:00", "BAD_REQUEST"),
            (c, "\(p) days= from=08:00 to=10:00", "BAD_REQUEST"),
            (c, "\(p) days=mon from=10:00 to=08:00", "BAD_REQUEST"),
            (c, "\(p) days=mon from=08:00 to=08:00", "BAD_REQUEST"),
            (c, "\(p) days=mon from=8h to=10:00", "BAD_REQUEST"),
            (c, "\(p) days=mon from=08:00 to=24:30", "BAD_REQUEST"),
            (c, "\(p) days=mon from=08:00 to=10:00 length=3h", "BAD_REQUEST"),
            (c, "\(p) days=mon from=08:00 to=10:00 length=0s", "BAD_REQUEST"),
            (c, "\(p) days=mon from=08:00 to=10:00 until=2027-01-10", "BAD_REQUEST"),
            (c, "\(p) days=mon from=08:00 to=10:00 until=11/01/2027", "BAD_REQUEST"),
            (c, "\(p) days=mon from=06:00 to=19:00 kind=extra", "BAD_REQUEST"),
            (c, "\(p) days=mon from=08:00 to=10:00 kind=surplus", "BAD_REQUEST"),
            (c, "\(p) days=mon from=08:00 to=10:00 capacity=0", "BAD_REQUEST"),
            (c, "\(p) days=mon from=08:00 to=10:00 colour=blue", "BAD_REQUEST"),
            (c, "PLAN ADD pro=\(rpps(3)) days=mon from=08:00 to=10:00", "NOT_FOUND"),
            (c, "PLAN ADD days=mon from=08:00 to=10:00", "BAD_REQUEST"),
            (pro, "PLAN ADD pro=\(rpps(2)) days=mon from=08:00 to=10:00", "FORBIDDEN"),
            (reg, "\(p) days=mon from=08:00 to=10:00", "FORBIDDEN"),
            (c, "PLAN DEL p9", "NOT_FOUND"),
            (c, "PLAN DEL s1", "BAD_REQUEST"),
            (c, "PLAN DEL p1 withdraw=yes", "BAD_REQUEST"),
            (c, "SLOT ADD pro=\(rpps(1)) start=\(d.at(hours: 2)) end=\(d.at(hours: 15)) kind=extra", "BAD_REQUEST"),
        ]
        for (client, line, code) in cases {
            #expect(try await client.send(line).code == code, "\(line)")
        }
        #expect(try await c.send("PLAN LIST")["count"] == "0")
        #expect(try await Self.slots(c).isEmpty)
        // HELP lists the new commands, from the table.
        let help = try await c.send("HELP").lines
        for words in ["PLAN ADD", "PLAN LIST", "PLAN DEL"] {
            #expect(help.contains { $0.hasPrefix("cmd name=\"\(words)\"") }, "\(words)")
        }
        // A pro plans for itself without pro=; another pro's plan is out of its sight.
        try await pro.expectOK("PLAN ADD days=tue from=14:00 to=15:00")
        let other = try await c.expectOK("PLAN ADD pro=\(rpps(2)) days=tue from=14:00 to=15:00")["plan"]!
        #expect(try await pro.send("PLAN LIST")["count"] == "1")
        #expect(try await pro.send("PLAN LIST pro=\(rpps(2))").code == "FORBIDDEN")
        #expect(try await pro.send("PLAN DEL \(other)").code == "FORBIDDEN")
        // Extra windows overlap slots, not each other.
        try await c.expectOK("SLOT ADD pro=\(rpps(1)) start=\(d.at(hours: 2)) end=\(d.at(hours: 6)) kind=extra capacity=2")
        #expect(
            try await c.send("SLOT ADD pro=\(rpps(1)) start=\(d.at(hours: 5)) end=\(d.at(hours: 8)) kind=extra").code
                == "CONFLICT")
        try await c.expectOK(d.slotLine(pro: rpps(1), hours: 3))
        await d.stop()
    }

    /// Paris times of day across both daylight-saving changes of 2027 (28 March, 31 October).
    @Test func planKeepsParisTimesAcrossDaylightSavingChanges() async throws {
        for (now, expected) in [
            // Friday 26 March 12:00 Paris: Saturday in winter, Sunday (the change) in summer.
            (1_806_058_800, ["2027-03-27T07:00:00Z", "2027-03-27T23:30:00Z", "2027-03-28T06:00:00Z"]),
            // Friday 29 October 12:00 Paris: Saturday in summer, Sunday (the change) in winter.
            (1_824_804_000, ["2027-10-30T06:00:00Z", "2027-10-30T22:30:00Z", "2027-10-31T07:00:00Z"]),
        ] {
            let db = try await TestPostgres.freshDatabase()
            let d = try await TestDaemon.start(database: db, clock: TestClock(Date(epochSeconds: Int64(now))))
            let c = try await d.admin()
            try await c.putPro(rpps(1))
            try await c.expectOK("PLAN ADD pro=\(rpps(1)) days=sat,sun from=08:00 to=08:30 until=2027-12-31")
            // 00:30 on Sunday and Monday: a time near midnight keeps its Paris day too.
            try await c.expectOK("PLAN ADD pro=\(rpps(1)) days=sun,mon from=00:30 to=01:00 until=2027-12-31")
            let starts = try await Self.slots(c).map { $0["start"]! }
            #expect(Array(starts.prefix(3)) == expected, "\(starts)")
            await d.stop()
        }
    }

    @Test func restartPublishesWhatFellDueOnce() async throws {
        let db = try await TestPostgres.freshDatabase()
        let clock = TestClock(Self.monday)
        let first = try await TestDaemon.start(database: db, clock: clock)
        let c = try await first.admin()
        try await c.putPro(rpps(1))
        // Every day 14:00–15:00: today … Sunday 17 (7 slots).
        #expect(try await c.expectOK("PLAN ADD pro=\(rpps(1)) days=mon,tue,wed,thu,fri,sat,sun from=14:00 to=15:00")["published"] == "7")
        await first.stop()
        // Down until Wednesday 13 at 13:30 Paris: Monday 18 and Tuesday 19 fell due meanwhile.
        clock.advance(by: 2 * 86_400 + 4.5 * 3600)
        let second = try await TestDaemon.start(database: db, clock: clock)
        let c2 = try await second.admin()
        let slots = try await Self.slots(c2, "from=\(RFC3339.format(Self.monday))")
        #expect(slots.count == 9)
        #expect(Set(slots.map { $0["start"]! }).count == 9)
        #expect(slots.last?["start"] == "2027-01-19T13:00:00Z")
        let plan = try await c2.send("PLAN LIST").lines[1]
        #expect(Reply.fields(of: plan)["published"] == "9")
        // Plan ids keep growing.
        #expect(try await c2.expectOK("PLAN ADD pro=\(rpps(1)) days=sat from=09:00 to=10:00")["plan"] == "p2")
        await second.stop()
    }

    @Test func requestWithNoSlotLeftIsBookedOnExtraCapacity() async throws {
        let db = try await TestPostgres.freshDatabase()
        let clock = TestClock(Self.monday)
        let d = try await TestDaemon.start(database: db, clock: clock)
        let c = try await d.admin()
        try await c.putPro(rpps(1))
        try await c.putPro(rpps(2))
        let slot = try await c.expectOK(d.slotLine(pro: rpps(1), hours: 3))["slot"]!
        let window = try await c.expectOK(
            "SLOT ADD pro=\(rpps(2)) start=\(d.at(hours: -0.0)) end=\(d.at(hours: 4)) kind=extra capacity=1")["slot"]!
        let listed = try await Self.slots(c, "pro=\(rpps(2))")
        #expect(listed.first?["kind"] == "extra")
        let reg = try await d.client(role: .regulator, name: "samu56")
        // The regular slot first, though later.
        let a = try await reg.expectOK("REQ ADD ref=A prof=gp lat=47.6582 lon=-2.7608")
        #expect(a["slot"] == slot)
        #expect(a["kind"] == nil)
        // Then the window: from now + lead to its end.
        let b = try await reg.expectOK("REQ ADD ref=B prof=gp lat=47.6582 lon=-2.7608")
        #expect(b["state"] == "booked")
        #expect(b["slot"] == window)
        #expect(b["kind"] == "extra")
        #expect(b["start"] == d.at(hours: 0.25))
        #expect(b["end"] == d.at(hours: 4))
        let get = try await reg.send("REQ GET ref=B")
        #expect(get["kind"] == "extra")
        // Both full: the next one waits.
        #expect(try await reg.expectOK("REQ ADD ref=C prof=gp lat=47.6582 lon=-2.7608")["state"] == "queued")
        // The booking survives a restart with its kind.
        await d.stop()
        let again = try await TestDaemon.start(database: db, clock: clock)
        let admin = try await again.admin()
        #expect(try await admin.send("REQ GET ref=B")["kind"] == "extra")
        #expect(try await Self.slots(admin, "pro=\(rpps(2))").first?["kind"] == "extra")
        await again.stop()
    }
}
