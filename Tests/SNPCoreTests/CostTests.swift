import Foundation
import SNPCore
import Testing

/// §4.2: the cost of a candidate, its tie-breaks, and the search for the best ones.
@Suite struct CostTests {
    /// A professional 5 km north with one booking already this week, and a slot in 4 hours:
    /// cost = W_TIME[prio] × 4 + 1.0 × 5 + 0.5 × 1.
    @Test(arguments: [(1, 13.5), (2, 7.5), (3, 5.9)])
    func costIsTimeWeightedByPriorityPlusDistancePlusLoad(prio: Int, expected: Double) throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1, at: Fixture.north(5))
        let earlier = try e.publish(pro, at: Fixture.hours(1))
        _ = try e.submit("case-0", slot: earlier.id)
        #expect(e.load(of: pro, week: 202648) == 1)
        let slot = try e.publish(pro, at: Fixture.hours(4))
        let candidate = try #require(e.evaluate(slot, for: Fixture.need(prio: prio), now: Fixture.now).candidate)
        #expect(isClose(candidate.distanceKm, 5, tolerance: 1e-9))
        #expect(isClose(candidate.cost, expected))
        let out = try e.submit("case-1", prio: prio)
        #expect(out.request.assignment?.slot == slot.id)
        #expect(isClose(out.request.assignment?.cost, expected))
        #expect(isClose(out.request.assignment?.distanceKm, 5))
    }

    @Test func teleDistanceCostsNothing() throws {
        var e = MatchingEngine()
        let slot = try e.publish(try e.addPro(1, at: Fixture.north(5)), at: Fixture.hours(4), mode: .tele)
        let candidate = try #require(e.evaluate(slot, for: Fixture.need(modes: .tele), now: Fixture.now).candidate)
        #expect(isClose(candidate.distanceKm, 5))
        #expect(candidate.cost == 2.0)
    }

    @Test func priorityDecidesBetweenSoonerAndNearer() throws {
        var e = MatchingEngine()
        let near = try e.publish(try e.addPro(1), at: Fixture.hours(10))
        let soon = try e.publish(try e.addPro(2, at: Fixture.north(3)), at: Fixture.hours(2))
        // prio 2: 0.5 × 10 + 0 = 5.0 against 0.5 × 2 + 3 = 4.0.
        let normal = e.candidates(for: Fixture.need(prio: 2), now: Fixture.now, limit: 1)
        #expect(normal.map(\.slot.id) == [soon.id])
        #expect(isClose(normal.first?.cost, 4.0))
        // prio 3: 0.1 × 10 + 0 = 1.0 against 0.1 × 2 + 3 = 3.2.
        let lenient = e.candidates(for: Fixture.need(prio: 3), now: Fixture.now, limit: 1)
        #expect(lenient.map(\.slot.id) == [near.id])
        #expect(isClose(lenient.first?.cost, 1.0))
    }

    @Test func weightsAndLeadAreConfiguration() throws {
        var policy = MatchingPolicy()
        policy.timeWeight = [1: 3.0, 2: 1.0, 3: 0.25]
        policy.distanceWeight = 2.0
        policy.loadWeight = 4.0
        policy.leadSeconds = 0
        var e = MatchingEngine(policy: policy)
        let pro = try e.addPro(1, at: Fixture.north(5))
        _ = try e.submit("case-0", slot: try e.publish(pro, at: Fixture.hours(1)).id)
        let slot = try e.publish(pro, at: Fixture.hours(4))
        // 1.0 × 4 h + 2.0 × 5 km + 4.0 × 1 booking.
        #expect(isClose(e.evaluate(slot, for: Fixture.need(), now: Fixture.now).candidate?.cost, 18.0))
        // prio 3: 0.25 × 4 + 10 + 4.
        #expect(isClose(e.evaluate(slot, for: Fixture.need(prio: 3), now: Fixture.now).candidate?.cost, 15.0))
        // No lead: a slot starting now is eligible.
        let now = try e.publish(try e.addPro(2), at: Fixture.now)
        #expect(e.evaluate(now, for: Fixture.need(), now: Fixture.now).candidate != nil)
    }

    @Test func equalCostsGoToTheSmallerSlotID() throws {
        var e = MatchingEngine()
        let first = try e.addPro(1)
        let second = try e.addPro(2)
        // The second professional publishes first: ids, not RPPS, break the tie.
        let smaller = try e.publish(second, at: Fixture.hours(3))
        let larger = try e.publish(first, at: Fixture.hours(3))
        #expect(smaller.id < larger.id)
        let found = e.candidates(for: Fixture.need(), now: Fixture.now, limit: 5)
        #expect(found.map(\.slot.id) == [smaller.id, larger.id])
        #expect(found[0].cost == found[1].cost)
        #expect(try e.submit("case-1").request.assignment?.slot == smaller.id)
        #expect(try e.submit("case-2").request.assignment?.slot == larger.id)
    }

    @Test func equalCostsGoToTheEarlierStart() throws {
        // §4.2's tie rule, under SPEC.md's strategy (the default `scarcity` adds a load premium).
        var e = MatchingEngine(policy: .spec42)
        let loaded = try e.addPro(1)
        let idle = try e.addPro(2)
        let booked = try e.publish(loaded, at: Fixture.hours(1))
        _ = try e.submit("case-0", slot: booked.id)
        // Tele: 0.5 × 4 h + 0.5 × 0 bookings = 2.0 and 0.5 × 3 h + 0.5 × 1 booking = 2.0, exactly.
        let later = try e.publish(idle, at: Fixture.hours(4), mode: .tele)
        let earlier = try e.publish(loaded, at: Fixture.hours(3), mode: .tele)
        #expect(later.id < earlier.id)
        let found = e.candidates(for: Fixture.need(modes: .tele), now: Fixture.now, limit: 5)
        #expect(found.map(\.slot.id) == [earlier.id, later.id])
        #expect(found.map(\.cost) == [2.0, 2.0])
        #expect(try e.submit("case-1", modes: .tele).request.assignment?.slot == earlier.id)
    }
}

@Suite struct CandidatesTests {
    /// Five professionals due north, with (km, hours until start) chosen so that neither
    /// distance nor start alone gives the order: costs 4.5, 3.0, 5.5, 4.0, 5.0.
    func fiveSlots() throws -> (MatchingEngine, [SlotID]) {
        var e = MatchingEngine()
        var ids: [SlotID] = []
        for (n, (km, hours)) in [(4.0, 1.0), (2.0, 2.0), (3.0, 5.0), (1.0, 6.0), (0.5, 9.0)].enumerated() {
            let pro = try e.addPro(n + 1, at: Fixture.north(km))
            ids.append(try e.publish(pro, at: Fixture.hours(hours)).id)
        }
        return (e, ids)
    }

    @Test func candidatesComeBestFirst() throws {
        let (e, ids) = try fiveSlots()
        let found = e.candidates(for: Fixture.need(), now: Fixture.now, limit: 10)
        #expect(found.map(\.slot.id) == [ids[1], ids[3], ids[0], ids[4], ids[2]])
        let costs = found.map(\.cost)
        for (cost, expected) in zip(costs, [3.0, 4.0, 4.5, 5.0, 5.5]) {
            #expect(isClose(cost, expected))
        }
    }

    @Test(arguments: [0, 1, 2, 3, 5])
    func candidatesRespectTheLimit(limit: Int) throws {
        let (e, _) = try fiveSlots()
        let all = e.candidates(for: Fixture.need(), now: Fixture.now, limit: 10)
        let found = e.candidates(for: Fixture.need(), now: Fixture.now, limit: limit)
        #expect(found.count == limit)
        #expect(found == Array(all.prefix(limit)))
    }

    @Test func candidatesBookNothing() throws {
        let (e, ids) = try fiveSlots()
        _ = e.candidates(for: Fixture.need(), now: Fixture.now, limit: 10)
        #expect(ids.allSatisfy { e.taken($0.number) == 0 })
        #expect(e.stats(now: Fixture.now).openSlots == 5)
    }

    @Test func candidatesFindSlotsInNeighbouringGridCells() throws {
        var e = MatchingEngine()
        let northPoint = Fixture.north(15)
        let eastPoint = Fixture.east(15)
        // The index files practices in 0.1° cells: these are not the patient's cell.
        #expect(Int((Fixture.patient.lat * 10).rounded(.down)) != Int((northPoint.lat * 10).rounded(.down)))
        #expect(Int((Fixture.patient.lon * 10).rounded(.down)) != Int((eastPoint.lon * 10).rounded(.down)))
        let north = try e.publish(try e.addPro(1, at: northPoint), at: Fixture.hours(2))
        let east = try e.publish(try e.addPro(2, at: eastPoint), at: Fixture.hours(3))
        let far = try e.publish(try e.addPro(3, at: Fixture.north(25)), at: Fixture.hours(1))
        let found = e.candidates(for: Fixture.need(), now: Fixture.now, limit: 10)
        #expect(Set(found.map(\.slot.id)) == [north.id, east.id])
        #expect(found.allSatisfy { $0.distanceKm <= 20 })
        // A wider radius reaches the third.
        let wide = e.candidates(for: Fixture.need(radiusKm: 30), now: Fixture.now, limit: 10)
        #expect(Set(wide.map(\.slot.id)) == [north.id, east.id, far.id])
    }

    @Test func candidatesCrossTheGreenwichMeridian() throws {
        var e = MatchingEngine()
        // Near Le Mans-Angers: cell indexes change sign between the patient and the practices.
        let patient = GeoPoint(lat: 47.95, lon: -0.03)
        let westward = try e.publish(try e.addPro(1, at: Fixture.east(-8, of: patient)), at: Fixture.hours(2))
        let eastward = try e.publish(try e.addPro(2, at: Fixture.east(8, of: patient)), at: Fixture.hours(3))
        let found = e.candidates(for: Fixture.need(at: patient), now: Fixture.now, limit: 10)
        #expect(found.map(\.slot.id) == [westward.id, eastward.id])
    }

    @Test func homeSlotsAreFoundUpToTheLargestHomeRadius() throws {
        var e = MatchingEngine()
        let wide = try e.publish(
            try e.addPro(1, at: Fixture.north(40), homeRadiusKm: 45), at: Fixture.hours(2), mode: .home)
        _ = try e.publish(try e.addPro(2, at: Fixture.north(12)), at: Fixture.hours(2), mode: .home)
        let found = e.candidates(for: Fixture.need(modes: .home), now: Fixture.now, limit: 10)
        #expect(found.map(\.slot.id) == [wide.id])
    }

    @Test func homeRadiusOfThePolicyIsSearched() throws {
        var policy = MatchingPolicy()
        policy.homeRadiusKm = 30
        var e = MatchingEngine(policy: policy)
        let slot = try e.publish(try e.addPro(1, at: Fixture.north(20)), at: Fixture.hours(2), mode: .home)
        #expect(e.candidates(for: Fixture.need(modes: .home), now: Fixture.now, limit: 5).map(\.slot.id) == [slot.id])
    }

    /// `policy` is a public `var`: a radius raised after `init` is applied by `evaluate` but
    /// not by the search, which sizes its `home` search from the policy seen at `init`.
    @Test func homeRadiusRaisedAfterInitIsSearched() throws {
        var e = MatchingEngine()
        e.policy.homeRadiusKm = 30
        let slot = try e.publish(try e.addPro(1, at: Fixture.north(20)), at: Fixture.hours(2), mode: .home)
        #expect(e.evaluate(slot, for: Fixture.need(modes: .home), now: Fixture.now).candidate != nil)
        #expect(
            e.candidates(for: Fixture.need(modes: .home), now: Fixture.now, limit: 5).map(\.slot.id) == [slot.id])
    }

    @Test func candidatesSkipSlotsOutsideTheTimeWindow() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        _ = try e.publish(pro, at: Fixture.minutes(10))
        let inside = try e.publish(pro, at: Fixture.hours(5))
        _ = try e.publish(pro, at: Fixture.hours(30))
        let found = e.candidates(for: Fixture.need(deadline: Fixture.hours(24)), now: Fixture.now, limit: 10)
        #expect(found.map(\.slot.id) == [inside.id])
    }
}
