import Foundation
import SNPCore
import SNPProtocol
import Testing

/// Typed readers: a bad value is a `BAD_REQUEST` that names the key.
@Suite struct ArgumentsTests {
    @Test func locationReadsLatitudeAndLongitude() throws {
        #expect(try arguments(["lat": "48.8566", "lon": "2.3522"]).location() == GeoPoint(lat: 48.8566, lon: 2.3522))
        #expect(try arguments(["lat": "-90", "lon": "180"]).location() == GeoPoint(lat: -90, lon: 180))
        #expect(try arguments(["lat": "90", "lon": "-180"]).location() == GeoPoint(lat: 90, lon: -180))
        #expect(try arguments(["lat": ".5", "lon": "-0.25"]).location() == GeoPoint(lat: 0.5, lon: -0.25))
    }

    @Test(arguments: [
        ("abc", "2"), ("91", "2"), ("-90.0001", "2"), ("48", "-181"), ("48", "180.5"), ("nan", "2"), ("48", "NaN"),
        ("inf", "2"), ("-infinity", "2"), ("1e3", "2"), ("1e1", "2"), ("48", "2E0"), ("0x10", "2"), ("", "2"),
        (" 48", "2"), ("48,5", "2"), ("4 8", "2"), ("--48", "2"),
    ])
    func badCoordinateIsABadRequest(lat: String, lon: String) {
        let error = #expect(throws: SNPError.self) { try arguments(["lat": lat, "lon": lon]).location() }
        #expect(error?.code == "BAD_REQUEST")
    }

    @Test func missingCoordinateIsABadRequest() {
        let error = #expect(throws: SNPError.self) { try arguments(["lat": "48"]).location() }
        #expect(error?.code == "BAD_REQUEST")
        #expect(error?.message.contains("lon") == true)
    }

    @Test func doubleNamesKeyAndRange() {
        let error = #expect(throws: SNPError.self) {
            try arguments(["radius_km": "301"]).double("radius_km", in: 0...300)
        }
        #expect(error?.message.contains("radius_km") == true)
        #expect(error?.message.contains("300") == true)
    }

    @Test func rangeIsWrittenAsAPersonWouldReadIt() {
        let error = #expect(throws: SNPError.self) {
            try arguments(["radius_km": "0.05"]).double("radius_km", in: 0.1...300)
        }
        #expect(error?.message == "radius_km must be between 0.1 and 300, got 0.05")
    }

    @Test func intReadsWholeNumbersInRange() throws {
        #expect(try arguments(["capacity": "3"]).int("capacity", in: 1...10) == 3)
        #expect(try arguments(["capacity": "10"]).int("capacity", in: 1...10) == 10)
        #expect(try arguments(["capacity": "-2"]).int("capacity", in: -5...10) == -2)
        #expect(try arguments().int("capacity", in: 1...10) == nil)
    }

    @Test(arguments: ["0", "11", "abc", "+3", "3.0", "", " 3", "3 ", "99999999999999999999", "1e1", "٣"])
    func badIntIsABadRequest(text: String) {
        let error = #expect(throws: SNPError.self) { try arguments(["capacity": text]).int("capacity", in: 1...10) }
        #expect(error?.code == "BAD_REQUEST")
        #expect(error?.message.contains("capacity") == true)
    }

    @Test func timeAcceptsAnyOffset() throws {
        let expected = Date(epochSeconds: 1_795_421_700)
        #expect(try arguments(["start": "2026-11-23T09:15:00+01:00"]).time("start") == expected)
        #expect(try arguments(["start": "2026-11-23T08:15:00Z"]).requiredTime("start") == expected)
        #expect(try arguments().time("start") == nil)
    }

    @Test(arguments: ["2026-11-23T09:15:00", "2026-11-23", "demain 9h", "2026-02-30T09:00:00Z"])
    func timeWithoutOffsetOrMalformedIsABadRequest(text: String) {
        let error = #expect(throws: SNPError.self) { try arguments(["start": text]).time("start") }
        #expect(error?.code == "BAD_REQUEST")
        #expect(error?.message.hasPrefix("start:") == true)
    }

    /// Found by the coverage-guided fuzzer (tools/fuzz): every time read must be one the
    /// server can write back. `0000-01-01T00:00:00+00:01` is in year -1 in UTC, and was
    /// written `-001-12-31T23:59:00Z`, which is not RFC 3339 and which `time` refused.
    @Test(arguments: ["0000-01-01T00:00:00+00:01", "0000-01-01T00:00:59.9+23:59", "9999-12-31T23:59:59-00:01"])
    func timeOutsideTheFourDigitYearsInUTCIsABadRequest(text: String) {
        let error = #expect(throws: SNPError.self) { try arguments(["since": text]).time("since") }
        #expect(error?.code == "BAD_REQUEST")
        #expect(error?.message.contains("year") == true)
    }

    @Test(arguments: ["0000-01-01T00:00:00Z", "0000-01-01T01:00:00+01:00", "9999-12-31T23:59:59Z", "9999-12-31T22:59:59-01:00"])
    func everyTimeReadIsWrittenBackAsItself(text: String) throws {
        let read = try #require(try arguments(["since": text]).time("since"))
        let written = RFC3339.format(read)
        #expect(try arguments(["since": written]).time("since") == read)
        #expect(written.count == 20 && written.hasSuffix("Z"))
    }

    @Test func missingRequiredTimeIsABadRequest() {
        let error = #expect(throws: SNPError.self) { try arguments().requiredTime("end") }
        #expect(error?.code == "BAD_REQUEST")
        #expect(error?.message.contains("end") == true)
    }

    @Test func secondsReadDurations() throws {
        #expect(try arguments(["within": "4h"]).seconds("within") == 14_400)
        #expect(try arguments(["hold": "90"]).seconds("hold") == 90)
        #expect(try arguments().seconds("within") == nil)
        let error = #expect(throws: SNPError.self) { try arguments(["within": "4 hours"]).seconds("within") }
        #expect(error?.message.hasPrefix("within:") == true)
    }

    @Test(
        arguments: [
            ("office,home", ModeSet.inPerson), ("tele", .tele), ("OFFICE,Tele", [.office, .tele]),
            ("office,office", .office),
            ("home,office,tele", [.office, .home, .tele]),
        ] as [(String, ModeSet)])
    func modesReadACommaSeparatedList(text: String, modes: ModeSet) throws {
        #expect(try arguments(["mode": text]).modes("mode") == modes)
    }

    @Test(arguments: ["", "office,,home", "office,", ",tele", "clinic", "office home", "office;home"])
    func badModesAreABadRequest(text: String) {
        let error = #expect(throws: SNPError.self) { try arguments(["mode": text]).modes("mode") }
        #expect(error?.code == "BAD_REQUEST")
    }

    @Test func idReadsTheFirstPositionalOrAKey() throws {
        #expect(try arguments(positional: ["s12"]).id(prefix: "s", what: "slot") == .slot(12))
        #expect(try arguments(positional: ["r7", "x"]).id(prefix: "r", what: "request") == .request(7))
        #expect(try arguments(["slot": "s3"]).id("slot", prefix: "s", what: "slot") == .slot(3))
        #expect(try arguments().id(prefix: "s", what: "slot") == nil)
    }

    @Test(arguments: [
        "x12", "s-1", "s", "s0", "s+1", "r12", "S12", "s1.5", "s 1", "12", "s12a", "s99999999999999999999",
    ])
    func malformedIdIsABadRequest(text: String) {
        let error = #expect(throws: SNPError.self) { try arguments(positional: [text]).id(prefix: "s", what: "slot") }
        #expect(error?.code == "BAD_REQUEST")
        #expect(error?.message.contains("slot id") == true)
    }

    @Test func choiceIsCaseInsensitiveAndListsTheOptions() throws {
        #expect(try arguments(["prof": "GP"]).choice("prof", Profession.self) == .gp)
        #expect(try arguments(["prof": "kine"]).choice("prof", Profession.self) == .kine)
        #expect(try arguments().choice("prof", Profession.self) == nil)
        let error = #expect(throws: SNPError.self) { try arguments(["prof": "doctor"]).choice("prof", Profession.self) }
        #expect(error?.code == "BAD_REQUEST")
        #expect(error?.message.contains("gp|kine|nurse") == true)
    }

    @Test func textRejectsEmptyAndOverlongValues() throws {
        #expect(try arguments(["name": "Dr Hélène"]).text("name") == "Dr Hélène")
        #expect(try arguments(["name": "é"]).text("name", maxLength: 1) == "é")  // counted in characters
        for (value, limit) in [("", 200), ("abcd", 3)] {
            let error = #expect(throws: SNPError.self) { try arguments(["name": value]).text("name", maxLength: limit) }
            #expect(error?.code == "BAD_REQUEST")
        }
        let missing = #expect(throws: SNPError.self) { try arguments().requiredText("ref") }
        #expect(missing?.message.contains("ref") == true)
    }

    @Test func rppsIsValidated() throws {
        #expect(try arguments(["pro": "10000000017"]).rpps("pro")?.value == "10000000017")
        #expect(try arguments().rpps("pro") == nil)
        let error = #expect(throws: SNPError.self) { try arguments(["pro": "10000000016"]).rpps("pro") }
        #expect(error?.code == "BAD_REQUEST")
    }
}
