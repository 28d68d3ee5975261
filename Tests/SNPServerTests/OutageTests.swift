import Foundation
import SNPTesting
import Testing

/// §4.4: while PostgreSQL is unreachable, changes answer `UNAVAILABLE` (and change
/// nothing), reads of the in-memory state still answer, and the daemon recovers by itself.
@Suite("Database outage")
struct OutageTests {
    @Test func changesAreRefusedDuringAnOutageAndTheDaemonRecoversAlone() async throws {
        let (db, dir) = try await TestPostgres.privateCluster()
        defer { TestPostgres.destroyCluster(dir) }
        let d = try await TestDaemon.start(database: db)
        let admin = try await d.admin()
        try await admin.putPro(rpps(1))
        let slot = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 3))["slot"]!
        let booked = try await admin.expectOK("REQ ADD ref=O1 prof=gp lat=47.6582 lon=-2.7608")
        #expect(booked["slot"] == slot)

        try TestPostgres.stopCluster(dir)
        // The first change meets the dead connection; every one answers UNAVAILABLE.
        for i in 0..<3 {
            let r = try await admin.send("REQ ADD ref=O-down-\(i) prof=gp lat=47.6582 lon=-2.7608")
            #expect(r.code == "UNAVAILABLE", "\(r)")
        }
        #expect(try await admin.send(d.slotLine(pro: rpps(1), hours: 6)).code == "UNAVAILABLE")
        // Reads of the in-memory state still answer, and show nothing of the refused changes.
        #expect(try await admin.send("PING").isOK)
        #expect(try await admin.send("REQ GET ref=O1")["slot"] == slot)
        #expect(try await admin.send("REQ GET ref=O-down-0").code == "NOT_FOUND")
        #expect(try await admin.send("SLOT LIST")["count"] == "1")

        try TestPostgres.startCluster(dir)
        var recovered = false
        for _ in 0..<120 where !recovered {
            try await Task.sleep(for: .milliseconds(250))
            recovered = try await admin.send("REQ ADD ref=O2 prof=gp lat=47.6582 lon=-2.7608").isOK
        }
        #expect(recovered, "the daemon accepts changes again without a restart")
        #expect(try await admin.send("REQ GET ref=O1")["state"] == "booked")
        #expect(try await admin.send("REQ GET ref=O-down-0").code == "NOT_FOUND", "refused changes left no trace")
        let rows = try await TestPostgres.withStore(db) { try await $0.integer("SELECT count(*)::int FROM requests") }
        #expect(rows == 2, "O1 and O2 only")
        await d.stop()
    }
}
