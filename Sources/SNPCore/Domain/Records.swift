import Foundation

/// A health professional who volunteers slots for unscheduled care.
public struct Professional: Sendable, Equatable, Codable {
    public var rpps: RPPS
    public var profession: Profession
    public var name: String
    /// The practice: where `office` patients go, and where `home` visits start from.
    public var location: GeoPoint
    /// How far they travel for home visits; `nil` means the policy's default (10 km).
    public var homeRadiusKm: Double?
    /// The most SAS bookings they accept per ISO week; `nil` means no cap.
    public var weeklyCap: Int?
    public var territory: String?
    /// The practice's address and phone, and the name split as the SAS platform shows it.
    public var contact: PracticeContact
    public var active: Bool
    public var updatedAt: Date

    public init(
        rpps: RPPS, profession: Profession, name: String, location: GeoPoint, homeRadiusKm: Double? = nil,
        weeklyCap: Int? = nil, territory: String? = nil, contact: PracticeContact = PracticeContact(),
        active: Bool = true, updatedAt: Date
    ) {
        self.rpps = rpps
        self.profession = profession
        self.name = name
        self.location = location
        self.homeRadiusKm = homeRadiusKm
        self.weeklyCap = weeklyCap
        self.territory = territory
        self.contact = contact
        self.active = active
        self.updatedAt = updatedAt
    }
}

/// What the national SAS platform shows of a professional besides their slots (§3.6, §7.2):
/// optional in the line protocol, needed by the FHIR interface. A professional without a
/// complete contact (`isComplete`) is left out of FHIR answers.
public struct PracticeContact: Sendable, Equatable, Codable {
    /// The practice's street address (one line).
    public var address: String?
    public var city: String?
    /// Five digits.
    public var postcode: String?
    /// `+33` and nine digits.
    public var phone: String?
    public var given: String?
    public var family: String?
    /// The structure they practise in, as a prefixed IDNST identifier: `1` + FINESS,
    /// `3` + SIRET or `4` + RPPS-rang.
    public var structure: String?

    public init(
        address: String? = nil, city: String? = nil, postcode: String? = nil, phone: String? = nil,
        given: String? = nil, family: String? = nil, structure: String? = nil
    ) {
        self.address = address
        self.city = city
        self.postcode = postcode
        self.phone = phone
        self.given = given
        self.family = family
        self.structure = structure
    }

    /// Everything the FHIR answer needs (the structure is optional there too).
    public var isComplete: Bool {
        address != nil && city != nil && postcode != nil && phone != nil && given != nil && family != nil
    }

    /// Whether `text` is a French postcode: five digits.
    public static func isPostcode(_ text: String) -> Bool {
        text.utf8.count == 5 && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// Whether `text` is a French phone number in international form: `+33` and nine digits.
    public static func isPhone(_ text: String) -> Bool {
        let u = Array(text.utf8)
        return u.count == 12 && text.hasPrefix("+33") && u[3...].allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// Whether `text` is a prefixed IDNST structure identifier: `1` + a FINESS (9 characters,
    /// digits, or `2A`/`2B` for Corsica), `3` + a SIRET (14 digits), `4` + an RPPS and a rank
    /// (12 to 20 digits).
    public static func isStructure(_ text: String) -> Bool {
        let u = Array(text.utf8)
        guard let kind = u.first else { return false }
        let rest = u.dropFirst()
        let digits = rest.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        switch kind {
        case UInt8(ascii: "1"):
            return rest.count == 9 && rest.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "A") || $0 == UInt8(ascii: "B") }
        case UInt8(ascii: "3"): return rest.count == 14 && digits
        case UInt8(ascii: "4"): return (12...20).contains(rest.count) && digits
        default: return false
        }
    }
}

/// A server-assigned identifier, written `s42` for slots and `r42` for requests. The number
/// gives the tie-break "smaller slot id" of §4.2 and the arrival order of the queue.
public struct RecordID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let number: Int64
    public let prefix: Character

    public init(_ prefix: Character, _ number: Int64) {
        self.prefix = prefix
        self.number = number
    }

    public static func slot(_ n: Int64) -> RecordID { RecordID("s", n) }
    public static func request(_ n: Int64) -> RecordID { RecordID("r", n) }
    public static func plan(_ n: Int64) -> RecordID { RecordID("p", n) }

    /// Reads an id the server gave out; `nil` if `text` is not of that shape.
    public init?(parsing text: String, prefix: Character) {
        guard text.first == prefix, text.count >= 2, text.count <= 19,
            let n = Int64(text.dropFirst()), n > 0, !text.dropFirst().hasPrefix("+")
        else { return nil }
        self.init(prefix, n)
    }

    /// `s42`: the prefix and the number's digits, written into one small buffer (the FHIR
    /// search writes 700 of them per answer; string interpolation was 2 % of the search,
    /// docs/PERFORMANCE.md). Identical to `"\(prefix)\(number)"` (`FormattingTests`).
    public var description: String {
        // A one-byte character is ASCII (`asciiValue` walks the grapheme: half the cost).
        let utf8 = prefix.utf8
        guard utf8.count == 1, let ascii = utf8.first, number >= 0 else { return "\(prefix)\(number)" }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { b in
            var n = number
            var i = b.count
            repeat {
                i -= 1
                b[i] = UInt8(truncatingIfNeeded: 48 + n % 10)
                n /= 10
            } while n > 0
            i -= 1
            b[i] = ascii
            return String(decoding: UnsafeBufferPointer(rebasing: b[i...]), as: UTF8.self)
        }
    }
    public static func < (a: Self, b: Self) -> Bool { a.number < b.number }

    public func hash(into hasher: inout Hasher) { hasher.combine(number) }
    public static func == (a: Self, b: Self) -> Bool { a.number == b.number && a.prefix == b.prefix }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let first = text.first, let id = RecordID(parsing: text, prefix: first) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: text))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

public typealias SlotID = RecordID
public typealias RequestID = RecordID
public typealias PlanID = RecordID

/// A period a professional offers for unscheduled care (créneau SNP).
public struct Slot: Sendable, Equatable, Codable {
    public var id: SlotID
    public var pro: RPPS
    /// Copied from the professional at publication; a professional with future slots cannot
    /// change profession, so it stays true.
    public var profession: Profession
    public var start: Date
    public var end: Date
    public var mode: SlotMode
    /// How many patients it takes (a GP may see two in one half-hour).
    public var capacity: Int
    /// The publisher's idempotency key: the same `ref` again returns this slot.
    public var ref: String?
    public var createdAt: Date
    /// Set when withdrawn (`SLOT DEL`, `PRO OFF`); withdrawn slots are kept for history.
    public var withdrawnAt: Date?
    /// A regular slot, or a window of extra capacity (surnuméraire, §3.7).
    public var kind: SlotKind

    public init(
        id: SlotID, pro: RPPS, profession: Profession, start: Date, end: Date, mode: SlotMode, capacity: Int,
        ref: String?, createdAt: Date, withdrawnAt: Date? = nil, kind: SlotKind = .regular
    ) {
        self.id = id
        self.pro = pro
        self.profession = profession
        self.start = start
        self.end = end
        self.mode = mode
        self.capacity = capacity
        self.ref = ref
        self.createdAt = createdAt
        self.withdrawnAt = withdrawnAt
        self.kind = kind
    }

    public var isWithdrawn: Bool { withdrawnAt != nil }
    public var isExtra: Bool { kind == .extra }
    /// The ISO week (Europe/Paris) its bookings count against for weekly caps and load.
    public var week: Int { ParisTime.isoWeek(at: start) }
}

/// What a slot offers (§3.7).
public enum SlotKind: String, CaseIterable, Sendable, Codable {
    /// An appointment at a time: `start` to `end`, `capacity` patients.
    case regular
    /// Extra capacity (surnuméraire): a window in which the professional takes up to
    /// `capacity` patients sent by the regulation beyond their slots. Matched only when no
    /// regular slot is eligible; a patient booked on it may come from
    /// `max(window start, now + lead)` until the window's end.
    case extra
}

/// Where a request stands (§3.8).
public enum RequestState: String, CaseIterable, Sendable, Codable {
    /// Asked with `decide=`: no place yet, decided with the other pending requests by
    /// `decideBy` at the latest (booked, or queued if nothing is eligible then).
    case pending
    /// Waiting in the priority queue for capacity.
    case queued
    /// A slot is reserved until `holdUntil`, waiting for the regulator's `REQ CONFIRM`.
    case held
    case booked
    /// The patient was seen (honoré).
    case honored
    /// The patient did not come.
    case noshow
    /// The deadline passed while queued.
    case expired
    case cancelled

    /// States in which the request takes a place on its slot.
    public var occupiesSlot: Bool {
        switch self {
        case .held, .booked, .honored, .noshow: true
        case .pending, .queued, .expired, .cancelled: false
        }
    }

    /// States no command leaves.
    public var isFinal: Bool {
        switch self {
        case .honored, .noshow, .expired, .cancelled: true
        case .pending, .queued, .held, .booked: false
        }
    }
}

/// What a regulator asked for: the content that makes a retry with the same `ref` the same
/// request (§3.8). Defaults are kept as `nil`, so that equality compares what was sent.
public struct RequestSpec: Sendable, Equatable, Codable {
    /// The regulator's case reference (numéro de dossier de régulation): never a patient name.
    public var ref: String
    public var profession: Profession
    /// 1 most urgent, 3 least.
    public var priority: Int
    public var modes: ModeSet
    /// Approximate location of the patient.
    public var location: GeoPoint
    /// Seconds from creation within which the patient must be seen (the 48-hour window or less).
    public var withinSeconds: Int
    public var radiusKm: Double?
    /// Ask for a hold of this many seconds instead of a direct booking.
    public var holdSeconds: Int?
    /// A specific slot chosen from `SLOT FIND`.
    public var slot: SlotID?
    /// `decide=`: the regulator will call back, so the answer may wait this many seconds
    /// (the request is `pending` until then, decided with the other pending ones).
    public var decideSeconds: Int?

    public init(
        ref: String, profession: Profession, priority: Int = 2, modes: ModeSet = .inPerson, location: GeoPoint,
        withinSeconds: Int = 48 * 3600, radiusKm: Double? = nil, holdSeconds: Int? = nil, slot: SlotID? = nil,
        decideSeconds: Int? = nil
    ) {
        self.ref = ref
        self.profession = profession
        self.priority = priority
        self.modes = modes
        self.location = location
        self.withinSeconds = withinSeconds
        self.radiusKm = radiusKm
        self.holdSeconds = holdSeconds
        self.slot = slot
        self.decideSeconds = decideSeconds
    }
}

/// The slot a request occupies or last occupied, with how it was chosen.
public struct Assignment: Sendable, Equatable, Codable {
    public var slot: SlotID
    public var pro: RPPS
    public var start: Date
    public var end: Date
    public var mode: SlotMode
    public var distanceKm: Double
    public var cost: Double
    /// When it got this slot.
    public var at: Date
    /// The kind of the slot: on extra capacity, `start` is the earliest moment the patient
    /// may come and `end` the window's end. (Not stored with the request: the slot says it.)
    public var kind: SlotKind

    public init(
        slot: SlotID, pro: RPPS, start: Date, end: Date, mode: SlotMode, distanceKm: Double, cost: Double, at: Date,
        kind: SlotKind = .regular
    ) {
        self.slot = slot
        self.pro = pro
        self.start = start
        self.end = end
        self.mode = mode
        self.distanceKm = distanceKm
        self.cost = cost
        self.at = at
        self.kind = kind
    }
}

/// An unscheduled-care request (demande de soins non programmés) from a SAS regulator.
public struct CareRequest: Sendable, Equatable, Codable {
    public var id: RequestID
    public var spec: RequestSpec
    /// The name of the token that created it: a regulator sees only its own requests.
    public var owner: String
    public var createdAt: Date
    public var deadline: Date
    public var state: RequestState
    /// The slot it takes a place on: set exactly while `state.occupiesSlot`. Who may see the
    /// request through its slot (the professional) is decided by it, so a request that left
    /// its slot (declined, withdrawn, cancelled, lapsed) no longer carries it.
    public var assignment: Assignment?
    /// The slot it last had, once it left it: for the report and the store only (§5 counts a
    /// request booked even if it was later moved, with that appointment's delay). Never
    /// shown, and it gives nobody a view of the request.
    public var formerAssignment: Assignment?
    public var holdUntil: Date?
    /// For a request asked with `decide=`: when it is decided at the latest (creation plus
    /// `decide`). Kept once decided, as history.
    public var decideBy: Date?
    /// The first time it reached `booked` (the ACI counts a request once booked, whatever follows).
    public var bookedAt: Date?
    /// Slots this request declined: never proposed to it again.
    public var declined: [SlotID]
    /// Why it was cancelled (`hold_expired`, `slot_withdrawn`…, or the regulator's words).
    public var reason: String?
    /// When it reached a final state.
    public var closedAt: Date?
    public var updatedAt: Date

    public init(id: RequestID, spec: RequestSpec, owner: String, createdAt: Date, deadline: Date) {
        self.id = id
        self.spec = spec
        self.owner = owner
        self.createdAt = createdAt
        self.deadline = deadline
        self.state = .queued
        self.assignment = nil
        self.formerAssignment = nil
        self.holdUntil = nil
        self.decideBy = nil
        self.bookedAt = nil
        self.declined = []
        self.reason = nil
        self.closedAt = nil
        self.updatedAt = createdAt
    }

    /// The slot it takes a place on now, if any.
    public var occupiedSlot: SlotID? { state.occupiesSlot ? assignment?.slot : nil }

    /// The slot it has, else the one it last had: what the store writes (for the report).
    public var lastAssignment: Assignment? { assignment ?? formerAssignment }

    /// Leaves its slot (the caller sets the new state): the assignment is kept only as
    /// `formerAssignment`.
    public mutating func leaveSlot() {
        guard let a = assignment else { return }
        formerAssignment = a
        assignment = nil
    }
}
