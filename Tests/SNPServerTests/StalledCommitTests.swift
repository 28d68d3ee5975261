import Foundation
import Logging
import PostgresNIO
import SNPCore
import SNPStore
import SNPTesting
import Synchronization
import Testing

/// Issue 14, §3.3 and §4.4: a commit whose outcome the daemon did not see (it stalled past
/// its timeout, or its connection dropped after `COMMIT` was sent) is settled before its
/// command is answered: `OK` if it landed, `UNAVAILABLE` only if it never will; and
/// identifiers are never reused, whatever happens.
@Suite("Stalled commits: settled before they are answered")
struct StalledCommitTests {
    /// The outside report: a `REQ ADD` waits behind a row lock on `leadership`, times out
    /// and answers `UNAVAILABLE`; the lock goes. Before the fix the stalled transaction then
    /// committed, the next request got the same id, and its upsert merged into the stalled
    /// row: an acknowledged booking lost.
    @Test(.timeLimit(.minutes(2)))
    func aCommitStalledOnALockIsFencedAnsweredUnavailableAndNeverLands() async throws {
        var db = try await TestPostgres.freshDatabase()
        db.commitTimeout = .seconds(1)
        let d = try await TestDaemon.start(database: db)
        let admin = try await d.admin()
        try await admin.putPro(rpps(1))
        try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 3))
        try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 5))
        let reg = try await d.client(role: .regulator, name: "samu56")
        let first = try await reg.expectOK("REQ ADD ref=FIRST prof=gp lat=47.6582 lon=-2.7608")

        let lock = try await HeldLock.take(db, "SELECT epoch FROM leadership WHERE id = 1 FOR UPDATE")
        let stalled = try await reg.send("REQ ADD ref=STALLED prof=gp lat=47.6582 lon=-2.7608")
        await lock.release()
        #expect(stalled.code == "UNAVAILABLE", "\(stalled)")

        // The daemon reloads after the outage; a new request gets a new number.
        let next = try await retryUntilOK(reg, "REQ ADD ref=NEXT prof=gp lat=47.6582 lon=-2.7608")
        #expect(next["state"] == "booked")
        #expect(next["req"] != first["req"])
        let rows = try await Self.requestRows(db)
        print("stalled on a lock: answered \(stalled.code ?? "OK"); rows now \(rows.sorted { $0.key < $1.key })")
        #expect(rows["STALLED"] == nil, "UNAVAILABLE changed nothing, and never will")
        #expect(rows["NEXT"] == next["req"], "the acknowledged booking is in the database under its own id")
        #expect(rows["FIRST"] == first["req"])
        await d.stop()

        let again = try await TestDaemon.start(database: db)
        let admin2 = try await again.admin()
        let reread = try await admin2.send("REQ GET \(next["req"]!)")
        #expect(reread["ref"] == "NEXT" && reread["state"] == "booked", "\(reread)")
        await again.stop()
    }

    /// A commit that wrote its commit record and waits for a synchronous replica that never
    /// answers has landed: once the daemon ends that wait (it terminates the backend), it
    /// finds the commit's marker and answers `OK`, not `UNAVAILABLE`. The same when the
    /// connection is dropped under the commit by someone else (an operator, a proxy).
    @Test(.timeLimit(.minutes(3)))
    func aCommitThatLandedWhileItsAnswerWasLostIsAnsweredOK() async throws {
        var (db, dir) = try await TestPostgres.privateCluster()
        defer { TestPostgres.destroyCluster(dir) }
        db.commitTimeout = .seconds(1)
        let d = try await TestDaemon.start(database: db)
        let admin = try await d.admin()
        try await admin.putPro(rpps(1))
        for h in [3.0, 4, 5, 6] { try await admin.expectOK(d.slotLine(pro: rpps(1), hours: h)) }
        let reg = try await d.client(role: .regulator, name: "samu56")

        // 1. The daemon's own timeout: it ends the stalled commit, then looks.
        try await Self.synchronousStandby(db, "snpd_test_nobody")
        let waited = try await reg.send("REQ ADD ref=SYNC-TIMEOUT prof=gp lat=47.6582 lon=-2.7608")
        #expect(waited.isOK && waited["state"] == "booked", "it landed: \(waited)")
        // And the daemon goes on: the next change goes through the same stall, and lands too.
        let second = try await reg.send("REQ ADD ref=SYNC-TIMEOUT-2 prof=gp lat=47.6582 lon=-2.7608")
        #expect(second.isOK && second["req"] != waited["req"], "\(second)")
        try await Self.synchronousStandby(db, "")
        await d.stop()

        // 2. The connection cut after COMMIT was sent, the daemon still waiting.
        var patient = db
        patient.commitTimeout = .seconds(120)
        let d2 = try await TestDaemon.start(database: patient)
        let reg2 = try await d2.client(role: .regulator, name: "samu22")
        let port = d2.port
        let secret = try await d2.daemon.store.addToken(Principal(name: "samu29", role: .regulator))
        try await Self.synchronousStandby(db, "snpd_test_nobody")
        let reply = Task {
            let c = try await LineClient.connect(port: port)
            try await c.expectOK("AUTH \(secret)")
            return try await c.send("REQ ADD ref=SYNC-CUT prof=gp lat=47.6582 lon=-2.7608")
        }
        let terminated = try await Self.terminateCommitBackend(db, waitingOn: "SyncRep")
        let cut = try await reply.value
        #expect(terminated, "the commit was found waiting for the replica and its backend terminated")
        #expect(cut.isOK && cut["state"] == "booked", "it landed: \(cut)")
        try await Self.synchronousStandby(db, "")
        #expect(try await reg2.send("PING").isOK)

        let rows = try await Self.requestRows(db)
        print("landed behind a lost answer: timeout → \(waited.code ?? "OK"), cut connection → \(cut.code ?? "OK"); rows \(rows.sorted { $0.key < $1.key })")
        #expect(rows["SYNC-TIMEOUT"] == waited["req"])
        #expect(rows["SYNC-TIMEOUT-2"] == second["req"])
        #expect(rows["SYNC-CUT"] == cut["req"])
        await d2.stop()
    }

    /// kill -9 of the daemon while its commit is stalled: the commit was never answered,
    /// so it may land or not, but wholly; no acknowledged booking is lost, and the next
    /// daemon never hands out an identifier that exists.
    @Test(.timeLimit(.minutes(3)))
    func killNineDuringAStallLosesNoAcknowledgedBookingAndReusesNoIdentifier() async throws {
        let db = try await TestPostgres.freshDatabase()
        let first = try DaemonProcess(database: db)
        first.environment["SNPD_COMMIT_TIMEOUT_MS"] = "120000"
        try await first.start()
        let admin = try await LineClient.connect(port: first.port)
        try await admin.expectOK("AUTH \(first.adminSecret)")
        try await admin.putPro(rpps(1))
        for h in 3...10 {
            let start = RFC3339.format(Date().addingTimeInterval(Double(h) * 3600))
            let end = RFC3339.format(Date().addingTimeInterval(Double(h) * 3600 + 1200))
            try await admin.expectOK("SLOT ADD pro=\(rpps(1)) start=\(start) end=\(end)")
        }
        var acknowledged: [String: String] = [:]
        for i in 1...5 {
            let r = try await admin.expectOK("REQ ADD ref=ACK-\(i) prof=gp lat=47.6582 lon=-2.7608")
            acknowledged["ACK-\(i)"] = r["req"]
        }

        let lock = try await HeldLock.take(db, "SELECT epoch FROM leadership WHERE id = 1 FOR UPDATE")
        let port = first.port
        let secret = first.adminSecret
        let unanswered = Task {
            let c = try await LineClient.connect(port: port)
            try await c.expectOK("AUTH \(secret)")
            return try? await c.send("REQ ADD ref=STALLED prof=gp lat=47.6582 lon=-2.7608")
        }
        #expect(try await Self.waitForCommit(db, waitingOn: "Lock"), "the commit is stalled on the lock")
        await first.kill9()
        let answer = (try? await unanswered.value) ?? nil
        #expect(answer == nil, "the stalled command was never answered")

        let second = try DaemonProcess(database: db)
        try await second.start(waitUntilServing: false)
        await lock.release()
        try await second.waitUntilServing(seconds: 30)
        let admin2 = try await LineClient.connect(port: second.port)
        try await admin2.expectOK("AUTH \(second.adminSecret)")
        var lost = 0
        for (ref, id) in acknowledged where try await admin2.send("REQ GET ref=\(ref)")["req"] != id { lost += 1 }
        let fresh = try await admin2.expectOK("REQ ADD ref=AFTER prof=gp lat=47.6582 lon=-2.7608")
        let rows = try await Self.requestRows(db)
        let listed = try await admin2.send("REQ LIST").items.count
        print(
            "kill -9 during a stall: \(acknowledged.count) acknowledged, \(lost) lost; the stalled one "
                + (rows["STALLED"] == nil ? "did not land" : "landed as \(rows["STALLED"]!)")
                + "; new request \(fresh["req"]!); \(rows.count) rows, \(listed) listed")
        #expect(lost == 0)
        #expect(rows["AFTER"] == fresh["req"], "a new identifier, inserted under its own ref")
        #expect(Set(rows.values).count == rows.count, "no identifier shared")
        #expect(listed == rows.count, "the daemon's memory is the database")
        _ = await second.terminate()
    }

    /// A stop always ends: SIGTERM while a commit waits behind a lock that is never let go
    /// (a graceful stop would wait for its answer for ever) ends the daemon once
    /// `SNPD_STOP_TIMEOUT` and the cancellation's 5 s are over; the stalled command is never
    /// answered, and nothing acknowledged is lost.
    @Test(.timeLimit(.minutes(3)))
    func aStopDuringAStallThatNeverEndsStillEnds() async throws {
        let db = try await TestPostgres.freshDatabase()
        let daemon = try DaemonProcess(database: db)
        daemon.environment["SNPD_COMMIT_TIMEOUT_MS"] = "120000"
        daemon.environment["SNPD_STOP_TIMEOUT"] = "2s"
        try await daemon.start()
        let admin = try await LineClient.connect(port: daemon.port)
        try await admin.expectOK("AUTH \(daemon.adminSecret)")
        try await admin.putPro(rpps(1))
        let lock = try await HeldLock.take(db, "SELECT epoch FROM leadership WHERE id = 1 FOR UPDATE")
        let port = daemon.port
        let secret = daemon.adminSecret
        let unanswered = Task {
            let c = try await LineClient.connect(port: port)
            try await c.expectOK("AUTH \(secret)")
            return try? await c.send("REQ ADD ref=STALLED prof=gp lat=47.6582 lon=-2.7608")
        }
        #expect(try await Self.waitForCommit(db, waitingOn: "Lock"), "the commit is stalled on the lock")
        let asked = ContinuousClock.now
        let status = await daemon.terminate()
        let took = ContinuousClock.now - asked
        let answer = (try? await unanswered.value) ?? nil
        await lock.release()
        print("stop during a stall that never ends: exited with status \(status) after \(took) (stop timeout 2 s, then 5 s of cancellation at most)")
        #expect(answer == nil, "the stalled command was never answered")
        #expect(took < .seconds(30), "the stop ended by itself, not by the test's SIGKILL after 60 s")
    }

    /// Issue 14 item 3: one row the database refuses (here a constraint the engine does not
    /// know) fails that command only: the other commands of the same group commit land,
    /// and the daemon does not enter its outage mode.
    @Test(.timeLimit(.minutes(2)))
    func aRowTheDatabaseRefusesFailsItsOwnCommandOnly() async throws {
        let db = try await TestPostgres.freshDatabase()
        _ = try await TestPostgres.withStore(db) { store in
            try await store.client.query("ALTER TABLE requests ADD CONSTRAINT test_poison CHECK (ref NOT LIKE 'POISON%')")
        }
        // A commit limit no load can reach: this test is about refusals, not timeouts.
        var patient = db
        patient.commitTimeout = .seconds(120)
        let d = try await TestDaemon.start(database: patient)
        let admin = try await d.admin()
        for i in 1...4 {
            try await admin.putPro(rpps(i))
            for h in [3.0, 4, 5] { try await admin.expectOK(d.slotLine(pro: rpps(i), hours: h)) }
        }
        let port = d.port
        let secret = try await d.daemon.store.addToken(Principal(name: "samu56", role: .regulator))
        // A commit held behind a lock, so that the next commands queue up and go together.
        let lock = try await HeldLock.take(d.database, "SELECT epoch FROM leadership WHERE id = 1 FOR UPDATE")
        let head = Task {
            let c = try await LineClient.connect(port: port)
            try await c.expectOK("AUTH \(secret)")
            return try await c.send("REQ ADD ref=HEAD prof=gp lat=47.6582 lon=-2.7608")
        }
        #expect(try await Self.waitForCommit(d.database, waitingOn: "Lock"))
        let replies = try await withThrowingTaskGroup(of: (String, Reply).self) { group in
            for i in 0..<10 {
                let ref = i == 4 ? "POISON-\(i)" : "GROUP-\(i)"
                group.addTask {
                    let c = try await LineClient.connect(port: port)
                    try await c.expectOK("AUTH \(secret)")
                    return (ref, try await c.send("REQ ADD ref=\(ref) prof=gp lat=47.6582 lon=-2.7608"))
                }
            }
            // Time for the ten commands to queue behind the held commit (if some come
            // later, they form a group of their own: the assertions hold either way).
            try await Task.sleep(for: .seconds(1))
            await lock.release()
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(try await head.value.isOK)
        let failed = replies.filter { !$0.value.isOK }
        print("a refused row in a group of \(replies.count): \(failed.count) failed: \(failed.map { "\($0.key) \($0.value.lines[0])" })")
        #expect(replies["POISON-4"]?.code == "INTERNAL", "\(String(describing: replies["POISON-4"]))")
        #expect(failed.count == 1, "the others landed")
        // No outage: the next change is answered at once, and the refused one left nothing.
        #expect(try await admin.send(d.slotLine(pro: rpps(1), hours: 8)).isOK)
        #expect(try await admin.send("REQ GET ref=POISON-4").code == "NOT_FOUND")
        let rows = try await Self.requestRows(d.database)
        #expect(rows.count == 10 && rows["POISON-4"] == nil)
        await d.stop()
    }

    // MARK: Helpers

    /// ref → request id, straight from the database.
    static func requestRows(_ db: DatabaseSettings) async throws -> [String: String] {
        try await TestPostgres.withStore(db) { store in
            var out: [String: String] = [:]
            for try await (ref, id) in try await store.client.query("SELECT ref, id FROM requests").decode((String, Int64).self) {
                out[ref] = "r\(id)"
            }
            return out
        }
    }

    /// Sets `synchronous_standby_names` on the whole server and waits until a new session
    /// sees it.
    static func synchronousStandby(_ db: DatabaseSettings, _ names: String) async throws {
        try await TestPostgres.withStore(db) { store in
            try await store.client.query(PostgresQuery(unsafeSQL: "ALTER SYSTEM SET synchronous_standby_names = '\(names)'"))
            try await store.client.query("SELECT pg_reload_conf()")
        }
        for _ in 0..<100 {
            let seen = try await TestPostgres.withStore(db) { store in
                var value = "?"
                for try await v in try await store.client.query("SHOW synchronous_standby_names").decode(String.self) { value = v }
                return value
            }
            if seen == names { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ClientError("synchronous_standby_names did not become '\(names)'")
    }

    /// Waits (up to 20 s) until a `snpd_commit` waits on `event` (`Lock`, `SyncRep`).
    static func waitForCommit(_ db: DatabaseSettings, waitingOn event: String) async throws -> Bool {
        for _ in 0..<200 {
            let n = try await TestPostgres.withStore(db) { store in
                try await store.integer(
                    """
                    SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database()
                    AND query LIKE 'SELECT snpd_commit(%' AND state <> 'idle'
                    AND (wait_event_type = '\(event)' OR wait_event = '\(event)')
                    """)
            }
            if n > 0 { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Terminates the backend of the `snpd_commit` waiting on `event`, once there is one.
    static func terminateCommitBackend(_ db: DatabaseSettings, waitingOn event: String) async throws -> Bool {
        guard try await waitForCommit(db, waitingOn: event) else { return false }
        return try await TestPostgres.withStore(db) { store in
            try await store.integer(
                """
                SELECT count(*)::int FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = current_database() AND query LIKE 'SELECT snpd_commit(%' AND state <> 'idle') t
                """) > 0
        }
    }

    func retryUntilOK(_ c: LineClient, _ line: String) async throws -> Reply {
        var last: Reply?
        for _ in 0..<120 {
            let r = try await c.send(line)
            if r.isOK { return r }
            last = r
            try await Task.sleep(for: .milliseconds(250))
        }
        throw ClientError("\(line) never answered OK; last \(String(describing: last))")
    }
}

/// A row lock held by a transaction of the test's own, on its own connection, until
/// `release()`: what stalls a commit from outside.
final class HeldLock: Sendable {
    private let stop: AsyncStream<Void>.Continuation
    private let holder: Task<Void, any Error>

    private init(stop: AsyncStream<Void>.Continuation, holder: Task<Void, any Error>) {
        self.stop = stop
        self.holder = holder
    }

    static func take(_ db: DatabaseSettings, _ sql: String) async throws -> HeldLock {
        let (taken, tookIt) = AsyncStream<Void>.makeStream()
        let (stopped, stop) = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await TestPostgres.withStore(db) { store in
                try await store.client.withConnection { conn in
                    try await conn.query("BEGIN", logger: Logger(label: "lock"))
                    for try await _ in try await conn.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "lock")) {}
                    tookIt.yield()
                    for await _ in stopped { break }
                    try await conn.query("COMMIT", logger: Logger(label: "lock"))
                }
            }
        }
        for await _ in taken { break }
        return HeldLock(stop: stop, holder: holder)
    }

    func release() async {
        stop.yield()
        stop.finish()
        _ = try? await holder.value
    }
}
