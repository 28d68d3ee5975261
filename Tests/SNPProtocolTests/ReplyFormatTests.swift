import Foundation
import SNPCore
import SNPProtocol
import Testing

/// §3.3: every line the server writes.
@Suite struct ReplyFormatTests {
    @Test func okWritesItsFieldsInOrder() {
        #expect(ReplyFormat.ok() == "OK\n")
        #expect(ReplyFormat.ok(Fields([("server", "snpd"), ("proto", "1")])) == "OK server=snpd proto=1\n")
        #expect(ReplyFormat.ok(Fields([("name", "Dr Hélène Le Goff")])) == "OK name=\"Dr Hélène Le Goff\"\n")
    }

    @Test func listIsACountLineThenOneLinePerItem() {
        let items = [Fields([("id", "s1"), ("mode", "office")]), Fields([("id", "s2"), ("mode", "tele")])]
        #expect(ReplyFormat.list(kind: "slot", items) == "OK count=2\nslot id=s1 mode=office\nslot id=s2 mode=tele\n")
        #expect(ReplyFormat.list(kind: "req", []) == "OK count=0\n")
        let lines = ReplyFormat.list(kind: "pro", [Fields([("pro", "1")]), Fields(), Fields([("name", "a b")])])
            .split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines == ["OK count=3", "pro pro=1", "pro", "pro name=\"a b\"", ""])
    }

    @Test func errorIsOneLineWithItsCode() {
        #expect(ReplyFormat.error(.conflict("overlaps slot s1")) == "ERR CONFLICT overlaps slot s1\n")
        #expect(ReplyFormat.error(.notFound("no slot s9")) == "ERR NOT_FOUND no slot s9\n")
        for message in ["first\nsecond", "first\r\nsecond", "first\rsecond", "first\u{2028}second", "a\n\nb\n"] {
            let line = ReplyFormat.error(.badRequest(message))
            #expect(line.hasPrefix("ERR BAD_REQUEST first") || line.hasPrefix("ERR BAD_REQUEST a"))
            #expect(line.filter { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }.count == 1, "\(message)")
            #expect(line.last == "\n")
        }
        #expect(ReplyFormat.error(.badRequest("first\nsecond")) == "ERR BAD_REQUEST first second\n")
    }

    @Test func everyErrorCodeIsWritten() {
        let errors: [(SNPError, String)] = [
            (.badRequest("m"), "BAD_REQUEST"), (.unknownCommand("m"), "UNKNOWN_COMMAND"), (.noAuth("m"), "NO_AUTH"),
            (.forbidden("m"), "FORBIDDEN"), (.notFound("m"), "NOT_FOUND"), (.conflict("m"), "CONFLICT"),
            (.tooLong("m"), "TOO_LONG"), (.busy("m"), "BUSY"), (.unavailable("m"), "UNAVAILABLE"),
            (.internal("m"), "INTERNAL"),
        ]
        for (error, code) in errors {
            #expect(ReplyFormat.error(error) == "ERR \(code) m\n")
        }
    }

    @Test func eventLinesStartWithEVENT() {
        #expect(ReplyFormat.event(Fields([("req", "r1"), ("state", "booked")])) == "EVENT req=r1 state=booked\n")
    }

    @Test(arguments: [
        ("plain", "plain"), ("Hélène", "Hélène"), ("Dr Hélène Le Goff", "\"Dr Hélène Le Goff\""), ("", "\"\""),
        ("say \"hi\"", #""say \"hi\"""#), (#"C:\dossier"#, #""C:\\dossier""#), ("a\tb", "\"a\tb\""), ("x=y", "x=y"),
        ("\"", #""\"""#), (#"\"#, #""\\""#),
    ])
    func valuesAreQuotedOnlyWhenNeeded(value: String, written: String) {
        #expect(ReplyFormat.quoteIfNeeded(value) == written)
    }

    @Test(arguments: trickyValues)
    func quotedValueParsesBackToItself(value: String) throws {
        let written = ReplyFormat.quoteIfNeeded(value)
        #expect(try words("k=" + written) == [.keyValue(key: "k", value: value)])
        // As a positional, a value reads back too unless it looks like key=value.
        if !value.contains("=") || written.hasPrefix("\"") {
            #expect(try words("REQ GET " + written) == [.value("REQ"), .value("GET"), .value(value)])
        }
    }

    @Test func wholeReplyLineParsesBackToItsFields() throws {
        let fields = Fields(trickyValues.enumerated().map { ("f\($0.offset)", $0.element) })
        let line = ReplyFormat.ok(fields)
        #expect(line.filter { $0 == "\n" }.count == 1)
        let parsed = try #require(try parse(String(line.dropLast())))
        #expect(parsed.words.first == .value("OK"))
        let back = parsed.words.dropFirst().map { word -> (String, String) in
            guard case .keyValue(let k, let v) = word else { return ("?", "?") }
            return (k, v)
        }
        #expect(Fields(back) == fields)
    }

    @Test func fieldsSkipAbsentOptionalValues() {
        var f = Fields()
        f.add("req", "r1")
        f.add("slot", nil as String?)
        f.add("note", "")
        #expect(f.encoded == " req=r1 note=\"\"")
        #expect(f["req"] == "r1")
        #expect(f["slot"] == nil)
        #expect(Fields().encoded == "")
    }

    /// A time, an integer or a number added as such is written exactly as its text form.
    @Test func typedValuesAreWrittenAsTheirText() {
        let instant = Date(epochSeconds: 1_795_424_400)
        var typed = Fields()
        typed.add("start", time: instant)
        typed.add("booked", integer: -3)
        typed.add("dist_km", number: 2.345)
        typed.add("cost", number: -0.0001, decimals: 3)
        typed.add("name", "Dr Le Goff")
        let text = Fields([
            ("start", "2026-11-23T09:00:00Z"), ("booked", "-3"), ("dist_km", "2.35"), ("cost", "0.000"), ("name", "Dr Le Goff"),
        ])
        #expect(typed == text)
        #expect(typed.encoded == text.encoded)
        #expect(typed.encoded == " start=2026-11-23T09:00:00Z booked=-3 dist_km=2.35 cost=0.000 name=\"Dr Le Goff\"")
        #expect(typed["start"] == "2026-11-23T09:00:00Z")
        var joined = Fields([("id", "s1")])
        joined.append(typed)
        #expect(ReplyFormat.list(kind: "slot", [joined]) == "OK count=1\nslot id=s1" + text.encoded + "\n")
    }

    @Test func numbersHaveFixedDecimalsAndNoExponent() {
        #expect(ReplyFormat.number(7.5) == "7.50")
        #expect(ReplyFormat.number(2.0 / 3.0, decimals: 3) == "0.667")
        #expect(ReplyFormat.number(48.85, decimals: 6) == "48.850000")
        #expect(ReplyFormat.number(1e20, decimals: 0) == "100000000000000000000")
        #expect(ReplyFormat.number(1e-7) == "0.00")
    }

    @Test(arguments: [1, 2, 3])
    func negativeZeroIsWrittenWithoutSign(decimals: Int) {
        #expect(ReplyFormat.number(-0.0001, decimals: decimals) == "0." + String(repeating: "0", count: decimals))
        #expect(ReplyFormat.number(-0.0, decimals: decimals) == "0." + String(repeating: "0", count: decimals))
    }

    /// Coordinates are written with 6 decimals: a practice a hair west of Greenwich
    /// (the meridian crosses Normandy, the Loire valley and Gascony) must not read `-0.000000`.
    @Test func negativeZeroCoordinateIsWrittenWithoutSign() {
        #expect(ReplyFormat.number(-0.0000001, decimals: 6) == "0.000000")
        #expect(ReplyFormat.number(-0.000001, decimals: 6) == "-0.000001")
    }
}
