import Foundation
import SNPCore

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
    public static func build(
        query: SlotSearchQuery, slots: [SlotInfo], practitioners: [PractitionerInfo], config: FHIRConfig
    ) -> FHIRBundle {
        var byRPPS: [RPPS: PractitionerInfo] = [:]
        for p in practitioners { byRPPS[p.rpps] = p }
        let asked = Set(query.practitioners)
        let kept = slots.filter { byRPPS[$0.rpps] != nil && asked.contains($0.rpps) }.sorted {
            ($0.start, $0.rpps.value, $0.id) < ($1.start, $1.rpps.value, $1.id)
        }
        var order: [RPPS] = []
        var seen = Set<RPPS>()
        for s in kept where seen.insert(s.rpps).inserted { order.append(s.rpps) }

        let base = config.baseURL
        func entry(_ resource: FHIRResource, type: String, id: String, mode: String) -> FHIRBundle.Entry {
            FHIRBundle.Entry(fullUrl: "\(base)/\(type)/\(id)", resource: resource, search: .init(mode: mode))
        }

        var entries: [FHIRBundle.Entry] = []
        entries.reserveCapacity(kept.count + order.count * 3 + 2)
        for s in kept {
            let slot = slotResource(s, config: config)
            entries.append(entry(.slot(slot), type: "Slot", id: s.id, mode: "match"))
        }
        if query.includes.contains(.schedule) {
            for rpps in order {
                let p = byRPPS[rpps]!
                entries.append(entry(.schedule(scheduleResource(p)), type: "Schedule", id: scheduleID(rpps), mode: "include"))
                if query.includes.contains(.actor) {
                    entries.append(
                        entry(
                            .practitioner(practitionerResource(p)), type: "Practitioner", id: practitionerID(rpps),
                            mode: "include"))
                    entries.append(
                        entry(
                            .practitionerRole(practitionerRoleResource(p)), type: "PractitionerRole",
                            id: practitionerRoleID(rpps), mode: "include"))
                }
            }
        }
        if let cpts = config.cpts, !kept.isEmpty, query.includes.contains(.serviceTypeReference) {
            entries.append(
                entry(
                    .healthcareService(healthcareServiceResource(cpts)), type: "HealthcareService",
                    id: healthcareServiceID(cpts), mode: "include"))
            if query.includes.contains(.organization) {
                entries.append(
                    entry(.organization(organizationResource(cpts)), type: "Organization", id: organizationID(cpts), mode: "include"))
            }
        }

        let selfQuery = query.selfQuery
        return FHIRBundle(
            meta: FHIRMeta(profile: [config.cpts == nil ? SASProfile.bundle : SASProfile.cptsBundle]),
            type: "searchset",
            total: kept.count,
            link: [.init(relation: "self", url: "\(base)/Slot" + (selfQuery.isEmpty ? "" : "?" + selfQuery))],
            entry: entries.isEmpty ? nil : entries
        )
    }

    /// The Bundle as the bytes of the `200` answer.
    public static func json(
        query: SlotSearchQuery, slots: [SlotInfo], practitioners: [PractitionerInfo], config: FHIRConfig
    ) -> Data {
        FHIRJSON.encode(build(query: query, slots: slots, practitioners: practitioners, config: config))
    }

    // MARK: - Resources

    static func serviceTypeCode(_ mode: SlotMode) -> (code: String, display: String) {
        switch mode {
        case .office: ("AMB", "ambulatory")
        case .home: ("HH", "home health")
        case .tele: ("VR", "virtual")
        }
    }

    public static func slotResource(_ s: SlotInfo, config: FHIRConfig) -> FHIRSlot {
        let type = serviceTypeCode(s.mode)
        var serviceType = [FHIRCodeableConcept(system: SASCode.actCode, code: type.code, display: type.display)]
        let profile: String
        let security: String
        if let cpts = config.cpts {
            profile = SASProfile.cptsSlot
            security = "CPTS"
            serviceType.append(
                FHIRCodeableConcept(
                    extension: [
                        FHIRExtension(
                            url: SASCode.serviceTypeR5Extension,
                            valueReference: FHIRReference(reference: "HealthcareService/\(healthcareServiceID(cpts))"))
                    ],
                    coding: [FHIRCoding(system: SASCode.categorieEtablissement, code: "604")]))
        } else {
            profile = SASProfile.slot
            security = "SNP"
        }
        return FHIRSlot(
            id: s.id,
            meta: FHIRMeta(profile: [profile], security: [FHIRCoding(system: SASCode.typeCreneau, code: security)]),
            serviceType: serviceType,
            appointmentType: FHIRCodeableConcept(system: SASCode.appointmentReason, code: "ROUTINE"),
            schedule: FHIRReference(reference: "Schedule/\(scheduleID(s.rpps))"),
            status: "free",
            start: FHIRTime.format(s.start),
            end: FHIRTime.format(s.end),
            comment: config.bookingURLTemplate.map { $0.replacingOccurrences(of: "{rpps}", with: s.rpps.value) }
        )
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
        let t = s.trimmingCharacters(in: .whitespaces)
        return t.isEmpty ? nil : t
    }
}
