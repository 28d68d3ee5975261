import Foundation
import SNPCore

/// A FHIR type that writes itself as `FHIRJSON.encode` writes it, byte for byte (keys in
/// the order of their bytes, as `.sortedKeys` puts them; absent elements left out; empty
/// arrays kept), without `JSONEncoder`, which costs tens of milliseconds for a Bundle of
/// 700 Slots (docs/PERFORMANCE.md, issue 15). The `Codable` conformances stay: the tests
/// and `tests/fhir/validate.py` read what these write, and `FHIRJSONWritingTests` checks
/// every type against `JSONEncoder`.
public protocol FHIRJSONWritable {
    func write(to json: inout JSONWriter)
}

extension FHIRJSON {
    /// `encode(value)`'s bytes, written by hand.
    public static func bytes(_ value: some FHIRJSONWritable, capacity: Int = 1_024) -> [UInt8] {
        var json = JSONWriter(capacity: capacity)
        value.write(to: &json)
        return json.bytes
    }
}

extension JSONWriter {
    mutating func field(_ name: StaticString, _ value: (some FHIRJSONWritable)?) {
        guard let value else { return }
        key(name)
        value.write(to: &self)
    }

    mutating func field(_ name: StaticString, _ values: [some FHIRJSONWritable]?) {
        guard let values else { return }
        key(name)
        beginArray()
        for v in values { v.write(to: &self) }
        endArray()
    }

    mutating func field(_ name: StaticString, _ values: [String]?) {
        guard let values else { return }
        key(name)
        beginArray()
        for v in values { string(v) }
        endArray()
    }

    mutating func field(_ name: StaticString, _ value: Int?) {
        guard let value else { return }
        key(name)
        int(value)
    }
}

// MARK: - Data types

extension FHIRCoding: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("code", code)
        json.field("display", display)
        json.field("system", system)
        json.endObject()
    }
}

extension FHIRExtension: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("url", url)
        json.field("valueReference", valueReference)
        json.endObject()
    }
}

extension FHIRCodeableConcept: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("coding", coding)
        json.field("extension", self.extension)
        json.field("text", text)
        json.endObject()
    }
}

extension FHIRIdentifier: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("system", system)
        json.field("type", type)
        json.field("value", value)
        json.endObject()
    }
}

extension FHIRReference: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("display", display)
        json.field("identifier", identifier)
        json.field("reference", reference)
        json.endObject()
    }
}

extension FHIRMeta: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("profile", profile)
        json.field("security", security)
        json.endObject()
    }
}

extension FHIRHumanName: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("family", family)
        json.field("given", given)
        json.endObject()
    }
}

extension FHIRContactPoint: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("system", system)
        json.field("value", value)
        json.endObject()
    }
}

extension FHIRAddress: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("city", city)
        json.field("country", country)
        json.field("line", line)
        json.field("postalCode", postalCode)
        json.endObject()
    }
}

extension FHIRPosition: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("latitude")
        json.double(latitude)
        json.key("longitude")
        json.double(longitude)
        json.endObject()
    }
}

// MARK: - Resources

extension FHIRSlot: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("appointmentType", appointmentType)
        json.field("comment", comment)
        json.field("end", end)
        json.field("id", id)
        json.field("meta", meta)
        json.field("resourceType", resourceType)
        json.field("schedule", schedule)
        json.field("serviceType", serviceType)
        json.field("specialty", specialty)
        json.field("start", start)
        json.field("status", status)
        json.endObject()
    }
}

extension FHIRSchedule: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("actor", actor)
        json.field("id", id)
        json.field("meta", meta)
        json.field("resourceType", resourceType)
        json.endObject()
    }
}

extension FHIRPractitioner: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("id", id)
        json.field("identifier", identifier)
        json.field("meta", meta)
        json.field("name", name)
        json.field("resourceType", resourceType)
        json.endObject()
    }
}

extension FHIRLocation: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("address", address)
        json.field("id", id)
        json.field("meta", meta)
        json.field("position", position)
        json.field("resourceType", resourceType)
        json.endObject()
    }
}

extension FHIRPractitionerRole: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("contained", contained)
        json.field("id", id)
        json.field("location", location)
        json.field("meta", meta)
        json.field("organization", organization)
        json.field("practitioner", practitioner)
        json.field("resourceType", resourceType)
        json.field("specialty", specialty)
        json.field("telecom", telecom)
        json.endObject()
    }
}

extension FHIRHealthcareService: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("id", id)
        json.field("meta", meta)
        json.field("name", name)
        json.field("providedBy", providedBy)
        json.field("resourceType", resourceType)
        json.endObject()
    }
}

extension FHIROrganization: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("id", id)
        json.field("identifier", identifier)
        json.field("meta", meta)
        json.field("name", name)
        json.field("resourceType", resourceType)
        json.endObject()
    }
}

extension FHIROperationOutcome.Issue: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("code", code)
        json.field("diagnostics", diagnostics)
        json.field("severity", severity)
        json.endObject()
    }
}

extension FHIROperationOutcome: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("issue", issue)
        json.field("resourceType", resourceType)
        json.endObject()
    }
}

extension FHIRBundle.Link: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("relation", relation)
        json.field("url", url)
        json.endObject()
    }
}

extension FHIRBundle.Search: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("mode", mode)
        json.endObject()
    }
}

extension FHIRBundle.Entry: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("fullUrl", fullUrl)
        json.field("resource", resource)
        json.field("search", search)
        json.endObject()
    }
}

extension FHIRBundle: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("entry", entry)
        json.field("id", id)
        json.field("link", link)
        json.field("meta", meta)
        json.field("resourceType", resourceType)
        json.field("total", total)
        json.field("type", type)
        json.endObject()
    }
}

extension FHIRAppointment.Participant: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("actor", actor)
        json.field("status", status)
        json.endObject()
    }
}

extension FHIRAppointment: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("created", created)
        json.field("end", end)
        json.field("extension", self.extension)
        json.field("identifier", identifier)
        json.field("meta", meta)
        json.field("participant", participant)
        json.field("resourceType", resourceType)
        json.field("start", start)
        json.field("status", status)
        json.endObject()
    }
}

extension FHIRResource: FHIRJSONWritable {
    public func write(to json: inout JSONWriter) {
        switch self {
        case .slot(let r): r.write(to: &json)
        case .schedule(let r): r.write(to: &json)
        case .practitioner(let r): r.write(to: &json)
        case .practitionerRole(let r): r.write(to: &json)
        case .location(let r): r.write(to: &json)
        case .healthcareService(let r): r.write(to: &json)
        case .organization(let r): r.write(to: &json)
        case .operationOutcome(let r): r.write(to: &json)
        // Never inside a Bundle or a resource of ours; `/fhir/metadata` is encoded once.
        case .capabilityStatement(let r): json.value(Array(FHIRJSON.encode(r)))
        case .bundle(let r): r.write(to: &json)
        }
    }
}
