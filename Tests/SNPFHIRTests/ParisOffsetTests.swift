import Foundation
import SNPFHIR
import Testing

/// The offset of each instant, on both sides of the 2026 changes (29 March, 25 October).
@Test func instantsCarryTheParisOffsetOfTheirOwnDay() {
    // 2026-03-29T00:59:59Z is 01:59:59+01:00; one second later Paris is at +02:00.
    #expect(FHIRTime.format(Date(timeIntervalSince1970: 1_774_745_999)) == "2026-03-29T01:59:59.000+01:00")
    #expect(FHIRTime.format(Date(timeIntervalSince1970: 1_774_746_000)) == "2026-03-29T03:00:00.000+02:00")
    // 2026-10-25T00:59:59Z is 02:59:59+02:00; one second later 02:00:00+01:00.
    #expect(FHIRTime.format(Date(timeIntervalSince1970: 1_792_889_999)) == "2026-10-25T02:59:59.000+02:00")
    #expect(FHIRTime.format(Date(timeIntervalSince1970: 1_792_890_000)) == "2026-10-25T02:00:00.000+01:00")
}
