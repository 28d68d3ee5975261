import Foundation

/// One message of the SAS appointment feed (SPEC §8), as the outbox keeps it until the SAS
/// platform has accepted it: which appointment, how to send it, and the full Appointment
/// resource (FHIR JSON, no patient identity).
public struct FeedMessage: Sendable, Equatable {
    public enum Method: String, Sendable {
        /// The appointment is new: `POST <base>/Appointment`.
        case post = "POST"
        /// A later change: `PUT <base>/Appointment?identifier=<system>|<value>` (conditional update).
        case put = "PUT"
    }

    /// The value of the Appointment's identifier (`CareRequest.appointmentKey`).
    public var appointment: String
    public var method: Method
    /// The Appointment, as JSON.
    public var body: String

    public init(appointment: String, method: Method, body: String) {
        self.appointment = appointment
        self.method = method
        self.body = body
    }
}

extension CareRequest {
    /// The value of the identifier of the SAS appointment this request holds now, `nil`
    /// unless it is booked (or was, and its outcome is recorded): `<request id>-<slot id>`,
    /// e.g. `r12-s34`. Stable for that appointment; a request moved to another slot has a
    /// new appointment, with a new identifier. A hold is not an appointment.
    public var appointmentKey: String? {
        guard let a = assignment, state == .booked || state == .honored || state == .noshow else { return nil }
        return "\(id)-\(a.slot)"
    }
}
