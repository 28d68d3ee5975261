import Foundation
import SNPCore
import Testing

@testable import SNPFHIR

/// Test data: valid RPPS numbers, professionals, slots, and query strings decoded the two
/// ways an HTTP layer may decode them.
enum F {
    /// The `n`-th valid RPPS: `1000000` + 3 digits of `n` + the Luhn check digit.
    static func rpps(_ n: Int) -> RPPS {
        let prefix = Array("1000000" + String(format: "%03d", n)).map { Int(String($0))! }
        let check = RPPS.luhnCheckDigit(for: prefix)
        return try! RPPS(validating: prefix.map(String.init).joined() + String(check))
    }

    /// The same with a wrong check digit.
    static func badLuhn(_ n: Int) -> String {
        let good = rpps(n).value
        let last = Int(String(good.last!))!
        return String(good.dropLast()) + String((last + 1) % 10)
    }

    static let system = "urn:oid:1.2.250.1.71.4.2.1"

    static func date(_ text: String) -> Date { try! FHIRTime.parse(text) }

    static func pro(_ n: Int, _ profession: Profession = .gp, structure: String? = "1560001234") -> PractitionerInfo {
        PractitionerInfo(
            rpps: rpps(n), profession: profession, given: "Anne", family: "Le Goff \(n)",
            addressLine: "\(n) rue du Port", city: "Vannes", postalCode: "56000", phone: "+33297000\(String(format: "%03d", n))",
            location: GeoPoint(lat: 47.6582, lon: -2.7608), structure: structure)
    }

    static func slot(_ id: String, _ n: Int, _ start: String, minutes: Int = 20, mode: SlotMode = .office) -> SlotInfo {
        let s = date(start)
        return SlotInfo(id: id, rpps: rpps(n), start: s, end: s.addingTimeInterval(Double(minutes * 60)), mode: mode)
    }

    /// Splits a raw query string and percent-decodes names and values as
    /// `URLComponents` does (`+` stays `+`), or as HTML forms do (`+` is a space).
    static func items(_ raw: String, formDecoding: Bool = false) -> [(name: String, value: String)] {
        raw.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                let t = formDecoding ? s.replacingOccurrences(of: "+", with: " ") : String(s)
                return t.removingPercentEncoding ?? t
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    static func ids(_ ns: [Int], prefixed: Bool = true) -> String {
        ns.map { "\(system)|\(prefixed ? "8" : "")\(rpps($0).value)" }.joined(separator: ",")
    }

    /// The SAS platform's search for professionals `ns` (decoded items).
    static func sasQuery(
        _ ns: [Int], ge: String = "2026-11-23T08:00:00.000+01:00", le: String = "2026-11-25T20:00:00.000+01:00",
        cpts: Bool = false
    ) -> [(name: String, value: String)] {
        var q: [(name: String, value: String)] = [
            ("_include", "Slot:schedule"), ("_include:iterate", "Schedule:actor"),
            ("start", "ge" + ge), ("start", "le" + le),
            ("schedule.actor:Practitioner.identifier", ids(ns)), ("status", "free"),
        ]
        if cpts {
            q += [("_include", "Slot:service-type-reference"), ("_include:iterate", "HealthcareService:organization")]
        }
        return q
    }

    static func parse(_ items: [(name: String, value: String)]) throws(FHIRError) -> SlotSearchQuery {
        try SlotSearchQuery.parse(items)
    }

    /// The JSON of `value` as nested dictionaries and arrays.
    static func tree<T: Encodable>(_ value: T) -> [String: Any] {
        try! JSONSerialization.jsonObject(with: FHIRJSON.encode(value)) as! [String: Any]
    }
}

/// `#expect` that `body` throws a `FHIRError` of `status` whose message contains `fragment`.
func expectFHIRError(
    _ status: Int, _ fragment: String = "", sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws(FHIRError) -> Void
) {
    do {
        try body()
        Issue.record("expected a \(status) FHIRError", sourceLocation: sourceLocation)
    } catch {
        #expect(error.status == status, "\(error.message)", sourceLocation: sourceLocation)
        if !fragment.isEmpty {
            #expect(error.message.contains(fragment), "message: \(error.message)", sourceLocation: sourceLocation)
        }
    }
}
