import Foundation
import SNPCore
import SNPProtocol
import SNPStore
import SNPTesting
import Testing

/// Issue 14: the protocol measures text as the schema does (Unicode code points, what
/// PostgreSQL's `length()` counts), so that a value it accepts is never refused by a table
/// and fails a whole commit. Each field with a length limit, with characters of two code
/// points (one grapheme each): at the limit it is accepted and stored whole, one code
/// point more is `BAD_REQUEST`.
@Suite("Text lengths measured as the database measures them")
struct TextLengthTests {
    /// Graphemes of two code points each: a thumb with a skin tone, an e with a combining acute.
    static let thumb = "👍🏽"
    static let accent = "e\u{301}"

    /// `limit` code points made of two-code-point graphemes (`limit` is even), and that plus one.
    static func texts(_ limit: Int, _ unit: String) -> (atLimit: String, over: String) {
        let atLimit = String(repeating: unit, count: limit / 2)
        #expect(atLimit.unicodeScalars.count == limit && atLimit.count == limit / 2)
        return (atLimit, atLimit + "a")
    }

    @Test func everyTextFieldTakesItsLimitInCodePointsAndNotOneMore() async throws {
        try await withDaemon { d in
            let admin = try await d.admin()
            let db = d.database
            func stored(_ sql: String) async throws -> Int {
                try await TestPostgres.withStore(db) { try await $0.integer(sql) }
            }

            // PRO PUT name= (the schema's CHECK: 1 to 200) and territory=.
            let name = Self.texts(TextLimit.name, Self.thumb)
            let territory = Self.texts(TextLimit.territory, Self.accent)
            try await admin.expectOK(
                "PRO PUT id=\(rpps(1)) prof=gp name=\"\(name.atLimit)\" lat=47.6582 lon=-2.7608 territory=\(territory.atLimit)")
            let pro = try await admin.send("PRO GET \(rpps(1))")
            #expect(pro["name"] == name.atLimit && pro["territory"] == territory.atLimit)
            #expect(try await stored("SELECT length(name) FROM professionals") == TextLimit.name)
            #expect(try await stored("SELECT length(territory) FROM professionals") == TextLimit.territory)
            let overName = try await admin.send(
                "PRO PUT id=\(rpps(2)) prof=gp name=\"\(name.over)\" lat=47.6582 lon=-2.7608")
            #expect(overName.code == "BAD_REQUEST", "\(overName)")
            // 200 graphemes, 400 code points: the case the review found (the table refused it).
            let graphemes = String(repeating: Self.thumb, count: 200)
            #expect(try await admin.send("PRO PUT id=\(rpps(2)) prof=gp name=\"\(graphemes)\" lat=47.6 lon=-2.7").code == "BAD_REQUEST")
            #expect(
                try await admin.send("PRO PUT id=\(rpps(2)) prof=gp name=X lat=47.6 lon=-2.7 territory=\(territory.over)").code
                    == "BAD_REQUEST")
            #expect(try await admin.send("PRO LIST territory=\(territory.over)").code == "BAD_REQUEST")
            #expect(try await admin.send("PRO LIST territory=\(territory.atLimit)")["count"] == "1")

            // SLOT ADD ref=.
            let slotRef = Self.texts(TextLimit.ref, Self.accent)
            try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 3, extra: "ref=\(slotRef.atLimit)"))
            #expect(try await stored("SELECT length(ref) FROM slots") == TextLimit.ref)
            #expect(try await admin.send(d.slotLine(pro: rpps(1), hours: 5, extra: "ref=\(slotRef.over)")).code == "BAD_REQUEST")

            // REQ ADD ref=, REQ GET ref=, REQ CANCEL reason=.
            let reg = try await d.client(role: .regulator, name: "samu56")
            let ref = Self.texts(TextLimit.ref, Self.thumb)
            let r = try await reg.expectOK("REQ ADD ref=\(ref.atLimit) prof=gp lat=47.6582 lon=-2.7608")["req"]!
            #expect(try await reg.send("REQ GET ref=\(ref.atLimit)")["req"] == r)
            #expect(try await stored("SELECT length(ref) FROM requests") == TextLimit.ref)
            #expect(try await reg.send("REQ ADD ref=\(ref.over) prof=gp lat=47.6582 lon=-2.7608").code == "BAD_REQUEST")
            #expect(try await reg.send("REQ GET ref=\(ref.over)").code == "BAD_REQUEST")
            let reason = Self.texts(TextLimit.reason, Self.accent)
            #expect(try await reg.send("REQ CANCEL \(r) reason=\"\(reason.over)\"").code == "BAD_REQUEST")
            let cancelled = try await reg.expectOK("REQ CANCEL \(r) reason=\"\(reason.atLimit)\"")
            #expect(cancelled["reason"] == reason.atLimit)
            #expect(try await stored("SELECT length(reason) FROM requests") == TextLimit.reason)

            // Nothing refused changed anything, and every accepted change was committed.
            #expect(try await stored("SELECT count(*)::int FROM professionals") == 1)
            #expect(try await stored("SELECT count(*)::int FROM slots") == 1)
            #expect(try await stored("SELECT count(*)::int FROM requests WHERE state = 'cancelled'") == 1)
        }
    }
}
