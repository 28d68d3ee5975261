import Foundation
import SNPCore
import Testing

/// §4.3: requests with no eligible slot wait, by priority, then deadline, then arrival.
@Suite struct QueueTests {
    /// Four GP requests and no slot yet, submitted in this order:
    /// a (prio 2, 48 h), b (prio 2, 24 h), c (prio 1, 48 h), d (prio 2, 48 h).
    /// Queue order: c, b, a, d.
    func fourQueued() throws -> (
        e: MatchingEngine, pro: RPPS, a: RequestOutcome, b: RequestOutcome, c: RequestOutcome, d: RequestOutcome
    ) {
        // §4.3's queue walk, under SPEC.md's strategy.
        var e = MatchingEngine(policy: .spec42)
        let pro = try e.addPro(1)
        let a = try e.submit("a")
        let b = try e.submit("b", within: 24 * 3600)
        let c = try e.submit("c", prio: 1)
        let d = try e.submit("d")
        return (e, pro, a, b, c, d)
    }

    @Test func addRequestReportsRankAtArrival() throws {
        let q = try fourQueued()
        #expect([q.a, q.b, q.c, q.d].map(\.request.state) == [.queued, .queued, .queued, .queued])
        #expect(q.a.rank == 1)
        #expect(q.b.rank == 1)  // earlier deadline than a
        #expect(q.c.rank == 1)  // more urgent than all
        #expect(q.d.rank == 4)  // same prio and deadline as a, arrived later
        #expect([q.c, q.b, q.a, q.d].map { q.e.rank($0) } == [1, 2, 3, 4])
        #expect(q.e.stats(now: Fixture.now).queued == 4)
    }

    @Test func publishedSlotGoesToTheFirstRequestInQueueOrder() throws {
        var q = try fourQueued()
        let (slot, booked) = try q.e.addSlot(q.e.draft(q.pro, at: Fixture.hours(2)), now: Fixture.now)
        #expect(booked == [q.c.request.id])
        #expect(q.e.current(q.c).state == .booked)
        #expect(q.e.current(q.c).assignment?.slot == slot.id)
        #expect([q.b, q.a, q.d].map { q.e.rank($0) } == [1, 2, 3])
        let next = try q.e.addSlot(q.e.draft(q.pro, at: Fixture.hours(3)), now: Fixture.now)
        #expect(next.booked == [q.b.request.id])
        let last = try q.e.addSlot(q.e.draft(q.pro, at: Fixture.hours(4)), now: Fixture.now)
        #expect(last.booked == [q.a.request.id])
        #expect(q.e.rank(q.d) == 1)
    }

    @Test func slotWithCapacityBooksSeveralQueuedRequestsInQueueOrder() throws {
        var q = try fourQueued()
        let (slot, booked) = try q.e.addSlot(q.e.draft(q.pro, at: Fixture.hours(2), capacity: 3), now: Fixture.now)
        #expect(booked == [q.c.request.id, q.b.request.id, q.a.request.id])
        #expect(q.e.taken(slot.id.number) == 3)
        #expect(Set(q.e.occupantIDs(of: slot.id)) == Set(booked))
        #expect(q.e.current(q.d).state == .queued)
        #expect(q.e.rank(q.d) == 1)
        #expect(q.e.stats(now: Fixture.now).queued == 1)
    }

    @Test func queueWalkSkipsRequestsTheSlotIsNotEligibleFor() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let farAway = try e.submit("far", prio: 1, at: Fixture.north(30))
        let urgentTele = try e.submit("tele", prio: 1, modes: .tele)
        let nearby = try e.submit("near", prio: 3)
        #expect(e.rank(nearby) == 3)
        let (_, booked) = try e.addSlot(e.draft(pro, at: Fixture.hours(2)), now: Fixture.now)
        #expect(booked == [nearby.request.id])
        #expect(e.rank(farAway) == 1)
        #expect(e.rank(urgentTele) == 2)
    }

    @Test func slotOnlyInterestsRequestsOfItsProfession() throws {
        var e = MatchingEngine()
        let kine = try e.addPro(1, .kine)
        let gpRequest = try e.submit("gp", prio: 1)
        let kineRequest = try e.submit("kine", .kine, prio: 3)
        #expect(kineRequest.rank == 1)  // ranks count within a profession
        let (_, booked) = try e.addSlot(e.draft(kine, at: Fixture.hours(2)), now: Fixture.now)
        #expect(booked == [kineRequest.request.id])
        #expect(e.current(gpRequest).state == .queued)
    }

    /// Capacity also appears when a professional drops back under their weekly cap: their other
    /// slots that week become eligible and should be offered to the queue (§4.3).
    @Test func releasedWeeklyCapOffersTheProfessionalsOtherSlotsToTheQueue() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1, weeklyCap: 1)
        let home = try e.publish(pro, at: Fixture.hours(2), mode: .home)
        let office = try e.publish(pro, at: Fixture.hours(3), mode: .office)
        let visit = try e.submit("home-visit", modes: .home)
        #expect(visit.request.assignment?.slot == home.id)
        let waiting = try e.submit("office-visit", modes: .office)
        #expect(waiting.request.state == .queued)  // the cap blocks the office slot
        _ = try e.cancel(visit.request.id, reason: nil, now: Fixture.minutes(1))
        #expect(e.current(waiting).state == .booked)
        #expect(e.load(of: pro, week: 202648) == 1, "the freed place under the cap went to the waiting request")
        #expect(e.current(waiting).assignment?.slot == office.id)
        // A later request of the same priority must not overtake the waiting one.
        let later = try e.submit("later", modes: .office, now: Fixture.minutes(2))
        #expect(later.request.state == .queued)
    }

    @Test func queuedRequestExpiresAfterItsDeadline() throws {
        var e = MatchingEngine()
        let out = try e.submit("case-1", within: 2 * 3600)
        let deadline = Fixture.hours(2)
        #expect(out.request.deadline == deadline)
        e.tick(now: Fixture.seconds(-1, after: deadline))
        #expect(e.current(out).state == .queued)
        #expect(e.current(out).closedAt == nil)
        e.tick(now: Fixture.minutes(5, after: deadline))
        let expired = e.current(out)
        #expect(expired.state == .expired)
        #expect(expired.closedAt == deadline)
        #expect(expired.state.isFinal)
        #expect(e.rank(of: expired) == nil)
        #expect(e.stats(now: deadline).queued == 0)
    }

    @Test func expiryLeavesOtherQueuedRequestsWaiting() throws {
        var e = MatchingEngine()
        let short = try e.submit("short", within: 3600)
        let long = try e.submit("long", within: 6 * 3600)
        e.tick(now: Fixture.hours(2))
        #expect(e.current(short).state == .expired)
        #expect(e.current(long).state == .queued)
        #expect(e.rank(long) == 1)
        e.tick(now: Fixture.hours(7))
        #expect(e.current(long).state == .expired)
        #expect(e.current(long).closedAt == Fixture.hours(6))
    }

    @Test func bookedRequestDoesNotExpire() throws {
        var e = MatchingEngine()
        _ = try e.publish(try e.addPro(1), at: Fixture.hours(1))
        let out = try e.submit("case-1", within: 2 * 3600)
        #expect(out.request.state == .booked)
        e.tick(now: Fixture.hours(3))
        #expect(e.current(out).state == .booked)
    }

    @Test func statsCountOpenQueuedHeldAndBookedTodayInParis() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        _ = try e.publish(pro, at: Fixture.hours(2))
        _ = try e.publish(pro, at: Fixture.hours(3))
        _ = try e.publish(pro, at: Fixture.hours(4), capacity: 2)
        func counts(_ s: EngineStats) -> [Int] { [s.openSlots, s.queued, s.held, s.bookedToday] }
        #expect(counts(e.stats(now: Fixture.now)) == [3, 0, 0, 0])
        _ = try e.submit("booked")
        _ = try e.submit("held", hold: 600)
        _ = try e.submit("half", .gp)
        _ = try e.submit("queued", .nurse)
        // The 4 h slot keeps one of its two places; a hold is not a booking yet.
        #expect(counts(e.stats(now: Fixture.now)) == [1, 1, 1, 2])
        // Booked on Monday in Paris: 22:30Z is still Monday there, 23:30Z is Tuesday.
        #expect(e.stats(now: Fixture.time("2026-11-23T22:30:00Z")).bookedToday == 2)
        #expect(e.stats(now: Fixture.time("2026-11-23T23:30:00Z")).bookedToday == 0)
    }
}
