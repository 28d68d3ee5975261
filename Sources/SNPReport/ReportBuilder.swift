import Foundation
import Logging
import PostgresNIO
import SNPCore
import SNPStore

/// Computes reports straight from PostgreSQL (so it can run against a read replica; only
/// `save` writes) and keeps the history of runs.
public struct ReportBuilder: Sendable {
    public let store: Store
    public let version: String

    public init(store: Store, version: String) {
        self.store = store
        self.version = version
    }

    /// Every indicator of §5 for requests created and slots starting in the period.
    ///
    /// A request belongs to the territory of the professional nearest to it (of any
    /// profession): requests carry no territory, and the CPTS answers for the population
    /// around its professionals whether or not the request was served. Once its location
    /// has been blurred (`Retention`), the territory frozen at that moment is used.
    public func build(period: ReportPeriod, territory: String?, target: Double, now: Date) async throws -> Report {
        var requests = try await requestFacts(period)
        var slots = try await slotFacts(period)
        var weeks = try await weekCounts(period)
        if let territory {
            requests.removeAll { $0.territory != territory }
            slots.removeAll { $0.territory != territory }
            weeks.removeAll { $0.territory != territory }
        }
        return Report(
            period_from: period.from, period_to: period.to, territory: territory ?? Report.all,
            generated_at: RFC3339.format(now), version: version, target_rate_48h: target,
            scopes: Report.scopes(requests: requests, slots: slots, territory: territory),
            sas_week_counts: weeks, delay_distribution: Report.delayDistribution(requests), history: [])
    }

    /// The territory of the professional nearest to the request `r` (SQL, a scalar
    /// subquery): what a request counts in, for the report and for the retention job
    /// that freezes it before blurring the location.
    static let nearestTerritory = """
        (SELECT p.territory FROM professionals p
         ORDER BY (p.lat - r.lat)^2 + ((p.lon - r.lon) * cos(radians(r.lat)))^2, p.rpps
         LIMIT 1)
        """

    func requestFacts(_ period: ReportPeriod) async throws -> [RequestFact] {
        let rows = try await store.client.query(
            """
            SELECT r.profession, r.state, r.created_at, r.booked_at, r.slot_start, r.slot_mode, r.distance_km,
                   COALESCE(r.territory, \(unescaped: ReportBuilder.nearestTerritory), 'none'),
                   COALESCE((SELECT s.kind = 'extra' FROM slots s WHERE s.id = r.slot_id), false)
            FROM requests r
            WHERE r.created_at >= \(period.start) AND r.created_at < \(period.end)
            """)
        var out: [RequestFact] = []
        for try await (prof, state, created, booked, start, mode, km, territory, extra) in rows.decode(
            (String, String, Date, Date?, Date?, String?, Double?, String, Bool).self)
        {
            guard let s = RequestState(rawValue: state) else { continue }
            out.append(
                RequestFact(
                    territory: territory, profession: prof, state: s, createdAt: created, bookedAt: booked,
                    slotStart: start, slotMode: mode.flatMap(SlotMode.init(rawValue:)), distanceKm: km, extra: extra))
        }
        return out
    }

    func slotFacts(_ period: ReportPeriod) async throws -> [SlotFact] {
        let rows = try await store.client.query(
            """
            SELECT COALESCE(p.territory, 'none'), s.profession, s.pro, s.starts_at, s.ends_at, s.capacity,
                   (SELECT count(*) FROM requests r
                    WHERE r.slot_id = s.id AND r.state IN ('booked', 'honored', 'noshow'))::int
            FROM slots s JOIN professionals p ON p.rpps = s.pro
            WHERE s.withdrawn_at IS NULL AND s.kind = 'regular'
                AND s.starts_at >= \(period.start) AND s.starts_at < \(period.end)
            """)
        var out: [SlotFact] = []
        for try await (t, prof, pro, start, end, cap, booked) in rows.decode((String, String, String, Date, Date, Int, Int).self) {
            out.append(SlotFact(territory: t, profession: prof, pro: pro, start: start, end: end, capacity: cap, booked: booked))
        }
        return out
    }

    /// Bookings per professional and ISO week, over the whole weeks that the period touches.
    func weekCounts(_ period: ReportPeriod) async throws -> [WeekCount] {
        let firstMonday = period.fromDay - (Civil.isoWeekday(days: period.fromDay) - 1)
        let lastSunday = period.toDay + (7 - Civil.isoWeekday(days: period.toDay))
        let from = Date(epochSeconds: ParisTime.startOfDay(dayNumber: firstMonday))
        let to = Date(epochSeconds: ParisTime.startOfDay(dayNumber: lastSunday + 1))
        let rows = try await store.client.query(
            """
            SELECT r.pro, p.name, COALESCE(p.territory, 'none'), r.slot_start
            FROM requests r JOIN professionals p ON p.rpps = r.pro
            WHERE r.state IN ('booked', 'honored', 'noshow') AND r.slot_start >= \(from) AND r.slot_start < \(to)
            """)
        struct Key: Hashable { var pro: String; var week: Int }
        var counts: [Key: Int] = [:]
        var names: [String: (String, String)] = [:]
        for try await (pro, name, territory, start) in rows.decode((String, String, String, Date).self) {
            counts[Key(pro: pro, week: ParisTime.isoWeek(at: start)), default: 0] += 1
            names[pro] = (name, territory)
        }
        return counts.map { k, n in
            WeekCount(
                pro: k.pro, name: names[k.pro]?.0 ?? "", territory: names[k.pro]?.1 ?? "none",
                week: Report.isoWeekLabel(k.week), bookings: n, over_cap: n > 20)
        }.sorted { ($0.week, -$0.bookings, $0.pro) < ($1.week, -$1.bookings, $1.pro) }
    }

    /// Stores a run: the same period and territory again replaces the earlier run.
    public func save(_ report: Report, period: ReportPeriod) async throws {
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        let territory = report.territory == Report.all ? "" : report.territory
        try await store.client.query(
            """
            INSERT INTO report_runs (period_from, period_to, territory, ran_at, version, figures)
            VALUES (\(period.from)::date, \(period.to)::date, \(territory), now(), \(version), \(json)::text::jsonb)
            ON CONFLICT (period_from, period_to, territory)
            DO UPDATE SET ran_at = now(), version = EXCLUDED.version, figures = EXCLUDED.figures
            """)
    }

    /// The 48-hour rate of the single-day runs of the 30 days ending with the period.
    public func history(endingAt day: Int, territory: String?) async throws -> [DayRate] {
        let from = ParisTime.dayString(day - 29)
        let to = ParisTime.dayString(day)
        let rows = try await store.client.query(
            """
            SELECT period_from::text, figures::text FROM report_runs
            WHERE period_from = period_to AND territory = \(territory ?? "")
              AND period_from BETWEEN \(from)::date AND \(to)::date
            ORDER BY period_from
            """)
        var out: [DayRate] = []
        for try await (d, json) in rows.decode((String, String).self) {
            guard let r = try? JSONDecoder().decode(Report.self, from: Data(json.utf8)) else { continue }
            out.append(DayRate(day: d, rate_48h: r.total.requests > 0 ? r.total.rate_48h : nil, requests: r.total.requests))
        }
        return out
    }

    /// The last Paris day with a stored single-day run, if any.
    public func lastReportedDay(territory: String?) async throws -> Int? {
        var last: Int?
        let rows = try await store.client.query(
            "SELECT max(period_from)::text FROM report_runs WHERE period_from = period_to AND territory = \(territory ?? "")")
        for try await d in rows.decode(String?.self) { last = d.flatMap(ParisTime.dayNumber(parsing:)) }
        return last
    }

    /// How many runs are stored (for tests and `snpd report --list`).
    public func storedRuns() async throws -> Int {
        var n = 0
        for try await c in try await store.client.query("SELECT count(*)::int FROM report_runs").decode(Int.self) { n = c }
        return n
    }
}
