import Foundation
import SNPCore

/// The SAS platform's slot search (INT_R01 / INT_R04, SPEC §7.2):
///
/// `GET /fhir/Slot?start=ge<instant>&start=le<instant>&schedule.actor:Practitioner.identifier=<system>|<value>[,…]&status=free&_include=Slot:schedule&_include:iterate=Schedule:actor[&_count=<n>]`
///
/// and, for the CPTS form, `_include=Slot:service-type-reference&_include:iterate=HealthcareService:organization`.
public struct SlotSearchQuery: Sendable, Equatable {
    /// The RPPS identifier system (IDNPS), the only one accepted.
    public static let rppsSystem = "urn:oid:1.2.250.1.71.4.2.1"
    /// The IG's cardinality of `schedule.actor:Practitioner.identifier`: 1..25.
    public static let maxIdentifiers = 25
    /// The widest `[ge, le]` window: 31 days. The SAS asks for at most 3 days (ANS's kit:
    /// `setup_helper.rb`); slots are published at most 7 days ahead by default (§3.7); a
    /// bound keeps a wrong or hostile request from walking a year of slots.
    public static let maxWindowSeconds: Int64 = 31 * 86_400
    public static let identifierParameter = "schedule.actor:Practitioner.identifier"

    /// What the `_include` and `_include:iterate` parameters ask for.
    public struct Includes: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// `_include=Slot:schedule`.
        public static let schedule = Includes(rawValue: 1)
        /// `_include:iterate=Schedule:actor`: the Practitioner and the PractitionerRole.
        public static let actor = Includes(rawValue: 2)
        /// `_include=Slot:service-type-reference` (CPTS): the HealthcareService.
        public static let serviceTypeReference = Includes(rawValue: 4)
        /// `_include:iterate=HealthcareService:organization` (CPTS): the Organization.
        public static let organization = Includes(rawValue: 8)
        public static let all: Includes = [.schedule, .actor, .serviceTypeReference, .organization]
    }

    /// `start=ge…`: slots starting at or after it.
    public var from: Date
    /// `start=le…`: slots starting at or before it.
    public var to: Date
    /// The professionals asked for, each once, in the order of the request.
    public var practitioners: [RPPS]
    public var includes: Includes
    /// `_count`, parsed and kept, but every answer holds all matches (§7.2: the SAS reads
    /// no `next` link).
    public var count: Int?
    /// The request's query items as received (after the caller's percent-decoding), in
    /// order, unknown ones included: the Bundle's `self` link repeats them.
    public var items: [QueryItem]

    public struct QueryItem: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(
        from: Date, to: Date, practitioners: [RPPS], includes: Includes = .all, count: Int? = nil,
        items: [QueryItem] = []
    ) {
        self.from = from
        self.to = to
        self.practitioners = practitioners
        self.includes = includes
        self.count = count
        self.items = items
    }

    /// The query of the `self` link: the items as received, each name and value
    /// percent-encoded again (RFC 3986: only unreserved characters and `:` `,` `/` `@` are
    /// left as they are, so `|` is `%7C`, `+` is `%2B`, a space `%20`), so that a reader
    /// decoding it gets back exactly the parameters of the request (ANS's kit compares the
    /// decoded parameters of the two: `ps_bundle_url_equal_url_test.rb`).
    public var selfQuery: String {
        items.map { percentEncode($0.name) + "=" + percentEncode($0.value) }.joined(separator: "&")
    }

    /// Parses the query items of a search (already percent-decoded once by the caller).
    ///
    /// Rules (SPEC §7.2; docs/FHIR.md "The query"):
    /// - `start` exactly twice, once `ge<instant>` and once `le<instant>` (`FHIRTime.parse`);
    ///   `ge` later than `le`, or a window wider than `maxWindowSeconds`: `400`.
    /// - `schedule.actor:Practitioner.identifier`: a comma-separated list of
    ///   `urn:oid:1.2.250.1.71.4.2.1|<value>` (or `<value>` alone), value `8` + RPPS or the
    ///   bare RPPS (11 digits, Luhn); spaces around a comma ignored; `|`, `:` and `+` may come
    ///   still encoded (`%7C`, `%3A`, `%2B`: one more decoding is applied to names and values
    ///   that contain `%`); the parameter may be repeated (its lists are joined); 1 to 25
    ///   identifiers in all, duplicates counted.
    /// - `status`: when present, must include `free` (the only status we serve).
    /// - `_include`/`_include:iterate`: the four of `Includes`, each accepted under either
    ///   name; other values ignored. With neither parameter, only the Slots are returned.
    /// - `_count`: a non-negative integer.
    /// - Everything else is ignored, as FHIR servers do.
    public static func parse(_ items: [(name: String, value: String)]) throws(FHIRError) -> SlotSearchQuery {
        var from: Date?
        var to: Date?
        var identifierValues: [String] = []
        var sawIdentifierParameter = false
        var includes: Includes = []
        var count: Int?
        var kept: [QueryItem] = []
        kept.reserveCapacity(items.count)

        for item in items {
            kept.append(QueryItem(name: item.name, value: item.value))
            let name = decodeOnceMore(item.name)
            let value = decodeOnceMore(item.value)
            switch name {
            case "start":
                let v = value.trimmedWhitespace()
                let prefix = v.prefix(2).lowercased()
                let instant = String(v.dropFirst(2))
                switch prefix {
                case "ge":
                    guard from == nil else { throw .badRequest("start=ge… is given twice: give it once") }
                    from = try FHIRTime.parse(instant)
                case "le":
                    guard to == nil else { throw .badRequest("start=le… is given twice: give it once") }
                    to = try FHIRTime.parse(instant, endOfDay: true)
                default:
                    throw .badRequest(
                        "start=\(v.prefix(60)) has no ge or le prefix: the search takes start=ge<instant>&start=le<instant>"
                    )
                }
            case identifierParameter:
                sawIdentifierParameter = true
                // Split on the byte of the comma (ASCII), not by `Character`: see `parseIdentifier`.
                identifierValues.append(
                    contentsOf: value.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).map {
                        Substring($0).trimmedWhitespace()
                    })
            case "status":
                let statuses = value.split(separator: ",").map { $0.trimmedWhitespace().lowercased() }
                guard statuses.contains("free") else {
                    throw .badRequest(
                        "status=\(value.prefix(40)) is not served: this server offers free slots only (status=free)")
                }
            case "_include", "_include:iterate", "_include:recurse":
                for v in value.split(separator: ",") {
                    switch v.trimmedWhitespace() {
                    case "Slot:schedule", "Slot:schedule:Schedule": includes.insert(.schedule)
                    case "Schedule:actor", "Schedule:actor:Practitioner", "Schedule:actor:PractitionerRole":
                        includes.insert(.actor)
                    case "Slot:service-type-reference", "Slot:service-type-reference:HealthcareService":
                        includes.insert(.serviceTypeReference)
                    case "HealthcareService:organization", "HealthcareService:organization:Organization":
                        includes.insert(.organization)
                    default: break
                    }
                }
            case "_count":
                let v = value.trimmedWhitespace()
                guard !v.isEmpty, v.count <= 9, v.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = Int(v) else {
                    throw .badRequest("_count=\(value.prefix(40)) is not a non-negative integer")
                }
                count = n
            default:
                continue  // unknown parameters are ignored, as FHIR servers do
            }
        }

        guard let from else {
            throw .badRequest(
                to == nil
                    ? "start is missing: the search takes start=ge<instant>&start=le<instant>"
                    : "start=ge<instant> is missing: the search takes start=ge<instant>&start=le<instant>")
        }
        guard let to else { throw .badRequest("start=le<instant> is missing: the search takes start=ge<instant>&start=le<instant>") }
        guard from <= to else {
            throw .badRequest(
                "start=ge\(FHIRTime.format(from)) is after start=le\(FHIRTime.format(to)): the window is empty")
        }
        guard to.timeIntervalSince(from) <= Double(maxWindowSeconds) else {
            throw .badRequest(
                "the window from \(FHIRTime.format(from)) to \(FHIRTime.format(to)) is longer than \(maxWindowSeconds / 86_400) days"
            )
        }
        guard sawIdentifierParameter else {
            throw .badRequest(
                "\(identifierParameter) is missing: name 1 to \(maxIdentifiers) professionals as \(rppsSystem)|8<RPPS>, separated by commas"
            )
        }
        guard identifierValues.count <= maxIdentifiers else {
            throw .badRequest(
                "\(identifierValues.count) identifiers in \(identifierParameter): at most \(maxIdentifiers) per search")
        }
        var seen = Set<RPPS>()
        var practitioners: [RPPS] = []
        for token in identifierValues {
            let rpps = try parseIdentifier(token)
            if seen.insert(rpps).inserted { practitioners.append(rpps) }
        }
        guard !practitioners.isEmpty else {
            throw .badRequest("\(identifierParameter) is empty: name 1 to \(maxIdentifiers) professionals")
        }
        return SlotSearchQuery(
            from: from, to: to, practitioners: practitioners, includes: includes, count: count, items: kept)
    }

    /// One token of the identifier list: `system|value` or `value`.
    ///
    /// Read through its UTF-8 bytes (`|` and the digits are ASCII): walking a search's 25
    /// identifiers by `Character` was 2 % of a search (docs/PERFORMANCE.md).
    static func parseIdentifier(_ token: String) throws(FHIRError) -> RPPS {
        guard !token.isEmpty else {
            throw .badRequest("an empty identifier in \(identifierParameter) (two commas in a row, or a comma at the end)")
        }
        let value: Substring
        if let bar = token.utf8.lastIndex(of: UInt8(ascii: "|")) {
            let system = token[..<bar]
            guard system == rppsSystem else {
                throw .badRequest(
                    system.isEmpty
                        ? "identifier \(token.prefix(60)) has no system: use \(rppsSystem)|8<RPPS>"
                        : "identifier system \(system.prefix(60)) is not handled: professionals are searched by RPPS, \(rppsSystem)|8<RPPS>"
                )
            }
            value = token[token.utf8.index(after: bar)...]
        } else {
            value = Substring(token)
        }
        let digits = value.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
        // Only all-digit values are read further, whose bytes are their characters.
        let bare: Substring
        switch (value.utf8.count, value.utf8.first) {
        case (12, UInt8(ascii: "8")) where digits: bare = value.dropFirst()
        case (11, _) where digits: bare = value
        case (10, UInt8(ascii: "0")) where digits:
            throw .badRequest("identifier \(value) is an ADELI number: snpd knows professionals by RPPS (8 + 11 digits)")
        default:
            throw .badRequest(
                "identifier value \"\(value.prefix(40))\" is not an RPPS: expected 8 followed by the 11 digits (e.g. 810101288385), or the 11 digits"
            )
        }
        do {
            return try RPPS(validating: String(bare))
        } catch {
            throw .badRequest("identifier \(value): \(error.message)")
        }
    }

    /// Values that still hold `%XX` (a client that encoded twice) are decoded once more;
    /// a `%` not followed by two hex digits is left as it is.
    static func decodeOnceMore(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        var out: [UInt8] = []
        let b = Array(text.utf8)
        var i = 0
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 65...70: c - 55
            case 97...102: c - 87
            default: nil
            }
        }
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count, let h = hex(b[i + 1]), let l = hex(b[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters and `:` `,` `/` `@`.
func percentEncode(_ text: String) -> String {
    var out: [UInt8] = []
    let hexDigits = Array("0123456789ABCDEF".utf8)
    for c in text.utf8 {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"), UInt8(ascii: ":"), UInt8(ascii: ","), UInt8(ascii: "/"), UInt8(ascii: "@"):
            out.append(c)
        default:
            out.append(UInt8(ascii: "%"))
            out.append(hexDigits[Int(c >> 4)])
            out.append(hexDigits[Int(c & 15)])
        }
    }
    return String(decoding: out, as: UTF8.self)
}
