import Foundation
import SNPCore
import Testing

/// §4.1, one rule at a time: a slot that is otherwise eligible is made ineligible by exactly
/// one thing, and both `evaluate` (the specific reason) and `addRequest` (no booking) see it.
@Suite struct EligibilityTests {
    /// What `addRequest` shows when the rule under test left it nothing: queued, the slot untouched.
    func expectQueued(_ outcome: RequestOutcome, slot: Slot, in engine: MatchingEngine) {
        #expect(outcome.request.state == .queued)
        #expect(outcome.request.occupiedSlot == nil)
        #expect(outcome.rank == 1)
        #expect(engine.taken(slot.id.number) == 0)
    }

    @Test func slotOfSameProfessionModeAndPlaceIsEligibleAndBooked() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let slot = try e.publish(pro, at: Fixture.hours(2))
        #expect(e.evaluate(slot, for: Fixture.need(), now: Fixture.now).candidate?.slot.id == slot.id)
        let out = try e.submit("case-1")
        #expect(out.request.state == .booked)
        #expect(out.request.assignment?.slot == slot.id)
        #expect(e.taken(slot.id.number) == 1)
    }

    @Test func slotOfAnotherProfessionIsIneligible() throws {
        var e = MatchingEngine()
        let kine = try e.addPro(1, .kine)
        let slot = try e.publish(kine, at: Fixture.hours(2))
        #expect(e.evaluate(slot, for: Fixture.need(.gp), now: Fixture.now).ineligibility == .otherProfession)
        #expect(e.evaluate(slot, for: Fixture.need(.kine), now: Fixture.now).candidate != nil)
        expectQueued(try e.submit("case-1", .gp), slot: slot, in: e)
    }

    @Test func slotWhoseModeTheRequestDoesNotAcceptIsIneligible() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let slot = try e.publish(pro, at: Fixture.hours(2), mode: .tele)
        #expect(
            e.evaluate(slot, for: Fixture.need(modes: .inPerson), now: Fixture.now).ineligibility == .modeNotAccepted)
        #expect(e.evaluate(slot, for: Fixture.need(modes: .tele), now: Fixture.now).candidate != nil)
        expectQueued(try e.submit("case-1", modes: .inPerson), slot: slot, in: e)
    }

    @Test func slotWithNoPlaceLeftIsIneligible() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let slot = try e.publish(pro, at: Fixture.hours(2), capacity: 1)
        #expect(try e.submit("case-1").request.state == .booked)
        #expect(e.evaluate(slot, for: Fixture.need(), now: Fixture.now).ineligibility == .full)
        let second = try e.submit("case-2")
        #expect(second.request.state == .queued)
        #expect(e.taken(slot.id.number) == 1)
    }

    @Test func slotOfDeactivatedProfessionalIsIneligible() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let published = try e.publish(pro, at: Fixture.hours(2))
        _ = try e.deactivateProfessional(pro, now: Fixture.now)
        #expect(e.professional(pro)?.active == false)
        // The slot as it was published: only the professional's state changed.
        #expect(e.evaluate(published, for: Fixture.need(), now: Fixture.now).ineligibility == .professionalInactive)
        // PRO OFF also withdraws their future slots.
        let stored = try #require(e.slot(published.id))
        #expect(stored.isWithdrawn)
        #expect(e.evaluate(stored, for: Fixture.need(), now: Fixture.now).ineligibility == .withdrawn)
        expectQueued(try e.submit("case-1"), slot: published, in: e)
    }

    /// Sunday 22 November 2026, 08:00 in Paris (ISO week 2026-47); Monday starts at 23:00Z.
    static let sunday = Fixture.time("2026-11-22T07:00:00Z")

    @Test func slotOfProfessionalAtWeeklyCapIsIneligible() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1, weeklyCap: 1, now: Self.sunday)
        let first = try e.publish(pro, at: Fixture.time("2026-11-22T12:00:00Z"), now: Self.sunday)
        let second = try e.publish(pro, at: Fixture.time("2026-11-22T16:00:00Z"), now: Self.sunday)
        #expect(try e.submit("case-0", slot: first.id, now: Self.sunday).request.state == .booked)
        #expect(e.load(of: pro, week: 202647) == 1)
        #expect(
            e.evaluate(second, for: Fixture.need(deadline: Fixture.hours(48, after: Self.sunday)), now: Self.sunday)
                .ineligibility == .weeklyCapReached)
        expectQueued(try e.submit("case-1", now: Self.sunday), slot: second, in: e)
    }

    @Test func bookingInAnotherParisWeekDoesNotCountAgainstTheCap() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1, weeklyCap: 1, now: Self.sunday)
        // Sunday 23:30 UTC is Monday 00:30 in Paris: week 48, although still Sunday in UTC.
        let monday = try e.publish(pro, at: Fixture.time("2026-11-22T23:30:00Z"), now: Self.sunday)
        let sundaySlot = try e.publish(pro, at: Fixture.time("2026-11-22T16:00:00Z"), now: Self.sunday)
        #expect(try e.submit("case-0", slot: monday.id, now: Self.sunday).request.state == .booked)
        #expect(e.load(of: pro, week: 202648) == 1)
        #expect(e.load(of: pro, week: 202647) == 0)
        let need = Fixture.need(deadline: Fixture.hours(48, after: Self.sunday))
        let candidate = try #require(e.evaluate(sundaySlot, for: need, now: Self.sunday).candidate)
        // No load term either: 9 hours at prio 2, at the practice's door.
        #expect(isClose(candidate.cost, 4.5))
        let out = try e.submit("case-1", now: Self.sunday)
        #expect(out.request.assignment?.slot == sundaySlot.id)
    }

    @Test func slotStartingSoonerThanTheLeadIsIneligible() throws {
        var e = MatchingEngine()
        let early = try e.publish(try e.addPro(1), at: Fixture.minutes(14))
        let onTime = try e.publish(try e.addPro(2), at: Fixture.minutes(15))
        #expect(e.evaluate(early, for: Fixture.need(), now: Fixture.now).ineligibility == .tooSoon)
        #expect(e.evaluate(onTime, for: Fixture.need(), now: Fixture.now).candidate != nil)
        _ = try e.withdrawSlot(onTime.id, now: Fixture.now)
        expectQueued(try e.submit("case-1"), slot: early, in: e)
    }

    @Test func slotStartingAfterTheDeadlineIsIneligible() throws {
        var e = MatchingEngine()
        let late = try e.publish(try e.addPro(1), at: Fixture.hours(2, after: Fixture.minutes(1)))
        let atDeadline = try e.publish(try e.addPro(2), at: Fixture.hours(2))
        let need = Fixture.need(deadline: Fixture.hours(2))
        #expect(e.evaluate(late, for: need, now: Fixture.now).ineligibility == .afterDeadline)
        #expect(e.evaluate(atDeadline, for: need, now: Fixture.now).candidate != nil)
        _ = try e.withdrawSlot(atDeadline.id, now: Fixture.now)
        expectQueued(try e.submit("case-1", within: 2 * 3600), slot: late, in: e)
    }

    @Test func officeSlotBeyondTheRequestRadiusIsIneligible() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1, at: Fixture.north(25))
        let slot = try e.publish(pro, at: Fixture.hours(2))
        guard case .tooFar(let km, let limit) = e.evaluate(slot, for: Fixture.need(), now: Fixture.now).ineligibility
        else {
            Issue.record("expected tooFar")
            return
        }
        #expect(isClose(km, 25, tolerance: 1e-6))
        #expect(limit == 20)
        #expect(e.evaluate(slot, for: Fixture.need(radiusKm: 30), now: Fixture.now).candidate != nil)
        expectQueued(try e.submit("case-1"), slot: slot, in: e)
    }

    @Test func homeSlotBeyondTheProfessionalHomeRadiusIsIneligible() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1, at: Fixture.north(15))
        let slot = try e.publish(pro, at: Fixture.hours(2), mode: .home)
        // The request's radius_km bounds office visits only; home visits use the professional's radius.
        let need = Fixture.need(modes: .home, radiusKm: 50)
        guard case .tooFar(let km, let limit) = e.evaluate(slot, for: need, now: Fixture.now).ineligibility else {
            Issue.record("expected tooFar")
            return
        }
        #expect(isClose(km, 15, tolerance: 1e-6))
        #expect(limit == 10)
        expectQueued(try e.submit("case-1", modes: .home, radiusKm: 50), slot: slot, in: e)
    }

    @Test func homeSlotWithinALargerHomeRadiusIsEligible() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1, at: Fixture.north(15), homeRadiusKm: 20)
        let slot = try e.publish(pro, at: Fixture.hours(2), mode: .home)
        #expect(e.evaluate(slot, for: Fixture.need(modes: .home), now: Fixture.now).candidate != nil)
        #expect(try e.submit("case-1", modes: .home).request.assignment?.slot == slot.id)
    }

    @Test func teleSlotHasNoDistanceLimitAndNoDistanceCost() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1, at: Fixture.north(500))
        let slot = try e.publish(pro, at: Fixture.hours(2), mode: .tele)
        let candidate = try #require(e.evaluate(slot, for: Fixture.need(modes: .tele), now: Fixture.now).candidate)
        #expect(isClose(candidate.distanceKm, 500, tolerance: 1e-6))
        #expect(candidate.cost == 1.0)  // 0.5 × 2 h, nothing for 500 km
        let out = try e.submit("case-1", modes: .tele)
        #expect(out.request.state == .booked)
        #expect(out.request.assignment?.slot == slot.id)
    }

    @Test func slotTheRequestDeclinedIsIneligible() throws {
        var e = MatchingEngine()
        let slot = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let booked = try e.submit("case-1")
        #expect(booked.request.assignment?.slot == slot.id)
        let declined = try e.decline(booked.request.id, now: Fixture.now)
        #expect(declined.request.declined == [slot.id])
        #expect(e.evaluate(slot, for: MatchNeed(declined.request), now: Fixture.now).ineligibility == .declinedBefore)
        // Any other request may still have it.
        #expect(e.evaluate(slot, for: Fixture.need(), now: Fixture.now).candidate != nil)
        expectQueued(declined, slot: slot, in: e)
    }
}
