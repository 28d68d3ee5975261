import Foundation
import SNPSimulation
import Testing

@testable import SNPCore

/// The indexes that keep searches short (docs/PERFORMANCE.md) must never change an answer:
/// `candidates` prunes buckets and slots by a lower bound of the score, and a freed place
/// looks only at the waiting requests filed near it. Both are checked here against the
/// plain definitions (every slot evaluated; the whole queue walked) on seeded random
/// territories, under both strategies.
@Suite struct SearchIndexTests {
    /// A territory around the fixture's patient: professionals within about 60 km (a few
    /// far ones with large home radii), slots of every mode over two days, some booked.
    static func territory(seed: UInt64, strategy: MatchingStrategy) throws -> MatchingEngine {
        var g = SeededRandom(seed: seed, stream: "territory")
        var policy = MatchingPolicy()
        policy.strategy = strategy
        var e = MatchingEngine(policy: policy)
        let professions: [Profession] = [.gp, .gp, .nurse, .kine]
        for n in 1...80 {
            let at = GeoPoint(
                lat: Fixture.patient.lat + Double.random(in: -0.5...0.5, using: &g),
                lon: Fixture.patient.lon + Double.random(in: -0.7...0.7, using: &g))
            let radius: Double? = n % 10 == 0 ? Double.random(in: 20...60, using: &g) : nil
            let pro = try e.addPro(n, professions[n % 4], at: at, homeRadiusKm: radius, weeklyCap: n % 7 == 0 ? 3 : nil)
            var start = Fixture.minutes(Int.random(in: 10...240, using: &g))
            for _ in 0..<Int.random(in: 4...12, using: &g) {
                let mode: SlotMode = [.office, .office, .home, .tele][Int.random(in: 0...3, using: &g)]
                try e.publish(pro, at: start, minutes: 30, mode: mode, capacity: Int.random(in: 1...2, using: &g))
                start = Fixture.minutes(Int.random(in: 40...300, using: &g), after: start)
            }
        }
        // Some bookings: loads, full slots and weekly caps matter to the score.
        for i in 0..<60 {
            try e.submit("b\(i)", professions[i % 4], prio: 1 + i % 3, at: point(&g))
        }
        e.tick(now: Fixture.now)  // bid prices, under `scarcity`
        return e
    }

    static func point(_ g: inout SeededRandom) -> GeoPoint {
        GeoPoint(
            lat: Fixture.patient.lat + Double.random(in: -0.6...0.6, using: &g),
            lon: Fixture.patient.lon + Double.random(in: -0.8...0.8, using: &g))
    }

    static let modeSets: [ModeSet] = [.office, .home, .tele, .inPerson, [.office, .tele], [.office, .home, .tele]]

    /// The search skips a practice on the chord between unit vectors: it must never exceed
    /// the haversine, and be within a few millionths of it (plus a millimetre) within
    /// 20 km (the chord falls short of the arc by θ³/24 of the radius).
    @Test func theChordIsNeverMoreThanTheDistance() {
        var g = SeededRandom(seed: 7, stream: "chord")
        for _ in 0..<20_000 {
            let a = GeoPoint(lat: Double.random(in: -80...80, using: &g), lon: Double.random(in: -180...180, using: &g))
            let spread = [1e-7, 1e-4, 0.01, 1, 30][Int.random(in: 0...4, using: &g)]
            let b = GeoPoint(
                lat: min(89, max(-89, a.lat + Double.random(in: -spread...spread, using: &g))),
                lon: a.lon + Double.random(in: -spread...spread, using: &g))
            let chord = GeoPoint.chordKm(a.unitVector, b.unitVector)
            let distance = a.distanceKm(to: b)
            #expect(chord <= distance)
            if distance < 20 { #expect(distance - chord <= 3e-6 * distance + 2e-6) }
        }
        #expect(GeoPoint.chordKm(Fixture.patient.unitVector, Fixture.patient.unitVector) == 0)
    }

    @Test(arguments: MatchingStrategy.allCases)
    func candidatesAreTheBestOfEverySlotEvaluated(strategy: MatchingStrategy) throws {
        for seed: UInt64 in 1...3 {
            let e = try SearchIndexTests.territory(seed: seed, strategy: strategy)
            var g = SeededRandom(seed: seed, stream: "needs")
            for _ in 0..<150 {
                let need = Fixture.need(
                    [.gp, .nurse, .kine][Int.random(in: 0...2, using: &g)], prio: Int.random(in: 1...3, using: &g),
                    modes: SearchIndexTests.modeSets[Int.random(in: 0..<SearchIndexTests.modeSets.count, using: &g)],
                    at: SearchIndexTests.point(&g),
                    radiusKm: Bool.random(using: &g) ? nil : Double.random(in: 1...60, using: &g),
                    deadline: Fixture.hours(Double.random(in: 1...48, using: &g)))
                let limit = [1, 3, 10][Int.random(in: 0...2, using: &g)]
                let everySlot = e.slots.values.compactMap { e.evaluate($0, for: need, now: Fixture.now).candidate }
                let expected = Array(everySlot.sorted { Candidate.better($0, than: $1) }.prefix(limit))
                #expect(e.candidates(for: need, now: Fixture.now, limit: limit) == expected)
            }
        }
    }

    @Test(arguments: MatchingStrategy.allCases)
    func aPlaceIsOfferedToEveryWaitingRequestThatCouldTakeIt(strategy: MatchingStrategy) throws {
        var e = try SearchIndexTests.territory(seed: 7, strategy: strategy)
        // Requests that wait: some near, some reaching far (large radius, or remote accepted).
        let later = Fixture.hours(40)
        try SearchIndexTests.submitRequestsOfEveryKind(&e, seed: 7, stream: "queue", ref: "q", now: later) {
            3 * 3600 + $0 * 60
        }
        let waiting = e.requests.values.filter { $0.state == .queued }
        #expect(waiting.count > 100)
        for (pro, slot) in SearchIndexTests.probeSlots(e, firstID: 1_000_000, startingIn: 41, publishedAt: later) {
            let offered = e.waiting(for: slot)
            #expect(offered == offered.sorted(), "queue order")
            let offeredSet = Set(offered.map(\.request))
            let eligible = waiting.filter {
                e.evaluate(slot, for: MatchNeed($0), now: later).candidate != nil
            }
            for r in eligible {
                #expect(offeredSet.contains(r.id.number), "request \(r.id) could take a \(slot.mode) place of \(pro.rpps)")
            }
        }
    }

    /// Under `scarcity`, the demand on a slot published after the last refresh reads only the
    /// samples filed near it (`CellFiling`): it must equal the sum over every sample that
    /// reaches the slot, in the same order, to the last bit.
    @Test func theDemandOnANewSlotIsTheSumOverEverySampleThatReachesIt() throws {
        var e = try SearchIndexTests.territory(seed: 11, strategy: .scarcity)
        // Recent requests of every kind (near, far-reaching, remote), then a refresh.
        let later = Fixture.hours(30)
        try SearchIndexTests.submitRequestsOfEveryKind(&e, seed: 11, stream: "samples", ref: "s", now: later) { _ in
            6 * 3600
        }
        _ = e.takeJournal()  // as the server does after each commit: prices refresh on an empty journal
        e.tick(now: later)
        let refreshed = try #require(e.bidPrices.refreshedAt)
        var reached = 0
        for (pro, slot) in SearchIndexTests.probeSlots(e, firstID: 2_000_000, startingIn: 33, publishedAt: later) {
            let samples = e.bidPrices.samples[pro.profession] ?? []
            let place = OpenPlace(
                slot: 0, start: slot.start.epochSeconds, mode: slot.mode, places: 1,
                homeRadiusKm: pro.homeRadiusKm ?? e.policy.homeRadiusKm)
            let reaching = samples.filter {
                place.reachable(by: $0, distanceKm: slot.mode == .tele ? 0 : $0.location.distanceKm(to: pro.location))
            }
            reached += reaching.count
            let expected = reaching.reduce(0.0) {
                $0 + $1.demand(
                    onPlaceStarting: slot.start.epochSeconds, leadSeconds: Int64(e.policy.leadSeconds),
                    after: refreshed, spanHours: e.bidPrices.spanHours)
            }
            #expect(e.lateDemand(on: slot) == expected, "\(slot.mode) slot of \(pro.rpps)")
        }
        #expect(reached > 1_000, "the samples reach the slots: the comparison means something")
    }

    /// Under `scarcity`, a freed place weighs each eligible waiting request by the places
    /// likely to come for it, read from the recent publications filed near it
    /// (`RecentPublications`): that must equal the sum over every recent publication the
    /// request could use, in number order, to the last bit.
    @Test func likelyPlacesAreTheSumOverEveryRecentPublicationThatServes() throws {
        var e = try SearchIndexTests.territory(seed: 12, strategy: .scarcity)
        let later = Fixture.hours(3)
        try SearchIndexTests.submitRequestsOfEveryKind(&e, seed: 12, stream: "weighed", ref: "w", now: later) { i in
            (6 + i % 40) * 3600
        }
        let t = later.epochSeconds
        let since = t - Int64(e.policy.scarcity.historySeconds)
        var served = 0
        for r in e.requests.values.sorted(by: { $0.id.number < $1.id.number }) {
            let q = BidPriceBook.Sample(
                location: r.spec.location, modes: r.spec.modes, officeRadiusKm: r.spec.radiusKm ?? e.policy.officeRadiusKm,
                withinSeconds: Int64(r.spec.withinSeconds), share: 1)
            var total = 0.0
            var oldest = t
            var covered: Int64?
            for n in stride(from: e.lastSlotNumber, through: 1, by: -1) {
                guard let s = e.slots[n] else { continue }
                if s.createdAt.epochSeconds < since {
                    covered = t - since
                    break
                }
                oldest = min(oldest, s.createdAt.epochSeconds)
                guard s.profession == r.spec.profession, let p = e.professionals[s.pro] else { continue }
                let place = OpenPlace(
                    slot: n, start: s.start.epochSeconds, mode: s.mode, places: 1,
                    homeRadiusKm: p.homeRadiusKm ?? e.policy.homeRadiusKm)
                guard place.reachable(by: q, distanceKm: s.mode == .tele ? 0 : q.location.distanceKm(to: p.location)) else {
                    continue
                }
                served += 1
                let window = r.deadline.epochSeconds - (s.start.epochSeconds - s.createdAt.epochSeconds) - t
                if window > 0 { total += Double(window) * Double(s.capacity) }
            }
            let expected = total / Double(max(6 * 3600, covered ?? t - oldest))
            let recent = e.recentPublications(of: r.spec.profession, now: later)
            #expect(e.expectedPlaces(for: r, now: later, among: recent) == expected, "\(r.spec.ref) \(r.spec.modes.description)")
        }
        #expect(served > 1_000, "the publications serve the requests: the comparison means something")
    }

    /// 300 requests of every kind, created at `now` around the patient: near (the default
    /// radius, or 8 km), reaching far (25–120 km), and with every set of modes, remote
    /// included; request `i` may wait `within(i)` seconds.
    static func submitRequestsOfEveryKind(
        _ e: inout MatchingEngine, seed: UInt64, stream: String, ref: String, now: Date, within: (Int) -> Int
    ) throws {
        var g = SeededRandom(seed: seed, stream: stream)
        for i in 0..<300 {
            let radius: Double? = i % 5 == 0 ? Double.random(in: 25...120, using: &g) : (i % 2 == 0 ? nil : 8)
            try e.submit(
                "\(ref)\(i)", [.gp, .nurse, .kine][i % 3], prio: 1 + i % 3, modes: modeSets[i % modeSets.count],
                at: point(&g), within: within(i), radiusKm: radius, now: now)
        }
    }

    /// A slot of each mode at every professional's practice, starting `hours` after the
    /// fixture's now, for half an hour: the places the indexes are checked on. Not published.
    static func probeSlots(
        _ e: MatchingEngine, firstID: Int64, startingIn hours: Double, publishedAt now: Date
    ) -> [(pro: Professional, slot: Slot)] {
        let pros = e.professionals.values.sorted { $0.rpps.value < $1.rpps.value }
        return pros.enumerated().flatMap { i, pro in
            [SlotMode.office, .home, .tele].enumerated().map { k, mode in
                (
                    pro,
                    Slot(
                        id: .slot(firstID + Int64(i * 3 + k)), pro: pro.rpps, profession: pro.profession,
                        start: Fixture.hours(hours), end: Fixture.hours(hours + 0.5), mode: mode, capacity: 1, ref: nil,
                        createdAt: now)
                )
            }
        }
    }
}
