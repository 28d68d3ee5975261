import Foundation
import SNPCore
import Testing

@testable import SNPFHIR

/// The hand-written JSON (`SlotBundleBuilder.bytes`, `FHIRJSONWritable`, SNPCore's
/// `JSONString`) is `JSONEncoder`'s, byte for byte: the answer the daemon sends is the
/// `Codable` Bundle the other tests and `tests/fhir/validate.py` read.
@Suite struct BundleWritingTests {
    /// Text that needs every kind of escape, and some that needs none but is not ASCII.
    static let awkward = [
        "Dr \"Quote\" O'Neil", #"back\slash"#, "tab\there\r\nCRLF", "\u{8}\u{C}\u{0}\u{1F}\u{7F}",
        "é à ç — «guillemets» 🩺", "a/b</script>", "\u{2028}\u{2029}",
    ]

    /// A small deterministic generator (SplitMix64), so that a failure can be replayed.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
        mutating func bool() -> Bool { next() & 1 == 0 }
        mutating func pick<T>(_ values: [T]) -> T { values[int(0...values.count - 1)] }
        mutating func text() -> String {
            bool() ? pick(["Anne", "Le Goff", "1 rue du Port", "Vannes", "", " ", "  x  "]) : pick(BundleWritingTests.awkward)
        }
    }

    /// An output that is not an array, as the daemon's `ByteBuffer` is not
    /// (`SlotBundleBuilder.write`): each `append` gets exactly the room it asks for, filled
    /// with garbage, so that a byte counted but not written shows in the answer.
    struct ForeignOutput: JSONOutput {
        var bytes: [UInt8] = []
        var overran = false

        mutating func append(upTo maximum: Int, _ write: (UnsafeMutableRawBufferPointer) -> Int) {
            var room = [UInt8](repeating: 0xEE, count: maximum)
            let written = room.withUnsafeMutableBytes { write($0) }
            if written > maximum { overran = true }
            bytes += room[..<min(written, maximum)]
        }

        mutating func reserve(_ count: Int) {}
    }

    static func bundleBytes(
        _ query: SlotSearchQuery, _ slots: [SlotInfo], _ pros: [PractitionerInfo], _ config: FHIRConfig
    ) -> (written: [UInt8], encoded: [UInt8]) {
        (
            SlotBundleBuilder.bytes(query: query, slots: slots, practitioners: pros, config: config),
            Array(FHIRJSON.encode(SlotBundleBuilder.build(query: query, slots: slots, practitioners: pros, config: config)))
        )
    }

    @Test func theWrittenBundleIsJSONEncodersBytes() throws {
        var random = Random(state: 15)
        let professions: [Profession] = [.gp, .kine, .nurse, .midwife, .dentist, .pediatrician]
        let coordinates: [GeoPoint] = [
            GeoPoint(lat: 47.6582, lon: -2.7608), GeoPoint(lat: 47, lon: -3), GeoPoint(lat: 0, lon: 0),
            GeoPoint(lat: -0.0, lon: 1e-7), GeoPoint(lat: 48.856_613_000_1, lon: 2.352_221_9),
            GeoPoint(lat: .nan, lon: 2), GeoPoint(lat: 45, lon: .infinity),
        ]
        let starts = [
            "2026-03-29T01:30:00+01:00", "2026-03-29T03:30:00+02:00", "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:30:00+01:00", "2026-11-23T09:00:00+01:00", "2026-11-23T09:00:00Z", "2027-01-01T00:00:00+01:00",
        ]
        var compared = 0
        let cache = IncludedEntryCache()
        for round in 0..<300 {
            let count = random.int(1...6)
            let numbers = (1...count).map { $0 + 10 * (round % 3) }
            let pros: [PractitionerInfo] = numbers.compactMap { n in
                // Some named professionals have no contact: their Slots are left out.
                guard random.int(0...5) > 0 else { return nil }
                return PractitionerInfo(
                    rpps: F.rpps(n), profession: random.pick(professions), given: random.text(), family: random.text(),
                    addressLine: random.text(), city: random.text(), postalCode: random.pick(["56000", ""]),
                    phone: random.pick(["+33297000001", "", " "]), location: random.pick(coordinates),
                    structure: random.pick([nil, "", "1560001234", "3123456789012345", random.text()]))
            }
            let slots: [SlotInfo] = (0..<random.int(0...12)).map { i in
                let n = random.pick(numbers + [99])  // 99: not asked for
                return F.slot(
                    random.pick(["s\(i)", "s\(i + 100)", "x-\(i).\(i)", "q\"\\\u{1}\(i)"]), n, random.pick(starts), minutes: random.int(5...120),
                    mode: random.pick(SlotMode.allCases))
            }
            let base = random.pick(["https://snp.example.org/fhir", "http://127.0.0.1:7442/fhir/", "http://h\"o\\st/fhir"])
            let booking = random.pick([nil, "", "https://rdv.example.org/pro/{rpps}?from=sas", "x{rpps}y{rpps}\"\u{1}é"])
            let cpts = random.bool() ? nil : try FHIRConfig.CPTS(finess: "560012345", name: random.text())
            var items = F.sasQuery(numbers, cpts: random.bool())
            if random.int(0...3) == 0 { items.removeAll { $0.name.hasPrefix("_include") && random.bool() } }
            if random.bool() { items.append(("_count", "\(random.int(0...50))")) }
            if random.bool() { items.append(("unknown", random.text())) }
            let query = try F.parse(items)
            let (written, encoded) = Self.bundleBytes(
                query, slots, pros, FHIRConfig(baseURL: base, bookingURLTemplate: booking, cpts: cpts))
            #expect(written == encoded, "round \(round):\n\(String(decoding: written, as: UTF8.self))\n\(String(decoding: encoded, as: UTF8.self))")
            if written != encoded { break }
            // With the daemon's cache of included entries, shared by every round (the same
            // RPPS come back with other contacts, bases and `_include`s): the entries
            // written when first seen, then read back.
            let config = FHIRConfig(baseURL: base, bookingURLTemplate: booking, cpts: cpts)
            for pass in ["first", "cached"] {
                let cached = SlotBundleBuilder.bytes(query: query, slots: slots, practitioners: pros, config: config, cache: cache)
                #expect(cached == encoded, "round \(round), \(pass):\n\(String(decoding: cached, as: UTF8.self))")
            }
            // Into an output that is not an array, as the daemon's `ByteBuffer` is not.
            var other = ForeignOutput()
            SlotBundleBuilder.write(query: query, slots: slots, practitioners: pros, config: config, cache: cache, into: &other)
            #expect(other.bytes == encoded, "round \(round), into another output:\n\(String(decoding: other.bytes, as: UTF8.self))")
            #expect(!other.overran, "round \(round): wrote more than the room it asked for")
            compared += 1
        }
        #expect(compared == 300)
    }

    @Test func anEmptyBundleIsJSONEncodersBytes() throws {
        for cpts in [nil, try FHIRConfig.CPTS(finess: "560012345", name: "CPTS")] {
            let config = FHIRConfig(baseURL: "https://snp.example.org/fhir", bookingURLTemplate: "https://x/{rpps}", cpts: cpts)
            let query = try F.parse(F.sasQuery([1, 2], cpts: cpts != nil))
            for (slots, pros) in [([], [F.pro(1)]), ([F.slot("s1", 3, "2026-11-23T09:00:00Z")], [F.pro(1)]), ([], [])] {
                let (written, encoded) = Self.bundleBytes(query, slots, pros, config)
                #expect(written == encoded)
                #expect(String(decoding: written, as: UTF8.self).contains(#""total":0,"type":"searchset"}"#))
            }
        }
    }

    /// Every type we write, with every element set, some left out, and awkward text.
    @Test func everyTypeIsWrittenAsJSONEncoderWritesIt() throws {
        let reference = FHIRReference(
            reference: "Practitioner/x", identifier: FHIRIdentifier(type: .init(system: "s", code: "c", display: "d"), system: "u", value: "v"),
            display: Self.awkward[0])
        let concept = FHIRCodeableConcept(
            extension: [FHIRExtension(url: "u", valueReference: reference), FHIRExtension(url: "bare")],
            coding: [FHIRCoding(system: "s", code: "c", display: Self.awkward[2]), FHIRCoding()], text: "t")
        let location = FHIRLocation(
            id: "loc", meta: FHIRMeta(profile: ["p"], security: []),
            address: FHIRAddress(line: Self.awkward, city: "c", postalCode: "56000", country: "FR"),
            position: FHIRPosition(longitude: -2.7608, latitude: 47))
        let resources: [FHIRResource] = [
            .slot(
                FHIRSlot(
                    id: "s1", meta: FHIRMeta(profile: ["a", "b"], security: [FHIRCoding(code: "SNP")]), serviceType: [concept],
                    specialty: [FHIRCodeableConcept(text: "x")], appointmentType: concept, schedule: reference, status: "free",
                    start: "a", end: "b", comment: Self.awkward[3])),
            .slot(
                FHIRSlot(
                    id: nil, meta: nil, serviceType: [], appointmentType: nil, schedule: FHIRReference(), status: "", start: "",
                    end: "", comment: nil)),
            .schedule(FHIRSchedule(id: "x", meta: nil, actor: [reference, FHIRReference()])),
            .practitioner(
                FHIRPractitioner(
                    id: "p", meta: FHIRMeta(), identifier: [reference.identifier!],
                    name: [FHIRHumanName(family: Self.awkward[4], given: Self.awkward), FHIRHumanName()])),
            .practitionerRole(
                FHIRPractitionerRole(
                    id: "r", meta: FHIRMeta(profile: []), contained: [.location(location)], practitioner: reference,
                    organization: FHIRReference(identifier: FHIRIdentifier(value: "1")), specialty: [concept],
                    location: [FHIRReference(reference: "#loc")], telecom: [FHIRContactPoint(system: "phone", value: "+33")])),
            .practitionerRole(
                FHIRPractitionerRole(
                    id: nil, meta: nil, contained: nil, practitioner: nil, organization: nil, specialty: nil, location: nil,
                    telecom: nil)),
            .location(location),
            .location(FHIRLocation(id: nil, meta: nil, address: FHIRAddress(), position: nil)),
            .healthcareService(FHIRHealthcareService(id: "h", meta: FHIRMeta(profile: ["p"]), providedBy: reference, name: "n")),
            .organization(FHIROrganization(id: "o", meta: nil, identifier: [], name: Self.awkward[5])),
            .operationOutcome(FHIRError.badRequest(Self.awkward.joined()).outcome),
            .bundle(
                FHIRBundle(
                    id: "b", meta: FHIRMeta(profile: ["p"]), type: "searchset", total: -3,
                    link: [.init(relation: "self", url: "https://x/Slot?a=%7C")],
                    entry: [
                        .init(fullUrl: "u", resource: .location(location), search: .init(mode: "include")),
                        .init(fullUrl: nil, resource: nil, search: nil),
                    ])),
        ]
        for r in resources {
            #expect(FHIRJSON.bytes(r) == Array(FHIRJSON.encode(r)), "\(String(decoding: FHIRJSON.bytes(r), as: UTF8.self))")
        }
        let positions: [Double] = [
            0, -0.0, 1, -180, 47.6582, -2.7608, 1e-7, 2.5e-5, 0.1 + 0.2, 1.234_567_890_123_456_8e17, 1e21, .leastNonzeroMagnitude,
            .greatestFiniteMagnitude,
        ]
        for x in positions {
            let p = FHIRPosition(longitude: x, latitude: -x)
            #expect(FHIRJSON.bytes(p) == Array(FHIRJSON.encode(p)), "\(x)")
        }
    }

    @Test func theOneEscaperEscapesAsJSONEncoder() {
        var every = ""
        for c in 0..<0x80 { every.unicodeScalars.append(Unicode.Scalar(UInt8(c))) }
        for text in Self.awkward + [every, "", "plain"] {
            let encoded = String(decoding: FHIRJSON.encode([text]), as: UTF8.self)
            var bytes: [UInt8] = []
            JSONString.append(text, to: &bytes)
            #expect("[" + String(decoding: bytes, as: UTF8.self) + "]" == encoded)
            #expect("[" + JSONString.quoted(text) + "]" == encoded)
        }
    }

    /// `trimmedWhitespace()` (the builder's and the query parser's) is Foundation's
    /// `trimmingCharacters(in: .whitespaces)`.
    @Test func trimmingIsFoundations() {
        let spaces = [" ", "\t", "\u{A0}", "\u{2003}", "\u{3000}", "\u{202F}", "\n", "\r", "\u{2028}", "\u{85}", "\u{B}", "x", "é", ""]
        var texts = [String]()
        for a in spaces { for b in spaces { texts += [a + "x y" + b, a + b, a + "é" + b + "🩺" + a] } }
        for text in texts {
            #expect(text.trimmedWhitespace() == text.trimmingCharacters(in: .whitespaces), "\(Array(text.unicodeScalars))")
            #expect(Substring(text).trimmedWhitespace() == text.trimmingCharacters(in: .whitespaces))
        }
    }

    /// `percentDecoded()` (the HTTP layer's, for the query's items) is Foundation's
    /// `removingPercentEncoding`.
    @Test func percentDecodingIsFoundations() {
        let texts = [
            "", "plain", "a+b", "%7C", "%7c", "urn:oid:1.2.250.1.71.4.2.1%7C810000000009", "%", "%7", "%zz", "x%", "%%41",
            "%C3%A9", "%C3", "%E2%82", "%FF", "%00", "%2B%20%2b", "é%41", "%F0%9F%A9%BA", "%ED%A0%80", "100%",
        ]
        for text in texts {
            #expect(text.percentDecoded() == text.removingPercentEncoding, "\(text)")
            #expect(Substring(text).percentDecoded() == text.removingPercentEncoding, "\(text)")
        }
    }

    /// What the hand-written writer saves per answer of the benchmark's size (printed, not
    /// asserted: a test never depends on timing).
    @Test func theBenchmarksAnswerWrittenBothWays() throws {
        let numbers = Array(1...25)
        let pros = numbers.map { F.pro($0) }
        let start = F.date("2026-11-23T08:00:00+01:00")
        let modes = SlotMode.allCases
        let slots = (0..<700).map { i in
            let s = start.addingTimeInterval(Double(i * 240))
            return SlotInfo(id: "s\(1_000 + i)", rpps: F.rpps(numbers[i % 25]), start: s, end: s.addingTimeInterval(1_200), mode: modes[i % 3])
        }
        let config = FHIRConfig(baseURL: "http://127.0.0.1:7442/fhir", bookingURLTemplate: "https://rdv.example.org/{rpps}")
        let query = try F.parse(F.sasQuery(numbers))
        let (written, encoded) = Self.bundleBytes(query, slots, pros, config)
        #expect(written == encoded)
        let clock = ContinuousClock()
        let n = 5
        let byEncoder = clock.measure {
            for _ in 0..<n { _ = FHIRJSON.encode(SlotBundleBuilder.build(query: query, slots: slots, practitioners: pros, config: config)) }
        }
        let byHand = clock.measure {
            for _ in 0..<n { _ = SlotBundleBuilder.bytes(query: query, slots: slots, practitioners: pros, config: config) }
        }
        print("700 Slots, \(written.count) bytes: build + JSONEncoder \(byEncoder / n), written by hand \(byHand / n) per answer")
    }
}
