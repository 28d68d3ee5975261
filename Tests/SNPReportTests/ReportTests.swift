import Foundation
import SNPCore
import SNPReport
import SNPStore
import SNPTesting
import Testing

/// Histories built through the engine with a controlled clock, committed to a real
/// PostgreSQL, then reported; every figure is checked against a value worked out by hand.
@Suite("The ACI report (§5)")
struct ReportTests {
    /// 2026-03-10 08:00 in Paris (CET, UTC+1), a Tuesday.
    static let t0 = try! RFC3339.parse("2026-03-10T08:00:00+01:00")
    static func at(minutes: Double) -> Date { t0.addingTimeInterval(minutes * 60) }
    static let vannes = GeoPoint(lat: 47.6582, lon: -2.7608)
    static let lorient = GeoPoint(lat: 47.7483, lon: -3.3700)
    /// 0.009° of latitude north of Vannes: 1.0007 km (6 371.0088 km × 0.009 × π / 180).
    static func north(_ steps: Double) -> GeoPoint { GeoPoint(lat: vannes.lat + 0.009 * steps, lon: vannes.lon) }

    static func pro(_ n: Int) -> RPPS {
        let prefix = Array("10" + String(format: "%08d", n)).map { Int(String($0))! }
        return RPPS(trusted: prefix.map(String.init).joined() + String(RPPS.luhnCheckDigit(for: prefix)))
    }

    /// The day described in `docs/REPORT.md`'s worked example:
    /// - R1 gp prio 1, 1 km away, queued at 08:00, booked at 08:05 on S1 (10:00), honoured.
    /// - R2 gp, `within=72h`, 2 km, booked at once on S2 two days later (48 h 50 min after it).
    /// - R3 kine with a 5-minute hold that lapses: cancelled before any booking.
    /// - R4 kine, 3 km, booked at once on S3 (14:00, 5 h 30 min later), then cancelled.
    /// - R5 nurse, `within=2h`, nobody: expires.
    /// - R6 gp in Lorient (other territory), queued at 09:00, booked at 09:30 on S4 (16:00).
    /// - R7 gp queued at 09:10, cancelled by its regulator at 10:00.
    /// With `boundaryRequest`, an eighth request R8 (gp, `within=2h`, expires) sits between
    /// Vannes and Lorient, on Vannes's side, where its location blurred to the 0.1° grid
    /// would be nearer Lorient: the retention test checks its territory does not move.
    static func buildDay(boundaryRequest: Bool = false) throws -> [Change] {
        var policy = MatchingPolicy()
        policy.windowSeconds = 72 * 3600
        var e = MatchingEngine(policy: policy)
        _ = try e.putProfessional(
            ProfessionalDraft(rpps: pro(1), profession: .gp, name: "Dr Un", location: vannes, territory: "T-A"), now: at(minutes: -60))
        _ = try e.putProfessional(
            ProfessionalDraft(rpps: pro(2), profession: .kine, name: "Deux", location: vannes, territory: "T-A"), now: at(minutes: -60))
        _ = try e.putProfessional(
            ProfessionalDraft(rpps: pro(3), profession: .gp, name: "Dr Trois", location: lorient, territory: "T-B"), now: at(minutes: -60))
        func request(_ ref: String, _ prof: Profession, _ p: GeoPoint, prio: Int = 2, within: Int = 48 * 3600, hold: Int? = nil, at m: Double) throws -> RequestID {
            try e.addRequest(
                RequestSpec(ref: ref, profession: prof, priority: prio, location: p, withinSeconds: within, holdSeconds: hold),
                owner: "samu56", now: at(minutes: m)
            ).request.id
        }
        func slot(_ pro: RPPS, startMinutes: Double, length: Double, capacity: Int = 1, at m: Double) throws {
            _ = try e.addSlot(
                SlotDraft(pro: pro, start: at(minutes: startMinutes), end: at(minutes: startMinutes + length), capacity: capacity),
                now: at(minutes: m))
        }
        let r1 = try request("R1", .gp, north(1), prio: 1, at: 0)
        try slot(pro(1), startMinutes: 49 * 60, length: 20, at: 1)  // S2, Thursday 09:00
        try slot(pro(1), startMinutes: 120, length: 20, at: 5)  // S1, 10:00: goes to R1
        let r2 = try request("R2", .gp, north(2), within: 72 * 3600, at: 10)
        try slot(pro(2), startMinutes: 360, length: 30, capacity: 2, at: 15)  // S3, 14:00
        _ = try request("R3", .kine, north(3), hold: 300, at: 20)
        e.tick(now: at(minutes: 30))
        let r4 = try request("R4", .kine, north(3), at: 30)
        _ = try request("R5", .nurse, north(1), within: 2 * 3600, at: 40)
        _ = try request("R6", .gp, lorient, at: 60)
        let r7 = try request("R7", .gp, north(1), at: 70)
        try slot(pro(3), startMinutes: 480, length: 20, at: 90)  // S4, 16:00: goes to R6
        _ = try e.cancel(r7, reason: "patient seen by SOS Médecins", now: at(minutes: 120))
        _ = try e.recordOutcome(r1, .honored, now: at(minutes: 150))
        _ = try e.cancel(r4, reason: nil, now: at(minutes: 180))
        e.tick(now: at(minutes: 180))
        if boundaryRequest {
            _ = try request("R8", .gp, GeoPoint(lat: 47.70, lon: -3.06), within: 2 * 3600, at: 200)
            e.tick(now: at(minutes: 400))
        }
        _ = try e.recordOutcome(r2, .noshow, now: at(minutes: 50 * 60))
        return e.takeJournal()
    }

    static func reported(_ changes: [Change], day: String, territory: String? = nil) async throws -> (Report, Int, Int) {
        let db = try await TestPostgres.freshDatabase()
        return try await TestPostgres.withStore(db) { store in
            try await store.commit(changes)
            let builder = ReportBuilder(store: store, version: "test")
            let period = try ReportPeriod(from: day, to: day)
            let report = try await builder.build(period: period, territory: territory, target: 0.8, now: Date())
            try await builder.save(report, period: period)
            try await builder.save(report, period: period)
            let runs = try await builder.storedRuns()
            let again = try await builder.build(period: period, territory: territory, target: 0.8, now: Date())
            #expect(again.scopes == report.scopes, "the same day computed twice gives the same figures")
            return (report, runs, report.scopes.count)
        }
    }

    func scope(_ r: Report, _ t: String, _ p: String) throws -> Indicators {
        try #require(r.scopes.first { $0.territory == t && $0.profession == p }).indicators
    }

    @Test func everyIndicatorMatchesTheHandWorkedDay() async throws {
        let (report, runs, _) = try await Self.reported(try Self.buildDay(), day: "2026-03-10")
        #expect(runs == 1, "running the same day twice replaces the run")
        let t = try scope(report, "all", "all")
        #expect(t.requests == 7)
        #expect(t.cancelled_by_regulator == 2)  // R3 (lapsed hold), R7
        #expect(t.booked == 4)  // R1, R2, R4, R6
        #expect(abs(t.match_rate - 4.0 / 5.0) < 1e-9)
        #expect(t.within_48h == 3)  // R1 2 h, R4 5.5 h, R6 7 h; not R2 48 h 50 min
        #expect(abs(t.rate_48h - 3.0 / 5.0) < 1e-9)
        #expect(t.expired == 1)  // R5
        #expect(abs(t.delay_h_median - 6.25) < 1e-9)  // (5.5 + 7) / 2
        #expect(abs(t.delay_h_p90 - (48 + 50.0 / 60)) < 1e-9)  // nearest rank 4 of 4
        #expect(abs(t.time_to_match_s_median - 150) < 1e-9)  // [0, 0, 300, 1800]
        #expect(abs(t.distance_km_median - 1.5011) < 0.001)  // [0, 1.0007, 2.0015, 3.0022]
        #expect(t.slots_published == 3)  // S1, S3, S4 (S2 starts on the 12th)
        #expect(abs(t.slot_hours - 70.0 / 60) < 1e-9)
        #expect(abs(t.slot_utilisation - 0.5) < 1e-9)  // S1 1/1, S3 0/2, S4 1/1
        #expect(t.active_pros == 3)
        #expect(t.honored == 1 && t.noshow == 1)
        #expect(abs(t.noshow_rate - 0.5) < 1e-9)

        let a = try scope(report, "T-A", "all")
        #expect(a.requests == 6 && a.cancelled_by_regulator == 2 && a.booked == 3 && a.within_48h == 2)
        #expect(abs(a.rate_48h - 0.5) < 1e-9)
        #expect(a.slots_published == 2 && a.active_pros == 2)
        #expect(abs(a.slot_utilisation - 1.0 / 3.0) < 1e-9)
        let b = try scope(report, "T-B", "all")
        #expect(b.requests == 1 && b.booked == 1 && b.rate_48h == 1)
        #expect(abs(b.time_to_match_s_median - 1800) < 1e-9)
        let gp = try scope(report, "all", "gp")
        #expect(gp.requests == 4 && gp.cancelled_by_regulator == 1 && gp.within_48h == 2)
        #expect(abs(gp.rate_48h - 2.0 / 3.0) < 1e-9)
        let kineA = try scope(report, "T-A", "kine")
        #expect(kineA.requests == 2 && kineA.booked == 1 && kineA.cancelled_by_regulator == 1)
        let nurse = try scope(report, "all", "nurse")
        #expect(nurse.expired == 1 && nurse.rate_48h == 0)

        let weeks = report.sas_week_counts.map { "\($0.pro) \($0.week) \($0.bookings)" }
        #expect(weeks == ["\(Self.pro(1)) 2026-W11 2", "\(Self.pro(3)) 2026-W11 1"])
        #expect(report.delay_distribution.map(\.count) == [1, 2, 0, 0, 0, 1])
    }

    @Test func retentionBlursOldLocationsAndTheFiguresStay() async throws {
        let db = try await TestPostgres.freshDatabase()
        try await TestPostgres.withStore(db) { store in
            let day = try Self.buildDay(boundaryRequest: true)
            try await store.commit(day)
            var typed: [String: GeoPoint] = [:]
            for case .request(_, let r) in day { typed[r.spec.ref] = r.spec.location }
            let builder = ReportBuilder(store: store, version: "test")
            let period = try ReportPeriod(from: "2026-03-10", to: "2026-03-10")
            let before = try await builder.build(period: period, territory: nil, target: 0.8, now: Date())
            #expect(try scope(before, "T-A", "all").requests == 7, "R8 counts in Vannes's territory")

            let job = Retention(store: store)
            // R1 to R5 were created before 08:45; R6, R7 and R8 after.
            let cutoff = Self.at(minutes: 45)
            #expect(try await job.pending(before: cutoff) == 5)
            #expect(try await job.blurLocations(before: cutoff, now: Date()) == 5)
            #expect(try await job.blurLocations(before: cutoff, now: Date()) == 0, "a second run changes nothing")
            #expect(try await builder.build(period: period, territory: nil, target: 0.8, now: Date()).scopes == before.scopes)
            #expect(try await job.blurLocations(before: Self.at(minutes: 10_000), now: Date()) == 3)
            let after = try await builder.build(period: period, territory: nil, target: 0.8, now: Date())
            #expect(after.scopes == before.scopes, "blurring keeps every indicator")

            let rows = try await store.client.query(
                "SELECT ref, lat, lon, territory, location_blurred_at IS NOT NULL FROM requests ORDER BY ref")
            var seen: [String: (Double, Double, String?)] = [:]
            for try await (ref, lat, lon, territory, blurred) in rows.decode((String, Double, Double, String?, Bool).self) {
                #expect(blurred)
                #expect(abs(lat * 10 - (lat * 10).rounded()) < 1e-9 && abs(lon * 10 - (lon * 10).rounded()) < 1e-9, "\(ref) on the 0.1° grid")
                // The daemon snaps its copy in memory the same way, to the last bit.
                #expect(typed[ref]?.snappedForRetention == GeoPoint(lat: lat, lon: lon), "\(ref) as the daemon snaps it")
                seen[ref] = (lat, lon, territory)
            }
            #expect(seen.count == 8)
            let r8 = try #require(seen["R8"])
            #expect(abs(r8.0 - 47.7) < 1e-9 && abs(r8.1 - -3.1) < 1e-9)
            #expect(r8.2 == "T-A", "the territory was frozen before the location moved nearer Lorient")
            #expect(seen["R6"]?.2 == "T-B")
        }
    }

    @Test func territoryFilterKeepsOnlyThatTerritory() async throws {
        let (report, _, _) = try await Self.reported(try Self.buildDay(), day: "2026-03-10", territory: "T-B")
        #expect(report.territory == "T-B")
        #expect(report.scopes.allSatisfy { $0.territory == "T-B" })
        let t = try scope(report, "T-B", "all")
        #expect(t.requests == 1 && t.booked == 1 && t.rate_48h == 1)
        #expect(report.sas_week_counts.map(\.pro) == [Self.pro(3).value])
    }

    @Test func daysAreParisDaysAcrossTheSpringChange() async throws {
        // 29 March 2026 lasts 23 hours in Paris: 00:00 CET (28th 23:00Z) to 24:00 CEST (29th 22:00Z).
        var e = MatchingEngine()
        for (ref, utc) in [
            ("before", "2026-03-28T22:50:00Z"), ("first", "2026-03-28T23:30:00Z"),
            ("last", "2026-03-29T21:30:00Z"), ("after", "2026-03-29T22:10:00Z"),
        ] {
            _ = try e.addRequest(
                RequestSpec(ref: ref, profession: .gp, location: Self.vannes), owner: "samu56", now: try RFC3339.parse(utc))
        }
        let changes = e.takeJournal()
        #expect(try await Self.reported(changes, day: "2026-03-29").0.total.requests == 2)
        #expect(try await Self.reported(changes, day: "2026-03-28").0.total.requests == 1)
        #expect(try await Self.reported(changes, day: "2026-03-30").0.total.requests == 1)
    }

    @Test func anEmptyPeriodGivesZerosAndEmptyCharts() async throws {
        let (report, _, _) = try await Self.reported([], day: "2026-01-05")
        #expect(report.total == Indicators())
        #expect(report.sas_week_counts.isEmpty)
        let json = try ReportFormat.json.render(report)
        #expect(!json.contains("nan") && !json.contains("inf"))
        let html = try ReportFormat.html.render(report)
        #expect(html.contains("aucune donnée"))
        #expect(!html.contains("NaN"))
    }

    /// `booked_extra` (§5): a booking on extra capacity counts in `booked` and in
    /// `booked_extra`; the window is not a slot of the slot indicators; the HTML table says it.
    @Test func bookingsOnExtraCapacityAreCounted() async throws {
        var e = MatchingEngine()
        _ = try e.putProfessional(
            ProfessionalDraft(rpps: Self.pro(1), profession: .gp, name: "Dr Un", location: Self.vannes, territory: "T-A"),
            now: Self.at(minutes: -60))
        _ = try e.addSlot(
            SlotDraft(pro: Self.pro(1), start: Self.at(minutes: 60), end: Self.at(minutes: 80)), now: Self.at(minutes: -30))
        _ = try e.addSlot(
            SlotDraft(
                pro: Self.pro(1), start: Self.at(minutes: 0), end: Self.at(minutes: 8 * 60), capacity: 2, kind: .extra),
            now: Self.at(minutes: -30))
        let regular = try e.addRequest(
            RequestSpec(ref: "A", profession: .gp, location: Self.north(1)), owner: "samu56", now: Self.at(minutes: 0))
        let extra = try e.addRequest(
            RequestSpec(ref: "B", profession: .gp, location: Self.north(1)), owner: "samu56", now: Self.at(minutes: 10))
        #expect(regular.request.assignment?.kind == .regular)
        #expect(extra.request.assignment?.kind == .extra)
        let (report, _, _) = try await Self.reported(e.takeJournal(), day: "2026-03-10")
        #expect(report.total.booked == 2)
        #expect(report.total.booked_extra == 1)
        #expect(report.total.slots_published == 1)
        #expect(report.total.within_48h == 2)
        let html = try ReportFormat.html.render(report)
        #expect(html.contains("<th>dont surnuméraires</th>"))
        #expect(try ReportFormat.csv.render(report).split(separator: "\r\n")[0].hasSuffix(";booked_extra"))
    }

    /// A pending request (decide=) is created, in no final state, and counts in the
    /// denominators like a queued one; once decided and booked, it is booked.
    @Test func pendingRequestsCountAsCreatedAndDecidedOnesAsBooked() async throws {
        var e = MatchingEngine()
        _ = try e.putProfessional(
            ProfessionalDraft(rpps: Self.pro(1), profession: .gp, name: "Dr Un", location: Self.vannes, territory: "T-A"),
            now: Self.at(minutes: -60))
        _ = try e.addSlot(
            SlotDraft(pro: Self.pro(1), start: Self.at(minutes: 180), end: Self.at(minutes: 200)), now: Self.at(minutes: -30))
        let decided = try e.addRequest(
            RequestSpec(ref: "A", profession: .gp, location: Self.north(1), decideSeconds: 3600), owner: "samu56",
            now: Self.at(minutes: 0))
        let pending = try e.addRequest(
            RequestSpec(ref: "B", profession: .gp, location: Self.north(1), decideSeconds: 6 * 3600), owner: "samu56",
            now: Self.at(minutes: 10))
        e.tick(now: Self.at(minutes: 60))
        #expect(e.request(decided.request.id)?.state == .booked)
        #expect(e.request(pending.request.id)?.state == .pending)
        let (report, _, _) = try await Self.reported(e.takeJournal(), day: "2026-03-10")
        #expect(report.total.requests == 2)
        #expect(report.total.booked == 1)
        #expect(report.total.expired == 0)
        #expect(report.total.cancelled_by_regulator == 0)
        #expect(report.total.rate_48h == 0.5)
    }

    @Test func filesAreSelfContainedAndSpreadsheetFriendly() async throws {
        let (report, _, _) = try await Self.reported(try Self.buildDay(), day: "2026-03-10")
        let csv = try ReportFormat.csv.render(report)
        let lines = csv.split(separator: "\r\n")
        #expect(lines.count == report.scopes.count + 1)
        #expect(lines[0].hasPrefix("\u{FEFF}period_from;period_to;territory;profession;requests;"))
        let total = try #require(lines.first { $0.contains(";all;all;") })
        #expect(total.contains(";0,6000;"), "rate_48h with a decimal comma")
        let html = try ReportFormat.html.render(report)
        #expect(html.contains("<svg"))
        #expect(!html.contains("src=") && !html.contains("http://") && !html.contains("https://"), "no network fetch")
        let json = try JSONSerialization.jsonObject(with: Data(try ReportFormat.json.render(report).utf8)) as? [String: Any]
        #expect(json?["period_from"] as? String == "2026-03-10")
        #expect((json?["scopes"] as? [Any])?.count == report.scopes.count)
    }
}
