import Foundation
import SNPCore

/// The Appointment of the SAS feed (INT_R03), profile `FrAppointmentSAS` of the IG
/// (`input/fsh/profiles/FrAppointmentSAS.fsh`); docs/FHIR.md says how each element is filled.
public struct FHIRAppointment: Codable, Sendable, Equatable {
    public struct Participant: Codable, Sendable, Equatable {
        public var actor: FHIRReference
        /// `accepted`: the professional published the slot, so the booking needs no approval.
        public var status: String
    }

    public var resourceType = "Appointment"
    public var meta: FHIRMeta?
    public var `extension`: [FHIRExtension]?
    public var identifier: [FHIRIdentifier]
    /// `booked`, `fulfilled`, `noshow` or `cancelled`.
    public var status: String
    public var start: String
    public var end: String
    public var created: String?
    public var participant: [Participant]
}

/// Turns the engine's changes into the feed's messages (SPEC §8): pure, no I/O.
///
/// A request that becomes `booked` (directly, by `REQ CONFIRM`, from the queue) has a new
/// appointment: a `POST`. Every later change of that appointment is a `PUT` of the full
/// resource: `fulfilled` (`REQ OUTCOME result=honored`), `noshow`, `cancelled` (cancelled,
/// declined, or moved off a withdrawn slot: the move is the old appointment cancelled and,
/// once booked on the new slot, a new appointment). A hold sends nothing.
public struct AppointmentFeed: Sendable {
    public static let profile = "http://sas.fr/fhir/StructureDefinition/FrAppointmentSAS"
    public static let operatorExtension = "http://interopsante.org/fhir/StructureDefinition/FrAppointmentOperator"
    /// INTRN: the SAS platform's internal identifiers (FrPractitionerRegul's `IdentifiantInterne`).
    public static let intrnSystem = "urn:oid:1.2.250.1.213.3.6"

    /// `SNPD_APPOINTMENT_SYSTEM`: the URI of our appointment identifiers.
    public var system: String

    public init(system: String) { self.system = system }

    /// The messages reporting `changes`, in order, and how many bookings were not reported
    /// because their request's token has no operator identity (`operatorOf` says, by token name).
    public func messages(
        for changes: [Change], operatorOf: (String) -> OperatorIdentity?
    ) -> (messages: [FeedMessage], skipped: Int) {
        var out: [FeedMessage] = []
        var skipped = 0
        for change in changes {
            guard case .request(let old, let new) = change else { continue }
            let before = old.flatMap { r in r.appointmentKey.map { (key: $0, request: r) } }
            let after = new.appointmentKey
            guard before != nil || after != nil else { continue }
            guard let op = operatorOf(new.owner) else {
                if let after, after != before?.key { skipped += 1 }
                continue
            }
            if let before, before.key != after {
                out.append(message(before.request, status: "cancelled", method: .put, operator: op))
            }
            if let after {
                if after != before?.key {
                    out.append(message(new, status: Self.status(new.state), method: .post, operator: op))
                } else if old?.state != new.state {
                    out.append(message(new, status: Self.status(new.state), method: .put, operator: op))
                }
            }
        }
        return (out, skipped)
    }

    static func status(_ state: RequestState) -> String {
        switch state {
        case .honored: "fulfilled"
        case .noshow: "noshow"
        default: "booked"
        }
    }

    private func message(_ r: CareRequest, status: String, method: FeedMessage.Method, operator op: OperatorIdentity)
        -> FeedMessage
    {
        FeedMessage(appointment: r.appointmentKey!, method: method, body: Self.json(appointment(r, status: status, operator: op)))
    }

    /// The Appointment as `FHIRJSON.encode` writes it (keys sorted, slashes not escaped:
    /// the same bytes, `AppointmentFeedTests` checks it), written by its `FHIRJSONWritable`
    /// conformance: this runs on the service's actor for every booking, and `JSONEncoder`
    /// costs several times more (docs/PERFORMANCE.md, change 14, for the commit's rows).
    static func json(_ a: FHIRAppointment) -> String {
        String(decoding: FHIRJSON.bytes(a), as: UTF8.self)
    }

    /// The full resource of `r`'s current appointment (it must have one) with `status`.
    public func appointment(_ r: CareRequest, status: String, operator op: OperatorIdentity) -> FHIRAppointment {
        let a = r.assignment!
        // When it was booked on this slot: a confirmed hold, when confirmed; a request moved
        // to another slot, when moved.
        let created = max(r.bookedAt ?? a.at, a.at)
        let typeSystem = SASCode.identifierType
        let operatorIdentifier = FHIRIdentifier(
            type: FHIRCodeableConcept(system: typeSystem, code: op.kind.rawValue),
            system: op.kind == .idnps ? SASCode.idnpsSystem : Self.intrnSystem, value: op.value)
        return FHIRAppointment(
            meta: FHIRMeta(profile: [Self.profile]),
            extension: [
                FHIRExtension(url: Self.operatorExtension, valueReference: FHIRReference(identifier: operatorIdentifier))
            ],
            identifier: [FHIRIdentifier(system: system, value: r.appointmentKey!)],
            status: status,
            start: FHIRTime.format(a.start), end: FHIRTime.format(a.end), created: FHIRTime.format(created),
            participant: [
                FHIRAppointment.Participant(
                    actor: FHIRReference(
                        identifier: FHIRIdentifier(
                            type: FHIRCodeableConcept(system: typeSystem, code: "IDNPS"), system: SASCode.idnpsSystem,
                            value: "8" + a.pro.value)),
                    status: "accepted")
            ])
    }
}
