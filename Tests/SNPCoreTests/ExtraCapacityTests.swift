import Foundation
import SNPCore
import Testing

/// §3.7 `kind=extra` and §4.1: extra capacity (surnuméraire), matched only when no regular
/// slot is eligible.
@Suite struct ExtraCapacityTests {
    /// An extra window of `hours` from `start`, `capacity` patients.
    @discardableResult
    static func window(
        _ e: inout MatchingEngine, _ pro: RPPS, at start: Date, hours: Double = 4, capacity: Int = 2,
        now: Date = Fixture.now
    ) throws(SNPError) -> (slot: Slot, booked: [RequestID]) {
        try e.addSlot(
            SlotDraft(
                pro: pro, start: start, end: Date(epochSeconds: start.epochSeconds + Int64((hours * 3600).rounded())),
                capacity: capacity, kind: .extra),
            now: now)
    }

    @Test func requestWithNoSlotLeftIsBookedOnExtraCapacity() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        // A window that opened an hour ago: the patient may come from now + lead.
        let w = try Self.window(&e, pro, at: Fixture.now, hours: 6, now: Fixture.hours(-1)).slot
        let out = try e.submit("case-1")
        let a = try #require(out.request.assignment)
        #expect(out.request.state == .booked)
        #expect(a.slot == w.id)
        #expect(a.kind == .extra)
        #expect(a.start == Fixture.minutes(15))
        #expect(a.end == Fixture.hours(6))
        #expect(isClose(a.cost, 0.5 * 0.25))
        #expect(e.load(of: pro, week: ParisTime.isoWeek(at: Fixture.now)) == 1)
    }

    @Test func regularSlotWinsOverExtraCapacityEvenWhenLater() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        try Self.window(&e, pro, at: Fixture.hours(1))
        let regular = try e.publish(try e.addPro(2, at: Fixture.north(15)), at: Fixture.hours(40), capacity: 2)
        let out = try e.submit("case-1")
        #expect(out.request.assignment?.slot == regular.id)
        #expect(out.request.assignment?.kind == .regular)
        // slot= naming the window is refused while a regular slot is eligible, and creates nothing.
        let w = e.listSlots(pro: pro, from: Fixture.now, to: nil, state: .all, limit: 5).first!
        #expect(throws: SNPError.self) { try e.submit("case-2", slot: w.id) }
        #expect(e.request(ref: "case-2") == nil)
    }

    @Test func extraWindowTakesUpToItsCapacityThenTheQueueWaits() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        try Self.window(&e, pro, at: Fixture.hours(2), capacity: 2)
        let first = try e.submit("case-1")
        let second = try e.submit("case-2")
        let third = try e.submit("case-3")
        #expect(first.request.state == .booked)
        #expect(second.request.state == .booked)
        #expect(first.request.assignment?.start == Fixture.hours(2))
        #expect(third.request.state == .queued)
    }

    @Test func publishedExtraWindowIsOfferedToTheQueue() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let waiting = try e.submit("case-1")
        #expect(waiting.request.state == .queued)
        let (_, booked) = try Self.window(&e, pro, at: Fixture.hours(3), now: Fixture.minutes(10))
        #expect(booked == [waiting.request.id])
        #expect(e.current(waiting).assignment?.kind == .extra)
    }

    @Test func declinedOrWithdrawnBookingFallsBackOnExtraCapacity() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let slot = try e.publish(pro, at: Fixture.hours(2))
        let w = try Self.window(&e, try e.addPro(2), at: Fixture.hours(1)).slot
        let out = try e.submit("case-1")
        #expect(out.request.assignment?.slot == slot.id)
        // Declined: no regular slot left, so the window.
        let declined = try e.decline(out.request.id, now: Fixture.minutes(5))
        #expect(declined.request.assignment?.slot == w.id)
        #expect(declined.request.assignment?.kind == .extra)
        // The freed regular slot goes to the next request; a new one to the third.
        let other = try e.submit("case-2", now: Fixture.minutes(6))
        #expect(other.request.assignment?.slot == slot.id)
        let regular = try e.publish(pro, at: Fixture.hours(5), now: Fixture.minutes(6))
        let third = try e.submit("case-3", now: Fixture.minutes(7))
        #expect(third.request.assignment?.slot == regular.id)
        // Withdrawn: no regular slot left, so the window's last place.
        _ = try e.withdrawSlot(regular.id, now: Fixture.minutes(8))
        #expect(e.current(third).assignment?.slot == w.id)
        #expect(e.current(third).assignment?.start == Fixture.hours(1))
        // The window is full (2 places): the next one waits.
        #expect(try e.submit("case-4", now: Fixture.minutes(9)).request.state == .queued)
    }

    @Test func windowClosingWithinFifteenMinutesIsNotEligible() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        // 08:00–08:40Z: from now + lead (08:15) only 25 minutes are left: eligible; at 08:10 only 15 are left after
        // the lead (08:25–08:40): still eligible; at 08:11 not.
        let w = try Self.window(&e, pro, at: Fixture.now, hours: 40.0 / 60, now: Fixture.minutes(-5)).slot
        #expect(e.evaluate(w, for: Fixture.need(), now: Fixture.minutes(10)).candidate != nil)
        #expect(e.evaluate(w, for: Fixture.need(), now: Fixture.minutes(11)).ineligibility == .tooSoon)
    }

    @Test func weeklyCapCountsExtraBookings() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1, weeklyCap: 1)
        try Self.window(&e, pro, at: Fixture.hours(1), capacity: 5)
        #expect(try e.submit("case-1").request.state == .booked)
        #expect(try e.submit("case-2").request.state == .queued)
    }

    @Test func extraWindowsOverlapSlotsButNotEachOther() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        try e.publish(pro, at: Fixture.hours(2))
        try Self.window(&e, pro, at: Fixture.hours(1), hours: 4)
        #expect(code { () throws(SNPError) in try Self.window(&e, pro, at: Fixture.hours(3), hours: 4) } == "CONFLICT")
        #expect(code { () throws(SNPError) in try Self.window(&e, pro, at: Fixture.hours(10), hours: 12.5) } == "BAD_REQUEST")
        #expect(e.listSlots(pro: pro, from: Fixture.now, to: nil, state: .all, limit: 10).count == 2)
    }

    @Test func fhirSearchLeavesExtraWindowsOut() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let slot = try e.publish(pro, at: Fixture.hours(2))
        try Self.window(&e, pro, at: Fixture.hours(1))
        let found = e.bookableSlots(of: [pro], from: Fixture.now, to: Fixture.hours(48), now: Fixture.now)
        #expect(found.map(\.id) == [slot.id])
    }

    @Test func extraPlanPublishesOneWindowADay() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let out = try e.addPlan(PlanTests.plan(pro, "tue,wed", from: "14:00", to: "18:00", kind: .extra, capacity: 2), now: Fixture.now)
        #expect(out.published == 2)
        let slots = e.listSlots(pro: pro, from: Fixture.now, to: nil, state: .all, limit: 10)
        #expect(slots.allSatisfy { $0.kind == .extra && $0.capacity == 2 })
        #expect(slots.map { $0.end.epochSeconds - $0.start.epochSeconds } == [4 * 3600, 4 * 3600])
    }
}

/// The `ERR` code `body` throws, `nil` if it succeeds.
func code(_ body: () throws(SNPError) -> Void) -> String? {
    do {
        try body()
        return nil
    } catch {
        return error.code
    }
}
