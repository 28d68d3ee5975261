/// Every failure a command can meet, one case per `ERR` code of the line protocol (§3.3).
///
/// The engine, the store and the server all throw this type, so a failure keeps its code
/// from where it is detected to where it is written on the wire.
public enum SNPError: Error, Equatable, Sendable {
    /// Syntax, a missing or invalid argument.
    case badRequest(String)
    case unknownCommand(String)
    /// Not authenticated, or a bad token.
    case noAuth(String)
    /// The role may not do this, or not on this object.
    case forbidden(String)
    case notFound(String)
    /// The state forbids it: overlap, already booked, wrong state, same `ref` with other content.
    case conflict(String)
    case tooLong(String)
    /// Overloaded or rate limited; retry later.
    case busy(String)
    /// The database is unreachable; nothing was changed; retry.
    case unavailable(String)
    case `internal`(String)

    /// The protocol's code word, as written after `ERR`.
    public var code: String {
        switch self {
        case .badRequest: "BAD_REQUEST"
        case .unknownCommand: "UNKNOWN_COMMAND"
        case .noAuth: "NO_AUTH"
        case .forbidden: "FORBIDDEN"
        case .notFound: "NOT_FOUND"
        case .conflict: "CONFLICT"
        case .tooLong: "TOO_LONG"
        case .busy: "BUSY"
        case .unavailable: "UNAVAILABLE"
        case .internal: "INTERNAL"
        }
    }

    /// The sentence for a person, written after the code.
    public var message: String {
        switch self {
        case .badRequest(let m), .unknownCommand(let m), .noAuth(let m), .forbidden(let m),
            .notFound(let m), .conflict(let m), .tooLong(let m), .busy(let m),
            .unavailable(let m), .internal(let m):
            m
        }
    }
}
