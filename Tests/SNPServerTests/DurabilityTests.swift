import Foundation
import Logging
import PostgresNIO
import SNPCore
import SNPStore
import SNPTesting
import Testing

@Suite("Durability and concurrency against a real PostgreSQL")
struct DurabilityTests {
    @Test func restartKeepsSlotsRequestsBookingsAndTheQueue() async throws {
        let db = try await TestPostgres.freshDatabase()
        let clock = TestClock()
        let first = try await TestDaemon.start(database: db, clock: clock)
        let admin = try await first.admin()
        try await admin.putPro(rpps(1), extra: "weekly_cap=5 territory=T1")
        try await admin.putPro(rpps(2), prof: "nurse", extra: "home_radius_km=15")
        try await admin.expectOK(first.slotLine(pro: rpps(1), hours: 3, extra: "capacity=2"))
        try await admin.expectOK(first.slotLine(pro: rpps(2), hours: 5, extra: "mode=home"))
        try await admin.expectOK(first.slotLine(pro: rpps(1), hours: 20))
        let reg = try await first.client(role: .regulator, name: "samu56")
        try await reg.expectOK("REQ ADD ref=A prof=gp lat=47.6582 lon=-2.7608 prio=1")
        try await reg.expectOK("REQ ADD ref=B prof=gp lat=47.6582 lon=-2.7608 hold=600")
        try await reg.expectOK("REQ ADD ref=C prof=kine lat=47.6582 lon=-2.7608 prio=3")
        try await reg.expectOK("REQ ADD ref=D prof=kine lat=47.6582 lon=-2.7608 prio=1")
        try await reg.expectOK("REQ ADD ref=E prof=nurse lat=47.6582 lon=-2.7608 mode=home")
        try await reg.expectOK("REQ CANCEL \(try await reg.send("REQ GET ref=E")["req"]!)")
        let before = try await snapshot(admin)
        await first.stop()

        let second = try await TestDaemon.start(database: db, clock: clock)
        let admin2 = try await second.admin()
        let after = try await snapshot(admin2)
        #expect(after.slots == before.slots)
        #expect(after.requests == before.requests)
        #expect(after.pros == before.pros)
        #expect(after.stats == before.stats)
        // The queue survived in order: a new kine slot goes to D (prio 1), not C.
        try await admin2.putPro(rpps(3), prof: "kine")
        let s = try await admin2.expectOK(second.slotLine(pro: rpps(3), hours: 4))
        let d = try await admin2.send("REQ GET ref=D")
        #expect(s["booked"] == d["req"])
        // Identifiers keep growing after a restart.
        let newSlot = try await admin2.expectOK(second.slotLine(pro: rpps(3), hours: 6))["slot"]!
        #expect(!before.slots.contains { $0.contains("id=\(newSlot) ") })
        await second.stop()
    }

    /// §4.4 and issue 4: what falls due while no daemon runs is applied at the next start,
    /// dated when it fell due, not when the daemon noticed.
    @Test func holdsAndDeadlinesThatLapseWhileDownAreAppliedAtRestart() async throws {
        let db = try await TestPostgres.freshDatabase()
        let clock = TestClock()
        let first = try await TestDaemon.start(database: db, clock: clock)
        let admin = try await first.admin()
        try await admin.putPro(rpps(1))
        let slot = try await admin.expectOK(first.slotLine(pro: rpps(1), hours: 10))["slot"]!
        let reg = try await first.client(role: .regulator, name: "samu56")
        let held = try await reg.expectOK("REQ ADD ref=H prof=gp lat=47.6582 lon=-2.7608 hold=10m")
        #expect(held["state"] == "held")
        let holdUntil = try #require(held["hold_until"])
        let waiting = try await reg.expectOK("REQ ADD ref=W prof=gp lat=47.6582 lon=-2.7608")
        #expect(waiting["state"] == "queued")
        let expiring = try await reg.expectOK("REQ ADD ref=E prof=nurse lat=47.6 lon=-2.7 within=2h")
        let deadline = try #require(expiring["deadline"])
        await first.stop()

        clock.advance(by: 3 * 3600)  // down for three hours: the hold and the deadline lapse meanwhile
        let second = try await TestDaemon.start(database: db, clock: clock)
        let reg2 = try await second.admin()
        let h = try await reg2.send("REQ GET ref=H")
        #expect(h["state"] == "cancelled" && h["reason"] == "hold_expired")
        #expect(h["closed"] == holdUntil, "dated when the hold lapsed")
        let e = try await reg2.send("REQ GET ref=E")
        #expect(e["state"] == "expired")
        #expect(e["closed"] == deadline, "dated at its deadline")
        let w = try await reg2.send("REQ GET ref=W")
        #expect(w["state"] == "booked" && w["slot"] == slot, "the freed slot went to the queue")
        await second.stop()
        // And it was committed: a third start sees the same.
        let third = try await TestDaemon.start(database: db, clock: clock)
        #expect(try await third.admin().send("REQ GET ref=W")["state"] == "booked")
        await third.stop()
    }

    struct Snapshot: Equatable {
        var slots: [String]
        var requests: [String]
        var pros: [String]
        var stats: [String: String]
    }

    func snapshot(_ c: LineClient) async throws -> Snapshot {
        var stats = try await c.send("STATS").fields
        stats["uptime_s"] = nil
        stats["connections"] = nil
        return Snapshot(
            slots: try await c.send("SLOT LIST").lines, requests: try await c.send("REQ LIST").lines,
            pros: try await c.send("PRO LIST").lines, stats: stats)
    }

    @Test func fiftyConcurrentClientsNeverOverbookTenSlots() async throws {
        try await withDaemon { d in
            let admin = try await d.admin()
            for i in 1...10 {
                try await admin.putPro(rpps(i))
                try await admin.expectOK(d.slotLine(pro: rpps(i), hours: 3))
            }
            let secret = try await d.daemon.store.addToken(Principal(name: "samu56", role: .regulator))
            let port = d.port
            let states = try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        let c = try await LineClient.connect(port: port)
                        try await c.expectOK("AUTH \(secret)")
                        let r = try await c.expectOK("REQ ADD ref=race-\(i) prof=gp lat=47.6582 lon=-2.7608")
                        await c.close()
                        return r["state"] ?? "?"
                    }
                }
                var out: [String] = []
                for try await s in group { out.append(s) }
                return out
            }
            #expect(states.filter { $0 == "booked" }.count == 10)
            #expect(states.filter { $0 == "queued" }.count == 40)
            let slots = try await admin.send("SLOT LIST")
            #expect(slots.items.allSatisfy { $0["booked"] == "1" })
            // And in the database itself.
            let overbooked = try await TestPostgres.withStore(d.database) { store in
                try await store.integer(
                    """
                    SELECT count(*)::int FROM (SELECT s.id FROM slots s JOIN requests r ON r.slot_id = s.id
                    AND r.state IN ('held','booked','honored','noshow') GROUP BY s.id, s.capacity
                    HAVING count(*) > s.capacity) x
                    """)
            }
            #expect(overbooked == 0)
            let booked = try await TestPostgres.withStore(d.database) {
                try await $0.integer("SELECT count(*)::int FROM requests WHERE state = 'booked'")
            }
            #expect(booked == 10, "every OK was committed before it was sent")
        }
    }

    @Test func badInputChangesNothing() async throws {
        try await withDaemon { d in
            let admin = try await d.admin()
            try await admin.putPro(rpps(1))
            try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 3))
            let reg = try await d.client(role: .regulator, name: "samu56")
            let before = try await snapshot(admin)
            let bad: [(String, String)] = [
                ("REQ ADD ref=Z prof=gp lat=91 lon=-2.7", "BAD_REQUEST"),
                ("REQ ADD ref=Z prof=gp lat=47 lon=-181", "BAD_REQUEST"),
                ("REQ ADD ref=Z prof=gp lat=north lon=-2.7", "BAD_REQUEST"),
                ("REQ ADD ref=Z prof=gp lat=47 lon=", "BAD_REQUEST"),
                ("REQ ADD ref=Z prof=gp lat=47 lon=-2.7 prio=0", "BAD_REQUEST"),
                ("REQ ADD ref=Z prof=gp lat=47 lon=-2.7 prio=4", "BAD_REQUEST"),
                ("REQ ADD ref=Z prof=gp lat=47 lon=-2.7 within=49h", "BAD_REQUEST"),
                ("REQ ADD ref=Z prof=gp lat=47 lon=-2.7 within=3d", "BAD_REQUEST"),
                ("REQ ADD ref=Z prof=gp lat=47 lon=-2.7 within=soon", "BAD_REQUEST"),
                ("REQ ADD ref=Z prof=surgeon lat=47 lon=-2.7", "BAD_REQUEST"),
                ("REQ ADD ref=Z prof=gp lat=47 lon=-2.7 mode=office,visio", "BAD_REQUEST"),
                ("REQ ADD ref=Z prof=gp lat=47 lon=-2.7 colour=red", "BAD_REQUEST"),
                ("REQ ADD prof=gp lat=47 lon=-2.7", "BAD_REQUEST"),
                ("REQ ADD ref=Z prof=gp lat=47 lon=-2.7 hold=0", "BAD_REQUEST"),
                ("REQ ADD ref=Z prof=gp lat=47 lon=-2.7 radius_km=-5", "BAD_REQUEST"),
                ("REQ GET r1 ref=Z", "BAD_REQUEST"),
                ("REQ GET x1", "BAD_REQUEST"),
                ("REQ CONFIRM r77", "NOT_FOUND"),
                ("REQ DECLINE r77", "NOT_FOUND"),
            ]
            for (line, code) in bad {
                let r = try await reg.send(line)
                #expect(r.code == code, "\(line) → \(r)")
                #expect(r.lines[0].count > "ERR \(code) ".count, "a message for a person")
            }
            #expect(try await snapshot(admin) == before)
        }
    }
}

@Suite("Leadership (§4.4): one daemon serves a database, a standby takes over")
struct LeadershipTests {
    /// Fencing: a daemon whose epoch is no longer the database's (another took over while
    /// it did not notice) cannot write: its change is not acknowledged, leaves no trace, and
    /// the daemon stops.
    @Test(.timeLimit(.minutes(3)))
    func aLeaderWithAStaleEpochCannotWrite() async throws {
        let db = try await TestPostgres.freshDatabase()
        let d = try await TestDaemon.start(database: db)
        let admin = try await d.admin()
        try await admin.putPro(rpps(1))
        try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 3))
        try await TestPostgres.withStore(db) { store in
            try await store.client.query("UPDATE leadership SET epoch = epoch + 1 WHERE id = 1")
        }
        // Never OK: UNAVAILABLE, or the connection closed as the fenced daemon stops.
        let refused = try? await admin.send(d.slotLine(pro: rpps(1), hours: 5))
        #expect(refused == nil || refused?.code == "UNAVAILABLE", "\(String(describing: refused))")
        let slots = try await TestPostgres.withStore(db) { try await $0.integer("SELECT count(*)::int FROM slots") }
        #expect(slots == 1, "the fenced change left no trace")
        await d.stop()
    }

    @Test func secondDaemonWaitsAsStandbyAndTakesOverWithTheFullState() async throws {
        let db = try await TestPostgres.freshDatabase()
        let clock = TestClock()
        let leader = try await TestDaemon.start(database: db, clock: clock)
        let admin = try await leader.admin()
        try await admin.putPro(rpps(1))
        let slot = try await admin.expectOK(leader.slotLine(pro: rpps(1), hours: 3))["slot"]!
        let reg = try await leader.client(role: .regulator, name: "samu56")
        let booked = try await reg.expectOK("REQ ADD ref=L1 prof=gp lat=47.6582 lon=-2.7608")
        let queued = try await reg.expectOK("REQ ADD ref=L2 prof=gp lat=47.6582 lon=-2.7608")

        let standby = try TestDaemon.launch(database: db, clock: clock)
        #expect(try await standby.waitUntilListening(seconds: 2) == false, "a standby does not listen")
        #expect(try await admin.send("PING").isOK, "the leader still serves")
        await leader.stop()
        #expect(try await standby.waitUntilListening(seconds: 15), "the standby takes over")
        let admin2 = try await standby.admin()
        #expect(try await admin2.send("REQ GET ref=L1")["slot"] == slot)
        #expect(try await admin2.send("REQ GET ref=L1")["req"] == booked["req"])
        #expect(try await admin2.send("REQ GET ref=L2")["state"] == "queued")
        #expect(try await admin2.send("REQ GET ref=L2")["req"] == queued["req"])
        // It writes under a new epoch: changes are accepted.
        try await admin2.expectOK(standby.slotLine(pro: rpps(1), hours: 5))
        #expect(try await admin2.send("REQ GET ref=L2")["state"] == "booked")
        await standby.stop()
    }
}

extension LeadershipTests {
    /// Issue 14: a leader whose lock session ended while another took the lock must stop
    /// serving at once, not answer reads from memory that another daemon now changes.
    @Test(.timeLimit(.minutes(3)))
    func aLeaderWhoseLockIsTakenStopsServingAtOnce() async throws {
        let db = try await TestPostgres.freshDatabase()
        let d = try await TestDaemon.start(database: db)
        let admin = try await d.admin()
        try await admin.putPro(rpps(1))
        try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 3))
        let reg = try await d.client(role: .regulator, name: "samu56")
        try await reg.expectOK("REQ ADD ref=K1 prof=gp lat=47.6582 lon=-2.7608")
        #expect(try await reg.send("REQ GET ref=K1").isOK)
        let port = d.port
        let elapsed = try await TestPostgres.withStore(db) { store in
            let log = Logger(label: "leadership-test")
            let lockKey = Leadership.lockKey
            let lock = """
                l.locktype = 'advisory' AND l.objsubid = 1
                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND l.classid::bigint = (\(lockKey) >> 32) AND l.objid::bigint = (\(lockKey) & 4294967295)
                """
            // The leader's lock session, found as an operator would.
            let leader = try await store.integer("SELECT l.pid FROM pg_locks l WHERE l.granted AND \(lock)")
            // As a standby would: wait for the lock (first in line when the session ends)…
            async let standby: Duration = store.client.withConnection { conn in
                try await conn.query("SELECT pg_advisory_lock(\(lockKey))", logger: log)
                try await conn.query(
                    "UPDATE leadership SET epoch = epoch + 1, holder = 'test standby' WHERE id = 1", logger: log)
                let taken = ContinuousClock.now
                // Serving stops when the listener refuses new connections.
                var elapsed: Duration?
                while elapsed == nil, ContinuousClock.now - taken < .seconds(10) {
                    if let still = try? await LineClient.connect(port: port) {
                        await still.close()
                        try await Task.sleep(for: .milliseconds(20))
                    } else {
                        elapsed = ContinuousClock.now - taken
                    }
                }
                #expect(try await d.waitUntilEnded(seconds: 10), "the leader's daemon stops once another holds the lock")
                try await conn.query("SELECT pg_advisory_unlock(\(lockKey))", logger: log)
                return try #require(elapsed, "the leader stops listening once another holds the lock")
            }
            while try await store.integer("SELECT count(*)::int FROM pg_locks l WHERE NOT l.granted AND \(lock)") == 0 {
                try await Task.sleep(for: .milliseconds(20))
            }
            // …then the leader's lock session ends.
            _ = try await store.integer("SELECT pg_terminate_backend(\(leader), 5000)::int")
            return try await standby
        }
        print("leadership test: the leader stopped listening \(elapsed) after its lock was taken")
        #expect(elapsed < .seconds(5))
        // Neither the open connection nor a new one gets an answer from stale memory.
        let read = try? await reg.send("REQ GET ref=K1")
        #expect(read == nil || read?.isOK == false, "\(String(describing: read))")
        let late = try? await LineClient.connect(port: port)
        let lateRead = try? await late?.send("PING")
        #expect(lateRead == nil, "nobody listens any more")
        await d.stop()
    }

    /// Issue 14: migrations run under the leadership lock, so that a standby (perhaps a
    /// newer version) never changes the schema under the daemon that serves.
    @Test(.timeLimit(.minutes(3)))
    func aStandbyMigratesOnlyOnceItLeads() async throws {
        let db = try await TestPostgres.freshDatabase()
        let leader = try await TestDaemon.start(database: db)
        // A newer version's migrations: the project's, and one more.
        let newer = FileManager.default.temporaryDirectory.appendingPathComponent("snpd-sql-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: newer, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: newer) }
        for file in try FileManager.default.contentsOfDirectory(atPath: TestPostgres.migrations.path) {
            try FileManager.default.copyItem(
                at: TestPostgres.migrations.appendingPathComponent(file), to: newer.appendingPathComponent(file))
        }
        try "CREATE TABLE newer_schema (id integer);".write(
            to: newer.appendingPathComponent("999_newer_schema.sql"), atomically: true, encoding: .utf8)
        let probe = "SELECT (to_regclass('newer_schema') IS NOT NULL)::int"

        let standby = try TestDaemon.launch(database: db) { $0.migrationsDirectory = newer }
        #expect(try await standby.waitUntilListening(seconds: 2) == false, "a standby does not listen")
        #expect(try await TestPostgres.withStore(db) { try await $0.integer(probe) } == 0, "nor migrate")
        #expect(try await leader.admin().send("PING").isOK)
        await leader.stop()
        #expect(try await standby.waitUntilListening(seconds: 15), "the standby takes over")
        #expect(try await TestPostgres.withStore(db) { try await $0.integer(probe) } == 1, "and migrates then")
        await standby.stop()
    }
}

@Suite("Audit trail")
struct AuditTests {
    @Test func everyChangeIsLoggedWithItsTokenCommandAndIdsOnly() async throws {
        try await withDaemon { d in
            let admin = try await d.admin()
            try await admin.putPro(rpps(1))
            let slot = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 3))["slot"]!
            let reg = try await d.client(role: .regulator, name: "samu56")
            let r = try await reg.expectOK("REQ ADD ref=SECRET-CASE-42 prof=gp lat=47.6582 lon=-2.7608")["req"]!
            #expect(try await reg.send("REQ ADD ref=X prof=gp lat=99 lon=0").code == "BAD_REQUEST")
            let rows = try await TestPostgres.withStore(d.database) { store in
                var out: [String] = []
                for try await (token, command, objects) in try await store.client.query(
                    "SELECT token, command, array_to_string(objects, ',') FROM audit_log ORDER BY id"
                ).decode((String, String, String).self) {
                    out.append("\(token) \(command) \(objects)")
                }
                return out
            }
            #expect(rows == ["admin PRO PUT \(rpps(1))", "admin SLOT ADD \(slot)", "samu56 REQ ADD \(r)"])
            #expect(!rows.joined().contains("SECRET"), "no case reference in the audit trail")
        }
    }
}
