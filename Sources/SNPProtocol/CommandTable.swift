import SNPCore

/// Every command of the protocol (§3.4–§3.9).
public enum CommandName: String, CaseIterable, Sendable {
    case hello, auth, ping, help, quit
    case proPut, proGet, proList, proOff
    case slotAdd, slotDel, slotList, slotFind
    case planAdd, planList, planDel
    case reqAdd, reqConfirm, reqDecline, reqCancel, reqOutcome, reqGet, reqList
    case watch, stats
}

/// One row of the command table: everything the server checks before a handler runs.
public struct CommandSpec: Sendable {
    public let name: CommandName
    public let verb: String
    public let subverb: String?
    /// Positional arguments, e.g. `<id>`; shown by `HELP`.
    public let positionals: [String]
    /// How many positionals are required (the rest are optional).
    public let requiredPositionals: Int
    public let requiredKeys: [String]
    public let optionalKeys: [String]
    /// Who may run it; `nil`: anybody, even before `AUTH`.
    public let roles: Set<Role>?
    /// Whether it changes state (and so needs the database, and waits for its commit).
    public let changesState: Bool
    public let summary: String
    /// `requiredKeys` and `optionalKeys`, made once: every command line is checked against it.
    let allowedKeys: Set<String>

    public var words: String { subverb.map { "\(verb) \($0)" } ?? verb }

    /// `SLOT ADD pro=<rpps> start=<time> end=<time> [mode=…]`: generated, so it cannot drift.
    public var usage: String {
        var parts = [words]
        for (i, p) in positionals.enumerated() { parts.append(i < requiredPositionals ? "<\(p)>" : "[<\(p)>]") }
        parts += requiredKeys.map { "\($0)=…" }
        parts += optionalKeys.map { "[\($0)=…]" }
        return parts.joined(separator: " ")
    }
}

/// The command table (in the manner of Redis's): `HELP`, argument checks and role checks
/// all read it, so adding a command is adding a row.
public enum CommandTable {
    static let everyone: Set<Role>? = nil
    static let admins: Set<Role> = [.admin]
    static let staff: Set<Role> = [.admin, .coordinator]
    static let readers: Set<Role> = [.admin, .coordinator, .reporter]

    public static let all: [CommandSpec] = [
        row(.hello, "HELLO", roles: everyone, "server name and protocol version"),
        row(.auth, "AUTH", positionals: ["token"], required: 1, roles: everyone, "authenticate with a token"),
        row(.ping, "PING", roles: everyone, "liveness check"),
        row(.help, "HELP", roles: everyone, "this list"),
        row(.quit, "QUIT", roles: everyone, "close the connection"),

        row(.proPut, "PRO", "PUT", keys: ["id", "prof", "name", "lat", "lon"],
            optional: [
                "home_radius_km", "weekly_cap", "territory", "address", "city", "postcode", "phone", "given", "family",
                "structure",
            ], roles: staff, changes: true,
            "create or update a professional"),
        row(.proGet, "PRO", "GET", positionals: ["rpps"], required: 1, roles: readers.union([.pro]),
            "show a professional"),
        row(.proList, "PRO", "LIST", optional: ["prof", "territory"], roles: readers, "list professionals"),
        row(.proOff, "PRO", "OFF", positionals: ["rpps"], required: 1, roles: staff, changes: true,
            "deactivate a professional and withdraw their slots"),

        row(.slotAdd, "SLOT", "ADD", keys: ["start", "end"], optional: ["pro", "mode", "capacity", "ref", "kind"],
            roles: staff.union([.pro]), changes: true,
            "publish a slot, or with kind=extra a window of extra capacity (pro= is implied for a pro token)"),
        row(.slotDel, "SLOT", "DEL", positionals: ["id"], required: 1, roles: staff.union([.pro]), changes: true,
            "withdraw a slot; its bookings go back to matching"),
        row(.slotList, "SLOT", "LIST", optional: ["pro", "from", "to", "state", "limit"],
            roles: readers.union([.pro, .regulator]), "list slots"),
        row(.slotFind, "SLOT", "FIND", keys: ["prof", "lat", "lon"],
            optional: ["mode", "within", "radius_km", "limit", "prio"], roles: staff.union([.regulator]),
            "the eligible slots a request would get, best first; books nothing"),

        row(.planAdd, "PLAN", "ADD", keys: ["days", "from", "to"],
            optional: ["pro", "length", "mode", "capacity", "kind", "until"], roles: staff.union([.pro]), changes: true,
            "a weekly plan (Paris times), its slots published as they come within the horizon"),
        row(.planList, "PLAN", "LIST", optional: ["pro"], roles: staff.union([.pro]), "list running plans"),
        row(.planDel, "PLAN", "DEL", positionals: ["id"], required: 1, optional: ["withdraw"],
            roles: staff.union([.pro]), changes: true,
            "stop a plan; withdraw=1 also withdraws its future slots that hold nothing"),

        row(.reqAdd, "REQ", "ADD", keys: ["ref", "prof", "lat", "lon"],
            optional: ["prio", "mode", "within", "radius_km", "hold", "slot", "decide"], roles: [.admin, .regulator],
            changes: true, "submit a request: booked, held, queued, or pending with decide="),
        row(.reqConfirm, "REQ", "CONFIRM", positionals: ["id"], required: 1, roles: [.admin, .regulator],
            changes: true, "held → booked"),
        row(.reqDecline, "REQ", "DECLINE", positionals: ["id"], required: 1, roles: [.admin, .regulator],
            changes: true, "release the slot, never propose it again, match again"),
        row(.reqCancel, "REQ", "CANCEL", positionals: ["id"], required: 1, optional: ["reason"],
            roles: [.admin, .regulator], changes: true, "cancel a request, freeing any slot"),
        row(.reqOutcome, "REQ", "OUTCOME", positionals: ["id"], required: 1, keys: ["result"],
            roles: [.admin, .regulator, .pro], changes: true, "record honored or noshow after the appointment"),
        row(.reqGet, "REQ", "GET", positionals: ["id"], required: 0, optional: ["ref", "owner"],
            roles: readers.union([.regulator, .pro]),
            "show a request (by id, or by ref= of the caller's own; others may add owner=<token name>)"),
        row(.reqList, "REQ", "LIST", optional: ["state", "since", "before", "limit"],
            roles: readers.union([.regulator, .pro]),
            "list requests, newest first: at most limit= (default 1000, at most 100000); before=<req id> for older ones"),

        row(.watch, "WATCH", roles: [.admin, .coordinator, .regulator, .pro], "receive EVENT lines"),
        row(.stats, "STATS", roles: readers, "counters"),
    ]

    private static let byWords: [String: CommandSpec] = Dictionary(uniqueKeysWithValues: all.map { ($0.words, $0) })
    private static let verbs: Set<String> = Set(all.map(\.verb))

    public static func spec(_ name: CommandName) -> CommandSpec { all.first { $0.name == name }! }

    /// Gives a parsed line its command and checked arguments: unknown verbs are
    /// `UNKNOWN_COMMAND`; unknown, repeated or missing keys and wrong positional counts
    /// are `BAD_REQUEST`.
    public static func resolve(_ line: ParsedLine) throws(SNPError) -> (CommandSpec, Arguments) {
        guard case .value(let first) = line.words[0] else {
            throw .unknownCommand("a command starts with a verb, not a key=value")
        }
        let verb = first.uppercased()
        guard verbs.contains(verb) else { throw .unknownCommand("unknown command \"\(first.prefix(40))\"; try HELP") }
        var rest = line.words.dropFirst()
        var spec = byWords[verb]
        if spec == nil {
            guard case .value(let second)? = rest.first, let s = byWords["\(verb) \(second.uppercased())"] else {
                let subs = all.filter { $0.verb == verb }.compactMap(\.subverb).joined(separator: ", ")
                throw .unknownCommand("\(verb) needs one of: \(subs)")
            }
            spec = s
            rest = rest.dropFirst()
        }
        let command = spec!
        var positional: [String] = []
        var named: [String: String] = [:]
        let allowed = command.allowedKeys
        for word in rest {
            switch word {
            case .value(let v):
                positional.append(v)
            case .keyValue(let k, let v):
                guard allowed.contains(k) else {
                    let known = allowed.isEmpty ? "it takes no key=value arguments" : "known keys: \(allowed.sorted().joined(separator: ", "))"
                    throw .badRequest("unknown key \"\(k)\" for \(command.words); \(known)")
                }
                guard named[k] == nil else { throw .badRequest("key \"\(k)\" given twice") }
                named[k] = v
            }
        }
        if let missing = command.requiredKeys.first(where: { named[$0] == nil }) {
            throw .badRequest("missing \(missing)=…; usage: \(command.usage)")
        }
        guard positional.count >= command.requiredPositionals, positional.count <= command.positionals.count else {
            throw .badRequest("wrong number of arguments; usage: \(command.usage)")
        }
        return (command, Arguments(positional: positional, named: named))
    }

    private static func row(
        _ name: CommandName, _ verb: String, _ subverb: String? = nil, positionals: [String] = [], required: Int = 0,
        keys: [String] = [], optional: [String] = [], roles: Set<Role>?, changes: Bool = false, _ summary: String
    ) -> CommandSpec {
        CommandSpec(
            name: name, verb: verb, subverb: subverb, positionals: positionals, requiredPositionals: required,
            requiredKeys: keys, optionalKeys: optional, roles: roles, changesState: changes, summary: summary,
            allowedKeys: Set(keys + optional))
    }
}
