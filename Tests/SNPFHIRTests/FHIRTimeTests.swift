import Foundation
import SNPCore
import Testing

@testable import SNPFHIR

/// §7.2: instants out as `YYYY-MM-DDTHH:MM:SS.000+HH:MM` with the Europe/Paris offset of
/// each instant; in as any RFC 3339 offset, or Paris time without one.
@Suite struct FHIRTimeTests {
    /// The form ANS's kit checks (`ps_validate_dates_test.rb`).
    static var kitPattern: Regex<Substring> { /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/ }

    func utc(_ text: String) -> Date { try! RFC3339.parse(text) }

    @Test(arguments: [
        // Winter, CET.
        ("2026-01-15T09:00:00Z", "2026-01-15T10:00:00.000+01:00"),
        // 29 March 2026: CEST from 01:00 UTC (02:00 local jumps to 03:00).
        ("2026-03-29T00:59:59Z", "2026-03-29T01:59:59.000+01:00"),
        ("2026-03-29T01:00:00Z", "2026-03-29T03:00:00.000+02:00"),
        ("2026-03-29T01:30:00Z", "2026-03-29T03:30:00.000+02:00"),
        // Summer.
        ("2026-07-01T08:00:00Z", "2026-07-01T10:00:00.000+02:00"),
        // 25 October 2026: CET from 01:00 UTC (03:00 local goes back to 02:00).
        ("2026-10-25T00:59:59Z", "2026-10-25T02:59:59.000+02:00"),
        ("2026-10-25T01:00:00Z", "2026-10-25T02:00:00.000+01:00"),
        ("2026-10-25T00:30:00Z", "2026-10-25T02:30:00.000+02:00"),
        ("2026-10-25T01:30:00Z", "2026-10-25T02:30:00.000+01:00"),
        // The day changes with the offset.
        ("2026-12-31T23:30:00Z", "2027-01-01T00:30:00.000+01:00"),
        ("2026-06-30T22:15:00Z", "2026-07-01T00:15:00.000+02:00"),
    ])
    func formatUsesTheParisOffsetOfEachInstant(instant: String, expected: String) {
        let text = FHIRTime.format(utc(instant))
        #expect(text == expected)
        #expect(text.wholeMatch(of: Self.kitPattern) != nil)
    }

    @Test func formatDropsFractionsOfASecond() {
        let d = utc("2026-11-23T08:15:00Z").addingTimeInterval(0.75)
        #expect(FHIRTime.format(d) == "2026-11-23T09:15:00.000+01:00")
    }

    @Test func formatThenParseIsTheSameInstantAroundBothChanges() throws {
        for start in ["2026-03-28T20:00:00Z", "2026-10-24T20:00:00Z"] {
            var t = utc(start)
            for _ in 0..<(12 * 4) {
                let text = FHIRTime.format(t)
                #expect(try FHIRTime.parse(text) == t, "\(text)")
                t = t.addingTimeInterval(15 * 60)
            }
        }
    }

    @Test(arguments: [
        ("2026-11-23T09:15:00+01:00", "2026-11-23T08:15:00Z"),
        ("2026-11-23T09:15:00.000+01:00", "2026-11-23T08:15:00Z"),
        ("2026-11-23T08:15:00Z", "2026-11-23T08:15:00Z"),
        ("2026-11-23T08:15:00z", "2026-11-23T08:15:00Z"),
        ("2026-11-23t08:15:00.000Z", "2026-11-23T08:15:00Z"),
        ("2026-11-23T03:15:00-05:00", "2026-11-23T08:15:00Z"),
        ("2026-11-23T08:15:00+00:00", "2026-11-23T08:15:00Z"),
        ("2026-11-23T13:45:00+05:30", "2026-11-23T08:15:00Z"),
        ("2026-11-23T09:15:00+0100", "2026-11-23T08:15:00Z"),
        // A `+` sent unencoded and read back as a space by form decoding.
        ("2026-11-23T09:15:00 01:00", "2026-11-23T08:15:00Z"),
        ("2026-11-23T09:15:00.000 01:00", "2026-11-23T08:15:00Z"),
        // A summer offset on a summer date.
        ("2026-07-01T10:00:00+02:00", "2026-07-01T08:00:00Z"),
    ])
    func parseAcceptsAnyOffset(text: String, expected: String) throws {
        #expect(try FHIRTime.parse(text) == utc(expected))
    }

    @Test func parseKeepsFractionalSeconds() throws {
        let d = try FHIRTime.parse("2026-11-23T08:15:00.250Z")
        #expect(abs(d.timeIntervalSince1970 - (utc("2026-11-23T08:15:00Z").timeIntervalSince1970 + 0.25)) < 1e-6)
        let nine = try FHIRTime.parse("2026-11-23T08:15:00.123456789Z")
        #expect(nine.epochSeconds == utc("2026-11-23T08:15:00Z").epochSeconds)
    }

    @Test(arguments: [
        // Without offset: Europe/Paris wall-clock time.
        ("2026-01-15T10:00:00", "2026-01-15T09:00:00Z"),
        ("2026-07-01T10:00:00", "2026-07-01T08:00:00Z"),
        ("2026-07-01T10:00:00.000", "2026-07-01T08:00:00Z"),
        ("2026-03-29T01:59:59", "2026-03-29T00:59:59Z"),
        ("2026-03-29T03:00:00", "2026-03-29T01:00:00Z"),
        // The spring gap (02:00–02:59 do not exist): read with the offset before it, +01:00.
        ("2026-03-29T02:00:00", "2026-03-29T01:00:00Z"),
        ("2026-03-29T02:30:00", "2026-03-29T01:30:00Z"),
        // The autumn overlap (02:00–02:59 twice): the first occurrence, +02:00.
        ("2026-10-25T02:00:00", "2026-10-25T00:00:00Z"),
        ("2026-10-25T02:30:00", "2026-10-25T00:30:00Z"),
        ("2026-10-25T01:59:59", "2026-10-24T23:59:59Z"),
        ("2026-10-25T03:00:00", "2026-10-25T02:00:00Z"),
    ])
    func parseWithoutOffsetIsParisTime(text: String, expected: String) throws {
        #expect(try FHIRTime.parse(text) == utc(expected))
    }

    @Test func aDateAloneIsTheWholeParisDay() throws {
        #expect(try FHIRTime.parse("2026-11-23") == utc("2026-11-22T23:00:00Z"))
        #expect(try FHIRTime.parse("2026-11-23", endOfDay: true) == utc("2026-11-23T22:59:59Z"))
        // The day of the spring change has 23 hours.
        #expect(try FHIRTime.parse("2026-03-29") == utc("2026-03-28T23:00:00Z"))
        #expect(try FHIRTime.parse("2026-03-29", endOfDay: true) == utc("2026-03-29T21:59:59Z"))
    }

    @Test(arguments: [
        "", "yesterday", "2026", "2026-11", "2026-11-23T", "2026-11-23T09:15", "2026-11-23 09:15:00",
        "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-23T24:00:00Z",
        "2026-11-23T09:60:00Z", "2026-11-23T09:15:00.Z", "2026-11-23T09:15:00+01", "2026-11-23T09:15:00+1:00",
        "2026-11-23T09:15:00+25:00", "2026-11-23T09:15:00Zjunk", "2026-11-23T09:15:00+01:00:00",
        "0000-01-01T00:00:00Z", "２０２６-11-23T09:15:00Z", "2026-11-23T09:15:00.1234567890Z",
        "-2026-11-23T09:15:00Z",
    ])
    func malformedInstantsAreRefused(text: String) {
        expectFHIRError(400, "invalid instant") { () throws(FHIRError) in _ = try FHIRTime.parse(text) }
    }
}
