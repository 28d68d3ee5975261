import Foundation

/// The days of the week a plan covers (§3.10), Monday to Sunday.
public struct Weekdays: Sendable, Equatable, Hashable {
    /// Bit `d - 1` for ISO weekday `d` (Monday = 1).
    public var bits: UInt8

    public init(bits: UInt8) { self.bits = bits & 0x7F }

    public static let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    /// Parses `mon,tue,…` (any case, any order, repeats allowed); `nil` for an empty list or
    /// an unknown day.
    public init?(parsing text: String) {
        var bits: UInt8 = 0
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let i = Weekdays.names.firstIndex(of: part.lowercased()) else { return nil }
            bits |= 1 << UInt8(i)
        }
        guard bits != 0 else { return nil }
        self.bits = bits
    }

    public func contains(weekday: Int) -> Bool { (1...7).contains(weekday) && bits & (1 << UInt8(weekday - 1)) != 0 }

    /// `mon,wed,fri`, Monday first.
    public var description: String {
        (1...7).filter { contains(weekday: $0) }.map { Weekdays.names[$0 - 1] }.joined(separator: ",")
    }
}

/// What `PLAN ADD` carries (§3.10).
public struct PlanDraft: Sendable, Equatable {
    public var pro: RPPS
    public var days: Weekdays
    /// Minutes after local midnight, Europe/Paris.
    public var from: Int
    public var to: Int
    /// Regular slots: each slot's length, in seconds (whole minutes); `nil`: one slot for
    /// the whole span. Never set for extra capacity.
    public var lengthSeconds: Int?
    public var mode: SlotMode
    public var capacity: Int
    public var kind: SlotKind
    /// The last day (Paris day number), inclusive; `nil`: no end.
    public var until: Int?

    public init(
        pro: RPPS, days: Weekdays, from: Int, to: Int, lengthSeconds: Int? = nil, mode: SlotMode = .office,
        capacity: Int = 1, kind: SlotKind = .regular, until: Int? = nil
    ) {
        self.pro = pro
        self.days = days
        self.from = from
        self.to = to
        self.lengthSeconds = lengthSeconds
        self.mode = mode
        self.capacity = capacity
        self.kind = kind
        self.until = until
    }
}

/// A professional's weekly availability (§3.10), published for them day after day: each of
/// its slots is published as `SLOT ADD` would, with `ref=plan-<id>-<YYYYMMDD>-<HHMM>`
/// (Paris local date and time), as soon as its start comes within the horizon.
public struct Plan: Sendable, Equatable {
    public var id: PlanID
    public var draft: PlanDraft
    public var createdAt: Date
    /// Set by `PLAN DEL`: nothing more is published.
    public var deletedAt: Date?
    /// How far publication has gone: every occurrence whose local start (Paris day number
    /// × 1440 + minute) is at or before it has been published or skipped. Written with the
    /// slots it published, in the same commit, so that a crash never publishes twice.
    public var cursor: Int
    public var published: Int
    public var skipped: Int
    public var updatedAt: Date

    public init(
        id: PlanID, draft: PlanDraft, createdAt: Date, deletedAt: Date? = nil, cursor: Int, published: Int = 0,
        skipped: Int = 0, updatedAt: Date
    ) {
        self.id = id
        self.draft = draft
        self.createdAt = createdAt
        self.deletedAt = deletedAt
        self.cursor = cursor
        self.published = published
        self.skipped = skipped
        self.updatedAt = updatedAt
    }

    public var isRunning: Bool { deletedAt == nil }
    public var pro: RPPS { draft.pro }

    /// One slot (or extra window) of the plan on one day, in Paris local minutes.
    public struct Occurrence: Sendable, Equatable {
        public var day: Int
        public var from: Int
        public var to: Int
        /// The cursor position of this occurrence.
        public var position: Int { day * 1440 + from }
    }

    /// The occurrences of `day`, in order: none if the day is not in the plan or after
    /// `until`. Regular: the span cut into consecutive slots of `length` (a remainder
    /// shorter than `length` is left out); extra: one window.
    public func occurrences(on day: Int) -> [Occurrence] {
        let d = draft
        guard d.days.contains(weekday: ParisTime.weekday(day)), d.until.map({ day <= $0 }) ?? true else { return [] }
        guard d.kind == .regular, let length = d.lengthSeconds.map({ $0 / 60 }), length > 0 else {
            return [Occurrence(day: day, from: d.from, to: d.to)]
        }
        var out: [Occurrence] = []
        var start = d.from
        while start + length <= d.to {
            out.append(Occurrence(day: day, from: start, to: start + length))
            start += length
        }
        return out
    }

    /// The idempotency key of an occurrence's slot: `plan-<id>-<YYYYMMDD>-<HHMM>`.
    public func ref(of o: Occurrence) -> String {
        let date = ParisTime.dayString(o.day).replacingOccurrences(of: "-", with: "")
        return "plan-\(id)-\(date)-" + String(format: "%02d%02d", o.from / 60, o.from % 60)
    }

    /// The first occurrence after the cursor, looking at most two weeks ahead of it (a plan
    /// has one each week unless `until` has passed).
    public func nextOccurrence() -> Occurrence? {
        let first = Civil.floorDiv(cursor, 1440)
        for day in first...(first + 14) {
            if let until = draft.until, day > until { return nil }
            if let o = occurrences(on: day).first(where: { $0.position > cursor }) { return o }
        }
        return nil
    }

    /// When an occurrence is due: when its start comes within the horizon. A start that
    /// does not exist (the spring change) is due as if in winter time (then skipped).
    static func startInstant(_ o: Occurrence) -> Int64 { wallInstant(day: o.day, minute: o.from) }

    /// A Paris local time as an instant (`ParisTime.instant`), and one that does not exist
    /// (the spring change) read with the winter offset, as a clock not yet moved would show it.
    static func wallInstant(day: Int, minute: Int) -> Int64 {
        ParisTime.instant(day: day, minute: minute) ?? (Int64(day) * 86_400 + Int64(minute) * 60 - 3_600)
    }

    /// `HH:MM` of minutes after midnight.
    public static func clock(_ minutes: Int) -> String { String(format: "%02d:%02d", minutes / 60, minutes % 60) }

    /// Parses `HH:MM` (00:00 to 23:59, and 24:00 with `endOfDay`, the midnight that ends
    /// the day) into minutes after midnight.
    public static func minutes(parsing text: String, endOfDay: Bool = false) -> Int? {
        if endOfDay, text == "24:00" { return 1440 }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
            parts.allSatisfy({ $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
            let h = Int(parts[0]), let m = Int(parts[1]), h < 24, m < 60
        else { return nil }
        return h * 60 + m
    }
}
