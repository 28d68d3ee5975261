import Foundation
import SNPCore
import Testing

@Suite struct RFC3339Tests {
    /// 2026-11-23T08:15:00Z.
    static let instant: Int64 = 1_795_421_700

    @Test(arguments: [
        "2026-11-23T09:15:00+01:00", "2026-11-23T08:15:00Z", "2026-11-23T08:15:00z", "2026-11-23t08:15:00Z",
        "2026-11-23T03:15:00-05:00", "2026-11-23T13:45:00+05:30", "2026-11-23T08:15:00+00:00",
        "2026-11-23T08:15:00-00:00", "2026-11-23T08:15:00.999Z", "2026-11-23T09:15:00.123456789+01:00",
        "2026-11-22T23:15:00-09:00",
    ])
    func anyOffsetGivesTheSameInstant(text: String) throws {
        #expect(try RFC3339.parse(text).epochSeconds == Self.instant)
    }

    @Test func leapDayAndLeapSecondAreAccepted() throws {
        #expect(try RFC3339.parse("2028-02-29T12:00:00Z").epochSeconds == 1_835_438_400)
        // Instants are kept to the second: a leap second reads as the second before.
        #expect(try RFC3339.parse("2026-12-31T23:59:60Z") == RFC3339.parse("2026-12-31T23:59:59Z"))
    }

    @Test(arguments: [
        "2026-11-23T09:15:00",  // no offset: a wall-clock time alone is ambiguous
        "2026-11-23T09:15:00.5",
        "2026-02-30T10:00:00Z", "2026-02-29T10:00:00Z", "2026-04-31T10:00:00Z", "2026-13-01T10:00:00Z",
        "2026-00-10T10:00:00Z", "2026-11-00T10:00:00Z", "2026-11-23T24:00:00Z", "2026-11-23T09:60:00Z",
        "2026-11-23T09:15:61Z", "2026-11-23T09:15:00+0100", "2026-11-23T09:15:00+01", "2026-11-23T09:15:00+24:00",
        "2026-11-23T09:15:00+01:60", "2026-11-23T09:15:00Zjunk", "2026-11-23T09:15:00+01:00 ", "2026-11-23T09:15:00.Z",
        "2026-11-23X09:15:00Z", "26-11-23T09:15:00Z", "2026-1-23T09:15:00Z", "2026-11-23T9:15:00Z", "", "tomorrow",
        "2026-11-23", "2026/11/23T09:15:00Z",
        // Years 0000 and 9999 that an offset carries out of four digits in UTC (found by tools/fuzz).
        "0000-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01",
    ])
    func malformedOrImpossibleTimeIsABadRequest(text: String) {
        let error = #expect(throws: SNPError.self) { try RFC3339.parse(text) }
        #expect(error?.code == "BAD_REQUEST")
    }

    @Test func formatWritesUTCWithZ() {
        #expect(RFC3339.format(Date(epochSeconds: Self.instant)) == "2026-11-23T08:15:00Z")
        #expect(RFC3339.format(Date(epochSeconds: 0)) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.format(Date(epochSeconds: -1)) == "1969-12-31T23:59:59Z")
        #expect(RFC3339.format(Date(epochSeconds: 1_835_438_400)) == "2028-02-29T12:00:00Z")
        // Fractions are dropped, never rounded up.
        #expect(RFC3339.format(Date(timeIntervalSince1970: Double(Self.instant) + 0.9)) == "2026-11-23T08:15:00Z")
    }

    @Test(arguments: ["2026-03-29T01:00:00Z", "2026-10-25T00:59:59Z", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z"])
    func formatThenParseIsTheIdentity(text: String) throws {
        #expect(RFC3339.format(try RFC3339.parse(text)) == text)
    }
}

@Suite struct DurationTextTests {
    @Test(arguments: [
        ("90s", 90), ("30m", 1_800), ("4h", 14_400), ("2d", 172_800), ("48h", 172_800), ("120", 120), ("0s", 0),
    ])
    func durationFormsParse(text: String, seconds: Int) throws {
        #expect(try DurationText.parseSeconds(text) == seconds)
    }

    @Test(arguments: [
        "", "s", "h", "4x", "-5m", "+5m", "1.5h", "4 h", " 4h", "4hh", "h4", "٣h", "1234567890s", "4H", "PT4H",
    ])
    func badDurationIsABadRequest(text: String) {
        let error = #expect(throws: SNPError.self) { try DurationText.parseSeconds(text) }
        #expect(error?.code == "BAD_REQUEST")
    }

    @Test(arguments: [(172_800, "48h"), (259_200, "3d"), (5_400, "90m"), (90, "90s"), (0, "0s"), (3_600, "1h")])
    func formatIsTheShortestExactForm(seconds: Int, text: String) throws {
        #expect(DurationText.format(seconds: seconds) == text)
        #expect(try DurationText.parseSeconds(text) == seconds)
    }
}

@Suite struct ParisTimeTests {
    static func at(_ text: String) -> Int64 { Fixture.time(text).epochSeconds }

    @Test func offsetChangesAtOneUTCOnTheLastSundaysOfMarchAndOctober() {
        #expect(ParisTime.offset(at: Self.at("2026-03-29T00:59:59Z")) == 3_600)
        #expect(ParisTime.offset(at: Self.at("2026-03-29T01:00:00Z")) == 7_200)
        #expect(ParisTime.offset(at: Self.at("2026-10-25T00:59:59Z")) == 7_200)
        #expect(ParisTime.offset(at: Self.at("2026-10-25T01:00:00Z")) == 3_600)
        #expect(ParisTime.offset(at: Self.at("2026-07-14T12:00:00Z")) == 7_200)
        #expect(ParisTime.offset(at: Self.at("2026-01-15T12:00:00Z")) == 3_600)
        #expect(ParisTime.offset(at: Self.at("2026-12-31T23:30:00Z")) == 3_600)
        // 2027's changes fall on the 28th of March and the 31st of October.
        #expect(ParisTime.offset(at: Self.at("2027-03-28T00:59:59Z")) == 3_600)
        #expect(ParisTime.offset(at: Self.at("2027-03-28T01:00:00Z")) == 7_200)
        #expect(ParisTime.offset(at: Self.at("2027-10-31T00:59:59Z")) == 7_200)
        #expect(ParisTime.offset(at: Self.at("2027-10-31T01:00:00Z")) == 3_600)
        #expect(ParisTime.offset(at: Fixture.time("2026-07-14T12:00:00Z")) == 7_200)
    }

    @Test(arguments: [
        // Year boundary: 2026 has 53 ISO weeks; 2027-01-03 (a Sunday) is still in week 2026-53.
        ("2025-12-28T22:59:59Z", 202_552), ("2025-12-28T23:00:00Z", 202_601), ("2026-12-31T12:00:00Z", 202_653),
        ("2027-01-01T12:00:00Z", 202_653), ("2027-01-03T12:00:00Z", 202_653), ("2027-01-03T22:59:59Z", 202_653),
        ("2027-01-03T23:00:00Z", 202_701),
        // Monday starts at 22:00 UTC in summer time, 23:00 UTC in winter time.
        ("2026-03-29T21:59:59Z", 202_613), ("2026-03-29T22:00:00Z", 202_614), ("2026-10-25T22:59:59Z", 202_643),
        ("2026-10-25T23:00:00Z", 202_644), ("2026-11-22T22:59:59Z", 202_647), ("2026-11-22T23:30:00Z", 202_648),
    ])
    func isoWeekIsTheWeekOfTheParisDay(text: String, week: Int) {
        #expect(ParisTime.isoWeek(at: Self.at(text)) == week)
        #expect(ParisTime.isoWeek(at: Fixture.time(text)) == week)
    }

    @Test(arguments: [
        ("2026-03-28T22:59:59Z", 20_540), ("2026-03-28T23:00:00Z", 20_541), ("2026-03-29T00:30:00Z", 20_541),
        ("2026-03-29T21:59:59Z", 20_541), ("2026-03-29T22:00:00Z", 20_542), ("2026-10-24T22:00:00Z", 20_751),
        ("2026-10-25T22:59:59Z", 20_751), ("2026-10-25T23:00:00Z", 20_752), ("2026-12-31T23:00:00Z", 20_819),
        ("1970-01-01T00:00:00Z", 0), ("1969-12-31T22:59:59Z", -1),
    ])
    func dayNumberIsTheParisCalendarDay(text: String, day: Int) {
        #expect(ParisTime.dayNumber(at: Self.at(text)) == day)
    }

    @Test(arguments: [
        (20_541, "2026-03-28T23:00:00Z"), (20_542, "2026-03-29T22:00:00Z"), (20_751, "2026-10-24T22:00:00Z"),
        (20_752, "2026-10-25T23:00:00Z"), (20_822, "2027-01-03T23:00:00Z"),
    ])
    func startOfDayIsParisMidnight(day: Int, text: String) {
        #expect(ParisTime.startOfDay(dayNumber: day) == Self.at(text))
        #expect(ParisTime.dayNumber(at: Self.at(text)) == day)
        #expect(ParisTime.dayNumber(at: Self.at(text) - 1) == day - 1)
    }

    @Test func dayStringsRoundTrip() {
        #expect(ParisTime.dayString(20_821) == "2027-01-03")
        #expect(ParisTime.dayNumber(parsing: "2027-01-03") == 20_821)
        #expect(ParisTime.dayNumber(parsing: "1970-01-01") == 0)
        #expect(ParisTime.dayNumber(parsing: "2028-02-29") == 21_243)
        for bad in ["2026-02-29", "2026-02-30", "2026-2-03", "2026-13-01", "20260103", "2026-01-03T00:00:00Z", ""] {
            #expect(ParisTime.dayNumber(parsing: bad) == nil, "\(bad)")
        }
    }
}
