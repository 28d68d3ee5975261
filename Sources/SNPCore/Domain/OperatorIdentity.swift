import Foundation

/// Who booked, as the SAS platform knows them (the `FrAppointmentOperator` extension of
/// the IG's `FrAppointmentSAS`): a regulator's national identifier, `IDNPS:` followed by
/// `8` and their 11-digit RPPS, or the SAS's internal identifier of their account,
/// `INTRN:` followed by a UUID (lower case). Set on a token by `snpd token add --operator`.
public struct OperatorIdentity: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Identifiant national de personne de santé: `8` + RPPS.
        case idnps = "IDNPS"
        /// Identifiant interne de la plateforme SAS (FrPractitionerRegul's `IdentifiantInterne`).
        case intrn = "INTRN"
    }

    public let kind: Kind
    public let value: String

    /// Parses `IDNPS:8<RPPS>` or `INTRN:<uuid>`, with a reason a person understands.
    public init(validating text: String) throws(SNPError) {
        guard let colon = text.firstIndex(of: ":"), let kind = Kind(rawValue: String(text[..<colon])) else {
            throw .badRequest("an operator identity is IDNPS:8<RPPS> or INTRN:<SAS uuid>, got \"\(text.prefix(60))\"")
        }
        let value = String(text[text.index(after: colon)...])
        switch kind {
        case .idnps:
            guard value.utf8.count == 12, value.first == "8" else {
                throw .badRequest("IDNPS: takes 8 followed by the 11-digit RPPS (12 digits), got \"\(value.prefix(40))\"")
            }
            _ = try RPPS(validating: String(value.dropFirst()))
            self.value = value
        case .intrn:
            guard let uuid = UUID(uuidString: value) else {
                throw .badRequest("INTRN: takes the SAS account's UUID, got \"\(value.prefix(40))\"")
            }
            self.value = uuid.uuidString.lowercased()
        }
        self.kind = kind
    }

    /// `IDNPS:8…` or `INTRN:…`, as stored and shown.
    public var description: String { "\(kind.rawValue):\(value)" }
}
