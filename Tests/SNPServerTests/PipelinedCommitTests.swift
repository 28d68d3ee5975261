import Foundation
import PostgresNIO
import SNPCore
import SNPStore
import SNPTesting
import Synchronization
import Testing

/// Issue 18, target 4: group commits pipelined (`SNPD_COMMIT_PIPELINE`), with §4.4 whole:
/// a later commit lands only if every earlier one did, and after it (sql/015); no reply
/// leaves before its commit and every earlier one are resolved; a commit whose outcome is
/// unknown is settled before anything is answered; the fencing epoch is checked by each.
/// Each test breaks a pipeline of several commits in flight on purpose.
@Suite("Pipelined commits: broken on purpose")
struct PipelinedCommitTests {
    /// Three commits in flight, the oldest stalled on a lock until it times out: the later
    /// two waited for it in the database, so none of the three lands, and all three answer
    /// `UNAVAILABLE` (which promises that they never will land).
    @Test(.timeLimit(.minutes(3)))
    func laterCommitsInFlightBehindAStalledOneFailWithItAndNoneLands() async throws {
        var db = try await TestPostgres.freshDatabase()
        db.commitTimeout = .seconds(2)
        db.commitPipeline = 3
        let d = try await TestDaemon.start(database: db)
        let admin = try await d.admin()
        try await admin.putPro(rpps(1))
        for h in [3.0, 4, 5, 6] { try await admin.expectOK(d.slotLine(pro: rpps(1), hours: h)) }
        let port = d.port
        let secret = try await d.daemon.store.addToken(Principal(name: "samu56", role: .regulator))

        let lock = try await HeldLock.take(db, "SELECT epoch FROM leadership WHERE id = 1 FOR UPDATE")
        var replies: [Task<Reply, any Error>] = []
        var inFlight: [Int] = []
        for i in 0..<3 {
            replies.append(
                Task {
                    let c = try await LineClient.connect(port: port)
                    try await c.expectOK("AUTH \(secret)")
                    return try await c.send("REQ ADD ref=PIPE-\(i) prof=gp lat=47.6582 lon=-2.7608")
                })
            // Each command goes in a commit of its own once the one before is in the database.
            inFlight.append(try await Self.waitForCommits(db, atLeast: i + 1))
        }
        var answers: [Reply] = []
        for r in replies { answers.append(try await r.value) }
        await lock.release()
        let rows = try await StalledCommitTests.requestRows(db)
        let codes = answers.map { $0.code ?? "OK" }
        print("pipeline behind a stalled commit: commits seen in flight \(inFlight), answers \(codes), rows \(rows.count)")
        #expect(inFlight.last ?? 0 >= 3, "three commits were in flight at once")
        #expect(codes == ["UNAVAILABLE", "UNAVAILABLE", "UNAVAILABLE"])
        #expect(rows.isEmpty, "UNAVAILABLE changed nothing, and never will")

        // The daemon reloads after the outage; a new request gets a new number, and the
        // state in memory is the database's.
        let reg = try await d.client(role: .regulator, name: "samu22")
        let next = try await StalledCommitTests().retryUntilOK(reg, "REQ ADD ref=NEXT prof=gp lat=47.6582 lon=-2.7608")
        #expect(next["state"] == "booked")
        #expect(try await StalledCommitTests.requestRows(db) == ["NEXT": next["req"]!])
        #expect(try await admin.send("REQ LIST").items.count == 1)
        await d.stop()
    }

    /// The order itself: the oldest commit of three stalls on a row lock only it needs (it
    /// cancels a booking whose row the test holds) and times out; the two later ones touch
    /// other rows and could land at once. They wait for it in the database instead, and
    /// fail with it: all three `UNAVAILABLE`, nothing of them in the database. Without the
    /// wait (sql/015), the later two would have landed on top of a change that never did.
    @Test(.timeLimit(.minutes(3)))
    func aLaterCommitNeverLandsBeforeAnEarlierOneThatStalls() async throws {
        var db = try await TestPostgres.freshDatabase()
        db.commitTimeout = .seconds(2)
        db.commitPipeline = 3
        let d = try await TestDaemon.start(database: db)
        let admin = try await d.admin()
        try await admin.putPro(rpps(1))
        for h in [3.0, 4, 5, 6] { try await admin.expectOK(d.slotLine(pro: rpps(1), hours: h)) }
        let port = d.port
        let secret = try await d.daemon.store.addToken(Principal(name: "samu56", role: .regulator))
        let reg = try await LineClient.connect(port: port)
        try await reg.expectOK("AUTH \(secret)")
        let first = try await reg.expectOK("REQ ADD ref=FIRST prof=gp lat=47.6582 lon=-2.7608")

        let lock = try await HeldLock.take(db, "SELECT id FROM requests WHERE ref = 'FIRST' FOR UPDATE")
        let lines = ["REQ CANCEL \(first["req"]!)"] + (1...2).map { "REQ ADD ref=LATER-\($0) prof=gp lat=47.6582 lon=-2.7608" }
        var replies: [Task<Reply, any Error>] = []
        var inFlight: [Int] = []
        for (i, line) in lines.enumerated() {
            replies.append(
                Task {
                    let c = try await LineClient.connect(port: port)
                    try await c.expectOK("AUTH \(secret)")
                    return try await c.send(line)
                })
            inFlight.append(try await Self.waitForCommits(db, atLeast: i + 1))
        }
        var answers: [Reply] = []
        for r in replies { answers.append(try await r.value) }
        await lock.release()
        let rows = try await StalledCommitTests.requestRows(db)
        let state = try await TestPostgres.withStore(db) { store in
            var state = "?"
            for try await s in try await store.client.query("SELECT state FROM requests WHERE ref = 'FIRST'").decode(String.self) {
                state = s
            }
            return state
        }
        let codes = answers.map { $0.code ?? "OK" }
        print("order: the oldest stalled on a row only it needs; in flight \(inFlight), answers \(codes), rows \(rows.keys.sorted()), FIRST \(state)")
        #expect(inFlight.last ?? 0 >= 3)
        #expect(codes == ["UNAVAILABLE", "UNAVAILABLE", "UNAVAILABLE"])
        #expect(rows.keys.sorted() == ["FIRST"] && state == "booked", "nothing of the three landed")
        await d.stop()
    }

    /// Three commits in flight, each waiting for a synchronous replica that never answers
    /// (the oldest has written its commit record; the later ones wait for it): the test cuts
    /// their connections. Each is settled, and answered by what became of it: `OK` exactly
    /// for the rows in the database, `UNAVAILABLE` exactly for the rows not there, and never
    /// a later one landed without an earlier one.
    @Test(.timeLimit(.minutes(3)))
    func cutConnectionsUnderAPipelineAnswerEachCommitByWhatLanded() async throws {
        var (db, dir) = try await TestPostgres.privateCluster()
        defer { TestPostgres.destroyCluster(dir) }
        db.commitTimeout = .seconds(120)
        db.commitPipeline = 3
        let d = try await TestDaemon.start(database: db)
        let admin = try await d.admin()
        try await admin.putPro(rpps(1))
        for h in [3.0, 4, 5, 6] { try await admin.expectOK(d.slotLine(pro: rpps(1), hours: h)) }
        let port = d.port
        let secret = try await d.daemon.store.addToken(Principal(name: "samu56", role: .regulator))

        try await StalledCommitTests.synchronousStandby(db, "snpd_test_nobody")
        var replies: [Task<Reply, any Error>] = []
        var inFlight: [Int] = []
        for i in 0..<3 {
            replies.append(
                Task {
                    let c = try await LineClient.connect(port: port)
                    try await c.expectOK("AUTH \(secret)")
                    return try await c.send("REQ ADD ref=CUT-\(i) prof=gp lat=47.6582 lon=-2.7608")
                })
            inFlight.append(try await Self.waitForCommits(db, atLeast: i + 1))
        }
        let cut = try await TestPostgres.withStore(db) { store in
            try await store.integer(
                """
                SELECT count(*)::int FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = current_database() AND query LIKE 'SELECT snpd_commit%' AND state <> 'idle') t
                """)
        }
        var answers: [Reply] = []
        for r in replies { answers.append(try await r.value) }
        try await StalledCommitTests.synchronousStandby(db, "")
        let rows = try await StalledCommitTests.requestRows(db)
        let landed = (0..<3).map { rows["CUT-\($0)"] != nil }
        let codes = answers.map { $0.code ?? "OK" }
        print("pipeline with its connections cut: in flight \(inFlight), cut \(cut), answers \(codes), landed \(landed)")
        #expect(inFlight.last ?? 0 >= 3 && cut >= 1)
        for i in 0..<3 {
            #expect(answers[i].isOK == landed[i], "CUT-\(i): answered \(codes[i]), in the database: \(landed[i])")
            if answers[i].isOK { #expect(rows["CUT-\(i)"] == answers[i]["req"]) }
            if i > 0 && landed[i] { #expect(landed[i - 1], "a later commit never lands without the earlier one") }
        }
        #expect(landed[0], "the oldest had written its commit record: it landed")
        let reg = try await d.client(role: .regulator, name: "samu22")
        _ = try await StalledCommitTests().retryUntilOK(reg, "REQ ADD ref=AFTER prof=gp lat=47.6582 lon=-2.7608")
        let listed = try await admin.send("REQ LIST").items.count
        #expect(listed == (try await StalledCommitTests.requestRows(db)).count, "memory is the database")
        await d.stop()
    }

    /// The real `snpd`, 32 clients, pipelined commits, killed with SIGKILL three times at
    /// a random moment: every acknowledged change is in the database once, nothing refused
    /// is, and no slot holds more than its capacity.
    @Test(.timeLimit(.minutes(5)))
    func killNineUnderThirtyTwoClientsLosesAndDuplicatesNothing() async throws {
        let db = try await TestPostgres.freshDatabase()
        let daemon = try DaemonProcess(database: db)
        daemon.environment["SNPD_COMMIT_PIPELINE"] = "3"
        try await daemon.start()
        let setup = try await LineClient.connect(port: daemon.port)
        try await setup.expectOK("AUTH \(daemon.adminSecret)")
        for i in 1...6 { try await setup.putPro(rpps(i)) }
        await setup.close()

        let ledger = CrashTests.LedgerBox()
        let rounds = 3
        for round in 0..<rounds {
            if round > 0 { try await daemon.start() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<32 {
                    group.addTask {
                        await CrashTests.traffic(
                            port: daemon.port, secret: daemon.adminSecret, client: client, round: round, ledger: ledger)
                    }
                }
                let before = ledger.value.withLock { $0.acknowledged }
                let deadline = ContinuousClock.now + .seconds(30)
                while ledger.value.withLock({ $0.acknowledged }) < before + 50 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                try await Task.sleep(for: .milliseconds(Int.random(in: 100...900)))
                await daemon.kill9()
                try await group.waitForAll()
            }
        }
        try await daemon.start()
        let seen = ledger.value.withLock { $0 }
        let (lost, overbooked, leaked, duplicated) = try await TestPostgres.withStore(db) { store in
            let (lost, overbooked, leaked) = try await CrashTests.audit(store, seen)
            let duplicated = try await store.integer(
                """
                SELECT ((SELECT count(*) - count(DISTINCT ref) FROM requests)
                    + (SELECT count(*) - count(DISTINCT ref) FROM slots WHERE ref IS NOT NULL))::int
                """)
            return (lost, overbooked, leaked, duplicated)
        }
        _ = await daemon.terminate()
        print(
            "crash test, pipeline of 3, 32 clients: \(rounds) kill -9, operations acknowledged \(seen.acknowledged), "
                + "lost \(lost), duplicated \(duplicated), overbooked slots \(overbooked), refused but present \(leaked)")
        #expect(seen.acknowledged > 100, "traffic really ran")
        #expect(lost == 0)
        #expect(duplicated == 0)
        #expect(overbooked == 0)
        #expect(leaked == 0)
    }

    /// Waits (up to 20 s) until at least `count` commits run in the database at once; returns
    /// how many were seen.
    static func waitForCommits(_ db: DatabaseSettings, atLeast count: Int) async throws -> Int {
        var seen = 0
        for _ in 0..<200 {
            seen = try await TestPostgres.withStore(db) { store in
                try await store.integer(
                    """
                    SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database()
                    AND query LIKE 'SELECT snpd_commit%' AND state <> 'idle'
                    """)
            }
            if seen >= count { return seen }
            try await Task.sleep(for: .milliseconds(100))
        }
        return seen
    }
}
