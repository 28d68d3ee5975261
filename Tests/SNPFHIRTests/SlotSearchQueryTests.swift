import Foundation
import SNPCore
import Testing

@testable import SNPFHIR

/// §7.2: the query of the SAS platform's slot search, every rule.
@Suite struct SlotSearchQueryTests {
    let idParam = "schedule.actor:Practitioner.identifier"

    @Test func theSASFormParses() throws {
        let q = try F.parse(F.sasQuery([1, 2]))
        #expect(q.from == F.date("2026-11-23T07:00:00Z"))
        #expect(q.to == F.date("2026-11-25T19:00:00Z"))
        #expect(q.practitioners == [F.rpps(1), F.rpps(2)])
        #expect(q.includes == [.schedule, .actor])
        #expect(q.count == nil)
    }

    @Test func theCPTSIncludesParse() throws {
        #expect(try F.parse(F.sasQuery([1], cpts: true)).includes == .all)
    }

    @Test func withoutIncludesOnlySlotsAreAsked() throws {
        let q = try F.parse(F.sasQuery([1]).filter { !$0.name.hasPrefix("_include") })
        #expect(q.includes.isEmpty)
    }

    /// The IG's own example: no offset, a space after a comma, `|` and `:` as they are.
    @Test func theIGExampleFormParses() throws {
        let (a, b, c) = (F.rpps(7).value, F.rpps(8).value, F.rpps(9).value)
        let raw =
            "_include=Slot:schedule&_include:iterate=Schedule:actor&start=ge2021-01-02T10:00:00&start=le2021-01-06T10:00:00&schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1|8\(a), urn:oid:1.2.250.1.71.4.2.1|8\(b),urn:oid:1.2.250.1.71.4.2.1|8\(c)&status=free"
        for form in [false, true] {
            let q = try F.parse(F.items(raw, formDecoding: form))
            #expect(q.practitioners.map(\.value) == [a, b, c])
            #expect(q.from == F.date("2021-01-02T09:00:00Z"))
            #expect(q.to == F.date("2021-01-06T09:00:00Z"))
        }
    }

    /// ANS's kit (`setup_helper.rb`): `+00:00` offsets and `|`, sent percent-encoded by its HTTP client.
    @Test func theKitFormParsesEncodedOrNot() throws {
        let id = F.rpps(3).value
        let encoded =
            "_include=Slot%3Aschedule&_include%3Aiterate=Schedule%3Aactor&schedule.actor%3APractitioner.identifier=urn%3Aoid%3A1.2.250.1.71.4.2.1%7C8\(id)&start=ge2026-11-23T10%3A00%3A00.000%2B00%3A00&start=le2026-11-25T23%3A59%3A59.000%2B00%3A00&status=free"
        let plain =
            "_include=Slot:schedule&_include:iterate=Schedule:actor&schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1|8\(id)&start=ge2026-11-23T10:00:00.000+00:00&start=le2026-11-25T23:59:59.000+00:00&status=free"
        // Encoded twice: the values still hold %7C, %3A, %2B after the caller's decoding.
        let twice = encoded.replacingOccurrences(of: "%", with: "%25")
        for (raw, form) in [(encoded, false), (encoded, true), (plain, false), (plain, true), (twice, false), (twice, true)] {
            let q = try F.parse(F.items(raw, formDecoding: form))
            #expect(q.practitioners == [F.rpps(3)], "\(raw) form=\(form)")
            #expect(q.from == F.date("2026-11-23T10:00:00Z"), "\(raw) form=\(form)")
            #expect(q.to == F.date("2026-11-25T23:59:59Z"), "\(raw) form=\(form)")
            #expect(q.includes == [.schedule, .actor])
        }
    }

    @Test func bareAndPrefixedRPPSAreTheSameProfessional() throws {
        let (a, b) = (F.rpps(1).value, F.rpps(2).value)
        for list in [
            "\(F.system)|8\(a),\(F.system)|8\(b)", "\(F.system)|\(a),\(F.system)|\(b)", "\(F.system)|8\(a),\(F.system)|\(b)",
            "8\(a),\(b)", "\(F.system)|8\(a) ,  \(F.system)|8\(b) ",
        ] {
            var items = F.sasQuery([])
            items.removeAll { $0.name == idParam }
            items.append((idParam, list))
            #expect(try F.parse(items).practitioners == [F.rpps(1), F.rpps(2)], "\(list)")
        }
    }

    @Test func duplicatesCountOnceAndRepeatedParametersJoin() throws {
        var items = F.sasQuery([1, 1, 2])
        items.append((idParam, F.ids([3, 2], prefixed: false)))
        #expect(try F.parse(items).practitioners == [F.rpps(1), F.rpps(2), F.rpps(3)])
    }

    @Test func oneAndTwentyFiveIdentifiersAreAccepted() throws {
        #expect(try F.parse(F.sasQuery([1])).practitioners.count == 1)
        #expect(try F.parse(F.sasQuery(Array(1...25))).practitioners == (1...25).map(F.rpps))
    }

    @Test func twentySixIdentifiersAreRefused() {
        expectFHIRError(400, "at most 25") { () throws(FHIRError) in _ = try F.parse(F.sasQuery(Array(1...26))) }
        var split = F.sasQuery(Array(1...13))
        split.append((idParam, F.ids(Array(14...26))))
        expectFHIRError(400, "at most 25") { () throws(FHIRError) in _ = try F.parse(split) }
    }

    @Test func aWrongCheckDigitIsRefused() {
        var items = F.sasQuery([])
        items.removeAll { $0.name == idParam }
        items.append((idParam, "\(F.system)|8\(F.badLuhn(4))"))
        expectFHIRError(400, "Luhn") { () throws(FHIRError) in _ = try F.parse(items) }
        items[items.count - 1].value = "\(F.system)|\(F.badLuhn(4))"
        expectFHIRError(400, "Luhn") { () throws(FHIRError) in _ = try F.parse(items) }
    }

    @Test(arguments: [
        ("urn:oid:1.2.250.1.71.4.2.2|8{r}", "not handled"),  // the IDNST system
        ("http://example.org|8{r}", "not handled"),
        ("|8{r}", "no system"),
        ("urn:oid:1.2.250.1.71.4.2.1|9{r}", "not an RPPS"),  // wrong prefix
        ("urn:oid:1.2.250.1.71.4.2.1|{r}0", "not an RPPS"),  // 12 digits not starting with 8
        ("urn:oid:1.2.250.1.71.4.2.1|88{r}", "not an RPPS"),
        ("urn:oid:1.2.250.1.71.4.2.1|0123456789", "ADELI"),
        ("urn:oid:1.2.250.1.71.4.2.1|", "not an RPPS"),
        ("urn:oid:1.2.250.1.71.4.2.1|8{r},", "empty identifier"),
        ("urn:oid:1.2.250.1.71.4.2.1|8{r},,urn:oid:1.2.250.1.71.4.2.1|8{r}", "empty identifier"),
        ("", "empty identifier"),
        ("urn:oid:1.2.250.1.71.4.2.1|8 {r}", "not an RPPS"),
        ("urn:oid:1.2.250.1.71.4.2.1|８{r}", "not an RPPS"),
    ])
    func malformedIdentifiersAreRefused(list: String, fragment: String) {
        var items = F.sasQuery([])
        items.removeAll { $0.name == idParam }
        items.append((idParam, list.replacingOccurrences(of: "{r}", with: F.rpps(5).value)))
        expectFHIRError(400, fragment) { () throws(FHIRError) in _ = try F.parse(items) }
    }

    @Test func aMissingIdentifierIsRefused() {
        let items = F.sasQuery([1]).filter { $0.name != idParam }
        expectFHIRError(400, "\(idParam) is missing") { () throws(FHIRError) in _ = try F.parse(items) }
    }

    @Test func missingStartsAreRefused() {
        let noStart = F.sasQuery([1]).filter { $0.name != "start" }
        expectFHIRError(400, "start is missing") { () throws(FHIRError) in _ = try F.parse(noStart) }
        let noGE = F.sasQuery([1]).filter { !$0.value.hasPrefix("ge") }
        expectFHIRError(400, "start=ge<instant> is missing") { () throws(FHIRError) in _ = try F.parse(noGE) }
        let noLE = F.sasQuery([1]).filter { !$0.value.hasPrefix("le") }
        expectFHIRError(400, "start=le<instant> is missing") { () throws(FHIRError) in _ = try F.parse(noLE) }
    }

    @Test func geAfterLeIsRefused() throws {
        let after = F.sasQuery([1], ge: "2026-11-25T10:00:00+01:00", le: "2026-11-24T10:00:00+01:00")
        expectFHIRError(400, "is after") { () throws(FHIRError) in _ = try F.parse(after) }
        // One second apart in the wrong order, written in different offsets.
        let close = F.sasQuery([1], ge: "2026-11-24T09:00:01Z", le: "2026-11-24T10:00:00+01:00")
        expectFHIRError(400, "is after") { () throws(FHIRError) in _ = try F.parse(close) }
        // An instant window is allowed.
        let same = F.sasQuery([1], ge: "2026-11-24T09:00:00Z", le: "2026-11-24T10:00:00+01:00")
        #expect(try F.parse(same).from == F.parse(same).to)
    }

    @Test func theWindowIsBoundedTo31Days() throws {
        #expect(SlotSearchQuery.maxWindowSeconds == 31 * 86_400)
        let ok = F.sasQuery([1], ge: "2026-11-01T00:00:00Z", le: "2026-12-02T00:00:00Z")
        #expect(try F.parse(ok).practitioners.count == 1)
        let wide = F.sasQuery([1], ge: "2026-11-01T00:00:00Z", le: "2026-12-02T00:00:01Z")
        expectFHIRError(400, "longer than 31 days") { () throws(FHIRError) in _ = try F.parse(wide) }
        let year = F.sasQuery([1], ge: "2026-01-01T00:00:00Z", le: "2027-01-01T00:00:00Z")
        expectFHIRError(400, "longer than 31 days") { () throws(FHIRError) in _ = try F.parse(year) }
    }

    @Test(arguments: ["ge", "le"])
    func malformedDatesAreRefused(prefix: String) {
        for bad in ["2026-11-31T10:00:00Z", "tomorrow", "2026-11-23T10:00", "", "2026-11-23T10:00:00+01:00x"] {
            var items = F.sasQuery([1])
            let i = items.firstIndex { $0.name == "start" && $0.value.hasPrefix(prefix) }!
            items[i].value = prefix + bad
            expectFHIRError(400) { () throws(FHIRError) in _ = try F.parse(items) }
        }
    }

    @Test func startWithoutPrefixOrTwiceIsRefused() {
        var items = F.sasQuery([1])
        items[2].value = "2026-11-23T08:00:00Z"
        expectFHIRError(400, "no ge or le prefix") { () throws(FHIRError) in _ = try F.parse(items) }
        items[2].value = "gt2026-11-23T08:00:00Z"
        expectFHIRError(400, "no ge or le prefix") { () throws(FHIRError) in _ = try F.parse(items) }
        var twice = F.sasQuery([1])
        twice.append(("start", "ge2026-11-23T09:00:00Z"))
        expectFHIRError(400, "twice") { () throws(FHIRError) in _ = try F.parse(twice) }
    }

    @Test func statusMustIncludeFree() throws {
        var items = F.sasQuery([1])
        let i = items.firstIndex { $0.name == "status" }!
        items[i].value = "busy"
        expectFHIRError(400, "free slots only") { () throws(FHIRError) in _ = try F.parse(items) }
        items[i].value = "busy,free"
        #expect(try F.parse(items).practitioners.count == 1)
        items.remove(at: i)
        #expect(try F.parse(items).practitioners.count == 1)
    }

    @Test func countIsParsedAndChecked() throws {
        var items = F.sasQuery([1])
        items.append(("_count", "10"))
        #expect(try F.parse(items).count == 10)
        for bad in ["-1", "ten", "", "1e3", "99999999999"] {
            items[items.count - 1].value = bad
            expectFHIRError(400, "_count") { () throws(FHIRError) in _ = try F.parse(items) }
        }
    }

    @Test func unknownParametersAreIgnoredAndRepeatedInTheSelfLink() throws {
        var items = F.sasQuery([1])
        items.insert(("_format", "json"), at: 0)
        items.append(("origin", "sas"))
        items.append(("", "x"))
        items.append(("_sort", "start"))
        let q = try F.parse(items)
        #expect(q.practitioners == [F.rpps(1)])
        #expect(q.items.map(\.name) == items.map(\.name))
    }

    /// The `self` link's query decodes back to exactly the request's parameters (what ANS's
    /// kit compares), `|` `+` and spaces encoded.
    @Test func theSelfQueryRepeatsTheRequest() throws {
        let items = F.sasQuery([1, 2], ge: "2026-11-23T08:00:00.000+01:00")
        let q = try F.parse(items)
        let back = F.items(q.selfQuery, formDecoding: true)
        #expect(back.map(\.name) == items.map(\.name))
        #expect(back.map(\.value) == items.map(\.value))
        #expect(!q.selfQuery.contains("|"))
        #expect(!q.selfQuery.contains("+"))
        #expect(q.selfQuery.contains("start=ge2026-11-23T08:00:00.000%2B01:00"))
        #expect(q.selfQuery.contains("%7C8\(F.rpps(1).value),urn:oid:"))
    }

    /// Garbage never crashes: each input is parsed or refused with a 400.
    @Test func garbageIsRefusedCleanly() {
        let nasty = [
            "", "=", "&&&", "start", "start=", "start=ge", "start=le", "%", "%%", "%zz", "%7", "\u{0}", "🩺",
            String(repeating: "a", count: 10_000), "start=ge" + String(repeating: "9", count: 5_000),
            "schedule.actor:Practitioner.identifier=" + String(repeating: ",", count: 1_000),
            "schedule.actor:Practitioner.identifier=" + String(repeating: "|", count: 1_000),
        ]
        var generator = SystemRandomNumberGenerator()
        var samples: [[(name: String, value: String)]] = nasty.map { F.items($0) }
        for _ in 0..<300 {
            var items = F.sasQuery([1, 2])
            let i = Int.random(in: 0..<items.count, using: &generator)
            items[i].value = nasty.randomElement(using: &generator)!
            if Bool.random(using: &generator) { items.remove(at: Int.random(in: 0..<items.count, using: &generator)) }
            samples.append(items)
        }
        for items in samples {
            do {
                _ = try SlotSearchQuery.parse(items)
            } catch {
                #expect(error.status == 400)
                #expect(!error.message.isEmpty)
                #expect(error.message.count < 400, "messages quote at most a bounded prefix of the input")
            }
        }
    }
}
