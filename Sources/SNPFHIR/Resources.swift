import Foundation

// FHIR R4 (4.0.1) data types and resources as snpd emits them: only the elements we
// write, every one optional so that an absent element is left out of the JSON (the
// synthesized `Codable` conformance writes optionals with `encodeIfPresent`). Builders
// never put an empty string or an empty array in them (docs/FHIR.md, "Empty elements").
//
// The names carry a `FHIR` prefix: SNPCore already has a `Slot`, and the HTTP layer
// imports both modules.

// MARK: - Data types

public struct FHIRCoding: Codable, Sendable, Equatable {
    public var system: String?
    public var code: String?
    public var display: String?

    public init(system: String? = nil, code: String? = nil, display: String? = nil) {
        self.system = system
        self.code = code
        self.display = display
    }
}

public struct FHIRExtension: Codable, Sendable, Equatable {
    public var url: String
    public var valueReference: FHIRReference?

    public init(url: String, valueReference: FHIRReference? = nil) {
        self.url = url
        self.valueReference = valueReference
    }
}

public struct FHIRCodeableConcept: Codable, Sendable, Equatable {
    public var `extension`: [FHIRExtension]?
    public var coding: [FHIRCoding]?
    public var text: String?

    public init(extension: [FHIRExtension]? = nil, coding: [FHIRCoding]? = nil, text: String? = nil) {
        self.extension = `extension`
        self.coding = coding
        self.text = text
    }

    public init(system: String, code: String, display: String? = nil) {
        self.init(coding: [FHIRCoding(system: system, code: code, display: display)])
    }
}

public struct FHIRIdentifier: Codable, Sendable, Equatable {
    public var type: FHIRCodeableConcept?
    public var system: String?
    public var value: String?

    public init(type: FHIRCodeableConcept? = nil, system: String? = nil, value: String? = nil) {
        self.type = type
        self.system = system
        self.value = value
    }
}

public struct FHIRReference: Codable, Sendable, Equatable {
    public var reference: String?
    public var identifier: FHIRIdentifier?
    public var display: String?

    public init(reference: String? = nil, identifier: FHIRIdentifier? = nil, display: String? = nil) {
        self.reference = reference
        self.identifier = identifier
        self.display = display
    }
}

public struct FHIRMeta: Codable, Sendable, Equatable {
    public var profile: [String]?
    public var security: [FHIRCoding]?

    public init(profile: [String]? = nil, security: [FHIRCoding]? = nil) {
        self.profile = profile
        self.security = security
    }
}

public struct FHIRHumanName: Codable, Sendable, Equatable {
    public var family: String?
    public var given: [String]?

    public init(family: String? = nil, given: [String]? = nil) {
        self.family = family
        self.given = given
    }
}

public struct FHIRContactPoint: Codable, Sendable, Equatable {
    /// `phone`, `email`, `url`…
    public var system: String?
    public var value: String?

    public init(system: String? = nil, value: String? = nil) {
        self.system = system
        self.value = value
    }
}

public struct FHIRAddress: Codable, Sendable, Equatable {
    public var line: [String]?
    public var city: String?
    public var postalCode: String?
    public var country: String?

    public init(line: [String]? = nil, city: String? = nil, postalCode: String? = nil, country: String? = nil) {
        self.line = line
        self.city = city
        self.postalCode = postalCode
        self.country = country
    }
}

/// `Location.position`, WGS 84 degrees.
public struct FHIRPosition: Codable, Sendable, Equatable {
    public var longitude: Double
    public var latitude: Double

    public init(longitude: Double, latitude: Double) {
        self.longitude = longitude
        self.latitude = latitude
    }
}

// MARK: - Resources

public struct FHIRSlot: Codable, Sendable, Equatable {
    public var resourceType = "Slot"
    public var id: String?
    public var meta: FHIRMeta?
    public var serviceType: [FHIRCodeableConcept]?
    public var specialty: [FHIRCodeableConcept]?
    /// 0..1 in R4 (a list only from R5).
    public var appointmentType: FHIRCodeableConcept?
    public var schedule: FHIRReference
    /// `free` in everything snpd emits.
    public var status: String
    /// `YYYY-MM-DDTHH:MM:SS.000+HH:MM` (`FHIRTime.format`).
    public var start: String
    public var end: String
    /// The booking URL (FrSlotAgregateur: "URL permettant d'accéder à la prise de RDV").
    public var comment: String?

    public init(
        id: String?, meta: FHIRMeta?, serviceType: [FHIRCodeableConcept]?, specialty: [FHIRCodeableConcept]? = nil,
        appointmentType: FHIRCodeableConcept?, schedule: FHIRReference, status: String, start: String, end: String,
        comment: String?
    ) {
        self.id = id
        self.meta = meta
        self.serviceType = serviceType
        self.specialty = specialty
        self.appointmentType = appointmentType
        self.schedule = schedule
        self.status = status
        self.start = start
        self.end = end
        self.comment = comment
    }
}

public struct FHIRSchedule: Codable, Sendable, Equatable {
    public var resourceType = "Schedule"
    public var id: String?
    public var meta: FHIRMeta?
    public var actor: [FHIRReference]

    public init(id: String?, meta: FHIRMeta?, actor: [FHIRReference]) {
        self.id = id
        self.meta = meta
        self.actor = actor
    }
}

public struct FHIRPractitioner: Codable, Sendable, Equatable {
    public var resourceType = "Practitioner"
    public var id: String?
    public var meta: FHIRMeta?
    public var identifier: [FHIRIdentifier]?
    public var name: [FHIRHumanName]?

    public init(id: String?, meta: FHIRMeta?, identifier: [FHIRIdentifier]?, name: [FHIRHumanName]?) {
        self.id = id
        self.meta = meta
        self.identifier = identifier
        self.name = name
    }
}

public struct FHIRLocation: Codable, Sendable, Equatable {
    public var resourceType = "Location"
    public var id: String?
    public var meta: FHIRMeta?
    public var address: FHIRAddress?
    public var position: FHIRPosition?

    public init(id: String?, meta: FHIRMeta?, address: FHIRAddress?, position: FHIRPosition?) {
        self.id = id
        self.meta = meta
        self.address = address
        self.position = position
    }
}

public struct FHIRPractitionerRole: Codable, Sendable, Equatable {
    public var resourceType = "PractitionerRole"
    public var id: String?
    public var meta: FHIRMeta?
    /// The practice's Location (FrPractitionerRoleExerciceAgregateur: `contained 1..`).
    public var contained: [FHIRResource]?
    public var practitioner: FHIRReference?
    public var organization: FHIRReference?
    public var specialty: [FHIRCodeableConcept]?
    /// `#<contained id>`.
    public var location: [FHIRReference]?
    public var telecom: [FHIRContactPoint]?

    public init(
        id: String?, meta: FHIRMeta?, contained: [FHIRResource]?, practitioner: FHIRReference?,
        organization: FHIRReference?, specialty: [FHIRCodeableConcept]?, location: [FHIRReference]?,
        telecom: [FHIRContactPoint]?
    ) {
        self.id = id
        self.meta = meta
        self.contained = contained
        self.practitioner = practitioner
        self.organization = organization
        self.specialty = specialty
        self.location = location
        self.telecom = telecom
    }
}

/// The CPTS form (INT_R04): the service a Slot is offered through.
public struct FHIRHealthcareService: Codable, Sendable, Equatable {
    public var resourceType = "HealthcareService"
    public var id: String?
    public var meta: FHIRMeta?
    public var providedBy: FHIRReference?
    public var name: String?

    public init(id: String?, meta: FHIRMeta?, providedBy: FHIRReference?, name: String?) {
        self.id = id
        self.meta = meta
        self.providedBy = providedBy
        self.name = name
    }
}

/// The CPTS itself (FrOrganizationAgregateurCPTS).
public struct FHIROrganization: Codable, Sendable, Equatable {
    public var resourceType = "Organization"
    public var id: String?
    public var meta: FHIRMeta?
    public var identifier: [FHIRIdentifier]?
    public var name: String?

    public init(id: String?, meta: FHIRMeta?, identifier: [FHIRIdentifier]?, name: String?) {
        self.id = id
        self.meta = meta
        self.identifier = identifier
        self.name = name
    }
}

public struct FHIROperationOutcome: Codable, Sendable, Equatable {
    public struct Issue: Codable, Sendable, Equatable {
        /// `fatal`, `error`, `warning`, `information`.
        public var severity: String
        /// An IssueType code: `invalid`, `login`, `forbidden`, `not-found`, `transient`…
        public var code: String
        public var diagnostics: String?

        public init(severity: String, code: String, diagnostics: String?) {
            self.severity = severity
            self.code = code
            self.diagnostics = diagnostics
        }
    }

    public var resourceType = "OperationOutcome"
    public var issue: [Issue]

    public init(issue: [Issue]) { self.issue = issue }
}

public struct FHIRBundle: Codable, Sendable, Equatable {
    public struct Link: Codable, Sendable, Equatable {
        public var relation: String
        public var url: String

        public init(relation: String, url: String) {
            self.relation = relation
            self.url = url
        }
    }

    public struct Search: Codable, Sendable, Equatable {
        /// `match` or `include`.
        public var mode: String

        public init(mode: String) { self.mode = mode }
    }

    public struct Entry: Codable, Sendable, Equatable {
        public var fullUrl: String?
        public var resource: FHIRResource?
        public var search: Search?

        public init(fullUrl: String?, resource: FHIRResource?, search: Search?) {
            self.fullUrl = fullUrl
            self.resource = resource
            self.search = search
        }
    }

    public var resourceType = "Bundle"
    public var id: String?
    public var meta: FHIRMeta?
    /// `searchset`.
    public var type: String
    public var total: Int?
    public var link: [Link]?
    public var entry: [Entry]?

    public init(id: String? = nil, meta: FHIRMeta?, type: String, total: Int?, link: [Link]?, entry: [Entry]?) {
        self.id = id
        self.meta = meta
        self.type = type
        self.total = total
        self.link = link
        self.entry = entry
    }
}

// MARK: - Any resource

/// One resource of any type we emit: the content of `Bundle.entry.resource` and of
/// `contained`. Encodes as the bare resource (its `resourceType` says which); decodes by
/// reading `resourceType` first.
public indirect enum FHIRResource: Codable, Sendable, Equatable {
    case slot(FHIRSlot)
    case schedule(FHIRSchedule)
    case practitioner(FHIRPractitioner)
    case practitionerRole(FHIRPractitionerRole)
    case location(FHIRLocation)
    case healthcareService(FHIRHealthcareService)
    case organization(FHIROrganization)
    case operationOutcome(FHIROperationOutcome)
    case capabilityStatement(FHIRCapabilityStatement)
    case bundle(FHIRBundle)

    public var resourceType: String {
        switch self {
        case .slot: "Slot"
        case .schedule: "Schedule"
        case .practitioner: "Practitioner"
        case .practitionerRole: "PractitionerRole"
        case .location: "Location"
        case .healthcareService: "HealthcareService"
        case .organization: "Organization"
        case .operationOutcome: "OperationOutcome"
        case .capabilityStatement: "CapabilityStatement"
        case .bundle: "Bundle"
        }
    }

    public var id: String? {
        switch self {
        case .slot(let r): r.id
        case .schedule(let r): r.id
        case .practitioner(let r): r.id
        case .practitionerRole(let r): r.id
        case .location(let r): r.id
        case .healthcareService(let r): r.id
        case .organization(let r): r.id
        case .operationOutcome: nil
        case .capabilityStatement: nil
        case .bundle(let r): r.id
        }
    }

    public var meta: FHIRMeta? {
        switch self {
        case .slot(let r): r.meta
        case .schedule(let r): r.meta
        case .practitioner(let r): r.meta
        case .practitionerRole(let r): r.meta
        case .location(let r): r.meta
        case .healthcareService(let r): r.meta
        case .organization(let r): r.meta
        case .operationOutcome: nil
        case .capabilityStatement: nil
        case .bundle(let r): r.meta
        }
    }

    private enum TypeKey: String, CodingKey { case resourceType }

    public init(from decoder: any Decoder) throws {
        let type = try decoder.container(keyedBy: TypeKey.self).decode(String.self, forKey: .resourceType)
        switch type {
        case "Slot": self = .slot(try FHIRSlot(from: decoder))
        case "Schedule": self = .schedule(try FHIRSchedule(from: decoder))
        case "Practitioner": self = .practitioner(try FHIRPractitioner(from: decoder))
        case "PractitionerRole": self = .practitionerRole(try FHIRPractitionerRole(from: decoder))
        case "Location": self = .location(try FHIRLocation(from: decoder))
        case "HealthcareService": self = .healthcareService(try FHIRHealthcareService(from: decoder))
        case "Organization": self = .organization(try FHIROrganization(from: decoder))
        case "OperationOutcome": self = .operationOutcome(try FHIROperationOutcome(from: decoder))
        case "CapabilityStatement": self = .capabilityStatement(try FHIRCapabilityStatement(from: decoder))
        case "Bundle": self = .bundle(try FHIRBundle(from: decoder))
        default:
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "resourceType \(type) is not one snpd handles"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .slot(let r): try r.encode(to: encoder)
        case .schedule(let r): try r.encode(to: encoder)
        case .practitioner(let r): try r.encode(to: encoder)
        case .practitionerRole(let r): try r.encode(to: encoder)
        case .location(let r): try r.encode(to: encoder)
        case .healthcareService(let r): try r.encode(to: encoder)
        case .organization(let r): try r.encode(to: encoder)
        case .operationOutcome(let r): try r.encode(to: encoder)
        case .capabilityStatement(let r): try r.encode(to: encoder)
        case .bundle(let r): try r.encode(to: encoder)
        }
    }
}

// MARK: - JSON

/// How snpd writes FHIR JSON: `JSONEncoder` with `.sortedKeys` (the same resource gives the
/// same bytes, whatever the platform's dictionary order) and `.withoutEscapingSlashes`
/// (URLs stay readable). JSON objects are unordered (RFC 8259) and FHIR readers do not
/// depend on the order, so `resourceType` comes where the alphabet puts it (docs/FHIR.md).
public enum FHIRJSON {
    /// The media type of every answer of `/fhir`.
    public static let contentType = "application/fhir+json"

    public static func encode<T: Encodable>(_ value: T) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Our types hold only strings, integers, finite doubles and booleans: encoding them
        // cannot fail (a non-finite coordinate is refused by the builder).
        do { return try encoder.encode(value) } catch { preconditionFailure("FHIR encoding failed: \(error)") }
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try JSONDecoder().decode(type, from: data)
    }

    /// Whether an `Accept` header (or `_format` value) lets us answer FHIR JSON:
    /// `application/fhir+json`, the IG's `application/json+fhir`, `application/json`,
    /// `json`, `*/*`, `application/*`, or none. Parameters (`;q=`, `;charset=`) are ignored.
    public static func isAcceptable(_ accept: String?) -> Bool {
        guard let accept, !accept.allSatisfy({ $0 == " " }) else { return true }
        let ok: Set<String> = [
            "application/fhir+json", "application/json+fhir", "application/json", "json", "*/*", "application/*",
            "fhir+json",
        ]
        for part in accept.split(separator: ",") {
            let type = part.split(separator: ";", maxSplits: 1).first.map {
                $0.trimmedWhitespace().lowercased()
            } ?? ""
            if ok.contains(type) { return true }
        }
        return false
    }
}
