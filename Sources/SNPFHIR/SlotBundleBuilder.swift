import Foundation
import SNPCore
import Synchronization

/// The canonical URLs and code systems of the SAS implementation guide
/// (`ansforge/IG-fhir-service-acces-aux-soins`, release 1.2.0; docs/FHIR.md says where each
/// comes from). The guide mixes two canonical bases, `http://sas.fr/fhir/…` for the
/// individual practitioners' profiles (their `^url` in the FSH) and
/// `https://interop.esante.gouv.fr/ig/fhir/sas/…` for the CPTS ones (no `^url`, so the IG's
/// canonical + `StructureDefinition/<id>`); we write each as the guide and ANS's test kit do.
public enum SASProfile {
    public static let slot = "http://sas.fr/fhir/StructureDefinition/FrSlotAgregateur"
    public static let schedule = "http://sas.fr/fhir/StructureDefinition/FrScheduleAgregateur"
    public static let practitioner = "http://sas.fr/fhir/StructureDefinition/FrPractitionerAgregateur"
    public static let practitionerRole = "http://sas.fr/fhir/StructureDefinition/FrPractitionerRoleExerciceAgregateur"
    public static let location = "http://sas.fr/fhir/StructureDefinition/FrLocationAgregateur"
    public static let bundle = "http://sas.fr/fhir/StructureDefinition/BundleAgregateur"

    public static let igCanonical = "https://interop.esante.gouv.fr/ig/fhir/sas"
    public static let cptsSlot = "https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/sas-cpts-slot-aggregator"
    public static let cptsBundle = "https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/sas-cpts-bundle-aggregator"
    public static let cptsHealthcareService =
        "https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/sas-cpts-healthcareservice-aggregator"
    public static let cptsOrganization =
        "https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/sas-cpts-organization-aggregator"
}

public enum SASCode {
    /// TRE_R314-TypeCreneau: `SNP` (regulators and SNP operators), `CPTS`.
    public static let typeCreneau = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
    public static let actCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    public static let appointmentReason = "http://terminology.hl7.org/CodeSystem/v2-0276"
    /// The identifier types of FrPractitionerAgregateur and FrPractitionerRoleExerciceAgregateur.
    public static let identifierType = "http://interopsante.org/fhir/CodeSystem/fr-v2-0203"
    /// The identifier type of FrOrganizationAgregateurCPTS (its FSH alias `$fr-v2-0203`).
    public static let frCoreIdentifierType = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
    /// IDNPS: the RPPS (prefixed `8`).
    public static let idnpsSystem = "urn:oid:1.2.250.1.71.4.2.1"
    /// IDNST: structures (`1`+FINESS, `3`+SIRET, `4`+RPPS-rang).
    public static let idnstSystem = "urn:oid:1.2.250.1.71.4.2.2"
    /// TRE_R66-CategorieEtablissement, code 604 (CPTS), as the IG's ValueSet and ANS's kit write it.
    public static let categorieEtablissement =
        "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/TRE-R66-CategorieEtablissement"
    public static let serviceTypeR5Extension = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Slot.serviceType"
}

/// A professional as the FHIR answer shows them (from `PRO GET`, §3.6).
public struct PractitionerInfo: Sendable, Equatable {
    public var rpps: RPPS
    public var profession: Profession
    public var given: String
    public var family: String
    public var addressLine: String
    public var city: String
    /// 5 digits.
    public var postalCode: String
    /// `+33` and 9 digits.
    public var phone: String
    public var location: GeoPoint
    /// The prefixed IDNST of the practice (`1`+FINESS, `3`+SIRET, `4`+RPPS-rang), if known.
    public var structure: String?

    public init(
        rpps: RPPS, profession: Profession, given: String, family: String, addressLine: String, city: String,
        postalCode: String, phone: String, location: GeoPoint, structure: String? = nil
    ) {
        self.rpps = rpps
        self.profession = profession
        self.given = given
        self.family = family
        self.addressLine = addressLine
        self.city = city
        self.postalCode = postalCode
        self.phone = phone
        self.location = location
        self.structure = structure
    }
}

/// A slot that matched the search (the caller has applied §7.2's rules: a place left, not
/// withdrawn, after now + lead, inside the window, regular).
public struct SlotInfo: Sendable, Equatable {
    /// snpd's slot id (`s30`): the FHIR id of the Slot. Letters, digits, `-` and `.`, 1 to 64.
    public var id: String
    public var rpps: RPPS
    public var start: Date
    public var end: Date
    public var mode: SlotMode

    public init(id: String, rpps: RPPS, start: Date, end: Date, mode: SlotMode) {
        self.id = id
        self.rpps = rpps
        self.start = start
        self.end = end
        self.mode = mode
    }
}

/// What the answer needs from the daemon's configuration.
public struct FHIRConfig: Sendable, Equatable {
    /// The CPTS on whose behalf slots are offered (INT_R04), from `SNPD_CPTS_FINESS` and
    /// `SNPD_CPTS_NAME`.
    public struct CPTS: Sendable, Equatable {
        /// The 9-digit FINESS, without the `1` prefix.
        public var finess: String
        public var name: String

        /// `finess`: the 9 digits, or already prefixed (`1` + 9 digits).
        public init(finess: String, name: String) throws(FHIRError) {
            let digits = finess.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
            if finess.count == 9, digits {
                self.finess = finess
            } else if finess.count == 10, finess.hasPrefix("1"), digits {
                self.finess = String(finess.dropFirst())
            } else {
                throw .badRequest("SNPD_CPTS_FINESS \"\(finess.prefix(40))\" is not a FINESS number (9 digits)")
            }
            self.name = name
        }

        /// `1` + FINESS: the IDNST of the CPTS.
        public var idnst: String { "1" + finess }
    }

    /// The FHIR base of `fullUrl`s and of the `self` link, e.g. `https://snp.example.org/fhir`
    /// (`SNPD_PUBLIC_URL` + `/fhir`, or built from the request's scheme and `Host`). A
    /// trailing `/` is dropped.
    public var baseURL: String
    /// `SNPD_BOOKING_URL`: `{rpps}` is replaced by the 11-digit RPPS; the Slot's `comment`.
    public var bookingURLTemplate: String?
    public var cpts: CPTS?

    public init(baseURL: String, bookingURLTemplate: String? = nil, cpts: CPTS? = nil) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.bookingURLTemplate = bookingURLTemplate.flatMap { $0.isEmpty ? nil : $0 }
        self.cpts = cpts
    }
}

/// Builds the searchset Bundle of SPEC §7.2 (docs/FHIR.md maps every element).
///
/// Ids are stable and derived from our keys, so that the same state gives the same Bundle:
/// Slot `<snpd slot id>`, Schedule `sched-<rpps>`, Practitioner `pract-<rpps>`,
/// PractitionerRole `role-<rpps>`, its contained Location `loc`, HealthcareService
/// `cpts-<finess>`, Organization `org-<finess>`.
public enum SlotBundleBuilder {
    public static func scheduleID(_ rpps: RPPS) -> String { "sched-\(rpps.value)" }
    public static func practitionerID(_ rpps: RPPS) -> String { "pract-\(rpps.value)" }
    public static func practitionerRoleID(_ rpps: RPPS) -> String { "role-\(rpps.value)" }
    public static let locationID = "loc"
    public static func healthcareServiceID(_ cpts: FHIRConfig.CPTS) -> String { "cpts-\(cpts.finess)" }
    public static func organizationID(_ cpts: FHIRConfig.CPTS) -> String { "org-\(cpts.finess)" }

    /// The Bundle for `query`, from the matching `slots` and the professionals they belong to.
    ///
    /// - Slots come first (`search.mode` `match`), ordered by start, then RPPS, then id; then,
    ///   as the query's `_include`s ask, for each professional with a slot in the answer (in
    ///   the order of their first slot) their Schedule, Practitioner and PractitionerRole;
    ///   then, in the CPTS form, the HealthcareService and the Organization (`include`).
    /// - A slot whose professional is not in `practitioners` (no address, §3.6) is left
    ///   out, and so is a slot of a professional the query did not name: `total` counts the
    ///   Slots in the Bundle.
    ///
    /// The daemon answers with `bytes(…)`, the same Bundle written without building it.
    public static func build(
        query: SlotSearchQuery, slots: [SlotInfo], practitioners: [PractitionerInfo], config: FHIRConfig
    ) -> FHIRBundle {
        let answer = Answer(query: query, slots: slots, practitioners: practitioners, config: config)
        let form = SlotForm(config: config)
        var entries: [FHIRBundle.Entry] = []
        entries.reserveCapacity(answer.slots.count + answer.order.count * 3 + 2)
        for s in answer.slots {
            entries.append(
                FHIRBundle.Entry(
                    fullUrl: answer.fullURL("Slot", s.id), resource: .slot(slotResource(s, form: form, config: config)),
                    search: .init(mode: "match")))
        }
        for included in answer.included() {
            entries.append(
                FHIRBundle.Entry(
                    fullUrl: answer.fullURL(included.resourceType, included.id ?? ""), resource: included,
                    search: .init(mode: "include")))
        }
        return FHIRBundle(
            meta: answer.meta, type: "searchset", total: answer.slots.count, link: [answer.selfLink],
            entry: entries.isEmpty ? nil : entries)
    }

    /// The Bundle of `build(…)` as the bytes of the `200` answer: the bytes
    /// `FHIRJSON.encode(build(…))` gives (`BundleWritingTests` checks it), written straight,
    /// without the `Codable` resources nor `JSONEncoder`, which cost about 30 ms for the
    /// 700 Slots of the benchmark's answer (docs/PERFORMANCE.md, issue 15). The included
    /// resources (a few per professional) are built as in `build` and written by their
    /// `FHIRJSONWritable` conformance; each Slot is a run of text prepared once per answer
    /// around its own id, times, Schedule and booking URL.
    ///
    /// With a `cache`, each professional's `include` entries are written once and reused
    /// while their data, the base URL and the query's `_include`s stay the same.
    public static func bytes(
        query: SlotSearchQuery, slots: [SlotInfo], practitioners: [PractitionerInfo], config: FHIRConfig,
        cache: IncludedEntryCache? = nil
    ) -> [UInt8] {
        var out: [UInt8] = []
        write(query: query, slots: slots, practitioners: practitioners, config: config, cache: cache, into: &out)
        return out
    }

    /// `bytes(…)`, appended to `out`: the daemon writes the answer straight into the
    /// `ByteBuffer` it sends (one copy of half a megabyte less per search than writing an
    /// array and copying it, docs/PERFORMANCE.md); `bytes` is this into an array.
    public static func write<Output: JSONOutput>(
        query: SlotSearchQuery, slots: [SlotInfo], practitioners: [PractitionerInfo], config: FHIRConfig,
        cache: IncludedEntryCache? = nil, into out: inout Output
    ) {
        let answer = Answer(query: query, slots: slots, practitioners: practitioners, config: config)
        let slotText = answer.slots.isEmpty ? nil : SlotText(answer: answer, config: config)
        let included: [[UInt8]] =
            answer.includesSchedule && !answer.slots.isEmpty
            ? answer.order.map { p in
                cache?.entries(of: p, answer: answer) { answer.entries(answer.included(p)) }
                    ?? answer.entries(answer.included(p))
            } : []
        let service = answer.includedService()
        let serviceEntries = service.isEmpty ? [] : answer.entries(service)
        let slotRoom = slotText?.maximumCount(answer) ?? 0
        // All of it at once: a `ByteBuffer` that grows copies what it holds.
        out.reserve(
            2_048 + slotRoom + included.reduce(0) { $0 + $1.count + 1 }
                + serviceEntries.count + 1 + answer.selfLink.url.utf8.count * 6)
        var json = JSONWriter(capacity: 1_024)
        json.beginObject()
        if let slotText {
            json.key("entry")
            json.beginArray()
            json.verbatim(into: &out) { slotText.write(answer, room: slotRoom, into: &$0) }
            json.verbatimEnded(afterValue: true)
            for entries in included { json.value(entries, into: &out) }
            if !serviceEntries.isEmpty { json.value(serviceEntries, into: &out) }
            json.endArray()
        }
        json.field("link", [answer.selfLink])
        json.field("meta", answer.meta)
        json.field("resourceType", "Bundle")
        json.field("total", answer.slots.count)
        json.field("type", "searchset")
        json.endObject()
        json.flush(into: &out)
    }

    /// `bytes(…)` as `Data`.
    public static func json(
        query: SlotSearchQuery, slots: [SlotInfo], practitioners: [PractitionerInfo], config: FHIRConfig
    ) -> Data {
        Data(bytes(query: query, slots: slots, practitioners: practitioners, config: config))
    }

    /// What a search's answer holds, chosen once for `build` and `bytes`.
    struct Answer {
        let config: FHIRConfig
        let base: String
        /// The Slots, by start, RPPS, id; each with its professional's place in `order`.
        var slots: [SlotInfo] = []
        var professionalOfSlot: [Int] = []
        /// The professionals with a Slot in the answer, in the order of their first one.
        var order: [PractitionerInfo] = []
        let includesSchedule: Bool
        let includesActor: Bool
        let includesService: Bool
        let includesOrganization: Bool
        let meta: FHIRMeta
        let selfLink: FHIRBundle.Link

        init(query: SlotSearchQuery, slots: [SlotInfo], practitioners: [PractitionerInfo], config: FHIRConfig) {
            self.config = config
            base = config.baseURL
            // The professionals that can be shown (asked for, with a contact), by RPPS: the
            // last one given wins. Each Slot looks its professional up once.
            let asked = Set(query.practitioners)
            var shown: [RPPS: Int] = [:]
            for (i, p) in practitioners.enumerated() where asked.contains(p.rpps) { shown[p.rpps] = i }
            // The order by start, RPPS, id, sorted as plain numbers (no strings compared nor
            // `SlotInfo`s moved, which retained and released their strings): each kept Slot's
            // start, the rank of its RPPS among those shown, its place in `slots`.
            let ranks = Dictionary(uniqueKeysWithValues: shown.keys.sorted { $0.value < $1.value }.enumerated().map { ($1, $0) })
            var kept: [SortKey] = []
            kept.reserveCapacity(slots.count)
            // Slots come grouped by professional: a run of the same RPPS hashes it once.
            var last: (rpps: RPPS, professional: Int?, rank: Int)? = nil
            for (n, s) in slots.enumerated() {
                if last?.rpps != s.rpps {
                    let i = shown[s.rpps]
                    last = (s.rpps, i, i == nil ? 0 : ranks[s.rpps]!)
                }
                if let i = last!.professional {
                    kept.append(SortKey(start: s.start.timeIntervalSinceReferenceDate, rank: last!.rank, professional: i, slot: n))
                }
            }
            kept.sort { a, b in
                if a.start != b.start { return a.start < b.start }
                if a.rank != b.rank { return a.rank < b.rank }
                return slots[a.slot].id < slots[b.slot].id
            }
            var place = [Int](repeating: -1, count: practitioners.count)
            self.slots.reserveCapacity(kept.count)
            professionalOfSlot.reserveCapacity(kept.count)
            for k in kept {
                let i = k.professional
                if place[i] < 0 {
                    place[i] = order.count
                    order.append(practitioners[i])
                }
                self.slots.append(slots[k.slot])
                professionalOfSlot.append(place[i])
            }
            includesSchedule = query.includes.contains(.schedule)
            includesActor = includesSchedule && query.includes.contains(.actor)
            includesService = config.cpts != nil && query.includes.contains(.serviceTypeReference)
            includesOrganization = includesService && query.includes.contains(.organization)
            meta = FHIRMeta(profile: [config.cpts == nil ? SASProfile.bundle : SASProfile.cptsBundle])
            let selfQuery = query.selfQuery
            selfLink = .init(relation: "self", url: "\(base)/Slot" + (selfQuery.isEmpty ? "" : "?" + selfQuery))
        }

        struct SortKey {
            var start: Double
            var rank: Int
            var professional: Int
            var slot: Int
        }

        /// `entry.fullUrl`: `<base>/<Type>/<id>`.
        func fullURL(_ type: String, _ id: String) -> String { "\(base)/\(type)/\(id)" }

        /// The `include` resources, in order: per professional their Schedule, Practitioner
        /// and PractitionerRole; then the CPTS's HealthcareService and Organization.
        func included() -> [FHIRResource] {
            var out: [FHIRResource] = []
            for p in order { out += included(p) }
            out += includedService()
            return out
        }

        /// The `include` resources of one professional of `order`: Schedule, Practitioner,
        /// PractitionerRole, as the query asks.
        func included(_ p: PractitionerInfo) -> [FHIRResource] {
            guard includesSchedule else { return [] }
            guard includesActor else { return [.schedule(scheduleResource(p))] }
            return [.schedule(scheduleResource(p)), .practitioner(practitionerResource(p)), .practitionerRole(practitionerRoleResource(p))]
        }

        /// The CPTS's HealthcareService and Organization, as the query asks.
        func includedService() -> [FHIRResource] {
            guard let cpts = config.cpts, !slots.isEmpty, includesService else { return [] }
            return [.healthcareService(healthcareServiceResource(cpts))]
                + (includesOrganization ? [.organization(organizationResource(cpts))] : [])
        }

        /// `resources` as comma-separated `include` entries.
        func entries(_ resources: [FHIRResource]) -> [UInt8] {
            var json = JSONWriter(capacity: 2_048)
            for r in resources {
                FHIRBundle.Entry(fullUrl: fullURL(r.resourceType, r.id ?? ""), resource: r, search: .init(mode: "include"))
                    .write(to: &json)
            }
            return json.bytes
        }
    }

    // MARK: - Resources

    static func serviceTypeCode(_ mode: SlotMode) -> (code: String, display: String) {
        switch mode {
        case .office: ("AMB", "ambulatory")
        case .home: ("HH", "home health")
        case .tele: ("VR", "virtual")
        }
    }

    /// What every Slot of an answer shares: its profile and security code, its
    /// `appointmentType`, its `serviceType` for each mode (the CPTS form adds the reference
    /// to the CPTS's HealthcareService).
    struct SlotForm {
        let meta: FHIRMeta
        let appointmentType: FHIRCodeableConcept
        let cptsServiceType: FHIRCodeableConcept?

        init(config: FHIRConfig) {
            if let cpts = config.cpts {
                meta = FHIRMeta(profile: [SASProfile.cptsSlot], security: [FHIRCoding(system: SASCode.typeCreneau, code: "CPTS")])
                cptsServiceType = FHIRCodeableConcept(
                    extension: [
                        FHIRExtension(
                            url: SASCode.serviceTypeR5Extension,
                            valueReference: FHIRReference(reference: "HealthcareService/\(healthcareServiceID(cpts))"))
                    ],
                    coding: [FHIRCoding(system: SASCode.categorieEtablissement, code: "604")])
            } else {
                meta = FHIRMeta(profile: [SASProfile.slot], security: [FHIRCoding(system: SASCode.typeCreneau, code: "SNP")])
                cptsServiceType = nil
            }
            appointmentType = FHIRCodeableConcept(system: SASCode.appointmentReason, code: "ROUTINE")
        }

        func serviceType(_ mode: SlotMode) -> [FHIRCodeableConcept] {
            let type = serviceTypeCode(mode)
            return [FHIRCodeableConcept(system: SASCode.actCode, code: type.code, display: type.display)]
                + (cptsServiceType.map { [$0] } ?? [])
        }
    }

    /// The Slot's `comment`: `SNPD_BOOKING_URL` with `{rpps}` replaced by the 11 digits.
    static func bookingURL(_ rpps: RPPS, config: FHIRConfig) -> String? {
        config.bookingURLTemplate.map { $0.replacingOccurrences(of: "{rpps}", with: rpps.value) }
    }

    static func scheduleReference(_ rpps: RPPS) -> String { "Schedule/\(scheduleID(rpps))" }

    public static func slotResource(_ s: SlotInfo, config: FHIRConfig) -> FHIRSlot {
        slotResource(s, form: SlotForm(config: config), config: config)
    }

    static func slotResource(_ s: SlotInfo, form: SlotForm, config: FHIRConfig) -> FHIRSlot {
        FHIRSlot(
            id: s.id,
            meta: form.meta,
            serviceType: form.serviceType(s.mode),
            appointmentType: form.appointmentType,
            schedule: FHIRReference(reference: scheduleReference(s.rpps)),
            status: "free",
            start: FHIRTime.format(s.start),
            end: FHIRTime.format(s.end),
            comment: bookingURL(s.rpps, config: config)
        )
    }

    /// The Slots' entries as `FHIRBundle.Entry.write` writes them from `slotResource`, from
    /// text made once per answer: each Slot adds its id (twice), its times, its mode's
    /// `serviceType`, and its professional's booking URL and Schedule reference (made once
    /// per professional). `BundleWritingTests` holds the result to `JSONEncoder`'s bytes.
    ///
    /// The fixed pieces are ranges of one buffer, appended from its memory: appending an
    /// array per piece retained and released it, a third of the answer's cost.
    struct SlotText {
        private var text: [UInt8] = []
        /// `{"fullUrl":"<base>/Slot/`
        private var head = 0..<0
        /// `","resource":{"appointmentType":{…},`
        private var afterFullURL = 0..<0
        /// Per professional of `Answer.order`: `"comment":"<booking URL>",`, or nothing.
        private var comment: [Range<Int>] = []
        /// `"end":"`
        private var endKey = 0..<0
        /// `","id":"`
        private var idKey = 0..<0
        /// `","meta":{…},"resourceType":"Slot","schedule":{"reference":"`
        private var afterID = 0..<0
        /// Per professional: `Schedule/sched-<rpps>`, escaped.
        private var schedule: [Range<Int>] = []
        /// Per mode (`SlotMode.allCases`): `"},"serviceType":[…],"start":"`
        private var serviceType: [Range<Int>] = []
        /// `","status":"free"},"search":{"mode":"match"}}`
        private var tail = 0..<0

        init(answer: Answer, config: FHIRConfig) {
            let form = SlotForm(config: config)
            func piece(_ parts: (inout [UInt8]) -> Void) -> Range<Int> {
                let start = text.count
                parts(&text)
                return start..<text.count
            }
            func fixed(_ s: StaticString, _ out: inout [UInt8]) { s.withUTF8Buffer { out.append(contentsOf: $0) } }
            head = piece {
                fixed(#"{"fullUrl":""#, &$0)
                JSONString.appendEscaped(answer.base + "/Slot/", to: &$0)
            }
            afterFullURL = piece {
                fixed(#"","resource":{"appointmentType":"#, &$0)
                $0 += FHIRJSON.bytes(form.appointmentType)
                fixed(",", &$0)
            }
            comment = answer.order.map { p in
                piece {
                    guard let url = bookingURL(p.rpps, config: config) else { return }
                    fixed(#""comment":""#, &$0)
                    JSONString.appendEscaped(url, to: &$0)
                    fixed(#"","#, &$0)
                }
            }
            endKey = piece { fixed(#""end":""#, &$0) }
            idKey = piece { fixed(#"","id":""#, &$0) }
            afterID = piece {
                fixed(#"","meta":"#, &$0)
                $0 += FHIRJSON.bytes(form.meta)
                fixed(#","resourceType":"Slot","schedule":{"reference":""#, &$0)
            }
            schedule = answer.order.map { p in piece { JSONString.appendEscaped(scheduleReference(p.rpps), to: &$0) } }
            serviceType = SlotMode.allCases.map { mode in
                piece {
                    var types = JSONWriter()
                    types.beginArray()
                    for t in form.serviceType(mode) { t.write(to: &types) }
                    types.endArray()
                    fixed(#""},"serviceType":"#, &$0)
                    $0 += types.bytes
                    fixed(#","start":""#, &$0)
                }
            }
            tail = piece { fixed(#"","status":"free"},"search":{"mode":"match"}}"#, &$0) }
        }

        /// The most `write` writes for `answer.slots` (an id escaped may be 6 times longer).
        func maximumCount(_ answer: Answer) -> Int {
            let fixed = head.count + afterFullURL.count + endKey.count + idKey.count + afterID.count + tail.count + 1
            let longestService = serviceType.map(\.count).max() ?? 0
            var count = 0
            for (i, s) in answer.slots.enumerated() {
                let p = answer.professionalOfSlot[i]
                count += fixed + comment[p].count + schedule[p].count + longestService + 12 * s.id.utf8.count
                    + 2 * FHIRTime.Writer.maximumCount
            }
            return count
        }

        /// The entries of `answer.slots`, comma-separated, at the start of the `entry` array,
        /// written into the room `out` gives (`room`: `maximumCount`, counted once by the
        /// caller, which reserves it too) with plain copies of the fixed
        /// pieces and the times written in place: appending each piece to an array checked
        /// its uniqueness and capacity every time (a tenth of the answer's cost).
        func write<Output: JSONOutput>(_ answer: Answer, room: Int, into out: inout Output) {
            let modes = SlotMode.allCases
            out.append(upTo: room) { target in
                text.withUnsafeBytes { text in
                    answer.slots.withUnsafeBufferPointer { slots in
                        var at = Cursor(target.baseAddress!)
                        // One for the starts, one for the ends: a Slot often ends in the next hour.
                        var starts = FHIRTime.Writer(), ends = FHIRTime.Writer()
                        for i in slots.indices {
                            let p = answer.professionalOfSlot[i]
                            if i > 0 { at.put(UInt8(ascii: ",")) }
                            at.put(text, head)
                            at.put(id: slots[i].id)
                            at.put(text, afterFullURL)
                            at.put(text, comment[p])
                            at.put(text, endKey)
                            at.next += ends.write(slots[i].end, to: at.next)
                            at.put(text, idKey)
                            at.put(id: slots[i].id)
                            at.put(text, afterID)
                            at.put(text, schedule[p])
                            at.put(text, serviceType[modes.firstIndex(of: slots[i].mode)!])
                            at.next += starts.write(slots[i].start, to: at.next)
                            at.put(text, tail)
                        }
                        return at.next - target.baseAddress!
                    }
                }
            }
        }

        /// Where the next byte goes, in the room `write` was given (`maximumCount`).
        private struct Cursor {
            var next: UnsafeMutableRawPointer

            init(_ start: UnsafeMutableRawPointer) { next = start }

            mutating func put(_ byte: UInt8) {
                next.storeBytes(of: byte, as: UInt8.self)
                next += 1
            }

            /// A piece of `text`.
            mutating func put(_ text: UnsafeRawBufferPointer, _ range: Range<Int>) {
                next.copyMemory(from: text.baseAddress! + range.lowerBound, byteCount: range.count)
                next += range.count
            }

            /// A Slot's id, escaped (ids are letters, digits, `-` and `.`: copied as they are).
            mutating func put(id: String) {
                let plain = id.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
                    guard !bytes.contains(where: JSONString.needsEscape) else { return false }
                    if let from = bytes.baseAddress { next.copyMemory(from: from, byteCount: bytes.count) }
                    next += bytes.count
                    return true
                }
                guard plain != true else { return }
                var escaped: [UInt8] = []
                JSONString.appendEscaped(id, to: &escaped)
                escaped.withUnsafeBytes { next.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                next += escaped.count
            }
        }
    }

    public static func scheduleResource(_ p: PractitionerInfo) -> FHIRSchedule {
        FHIRSchedule(
            id: scheduleID(p.rpps), meta: FHIRMeta(profile: [SASProfile.schedule]),
            actor: [
                FHIRReference(reference: "Practitioner/\(practitionerID(p.rpps))"),
                FHIRReference(reference: "PractitionerRole/\(practitionerRoleID(p.rpps))"),
            ])
    }

    public static func practitionerResource(_ p: PractitionerInfo) -> FHIRPractitioner {
        let given = nonEmpty(p.given).map { [$0] }
        let family = nonEmpty(p.family)
        return FHIRPractitioner(
            id: practitionerID(p.rpps), meta: FHIRMeta(profile: [SASProfile.practitioner]),
            identifier: [
                FHIRIdentifier(
                    type: FHIRCodeableConcept(system: SASCode.identifierType, code: "IDNPS"),
                    system: SASCode.idnpsSystem, value: "8" + p.rpps.value)
            ],
            name: family == nil && given == nil ? nil : [FHIRHumanName(family: family, given: given)])
    }

    public static func practitionerRoleResource(_ p: PractitionerInfo) -> FHIRPractitionerRole {
        let line = nonEmpty(p.addressLine).map { [$0] }
        let address = FHIRAddress(line: line, city: nonEmpty(p.city), postalCode: nonEmpty(p.postalCode))
        let position =
            p.location.lat.isFinite && p.location.lon.isFinite
            ? FHIRPosition(longitude: p.location.lon, latitude: p.location.lat) : nil
        let location = FHIRLocation(
            id: locationID, meta: FHIRMeta(profile: [SASProfile.location]),
            address: address == FHIRAddress() ? nil : address, position: position)
        let organization = nonEmpty(p.structure).map {
            FHIRReference(
                identifier: FHIRIdentifier(
                    type: FHIRCodeableConcept(system: SASCode.identifierType, code: "IDNST"),
                    system: SASCode.idnstSystem, value: $0))
        }
        return FHIRPractitionerRole(
            id: practitionerRoleID(p.rpps), meta: FHIRMeta(profile: [SASProfile.practitionerRole]),
            contained: [.location(location)],
            practitioner: FHIRReference(reference: "Practitioner/\(practitionerID(p.rpps))"),
            organization: organization,
            specialty: [FHIRCodeableConcept(text: professionText(p.profession))],
            location: [FHIRReference(reference: "#\(locationID)")],
            telecom: nonEmpty(p.phone).map { [FHIRContactPoint(system: "phone", value: $0)] })
    }

    public static func healthcareServiceResource(_ cpts: FHIRConfig.CPTS) -> FHIRHealthcareService {
        FHIRHealthcareService(
            id: healthcareServiceID(cpts), meta: FHIRMeta(profile: [SASProfile.cptsHealthcareService]),
            providedBy: FHIRReference(reference: "Organization/\(organizationID(cpts))"),
            name: nonEmpty(cpts.name))
    }

    public static func organizationResource(_ cpts: FHIRConfig.CPTS) -> FHIROrganization {
        FHIROrganization(
            id: organizationID(cpts), meta: FHIRMeta(profile: [SASProfile.cptsOrganization]),
            identifier: [
                FHIRIdentifier(
                    type: FHIRCodeableConcept(system: SASCode.frCoreIdentifierType, code: "IDNST"),
                    system: SASCode.idnstSystem, value: cpts.idnst)
            ],
            name: nonEmpty(cpts.name))
    }

    /// The profession in words, as the PractitionerRole's `specialty.text` (French, as the SAS
    /// platform shows it).
    public static func professionText(_ p: Profession) -> String {
        switch p {
        case .gp: "Médecin généraliste"
        case .kine: "Masseur-kinésithérapeute"
        case .nurse: "Infirmier"
        case .midwife: "Sage-femme"
        case .dentist: "Chirurgien-dentiste"
        case .pediatrician: "Pédiatre"
        }
    }

    static func nonEmpty(_ s: String?) -> String? {
        guard let s else { return nil }
        let t = s.trimmedWhitespace()
        return t.isEmpty ? nil : t
    }
}

/// Each professional's `include` entries (Schedule, Practitioner, PractitionerRole) as
/// `SlotBundleBuilder.bytes` writes them, kept between searches: building and writing them
/// was about a tenth of a search (docs/PERFORMANCE.md, issue 15). An entry is used only
/// for the same `PractitionerInfo` (a `PRO PUT` that changes what FHIR shows makes a new
/// one), base URL and `_include`s; one entry per professional, so it holds at most as
/// many as the engine knows.
public final class IncludedEntryCache: Sendable {
    private struct Entry {
        var info: PractitionerInfo
        var base: String
        var actor: Bool
        var bytes: [UInt8]
    }

    private let entries = Mutex<[RPPS: Entry]>([:])

    public init() {}

    func entries(of p: PractitionerInfo, answer: SlotBundleBuilder.Answer, write: () -> [UInt8]) -> [UInt8] {
        let found = entries.withLock { entries -> [UInt8]? in
            guard let e = entries[p.rpps], e.actor == answer.includesActor, e.base == answer.base, e.info == p
            else { return nil }
            return e.bytes
        }
        if let found { return found }
        let bytes = write()
        entries.withLock { $0[p.rpps] = Entry(info: p, base: answer.base, actor: answer.includesActor, bytes: bytes) }
        return bytes
    }
}
