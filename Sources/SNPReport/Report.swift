import Foundation
import SNPCore

/// A reporting period: whole Paris days, `from` to `to` inclusive.
public struct ReportPeriod: Sendable, Equatable {
    /// Days since 1970-01-01 of the Paris calendar.
    public var fromDay: Int
    public var toDay: Int

    public init(fromDay: Int, toDay: Int) {
        self.fromDay = fromDay
        self.toDay = toDay
    }

    /// `YYYY-MM-DD` to `YYYY-MM-DD`, inclusive.
    public init(from: String, to: String) throws {
        guard let f = ParisTime.dayNumber(parsing: from) else { throw ReportError("invalid day \(from) (expected YYYY-MM-DD)") }
        guard let t = ParisTime.dayNumber(parsing: to) else { throw ReportError("invalid day \(to) (expected YYYY-MM-DD)") }
        guard t >= f else { throw ReportError("--to \(to) is before --from \(from)") }
        guard t - f <= 3660 else { throw ReportError("a period is at most ten years") }
        self.init(fromDay: f, toDay: t)
    }

    /// The Paris day before the one containing `now`: what the nightly timer reports.
    public static func yesterday(now: Date) -> ReportPeriod {
        let d = ParisTime.dayNumber(at: now.epochSeconds) - 1
        return ReportPeriod(fromDay: d, toDay: d)
    }

    /// First instant of the period (Paris midnight, whatever the offset that day).
    public var start: Date { Date(epochSeconds: ParisTime.startOfDay(dayNumber: fromDay)) }
    /// First instant after the period.
    public var end: Date { Date(epochSeconds: ParisTime.startOfDay(dayNumber: toDay + 1)) }
    public var from: String { ParisTime.dayString(fromDay) }
    public var to: String { ParisTime.dayString(toDay) }
    public var isSingleDay: Bool { fromDay == toDay }
}

public struct ReportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// The indicators of one territory × profession (either may be `all`).
public struct ScopeFigures: Codable, Sendable, Equatable {
    public var territory: String
    public var profession: String
    public var indicators: Indicators
}

/// Bookings of one professional in one ISO week: the SAS fee is capped at 20 a week.
public struct WeekCount: Codable, Sendable, Equatable {
    public var pro: String
    public var name: String
    public var territory: String
    /// `2026-W48`.
    public var week: String
    public var bookings: Int
    public var over_cap: Bool
}

/// The 48-hour rate of a past day, from the stored runs (for the trend chart). A day with
/// no request has no rate: `null` in JSON, a gap in the chart (not a fall to 0 %).
public struct DayRate: Codable, Sendable, Equatable {
    public var day: String
    public var rate_48h: Double?
    public var requests: Int

    public init(day: String, rate_48h: Double?, requests: Int) {
        self.day = day
        self.rate_48h = rate_48h
        self.requests = requests
    }

    enum CodingKeys: String, CodingKey { case day, rate_48h, requests }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(day, forKey: .day)
        try c.encode(rate_48h, forKey: .rate_48h)  // `null` when there was no request
        try c.encode(requests, forKey: .requests)
    }
}

/// Counts of booked requests by delay between creation and appointment.
public struct DelayBucket: Codable, Sendable, Equatable {
    public var label: String
    public var count: Int
}

/// A whole report, as written to JSON (field names are stable; see docs/REPORT.md).
public struct Report: Codable, Sendable {
    public var period_from: String
    public var period_to: String
    public var timezone = "Europe/Paris"
    /// The territory asked for, or `all`.
    public var territory: String
    public var generated_at: String
    public var version: String
    public var weekly_cap = 20
    public var target_rate_48h: Double
    /// Every territory × profession, each territory's `all`, and `all` × `all` last.
    public var scopes: [ScopeFigures]
    public var sas_week_counts: [WeekCount]
    public var delay_distribution: [DelayBucket]
    /// The 48-hour rate of each of the last 30 days with a stored single-day run.
    public var history: [DayRate]

    /// The figures of `all` territories and professions (or of the territory asked for).
    public var total: Indicators {
        scopes.first { $0.territory == territory && $0.profession == "all" }?.indicators ?? Indicators()
    }
}

extension Report {
    public static let all = "all"

    /// Groups facts by territory and profession, and adds the totals: each territory ×
    /// profession, each territory × `all`, then `all` (or the filtered territory) × each
    /// profession and × `all`. With a territory filter the facts are that territory's only.
    public static func scopes(requests: [RequestFact], slots: [SlotFact], territory filter: String?) -> [ScopeFigures] {
        let territories = Set(requests.map(\.territory) + slots.map(\.territory)).sorted()
        let professions = Set(requests.map(\.profession) + slots.map(\.profession)).sorted()
        func figures(_ t: String, _ p: String, _ r: [RequestFact], _ s: [SlotFact]) -> ScopeFigures {
            ScopeFigures(territory: t, profession: p, indicators: .compute(requests: r, slots: s))
        }
        var out: [ScopeFigures] = []
        if filter == nil {
            for t in territories {
                let r = requests.filter { $0.territory == t }
                let s = slots.filter { $0.territory == t }
                for p in professions {
                    let rp = r.filter { $0.profession == p }
                    let sp = s.filter { $0.profession == p }
                    if !rp.isEmpty || !sp.isEmpty { out.append(figures(t, p, rp, sp)) }
                }
                out.append(figures(t, all, r, s))
            }
        }
        let top = filter ?? all
        for p in professions {
            out.append(figures(top, p, requests.filter { $0.profession == p }, slots.filter { $0.profession == p }))
        }
        out.append(figures(top, all, requests, slots))
        return out
    }

    public static func delayDistribution(_ requests: [RequestFact]) -> [DelayBucket] {
        let edges: [(String, Double)] = [("< 4 h", 4), ("4–12 h", 12), ("12–24 h", 24), ("24–36 h", 36), ("36–48 h", 48), ("> 48 h", .infinity)]
        var counts = Array(repeating: 0, count: edges.count)
        for r in requests where r.bookedAt != nil {
            guard let start = r.slotStart else { continue }
            let h = start.timeIntervalSince(r.createdAt) / 3600
            counts[edges.firstIndex { h < $0.1 || ($0.1 == 48 && h <= 48) } ?? edges.count - 1] += 1
        }
        return zip(edges, counts).map { DelayBucket(label: $0.0.0, count: $0.1) }
    }

    static func isoWeekLabel(_ key: Int) -> String { String(format: "%04d-W%02d", key / 100, key % 100) }
}
