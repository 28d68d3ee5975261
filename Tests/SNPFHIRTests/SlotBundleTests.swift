import Foundation
import SNPCore
import Testing

@testable import SNPFHIR

/// §7.2: the searchset Bundle, its references, profiles, codes, and its bytes.
@Suite struct SlotBundleTests {
    static let base = "https://snp.example.org/fhir"
    let config = FHIRConfig(baseURL: base + "/", bookingURLTemplate: "https://rdv.example.org/pro/{rpps}?from=sas")

    func sample(
        config: FHIRConfig? = nil, query: [(name: String, value: String)] = F.sasQuery([1, 2, 3])
    ) throws -> FHIRBundle {
        let q = try F.parse(query)
        let slots = [
            F.slot("s12", 2, "2026-11-23T14:00:00+01:00", mode: .home),
            F.slot("s10", 1, "2026-11-23T09:00:00+01:00"),
            F.slot("s11", 1, "2026-11-23T10:00:00+01:00", mode: .tele),
            F.slot("s13", 3, "2026-11-23T11:00:00+01:00"),  // no PractitionerInfo (no address): left out
            F.slot("s14", 4, "2026-11-23T11:00:00+01:00"),  // not asked for: left out
        ]
        return SlotBundleBuilder.build(
            query: q, slots: slots, practitioners: [F.pro(1), F.pro(2, .nurse, structure: nil), F.pro(4)],
            config: config ?? self.config)
    }

    func resources(_ b: FHIRBundle) -> [FHIRResource] { (b.entry ?? []).compactMap(\.resource) }

    @Test func totalCountsTheSlotsAndEntriesAreOrdered() throws {
        let b = try sample()
        #expect(b.type == "searchset")
        #expect(b.total == 3)
        let entries = try #require(b.entry)
        #expect(
            entries.map { "\($0.resource!.resourceType)/\($0.resource!.id!)" } == [
                "Slot/s10", "Slot/s11", "Slot/s12",
                "Schedule/sched-\(F.rpps(1))", "Practitioner/pract-\(F.rpps(1))", "PractitionerRole/role-\(F.rpps(1))",
                "Schedule/sched-\(F.rpps(2))", "Practitioner/pract-\(F.rpps(2))", "PractitionerRole/role-\(F.rpps(2))",
            ])
        #expect(entries.map(\.search!.mode) == ["match", "match", "match"] + Array(repeating: "include", count: 6))
        for e in entries {
            #expect(e.fullUrl == "\(Self.base)/\(e.resource!.resourceType)/\(e.resource!.id!)")
        }
    }

    @Test func theSelfLinkRepeatsTheQuery() throws {
        let query = F.sasQuery([1, 2, 3])
        let b = try sample(query: query)
        let link = try #require(b.link?.first)
        #expect(link.relation == "self")
        #expect(link.url.hasPrefix("\(Self.base)/Slot?"))
        let back = F.items(String(link.url.split(separator: "?", maxSplits: 1)[1]))
        #expect(back.map(\.name) == query.map(\.name))
        #expect(back.map(\.value) == query.map(\.value))
    }

    @Test func everyReferenceResolvesInsideTheBundle() throws {
        let b = try sample()
        let fullUrls = Set((b.entry ?? []).compactMap(\.fullUrl))
        func resolves(_ ref: String?) -> Bool { ref.map { fullUrls.contains("\(Self.base)/\($0)") } ?? false }
        for r in resources(b) {
            switch r {
            case .slot(let s): #expect(resolves(s.schedule.reference), "\(s.schedule)")
            case .schedule(let s):
                #expect(s.actor.count == 2)
                for a in s.actor { #expect(resolves(a.reference), "\(a)") }
            case .practitionerRole(let role):
                #expect(resolves(role.practitioner?.reference))
                let contained = try #require(role.contained)
                #expect(contained.count == 1)
                #expect(role.location?.map(\.reference) == ["#" + contained[0].id!])
            default: break
            }
        }
        // Each Slot points at the Schedule of its own professional.
        for case .slot(let s) in resources(b) {
            let rpps = s.id == "s12" ? F.rpps(2) : F.rpps(1)
            #expect(s.schedule.reference == "Schedule/sched-\(rpps)")
        }
    }

    @Test func everyResourceCarriesItsProfile() throws {
        let b = try sample()
        #expect(b.meta?.profile == [SASProfile.bundle])
        for r in resources(b) {
            let expected: String =
                switch r {
                case .slot: "http://sas.fr/fhir/StructureDefinition/FrSlotAgregateur"
                case .schedule: "http://sas.fr/fhir/StructureDefinition/FrScheduleAgregateur"
                case .practitioner: "http://sas.fr/fhir/StructureDefinition/FrPractitionerAgregateur"
                case .practitionerRole: "http://sas.fr/fhir/StructureDefinition/FrPractitionerRoleExerciceAgregateur"
                default: "?"
                }
            #expect(r.meta?.profile == [expected])
            if case .practitionerRole(let role) = r {
                #expect(role.contained?.first?.meta?.profile == ["http://sas.fr/fhir/StructureDefinition/FrLocationAgregateur"])
            }
        }
    }

    @Test func theSlotsElements() throws {
        let b = try sample()
        let slots = resources(b).compactMap { if case .slot(let s) = $0 { s } else { nil } }
        #expect(slots.map(\.id) == ["s10", "s11", "s12"])
        #expect(slots.map { $0.serviceType?.first?.coding?.first?.code } == ["AMB", "VR", "HH"])
        for s in slots {
            #expect(s.status == "free")
            #expect(s.meta?.security == [FHIRCoding(system: "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau", code: "SNP")])
            #expect(s.serviceType?.allSatisfy { $0.coding?.first?.system == "http://terminology.hl7.org/CodeSystem/v3-ActCode" } == true)
            #expect(s.appointmentType == FHIRCodeableConcept(system: "http://terminology.hl7.org/CodeSystem/v2-0276", code: "ROUTINE"))
            #expect(s.start.wholeMatch(of: FHIRTimeTests.kitPattern) != nil)
            #expect(s.end.wholeMatch(of: FHIRTimeTests.kitPattern) != nil)
            #expect(s.start < s.end)
        }
        #expect(slots[0].start == "2026-11-23T09:00:00.000+01:00")
        #expect(slots[0].end == "2026-11-23T09:20:00.000+01:00")
        #expect(slots[0].comment == "https://rdv.example.org/pro/\(F.rpps(1))?from=sas")
        #expect(slots[2].comment == "https://rdv.example.org/pro/\(F.rpps(2))?from=sas")
    }

    @Test func withoutABookingURLTheCommentIsLeftOut() throws {
        let b = try sample(config: FHIRConfig(baseURL: Self.base, bookingURLTemplate: ""))
        let json = String(decoding: FHIRJSON.encode(b), as: UTF8.self)
        #expect(!json.contains("\"comment\""))
    }

    @Test func thePractitionerAndTheRole() throws {
        let b = try sample()
        let practitioners = resources(b).compactMap { if case .practitioner(let p) = $0 { p } else { nil } }
        let p = try #require(practitioners.first)
        #expect(
            p.identifier == [
                FHIRIdentifier(
                    type: FHIRCodeableConcept(system: "http://interopsante.org/fhir/CodeSystem/fr-v2-0203", code: "IDNPS"),
                    system: "urn:oid:1.2.250.1.71.4.2.1", value: "8" + F.rpps(1).value)
            ])
        #expect(p.identifier?.first?.value?.wholeMatch(of: /8[0-9]{11}/) != nil)
        #expect(p.name == [FHIRHumanName(family: "Le Goff 1", given: ["Anne"])])

        let roles = resources(b).compactMap { if case .practitionerRole(let r) = $0 { r } else { nil } }
        #expect(roles.count == 2)
        let role = roles[0]
        guard case .location(let loc) = role.contained?.first else { Issue.record("no contained Location"); return }
        #expect(loc.address == FHIRAddress(line: ["1 rue du Port"], city: "Vannes", postalCode: "56000"))
        #expect(loc.position == FHIRPosition(longitude: -2.7608, latitude: 47.6582))
        #expect(role.telecom == [FHIRContactPoint(system: "phone", value: "+33297000001")])
        #expect(role.specialty == [FHIRCodeableConcept(text: "Médecin généraliste")])
        #expect(
            role.organization
                == FHIRReference(
                    identifier: FHIRIdentifier(
                        type: FHIRCodeableConcept(system: "http://interopsante.org/fhir/CodeSystem/fr-v2-0203", code: "IDNST"),
                        system: "urn:oid:1.2.250.1.71.4.2.2", value: "1560001234")))
        // The nurse has no structure: no organization element at all.
        #expect(roles[1].organization == nil)
        #expect(roles[1].specialty == [FHIRCodeableConcept(text: "Infirmier")])
    }

    @Test func noMatchIsAnEmptyBundle() throws {
        let q = try F.parse(F.sasQuery([5]))
        let b = SlotBundleBuilder.build(query: q, slots: [], practitioners: [F.pro(5)], config: config)
        #expect(b.total == 0)
        #expect(b.entry == nil)
        let json = String(decoding: FHIRJSON.encode(b), as: UTF8.self)
        #expect(json.contains("\"total\":0"))
        #expect(!json.contains("\"entry\""))
        #expect(json.contains("\"link\":[{\"relation\":\"self\""))
    }

    @Test func includesAreHonoured() throws {
        let onlySlots = try sample(query: F.sasQuery([1, 2]).filter { !$0.name.hasPrefix("_include") })
        #expect(resources(onlySlots).map(\.resourceType) == ["Slot", "Slot", "Slot"])
        let noActors = try sample(query: F.sasQuery([1, 2]).filter { $0.name != "_include:iterate" })
        #expect(resources(noActors).map(\.resourceType) == ["Slot", "Slot", "Slot", "Schedule", "Schedule"])
    }

    @Test func theCPTSForm() throws {
        let cpts = try FHIRConfig.CPTS(finess: "560012345", name: "CPTS Golfe du Morbihan")
        let config = FHIRConfig(baseURL: Self.base, bookingURLTemplate: nil, cpts: cpts)
        let b = try sample(config: config, query: F.sasQuery([1, 2], cpts: true))
        #expect(b.meta?.profile == ["https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/sas-cpts-bundle-aggregator"])
        let rs = resources(b)
        #expect(rs.suffix(2).map(\.resourceType) == ["HealthcareService", "Organization"])
        let fullUrls = Set((b.entry ?? []).compactMap(\.fullUrl))
        for r in rs {
            switch r {
            case .slot(let s):
                #expect(s.meta?.profile == ["https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/sas-cpts-slot-aggregator"])
                #expect(s.meta?.security?.map(\.code) == ["CPTS"])
                let ref = try #require(s.serviceType?.first { $0.coding?.first?.code == "604" })
                #expect(ref.coding?.first?.system == "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/TRE-R66-CategorieEtablissement")
                let ext = try #require(ref.extension?.first)
                #expect(ext.url == "http://hl7.org/fhir/5.0/StructureDefinition/extension-Slot.serviceType")
                #expect(ext.valueReference?.reference == "HealthcareService/cpts-560012345")
                #expect(fullUrls.contains("\(Self.base)/\(ext.valueReference!.reference!)"))
            case .healthcareService(let h):
                #expect(h.meta?.profile == ["https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/sas-cpts-healthcareservice-aggregator"])
                #expect(h.providedBy?.reference == "Organization/org-560012345")
                #expect(fullUrls.contains("\(Self.base)/Organization/org-560012345"))
            case .organization(let o):
                #expect(o.meta?.profile == ["https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/sas-cpts-organization-aggregator"])
                #expect(o.identifier?.first?.value == "1560012345")
                #expect(o.identifier?.first?.value?.wholeMatch(of: /1[0-9]{9}/) != nil)
                #expect(o.identifier?.first?.system == "urn:oid:1.2.250.1.71.4.2.2")
                #expect(o.name == "CPTS Golfe du Morbihan")
            default: break
            }
        }
        // Without the CPTS includes, the CPTS resources stay out.
        let plain = try sample(config: config, query: F.sasQuery([1, 2]))
        #expect(!resources(plain).contains { $0.resourceType == "HealthcareService" || $0.resourceType == "Organization" })
    }

    @Test func theCPTSFinessIsChecked() throws {
        #expect(try FHIRConfig.CPTS(finess: "1560012345", name: "x").finess == "560012345")
        for bad in ["", "56001234", "5600123456", "56001234A", "2560012345"] {
            expectFHIRError(400, "FINESS") { () throws(FHIRError) in _ = try FHIRConfig.CPTS(finess: bad, name: "x") }
        }
    }

    /// Same state, same bytes, whatever the order the caller hands things over in; keys sorted.
    @Test func theJSONIsStable() throws {
        let q = try F.parse(F.sasQuery([1, 2]))
        let slots = [
            F.slot("s10", 1, "2026-11-23T09:00:00+01:00"), F.slot("s11", 1, "2026-11-23T09:00:00+01:00"),
            F.slot("s12", 2, "2026-11-23T09:00:00+01:00", mode: .home),
        ]
        let pros = [F.pro(1), F.pro(2)]
        let a = SlotBundleBuilder.json(query: q, slots: slots, practitioners: pros, config: config)
        let b = SlotBundleBuilder.json(query: q, slots: slots.reversed(), practitioners: pros.reversed(), config: config)
        #expect(a == b)
        let outcome = String(decoding: FHIRError.badRequest("bad \"x\"/y").body, as: UTF8.self)
        #expect(outcome == #"{"issue":[{"code":"invalid","diagnostics":"bad \"x\"/y","severity":"error"}],"resourceType":"OperationOutcome"}"#)
        let text = String(decoding: a, as: UTF8.self)
        #expect(text.hasPrefix(#"{"entry":[{"fullUrl":"https://snp.example.org/fhir/Slot/s10","resource":{"appointmentType":"#))
        #expect(!text.contains(#"\/"#))
    }

    @Test func noEmptyElements() throws {
        var bare = F.pro(1, structure: "")
        bare.given = " "
        bare.phone = ""
        let q = try F.parse(F.sasQuery([1], cpts: true))
        let cpts = try FHIRConfig.CPTS(finess: "560012345", name: "")
        for config in [config, FHIRConfig(baseURL: Self.base, cpts: cpts)] {
            let json = String(
                decoding: SlotBundleBuilder.json(
                    query: q, slots: [F.slot("s1", 1, "2026-11-23T09:00:00Z")], practitioners: [bare], config: config),
                as: UTF8.self)
            #expect(!json.contains("\"\""), "\(json)")
            #expect(!json.contains("[]"))
            #expect(!json.contains("{}"))
            #expect(!json.contains("null"))
        }
    }

    @Test func theBundleDecodesBackToItself() throws {
        let cpts = try FHIRConfig.CPTS(finess: "560012345", name: "CPTS")
        for config in [config, FHIRConfig(baseURL: Self.base, cpts: cpts)] {
            let b = try sample(config: config, query: F.sasQuery([1, 2], cpts: true))
            #expect(try FHIRJSON.decode(FHIRBundle.self, from: FHIRJSON.encode(b)) == b)
        }
    }

    @Test func errorsCarryTheirStatusAndIssueCode() throws {
        let cases: [(FHIRError, Int, String)] = [
            (.badRequest("x"), 400, "invalid"), (.unauthorized(), 401, "login"), (.forbidden("x"), 403, "forbidden"),
            (.notFound("x"), 404, "not-found"), (.unavailable("x"), 503, "transient"),
        ]
        for (error, status, code) in cases {
            #expect(error.status == status)
            let o = try FHIRJSON.decode(FHIRResource.self, from: error.body)
            guard case .operationOutcome(let outcome) = o else { Issue.record("not an OperationOutcome"); continue }
            #expect(outcome.issue == [.init(severity: "error", code: code, diagnostics: error.message)])
        }
    }

    @Test func theCapabilityStatement() throws {
        let cs = FHIRCapabilityStatement.snpd(baseURL: Self.base + "/", softwareVersion: "1.0")
        #expect(cs.fhirVersion == "4.0.1")
        #expect(cs.format.first == "application/fhir+json")
        #expect(cs.kind == "instance")
        let slot = try #require(cs.rest?.first?.resource?.first)
        #expect(slot.type == "Slot")
        #expect(slot.profile == SASProfile.slot)
        #expect(slot.interaction?.map(\.code) == ["search-type"])
        #expect(slot.searchInclude == ["Slot:schedule", "Schedule:actor"])
        #expect(slot.searchParam?.map(\.name) == ["start", "schedule", "status", "_count"])
        #expect(cs.implementation?.url == Self.base)
        let cpts = FHIRCapabilityStatement.snpd(baseURL: Self.base, cpts: true)
        #expect(cpts.rest?.first?.resource?.first?.searchInclude?.count == 4)
        #expect(cpts.rest?.first?.resource?.first?.profile == SASProfile.cptsSlot)
    }

    @Test(arguments: [
        (nil, true), ("", true), ("application/fhir+json", true), ("application/json+fhir", true),
        ("application/json", true), ("application/json; charset=utf-8", true), ("*/*", true),
        ("text/html, application/fhir+json;q=0.9", true), ("application/fhir+xml", false), ("text/html", false),
    ] as [(String?, Bool)])
    func acceptHeaders(accept: String?, ok: Bool) {
        #expect(FHIRJSON.isAcceptable(accept) == ok)
    }
}
