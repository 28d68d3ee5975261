import Foundation
import SNPCore
import SNPStore
import SNPTesting
import Testing

/// §4.4 and §3.3 when the database refuses a row of a group commit (a constraint the
/// engine does not know): that command is undone and answers an error, the other commands
/// land (`StalledCommitTests.aRowTheDatabaseRefusesFailsItsOwnCommandOnly`), and no read
/// shows the refused change as if it had happened. Before the fix a read that saw it in
/// memory waited only for the latest change, which landed, and answered `state=booked`
/// for a request the database had refused.
@Suite("A row the database refuses")
struct RefusedRowTests {
    @Test(.timeLimit(.minutes(2)))
    func aReadThatSawARefusedChangeNeverShowsIt() async throws {
        let db = try await TestPostgres.freshDatabase()
        let d = try await TestDaemon.start(database: db)
        let admin = try await d.admin()
        try await admin.putPro(rpps(1))
        for hours: Double in [3, 4, 5] { try await admin.expectOK(d.slotLine(pro: rpps(1), hours: hours)) }
        try await TestPostgres.withStore(db) { store in
            try await store.client.query(
                """
                CREATE FUNCTION test_refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.ref = 'BAD' THEN
                        RAISE EXCEPTION 'test: this database refuses BAD' USING ERRCODE = 'check_violation';
                    END IF;
                    RETURN NEW;
                END $$
                """)
            try await store.client.query(
                "CREATE TRIGGER test_refuse_bad BEFORE INSERT ON requests FOR EACH ROW EXECUTE FUNCTION test_refuse_bad()")
        }
        let reg = try await d.client(role: .regulator, name: "samu56")
        // One write: the session applies the lines in order, so both reads see BAD booked
        // in memory, and GOOD after it, before either change is durable.
        let add = "prof=gp lat=47.6582 lon=-2.7608"
        try await reg.write("REQ ADD ref=BAD \(add)\nREQ ADD ref=GOOD \(add)\nREQ GET ref=BAD\nREQ GET ref=GOOD\n")
        let bad = try await reg.readReply()
        let good = try await reg.readReply()
        let readBad = try await reg.readReply()
        let readGood = try await reg.readReply()
        print("refused row: BAD answered \(bad.code ?? "OK"), GOOD \(good.code ?? "OK"); reads: BAD \(readBad.code ?? "OK \(readBad["state"] ?? "")"), GOOD \(readGood.code ?? "OK \(readGood["state"] ?? "")")")

        #expect(!bad.isOK, "the refused change is not acknowledged: \(bad)")
        #expect(good.isOK && good["state"] == "booked", "the other change of the group lands: \(good)")
        #expect(readBad.code == "UNAVAILABLE", "a read that saw the refused change in memory does not show it: \(readBad)")
        // It may have seen BAD too (the read cannot tell): a retry, or the truth.
        #expect(readGood.code == "UNAVAILABLE" || readGood["state"] == "booked", "\(readGood)")

        // Memory and database agree: BAD never happened, GOOD did.
        let rows = try await StalledCommitTests.requestRows(db)
        let lost = good.isOK && rows["GOOD"] != good["req"] ? 1 : 0
        let shown = readBad.isOK && readBad["state"] == "booked" ? 1 : 0
        print("refused row: \(good.isOK ? 1 : 0) acknowledged, \(lost) lost; 1 refused, \(rows["BAD"] == nil ? 0 : 1) in the database; \(shown) reads showed the refused booking")
        #expect(rows["BAD"] == nil)
        #expect(rows["GOOD"] == good["req"])
        #expect(try await reg.send("REQ GET ref=GOOD")["state"] == "booked")
        let again = try await reg.send("REQ GET ref=BAD")
        #expect(again.code == "NOT_FOUND", "\(again)")
        let next = try await reg.expectOK("REQ ADD ref=NEXT \(add)")
        #expect(next["slot"] != good["slot"], "BAD's place was given back; GOOD keeps its own")
        await d.stop()
    }
}
