import Foundation
import SNPCore
import Testing

/// §3.8: holds, confirmations, declines, cancellations and outcomes.
@Suite struct HoldTests {
    @Test func requestWithHoldIsHeldUntilConfirmed() throws {
        var e = MatchingEngine()
        let slot = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let held = try e.submit("case-1", hold: 600)
        #expect(held.request.state == .held)
        #expect(held.request.holdUntil == Fixture.seconds(600))
        #expect(held.request.bookedAt == nil)
        #expect(held.request.assignment?.slot == slot.id)
        #expect(e.taken(slot.id.number) == 1)
        #expect(e.stats(now: Fixture.now).held == 1)

        let confirmed = try e.confirm(held.request.id, now: Fixture.seconds(300))
        #expect(confirmed.request.state == .booked)
        #expect(confirmed.request.holdUntil == nil)
        #expect(confirmed.request.bookedAt == Fixture.seconds(300))
        #expect(e.stats(now: Fixture.now).held == 0)
        // The lapse of the former hold no longer concerns it.
        e.tick(now: Fixture.seconds(601))
        #expect(e.current(held).state == .booked)
        #expect(e.taken(slot.id.number) == 1)
    }

    @Test func lapsedHoldCancelsTheRequestAndFreesTheSlot() throws {
        var e = MatchingEngine()
        let slot = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let held = try e.submit("case-1", hold: 600)
        e.tick(now: Fixture.seconds(599))
        #expect(e.current(held).state == .held)
        e.tick(now: Fixture.seconds(601))
        let lapsed = e.current(held)
        #expect(lapsed.state == .cancelled)
        #expect(lapsed.reason == "hold_expired")
        #expect(lapsed.closedAt == Fixture.seconds(600))
        #expect(lapsed.occupiedSlot == nil)
        #expect(e.taken(slot.id.number) == 0)
        let found = e.candidates(for: Fixture.need(), now: Fixture.seconds(601), limit: 5)
        #expect(found.map(\.slot.id) == [slot.id])
    }

    @Test func slotOfLapsedHoldGoesToQueuedRequest() throws {
        var e = MatchingEngine()
        let slot = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let held = try e.submit("case-1", hold: 600)
        let waiting = try e.submit("case-2")
        let otherProfession = try e.submit("case-3", .nurse, prio: 1)
        #expect(waiting.request.state == .queued)
        e.tick(now: Fixture.seconds(601))
        #expect(e.current(held).state == .cancelled)
        #expect(e.current(waiting).state == .booked)
        #expect(e.current(waiting).assignment?.slot == slot.id)
        #expect(e.current(waiting).bookedAt == Fixture.seconds(601))
        #expect(e.current(otherProfession).state == .queued)
    }

    @Test func onlyAHeldRequestCanBeConfirmed() throws {
        var e = MatchingEngine()
        _ = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let booked = try e.submit("case-1")
        let queued = try e.submit("case-2")
        for id in [booked.request.id, queued.request.id] {
            let error = #expect(throws: SNPError.self) { try e.confirm(id, now: Fixture.now) }
            #expect(error?.code == "CONFLICT")
        }
        let missing = #expect(throws: SNPError.self) { try e.confirm(.request(99), now: Fixture.now) }
        #expect(missing?.code == "NOT_FOUND")
    }
}

@Suite struct DeclineTests {
    @Test func declineMovesTheRequestToAnotherSlot() throws {
        var e = MatchingEngine()
        let first = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let second = try e.publish(try e.addPro(2, at: Fixture.north(5)), at: Fixture.hours(2))
        let out = try e.submit("case-1")
        #expect(out.request.assignment?.slot == first.id)
        let moved = try e.decline(out.request.id, now: Fixture.minutes(5))
        #expect(moved.request.state == .booked)
        #expect(moved.request.assignment?.slot == second.id)
        #expect(moved.request.declined == [first.id])
        #expect(e.taken(first.id.number) == 0)
        #expect(e.taken(second.id.number) == 1)
        // The freed slot is open to anybody else.
        #expect(try e.submit("case-2").request.assignment?.slot == first.id)
    }

    @Test func declinedSlotIsNeverProposedAgainEvenIfItIsTheOnlyOne() throws {
        var e = MatchingEngine()
        let slot = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let out = try e.submit("case-1")
        let declined = try e.decline(out.request.id, now: Fixture.now)
        #expect(declined.request.state == .queued)
        #expect(declined.rank == 1)
        // The place comes back to the queue (another request takes and cancels it): still not this one.
        let other = try e.submit("case-2", prio: 3)
        #expect(other.request.assignment?.slot == slot.id)
        _ = try e.cancel(other.request.id, reason: nil, now: Fixture.minutes(1))
        #expect(e.current(declined).state == .queued)
        #expect(e.taken(slot.id.number) == 0)
        e.tick(now: Fixture.minutes(2))
        #expect(e.current(declined).state == .queued)
        // A new slot does reach it.
        let fresh = try e.addSlot(e.draft(try e.addPro(2), at: Fixture.hours(3)), now: Fixture.minutes(3))
        #expect(fresh.booked == [declined.request.id])
    }

    @Test func declineOfAHoldHoldsAnotherSlot() throws {
        var e = MatchingEngine()
        let first = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let second = try e.publish(try e.addPro(2, at: Fixture.north(5)), at: Fixture.hours(2))
        let held = try e.submit("case-1", hold: 600)
        #expect(held.request.assignment?.slot == first.id)
        let again = try e.decline(held.request.id, now: Fixture.seconds(60))
        #expect(again.request.state == .held)
        #expect(again.request.assignment?.slot == second.id)
        #expect(again.request.holdUntil == Fixture.seconds(660))
        #expect(e.taken(first.id.number) == 0)
    }

    @Test func slotFreedByDeclineGoesToQueuedRequest() throws {
        var e = MatchingEngine()
        let slot = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let first = try e.submit("case-1")
        let second = try e.submit("case-2")
        #expect(second.request.state == .queued)
        let declined = try e.decline(first.request.id, now: Fixture.minutes(1))
        #expect(declined.request.state == .queued)
        #expect(e.current(second).state == .booked)
        #expect(e.current(second).assignment?.slot == slot.id)
        #expect(e.rank(declined) == 1)
    }

    /// Issue 14: a request that goes back to matching no longer carries the slot it left
    /// (its professional would still see it); the report's copy is kept apart.
    @Test func aRequestThatLeftItsSlotNoLongerCarriesIt() throws {
        var e = MatchingEngine()
        let slot = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let out = try e.submit("case-1")
        let declined = try e.decline(out.request.id, now: Fixture.minutes(1))
        #expect(declined.request.state == .queued)
        #expect(declined.request.assignment == nil)
        #expect(declined.request.formerAssignment?.slot == slot.id, "kept for the report")
        #expect(declined.request.lastAssignment?.slot == slot.id)

        let other = try e.publish(try e.addPro(2), at: Fixture.hours(3))
        #expect(e.current(declined).assignment?.slot == other.id, "matched again: the new slot only")
        #expect(e.current(declined).formerAssignment == nil)
        _ = try e.withdrawSlot(other.id, now: Fixture.minutes(2))
        #expect(e.current(declined).state == .queued)
        #expect(e.current(declined).assignment == nil, "a withdrawn slot is left too")
        #expect(e.current(declined).formerAssignment?.slot == other.id)
        _ = try e.cancel(declined.request.id, reason: "patient called back", now: Fixture.minutes(3))
        #expect(e.current(declined).assignment == nil)
    }

    @Test func onlyAHeldOrBookedRequestCanDecline() throws {
        var e = MatchingEngine()
        let queued = try e.submit("case-1")
        let error = #expect(throws: SNPError.self) { try e.decline(queued.request.id, now: Fixture.now) }
        #expect(error?.code == "CONFLICT")
    }
}

@Suite struct CancelAndOutcomeTests {
    @Test func cancelFreesTheSlot() throws {
        var e = MatchingEngine()
        let slot = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let out = try e.submit("case-1")
        let cancelled = try e.cancel(out.request.id, reason: "patient seen elsewhere", now: Fixture.minutes(10))
        #expect(cancelled.state == .cancelled)
        #expect(cancelled.reason == "patient seen elsewhere")
        #expect(cancelled.closedAt == Fixture.minutes(10))
        #expect(e.current(out) == cancelled)
        #expect(e.taken(slot.id.number) == 0)
        #expect(e.candidates(for: Fixture.need(), now: Fixture.minutes(10), limit: 1).first?.slot.id == slot.id)
    }

    @Test func cancelOfferedTheFreedSlotToTheQueue() throws {
        var e = MatchingEngine()
        let slot = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let out = try e.submit("case-1")
        let waiting = try e.submit("case-2")
        _ = try e.cancel(out.request.id, reason: nil, now: Fixture.minutes(10))
        #expect(e.current(out).reason == "cancelled")
        #expect(e.current(waiting).state == .booked)
        #expect(e.current(waiting).assignment?.slot == slot.id)
    }

    @Test func cancelOfQueuedRequestLeavesTheQueue() throws {
        var e = MatchingEngine()
        let out = try e.submit("case-1")
        _ = try e.cancel(out.request.id, reason: nil, now: Fixture.now)
        #expect(e.rank(out) == nil)
        #expect(e.stats(now: Fixture.now).queued == 0)
        let again = #expect(throws: SNPError.self) { try e.cancel(out.request.id, reason: nil, now: Fixture.now) }
        #expect(again?.code == "CONFLICT")
    }

    @Test(arguments: [VisitOutcome.honored, .noshow])
    func outcomeIsRecordedOnceTheAppointmentHasStarted(outcome: VisitOutcome) throws {
        var e = MatchingEngine()
        let slot = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let out = try e.submit("case-1")
        let early = #expect(throws: SNPError.self) {
            try e.recordOutcome(out.request.id, outcome, now: Fixture.seconds(-1, after: slot.start))
        }
        #expect(early?.code == "CONFLICT")
        #expect(e.current(out).state == .booked)
        let recorded = try e.recordOutcome(out.request.id, outcome, now: slot.start)
        #expect(recorded.state.rawValue == outcome.rawValue)
        #expect(recorded.closedAt == slot.start)
        // It keeps its place on the slot.
        #expect(e.taken(slot.id.number) == 1)
    }

    @Test func outcomeNeedsABookedRequest() throws {
        var e = MatchingEngine()
        let slot = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let held = try e.submit("case-1", hold: 600)
        let queued = try e.submit("case-2")
        for id in [held.request.id, queued.request.id] {
            let error = #expect(throws: SNPError.self) { try e.recordOutcome(id, .honored, now: slot.end) }
            #expect(error?.code == "CONFLICT")
        }
        _ = try e.confirm(held.request.id, now: Fixture.minutes(1))
        _ = try e.recordOutcome(held.request.id, .honored, now: slot.end)
        let twice = #expect(throws: SNPError.self) { try e.recordOutcome(held.request.id, .noshow, now: slot.end) }
        #expect(twice?.code == "CONFLICT")
        #expect(e.current(held).state == .honored)
    }
}

/// §3.8: the same `ref` is a safe retry; `slot=` books that slot or nothing.
@Suite struct AddRequestTests {
    @Test func sameRefAndContentReturnsTheSameRequest() throws {
        var e = MatchingEngine()
        _ = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let first = try e.submit("case-1", prio: 1)
        let last = e.lastRequestNumber
        let retry = try e.submit("case-1", prio: 1, now: Fixture.minutes(1))
        #expect(retry.existing)
        #expect(!first.existing)
        #expect(retry.request == first.request)
        #expect(e.lastRequestNumber == last)
    }

    @Test func sameRefOfQueuedRequestReturnsItsRank() throws {
        var e = MatchingEngine()
        _ = try e.submit("case-0", prio: 1)
        let first = try e.submit("case-1")
        let retry = try e.submit("case-1")
        #expect(retry.existing)
        #expect(retry.request.id == first.request.id)
        #expect(retry.rank == 2)
    }

    @Test func sameRefWithOtherContentIsAConflict() throws {
        var e = MatchingEngine()
        let first = try e.submit("case-1")
        let last = e.lastRequestNumber
        let error = #expect(throws: SNPError.self) { try e.submit("case-1", prio: 1) }
        #expect(error?.code == "CONFLICT")
        #expect(e.lastRequestNumber == last)
        #expect(e.current(first) == first.request)
    }

    @Test func namedSlotIsBookedEvenIfAnotherCostsLess() throws {
        var e = MatchingEngine()
        _ = try e.publish(try e.addPro(1), at: Fixture.hours(1))
        let chosen = try e.publish(try e.addPro(2, at: Fixture.north(8)), at: Fixture.hours(6))
        let out = try e.submit("case-1", slot: chosen.id)
        #expect(out.request.state == .booked)
        #expect(out.request.assignment?.slot == chosen.id)
        #expect(isClose(out.request.assignment?.cost, 11.0, tolerance: 1e-6))
    }

    @Test func namedIneligibleSlotIsAConflictAndCreatesNothing() throws {
        var e = MatchingEngine()
        let far = try e.publish(try e.addPro(1, at: Fixture.north(40)), at: Fixture.hours(2))
        _ = try e.submit("case-0")
        _ = e.takeJournal()
        let last = e.lastRequestNumber
        let error = #expect(throws: SNPError.self) { try e.submit("case-1", slot: far.id) }
        #expect(error?.code == "CONFLICT")
        let missing = #expect(throws: SNPError.self) { try e.submit("case-2", slot: .slot(999)) }
        #expect(missing?.code == "CONFLICT")
        #expect(e.lastRequestNumber == last)
        #expect(e.request(ref: "case-1") == nil)
        #expect(e.request(ref: "case-2") == nil)
        #expect(e.journal.isEmpty)
        #expect(e.taken(far.id.number) == 0)
        #expect(e.stats(now: Fixture.now).queued == 1)
    }

    @Test func namedSlotWithHoldIsHeld() throws {
        var e = MatchingEngine()
        let slot = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let out = try e.submit("case-1", hold: 300, slot: slot.id)
        #expect(out.request.state == .held)
        #expect(out.request.holdUntil == Fixture.seconds(300))
    }

    @Test(arguments: [(0, 48 * 3600), (4, 48 * 3600), (2, 0), (2, 48 * 3600 + 1)])
    func outOfRangePriorityOrWindowIsABadRequest(prio: Int, within: Int) throws {
        var e = MatchingEngine()
        let error = #expect(throws: SNPError.self) { try e.submit("case-1", prio: prio, within: within) }
        #expect(error?.code == "BAD_REQUEST")
        #expect(e.lastRequestNumber == 0)
    }
}

/// RGPD minimisation: the daemon's copies of old requests lose their exact location too.
extension AddRequestTests {
    /// §3.8 and issue 14: a `ref` belongs to its owner; another owner's identical `ref` is
    /// another request, and a retry is recognised per owner.
    @Test func theSameRefFromAnotherOwnerIsAnotherRequest() throws {
        var e = MatchingEngine()
        let spec = Fixture.spec("2026-0001", .gp)
        let mine = try e.addRequest(spec, owner: "samu56", now: Fixture.now)
        let theirs = try e.addRequest(spec, owner: "samu29", now: Fixture.now)
        #expect(mine.request.id != theirs.request.id)
        #expect(!theirs.existing)
        #expect(try e.addRequest(spec, owner: "samu29", now: Fixture.now).request.id == theirs.request.id)
        #expect(e.request(ref: "2026-0001", owner: "samu56")?.id == mine.request.id)
        #expect(e.request(ref: "2026-0001", owner: "samu29")?.id == theirs.request.id)
        #expect(e.request(ref: "2026-0001", owner: "samu35") == nil)
        #expect(e.requests(ref: "2026-0001").map(\.id) == [mine.request.id, theirs.request.id])
        var other = spec
        other.priority = 1
        let conflict = #expect(throws: SNPError.self) { try e.addRequest(other, owner: "samu29", now: Fixture.now) }
        #expect(conflict?.code == "CONFLICT")
    }
}

@Suite struct RetentionInMemoryTests {
    static let typed = GeoPoint(lat: 48.0537, lon: 2.0461)

    @Test func oldRequestsAreSnappedToTheGridOnceSettledAndWithoutAJournalEntry() throws {
        var policy = MatchingPolicy()
        policy.locationRetentionSeconds = 86_400  // one day: shorter than the window, to meet a waiting request
        var e = MatchingEngine(policy: policy)
        let booked = try e.publish(try e.addPro(1), at: Fixture.hours(3))
        let b = try e.submit("booked", at: Self.typed)
        #expect(e.current(b).assignment?.slot == booked.id)
        let w = try e.submit("waiting", .kine, at: Self.typed, within: 40 * 3600)
        #expect(w.request.state == .queued)
        let later = try e.submit("later", .nurse, at: Self.typed, within: 3600, now: Fixture.hours(0.5))
        _ = e.takeJournal()

        e.tick(now: Fixture.hours(23))
        #expect(e.current(b).spec.location == Self.typed, "not a day old yet")
        #expect(e.current(later).state == .expired)
        _ = e.takeJournal()
        e.tick(now: Fixture.hours(25))
        #expect(e.current(b).spec.location == GeoPoint(lat: 48.1, lon: 2.0), "a day old and settled: snapped")
        #expect(e.current(w).spec.location == Self.typed, "still waiting: kept, it may yet be matched")
        #expect(e.current(later).spec.location == Self.typed, "settled, but behind a waiting one: looked at later")
        #expect(e.journal.isEmpty, "nothing to commit: the commit never writes a location")

        e.tick(now: Fixture.hours(41))  // the waiting request expires at its deadline
        #expect(e.current(w).state == .expired)
        _ = e.takeJournal()
        e.tick(now: Fixture.hours(42))
        #expect(e.current(w).spec.location == GeoPoint(lat: 48.1, lon: 2.0))
        #expect(e.current(later).spec.location == GeoPoint(lat: 48.1, lon: 2.0))
    }

    @Test func theGridIsTheRetentionJobs() {
        // round(x / 0.1) * 0.1 with ties to even, as PostgreSQL rounds a double.
        #expect(GeoPoint(lat: 47.66, lon: -2.76).snappedForRetention == GeoPoint(lat: 47.7, lon: -2.8000000000000003))
        #expect(GeoPoint(lat: 0.25, lon: -0.05).snappedForRetention == GeoPoint(lat: 0.2, lon: -0.0))
    }
}
