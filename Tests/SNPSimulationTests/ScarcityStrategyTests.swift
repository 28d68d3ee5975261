import Foundation
import SNPCore
import Testing

/// The `scarcity` strategy (docs/MATCHING.md), the default: what it changes against SPEC.md
/// §4.2/§4.3 (`spec42`), and what it keeps.
@Suite struct ScarcityStrategyTests {
    static let now = Date(epochSeconds: 1_795_420_800)  // Monday 23 November 2026, 06:00 UTC
    static let village = GeoPoint(lat: 48.05, lon: 2.05)
    static let kmPerDegree = GeoPoint.earthRadiusKm * Double.pi / 180

    static func north(_ km: Double) -> GeoPoint { GeoPoint(lat: village.lat + km / kmPerDegree, lon: village.lon) }
    static func hours(_ h: Double) -> Date { Date(epochSeconds: now.epochSeconds + Int64(h * 3600)) }

    static func rpps(_ n: Int) -> RPPS {
        let prefix = String(format: "1000%06d", n)
        return RPPS(trusted: prefix + String(RPPS.luhnCheckDigit(for: prefix.map { Int(String($0))! })))
    }

    @discardableResult
    static func pro(_ e: inout MatchingEngine, _ n: Int, at p: GeoPoint) throws -> RPPS {
        _ = try e.putProfessional(
            ProfessionalDraft(rpps: rpps(n), profession: .gp, name: "Dr \(n)", location: p), now: hours(-20))
        return rpps(n)
    }

    @discardableResult
    static func slot(
        _ e: inout MatchingEngine, _ pro: RPPS, at start: Date, published: Date = now
    ) throws -> (Slot, [RequestID]) {
        try e.addSlot(SlotDraft(pro: pro, start: start, end: start.addingTimeInterval(1800)), now: published)
    }

    @discardableResult
    static func request(
        _ e: inout MatchingEngine, _ ref: String, at p: GeoPoint, prio: Int = 2, within: Int = 48 * 3600,
        now: Date = now
    ) throws -> CareRequest {
        try e.addRequest(
            RequestSpec(ref: ref, profession: .gp, priority: prio, location: p, withinSeconds: within), owner: "sas",
            now: now
        ).request
    }

    @Test func scarcityIsTheDefaultAndSpec42StaysAvailable() {
        #expect(MatchingPolicy().strategy == .scarcity)
        #expect(MatchingPolicy.spec42.strategy == .spec42)
        #expect(MatchingPolicy.spec42.timeWeight == MatchingPolicy().timeWeight)
    }

    /// Same eligible slots under both strategies, and the same reported (§4.2) cost; only
    /// the ranking score differs, by the extra load term.
    @Test func eligibilityAndReportedCostAreThoseOfSpec42() throws {
        var engines = [MatchingEngine(policy: .spec42), MatchingEngine()]
        var found: [[Candidate]] = []
        for i in engines.indices {
            let busy = try Self.pro(&engines[i], 1, at: Self.north(1))
            let idle = try Self.pro(&engines[i], 2, at: Self.north(3))
            let (first, _) = try Self.slot(&engines[i], busy, at: Self.hours(2))
            _ = try engines[i].addRequest(
                RequestSpec(ref: "seen", profession: .gp, location: Self.village, slot: first.id), owner: "sas",
                now: Self.now)
            try Self.slot(&engines[i], busy, at: Self.hours(4))
            try Self.slot(&engines[i], idle, at: Self.hours(4))
            let need = MatchNeed(
                profession: .gp, modes: .inPerson, location: Self.village, radiusKm: nil, priority: 2,
                deadline: Self.hours(48))
            found.append(engines[i].candidates(for: need, now: Self.now, limit: 10))
        }
        #expect(Set(found[0].map(\.slot.id)) == Set(found[1].map(\.slot.id)))
        for c in found[0] { #expect(c.score == c.cost) }
        for c in found[1] {
            let same = try #require(found[0].first { $0.slot.id == c.slot.id })
            #expect(c.cost == same.cost)
            #expect(c.score >= c.cost)
        }
        // §4.2 prefers the nearer professional despite their booking; scarcity spreads the load.
        #expect(found[0].first?.slot.pro == Self.rpps(1))
        #expect(found[1].first?.slot.pro == Self.rpps(2))
    }

    /// A town whose professionals publish often, a village that no slot reaches, and a new
    /// slot between them: §4.3 gives it to the head of the queue (the town request, due
    /// sooner); scarcity to the village request, which has no other place likely to come.
    @Test func newPlaceGoesToTheRequestWithFewestLikelyPlaces() throws {
        for policy in [MatchingPolicy.spec42, MatchingPolicy()] {
            var e = MatchingEngine(policy: policy)
            let town = Self.north(28)
            for n in 1...5 {
                let p = try Self.pro(&e, n, at: town)
                try Self.slot(&e, p, at: Self.hours(-8), published: Self.hours(-10))
            }
            let middle = try Self.pro(&e, 9, at: Self.north(15))
            let inTown = try Self.request(&e, "town", at: town, within: 24 * 3600)
            let inVillage = try Self.request(&e, "village", at: Self.village)
            #expect(e.rank(of: inTown) == 1 && e.rank(of: inVillage) == 2)
            let (_, booked) = try Self.slot(&e, middle, at: Self.hours(3))
            #expect(booked == [policy.strategy == .spec42 ? inTown.id : inVillage.id])
        }
    }

    @Test func urgentRequestGoesFirstWhenOtherwiseAlike() throws {
        var e = MatchingEngine()
        let pro = try Self.pro(&e, 1, at: Self.village)
        let low = try Self.request(&e, "low", at: Self.village, prio: 3)
        let high = try Self.request(&e, "high", at: Self.village, prio: 1)
        let (_, booked) = try Self.slot(&e, pro, at: Self.hours(5))
        #expect(booked == [high.id])
        #expect(e.request(low.id)?.state == .queued)
    }

    /// Ten recent requests from a town that only one open slot serves: that slot gets a bid
    /// price, and a village request that could also go elsewhere is steered away from it.
    @Test func bidPriceKeepsAContestedSlotForThoseWhoNeedIt() throws {
        for policy in [MatchingPolicy.spec42, MatchingPolicy()] {
            var e = MatchingEngine(policy: policy)
            let town = Self.north(10)
            let inTown = try Self.pro(&e, 1, at: town)
            let south = try Self.pro(&e, 2, at: Self.north(-12))
            for n in 1...10 {
                let r = try Self.request(&e, "t\(n)", at: town, now: Self.hours(-Double(n) / 10))
                _ = try e.cancel(r.id, reason: nil, now: Self.hours(-Double(n) / 20))
            }
            let (contested, _) = try Self.slot(&e, inTown, at: Self.hours(5))
            let (spare, _) = try Self.slot(&e, south, at: Self.hours(5))
            _ = e.takeJournal()
            e.tick(now: Self.now)
            let got = try Self.request(&e, "village", at: Self.village).assignment?.slot
            #expect(got == (policy.strategy == .spec42 ? contested.id : spare.id))
        }
    }
}
