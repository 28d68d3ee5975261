import Foundation

/// A failed FHIR request: the HTTP status and the `OperationOutcome` that explains it
/// (SPEC §7.2: `400` bad parameters, `401`, `403`, `404`, `503`).
public struct FHIRError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 400, 401, 403, 404, 503 (any status is kept as given).
    public var status: Int
    /// What went wrong, for a person: also the OperationOutcome's `diagnostics`.
    public var message: String

    public init(status: Int, message: String) {
        self.status = status
        self.message = message
    }

    public static func badRequest(_ message: String) -> FHIRError { FHIRError(status: 400, message: message) }
    public static func unauthorized(_ message: String = "authentication required: a client certificate, or Authorization: Bearer <token> of a regulator, coordinator or admin") -> FHIRError {
        FHIRError(status: 401, message: message)
    }
    public static func forbidden(_ message: String) -> FHIRError { FHIRError(status: 403, message: message) }
    public static func notFound(_ message: String) -> FHIRError { FHIRError(status: 404, message: message) }
    public static func unavailable(_ message: String) -> FHIRError { FHIRError(status: 503, message: message) }

    /// The IssueType code of the status (http://hl7.org/fhir/R4/valueset-issue-type.html).
    public var issueCode: String {
        switch status {
        case 400: "invalid"
        case 401: "login"
        case 403: "forbidden"
        case 404: "not-found"
        case 405: "not-supported"
        case 406: "not-supported"
        case 503: "transient"
        case 500...: "exception"
        default: "processing"
        }
    }

    public var outcome: FHIROperationOutcome {
        FHIROperationOutcome(issue: [.init(severity: "error", code: issueCode, diagnostics: message)])
    }

    /// The body to send with `status`, as `application/fhir+json`.
    public var body: Data { FHIRJSON.encode(outcome) }

    public var description: String { "\(status) \(message)" }
}
