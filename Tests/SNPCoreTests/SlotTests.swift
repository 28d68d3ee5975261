import Foundation
import SNPCore
import Testing

/// §3.7: publishing and withdrawing slots.
@Suite struct SlotTests {
    @Test func withdrawnSlotSendsItsBookingToAnotherSlot() throws {
        var e = MatchingEngine()
        let first = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let second = try e.publish(try e.addPro(2, at: Fixture.north(5)), at: Fixture.hours(3))
        let out = try e.submit("case-1", prio: 1, within: 12 * 3600)
        #expect(out.request.assignment?.slot == first.id)
        let moved = try e.withdrawSlot(first.id, now: Fixture.minutes(30))
        #expect(moved == [out.request.id])
        let rebooked = e.current(out)
        #expect(rebooked.state == .booked)
        #expect(rebooked.assignment?.slot == second.id)
        #expect(rebooked.spec.priority == 1)
        #expect(rebooked.deadline == Fixture.hours(12))
        #expect(rebooked.declined.isEmpty)
        #expect(e.slot(first.id)?.withdrawnAt == Fixture.minutes(30))
        #expect(e.taken(first.id.number) == 0)
    }

    @Test func withdrawnSlotQueuesItsBookingWhenNothingElseFits() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let slot = try e.publish(pro, at: Fixture.hours(2))
        let out = try e.submit("case-1", within: 12 * 3600)
        let moved = try e.withdrawSlot(slot.id, now: Fixture.minutes(30))
        #expect(moved == [out.request.id])
        #expect(e.current(out).state == .queued)
        #expect(e.current(out).deadline == Fixture.hours(12))
        #expect(e.rank(out) == 1)
        #expect(e.candidates(for: Fixture.need(), now: Fixture.minutes(30), limit: 5).isEmpty)
        // It gets the next slot published.
        let next = try e.addSlot(e.draft(pro, at: Fixture.hours(4)), now: Fixture.hours(1))
        #expect(next.booked == [out.request.id])
    }

    /// The requests of a withdrawn slot go back to matching "with their original priority"
    /// (§3.7): the most urgent should have first pick of what is left (§4.3).
    @Test func withdrawnSlotRematchesItsRequestsInQueueOrder() throws {
        var e = MatchingEngine()
        let shared = try e.publish(try e.addPro(1), at: Fixture.hours(2), capacity: 2)
        let routine = try e.submit("routine", prio: 3)
        let urgent = try e.submit("urgent", prio: 1)
        #expect(e.occupantIDs(of: shared.id) == [routine.request.id, urgent.request.id])
        let spare = try e.publish(try e.addPro(2), at: Fixture.hours(3))
        _ = try e.withdrawSlot(shared.id, now: Fixture.minutes(1))
        #expect(Set([e.current(urgent).state, e.current(routine).state]) == [.booked, .queued])
        #expect(e.current(urgent).state == .booked)
        #expect(e.current(urgent).assignment?.slot == spare.id)
        #expect(e.current(routine).state == .queued)
    }

    @Test func withdrawnHeldSlotSendsTheHoldBackToMatching() throws {
        var e = MatchingEngine()
        let slot = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let held = try e.submit("case-1", hold: 600)
        _ = try e.withdrawSlot(slot.id, now: Fixture.minutes(1))
        #expect(e.current(held).state == .queued)
        #expect(e.current(held).holdUntil == nil)
        #expect(e.stats(now: Fixture.now).held == 0)
    }

    @Test func slotCannotBeWithdrawnTwiceOrOnceStarted() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let slot = try e.publish(pro, at: Fixture.hours(2))
        let started = #expect(throws: SNPError.self) { try e.withdrawSlot(slot.id, now: slot.start) }
        #expect(started?.code == "CONFLICT")
        _ = try e.withdrawSlot(slot.id, now: Fixture.now)
        let twice = #expect(throws: SNPError.self) { try e.withdrawSlot(slot.id, now: Fixture.now) }
        #expect(twice?.code == "CONFLICT")
        let missing = #expect(throws: SNPError.self) { try e.withdrawSlot(.slot(42), now: Fixture.now) }
        #expect(missing?.code == "NOT_FOUND")
    }

    @Test func overlappingSlotOfTheSameProfessionalIsAConflict() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        _ = try e.publish(pro, at: Fixture.hours(2), minutes: 60)
        let overlap = #expect(throws: SNPError.self) { try e.publish(pro, at: Fixture.hours(2.5), minutes: 60) }
        #expect(overlap?.code == "CONFLICT")
        let inside = #expect(throws: SNPError.self) { try e.publish(pro, at: Fixture.hours(2.25), minutes: 15) }
        #expect(inside?.code == "CONFLICT")
        // Back to back is fine, and so is another professional at the same time.
        _ = try e.publish(pro, at: Fixture.hours(3), minutes: 30)
        _ = try e.publish(pro, at: Fixture.hours(1.5), minutes: 30)
        _ = try e.publish(try e.addPro(2), at: Fixture.hours(2), minutes: 60)
        #expect(e.lastSlotNumber == 4)
    }

    @Test func withdrawnSlotNoLongerBlocksItsPeriod() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let slot = try e.publish(pro, at: Fixture.hours(2))
        _ = try e.withdrawSlot(slot.id, now: Fixture.now)
        #expect(try e.publish(pro, at: Fixture.hours(2)).id != slot.id)
    }

    @Test func slotEndingBeforeItStartsIsABadRequest() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        for minutes in [0, -30] {
            let error = #expect(throws: SNPError.self) { try e.publish(pro, at: Fixture.hours(2), minutes: minutes) }
            #expect(error?.code == "BAD_REQUEST")
        }
        #expect(e.lastSlotNumber == 0)
    }

    @Test func slotStartingInThePastIsABadRequest() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let error = #expect(throws: SNPError.self) { try e.publish(pro, at: Fixture.seconds(-1)) }
        #expect(error?.code == "BAD_REQUEST")
        _ = try e.publish(pro, at: Fixture.now)
    }

    @Test func slotBeyondThePublicationHorizonIsABadRequest() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let error = #expect(throws: SNPError.self) {
            try e.publish(pro, at: Fixture.seconds(1, after: Fixture.hours(7 * 24)))
        }
        #expect(error?.code == "BAD_REQUEST")
        _ = try e.publish(pro, at: Fixture.hours(7 * 24))
    }

    @Test func slotNeedsAKnownActiveProfessionalAndCapacity() throws {
        var e = MatchingEngine()
        let unknown = #expect(throws: SNPError.self) { try e.publish(Fixture.rpps(9), at: Fixture.hours(2)) }
        #expect(unknown?.code == "NOT_FOUND")
        let pro = try e.addPro(1)
        let empty = #expect(throws: SNPError.self) { try e.publish(pro, at: Fixture.hours(2), capacity: 0) }
        #expect(empty?.code == "BAD_REQUEST")
        _ = try e.deactivateProfessional(pro, now: Fixture.now)
        let inactive = #expect(throws: SNPError.self) { try e.publish(pro, at: Fixture.hours(2)) }
        #expect(inactive?.code == "CONFLICT")
    }

    @Test func sameRefReturnsTheSameSlot() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let first = try e.publish(pro, at: Fixture.hours(2), ref: "monday-am")
        let again = try e.publish(pro, at: Fixture.hours(2), ref: "monday-am", now: Fixture.minutes(1))
        #expect(again == first)
        #expect(e.lastSlotNumber == 1)
        // A ref belongs to its professional.
        let other = try e.publish(try e.addPro(2), at: Fixture.hours(2), ref: "monday-am")
        #expect(other.id != first.id)
    }

    @Test func newSlotReportsTheRequestsItBooked() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let (_, none) = try e.addSlot(e.draft(pro, at: Fixture.hours(2)), now: Fixture.now)
        #expect(none.isEmpty)
        let out = try e.submit("case-1")
        #expect(out.request.state == .booked)
        let waiting = try e.submit("case-2")
        let (slot, booked) = try e.addSlot(e.draft(pro, at: Fixture.hours(3)), now: Fixture.now)
        #expect(booked == [waiting.request.id])
        #expect(e.occupantIDs(of: slot.id) == [waiting.request.id])
    }

    @Test func deactivatedProfessionalSendsBookingsBackToMatching() throws {
        var e = MatchingEngine()
        let leaving = try e.addPro(1)
        let staying = try e.addPro(2, at: Fixture.north(4))
        let gone = try e.publish(leaving, at: Fixture.hours(2))
        let kept = try e.publish(staying, at: Fixture.hours(5))
        let out = try e.submit("case-1")
        #expect(out.request.assignment?.slot == gone.id)
        let moved = try e.deactivateProfessional(leaving, now: Fixture.minutes(5))
        #expect(moved == [out.request.id])
        #expect(e.current(out).assignment?.slot == kept.id)
        #expect(e.slot(gone.id)?.isWithdrawn == true)
    }
}
