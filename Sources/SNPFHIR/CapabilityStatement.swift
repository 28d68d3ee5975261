import Foundation

/// `GET /fhir/metadata` (SPEC §7.2): what snpd's FHIR endpoint does, after the IG's
/// `SAS-GestionnaireAgenda-PsIndiv` and `-CPTS` requirement statements
/// (`input/fsh/CapabilityStatement/SAS-gestionnaireagenda{psindiv,CPTS}.fsh`).
public struct FHIRCapabilityStatement: Codable, Sendable, Equatable {
    public struct Software: Codable, Sendable, Equatable {
        public var name: String
        public var version: String?
    }

    public struct Implementation: Codable, Sendable, Equatable {
        public var description: String
        public var url: String?
    }

    public struct SearchParam: Codable, Sendable, Equatable {
        public var name: String
        public var definition: String?
        public var type: String
        public var documentation: String?
    }

    public struct Interaction: Codable, Sendable, Equatable {
        public var code: String
    }

    public struct Resource: Codable, Sendable, Equatable {
        public var type: String
        public var profile: String?
        public var interaction: [Interaction]?
        public var searchInclude: [String]?
        public var searchParam: [SearchParam]?
    }

    public struct Rest: Codable, Sendable, Equatable {
        public var mode: String
        public var documentation: String?
        public var resource: [Resource]?
    }

    public var resourceType = "CapabilityStatement"
    public var status: String
    public var date: String
    public var publisher: String?
    public var kind: String
    public var instantiates: [String]?
    public var software: Software?
    public var implementation: Implementation?
    public var fhirVersion: String
    public var format: [String]
    public var implementationGuide: [String]?
    public var rest: [Rest]?

    /// The statement of this server. `baseURL` as in `FHIRConfig`; `date` is when this
    /// server's capabilities last changed (a constant of the release: the statement is the
    /// same at every call); `cpts` switches to the CPTS profile and includes.
    public static func snpd(
        baseURL: String, softwareVersion: String? = nil, cpts: Bool = false, date: String = "2026-07-01"
    ) -> FHIRCapabilityStatement {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        var includes = ["Slot:schedule", "Schedule:actor"]
        if cpts { includes += ["Slot:service-type-reference", "HealthcareService:organization"] }
        let slot = Resource(
            type: "Slot",
            profile: cpts ? SASProfile.cptsSlot : SASProfile.slot,
            interaction: [Interaction(code: "search-type")],
            searchInclude: includes,
            searchParam: [
                SearchParam(
                    name: "start", definition: "\(SASProfile.igCanonical)/SearchParameter/slot-sp-start", type: "date",
                    documentation:
                        "Exactly two: start=ge<instant>&start=le<instant>, at most \(SlotSearchQuery.maxWindowSeconds / 86_400) days apart. Any RFC 3339 offset; without one, Europe/Paris time."
                ),
                SearchParam(
                    name: "schedule", definition: "http://hl7.org/fhir/SearchParameter/Slot-schedule", type: "reference",
                    documentation:
                        "Chained as schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1|8<RPPS>[,…]: 1 to \(SlotSearchQuery.maxIdentifiers) professionals (the bare 11-digit RPPS is accepted too). Required."
                ),
                SearchParam(
                    name: "status", definition: "http://hl7.org/fhir/SearchParameter/Slot-status", type: "token",
                    documentation: "free (the only status served)."),
                SearchParam(
                    name: "_count", definition: nil, type: "number",
                    documentation: "Accepted; every answer holds all matches, in one page."),
            ])
        let actorDoc = "Returned only as _include'd by the Slot search."
        var resources = [
            slot,
            Resource(type: "Schedule", profile: SASProfile.schedule, interaction: nil, searchInclude: nil, searchParam: nil),
            Resource(
                type: "Practitioner", profile: SASProfile.practitioner, interaction: nil, searchInclude: nil, searchParam: nil),
            Resource(
                type: "PractitionerRole", profile: SASProfile.practitionerRole, interaction: nil, searchInclude: nil,
                searchParam: nil),
        ]
        if cpts {
            resources.append(
                Resource(
                    type: "HealthcareService", profile: SASProfile.cptsHealthcareService, interaction: nil,
                    searchInclude: nil, searchParam: nil))
            resources.append(
                Resource(
                    type: "Organization", profile: SASProfile.cptsOrganization, interaction: nil, searchInclude: nil,
                    searchParam: nil))
        }
        return FHIRCapabilityStatement(
            status: "active",
            date: date,
            publisher: "snpd",
            kind: "instance",
            instantiates: [
                "\(SASProfile.igCanonical)/CapabilityStatement/"
                    + (cpts ? "SAS-GestionnaireAgenda-CPTS" : "SAS-GestionnaireAgenda-PsIndiv")
            ],
            software: Software(name: "snpd", version: softwareVersion),
            implementation: Implementation(
                description: "snpd: volunteer slots for unscheduled care (soins non programmés), SAS slot search",
                url: base.isEmpty ? nil : base),
            fhirVersion: "4.0.1",
            format: ["application/fhir+json", "json"],
            implementationGuide: [SASProfile.igCanonical],
            rest: [
                Rest(
                    mode: "server",
                    documentation:
                        "GET [base]/Slot?start=ge…&start=le…&schedule.actor:Practitioner.identifier=…&status=free&_include=Slot:schedule&_include:iterate=Schedule:actor. \(actorDoc)",
                    resource: resources)
            ])
    }

    /// The statement as the bytes of the `200` answer.
    public var json: Data { FHIRJSON.encode(self) }
}
