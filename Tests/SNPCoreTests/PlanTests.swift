import Foundation
import SNPCore
import Testing

/// §3.10: availability plans, published by the engine's own timer (`tick`).
@Suite struct PlanTests {
    /// Weekdays `mon,…` as a plan reads them.
    static func days(_ text: String) -> Weekdays { Weekdays(parsing: text)! }

    static func plan(
        _ pro: RPPS, _ days: String = "mon,tue,wed,thu,fri,sat,sun", from: String = "08:00", to: String = "09:00",
        length: Int? = nil, kind: SlotKind = .regular, capacity: Int = 1, until: String? = nil
    ) -> PlanDraft {
        PlanDraft(
            pro: pro, days: Weekdays(parsing: days)!, from: Plan.minutes(parsing: from)!, to: Plan.minutes(parsing: to)!,
            lengthSeconds: length, capacity: capacity, kind: kind, until: until.flatMap(ParisTime.dayNumber(parsing:)))
    }

    /// The starts (UTC) of a professional's published slots, in order.
    static func starts(_ e: MatchingEngine, _ pro: RPPS) -> [String] {
        e.listSlots(pro: pro, from: Date(epochSeconds: 0), to: nil, state: .all, limit: 1000).map { RFC3339.format($0.start) }
    }

    @Test func planPublishesTheWeekWithinTheHorizonAtOnce() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        // Monday 23 November 09:00 Paris: today's 08:00 is past (skipped); the next 7 days up
        // to Monday 30 November 09:00 are within the horizon: Tue 24 … Mon 30 at 08:00.
        let out = try e.addPlan(Self.plan(pro), now: Fixture.now)
        #expect(out.published == 7)
        #expect(out.skipped == 1)
        #expect(Self.starts(e, pro).first == "2026-11-24T07:00:00Z")
        #expect(Self.starts(e, pro).last == "2026-11-30T07:00:00Z")
        let slot = e.listSlots(pro: pro, from: Fixture.now, to: nil, state: .all, limit: 1).first!
        #expect(slot.ref == "plan-\(out.plan.id)-20261124-0800")
        #expect(slot.end.epochSeconds - slot.start.epochSeconds == 3600)
    }

    @Test func tickPublishesEachDayAsItEntersTheHorizon() throws {
        // spec42: no bid prices to refresh, so `hasDueWork` speaks of plans alone.
        var e = MatchingEngine(policy: .spec42)
        let pro = try e.addPro(1)
        let out = try e.addPlan(Self.plan(pro, "mon,wed", length: 1800), now: Fixture.now)
        // Today's two are past; Wednesday 25 and Monday 30 (08:00 and 08:30, up to the
        // horizon, Monday 30 09:00) are published.
        #expect(out.published == 4)
        #expect(out.skipped == 2)
        // Wednesday 2 December 08:00 Paris (07:00Z) enters the horizon on Wednesday 25 at 07:00Z.
        #expect(!e.hasDueWork(at: Fixture.hours(46.9)))
        #expect(e.hasDueWork(at: Fixture.hours(47)))
        e.tick(now: Fixture.hours(47))
        #expect(e.plan(out.plan.id)?.published == 5)
        e.tick(now: Fixture.hours(47.5))
        #expect(e.plan(out.plan.id)?.published == 6)
        #expect(Self.starts(e, pro).count == 6)
        // Ticking again publishes nothing twice.
        e.tick(now: Fixture.hours(47.5))
        #expect(Self.starts(e, pro).count == 6)
        #expect(e.plan(out.plan.id)?.skipped == 2)
    }

    @Test func parisTimeOfDayHoldsInWinterAndSummer() throws {
        // Friday 27 March 2026, 12:00 Paris (winter): the plan covers Sat 28 (winter, 07:00Z)
        // and Sun 29, the day of the spring change (summer, 06:00Z).
        let now = Fixture.time("2026-03-27T11:00:00Z")
        var e = MatchingEngine()
        let pro = try e.addPro(1, now: now)
        _ = try e.addPlan(Self.plan(pro, "sat,sun", from: "08:00", to: "08:30"), now: now)
        #expect(Self.starts(e, pro) == ["2026-03-28T07:00:00Z", "2026-03-29T06:00:00Z"])
    }

    @Test func springChangeSkipsTheHourThatDoesNotExist() throws {
        let now = Fixture.time("2026-03-27T11:00:00Z")
        var e = MatchingEngine()
        let pro = try e.addPro(1, now: now)
        // 01:00–04:00 cut in hours on Sunday 29 March: 01:00 is winter time (00:00Z) and its
        // end, 02:00, does not exist (read as winter time: the slot keeps its hour); the
        // 02:00 slot does not exist and is skipped; 03:00 is summer time (01:00Z).
        let out = try e.addPlan(Self.plan(pro, "sun", from: "01:00", to: "04:00", length: 3600), now: now)
        #expect(Self.starts(e, pro) == ["2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z"])
        #expect(out.published == 2)
        #expect(out.skipped == 1)
    }

    @Test func autumnChangeTakesTheFirstOccurrence() throws {
        // Friday 23 October 2026, 12:00 Paris (summer).
        let now = Fixture.time("2026-10-23T10:00:00Z")
        var e = MatchingEngine()
        let pro = try e.addPro(1, now: now)
        _ = try e.addPlan(Self.plan(pro, "sat,sun,mon", from: "02:30", to: "03:30"), now: now)
        // Sat 24 (summer 00:30Z); Sun 25, the change: 02:30 first occurs at 00:30Z, 03:30 is
        // winter (02:30Z); Mon 26 (winter 01:30Z).
        let slots = e.listSlots(pro: pro, from: Date(epochSeconds: 0), to: nil, state: .all, limit: 10)
        #expect(slots.map { RFC3339.format($0.start) } == ["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"])
        #expect(slots.map { $0.end.epochSeconds - $0.start.epochSeconds } == [3600, 7200, 3600])
        // 08:00 stays 08:00 in Paris across the change.
        var f = MatchingEngine()
        let other = try f.addPro(2, now: now)
        _ = try f.addPlan(Self.plan(other, "sat,sun", from: "08:00", to: "08:30"), now: now)
        #expect(Self.starts(f, other) == ["2026-10-24T06:00:00Z", "2026-10-25T07:00:00Z"])
    }

    @Test func overlapsAreSkippedAndCountedNeverAnError() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        // A slot Wednesday 25 November 08:15–08:45 Paris.
        try e.publish(pro, at: Fixture.time("2026-11-25T07:15:00Z"))
        let out = try e.addPlan(Self.plan(pro, "wed", from: "08:00", to: "09:00", length: 1800), now: Fixture.now)
        #expect(out.published == 0)
        #expect(out.skipped == 2)
        #expect(e.plan(out.plan.id)?.skipped == 2)
    }

    @Test func untilIsInclusiveAndPastUntilIsRefused() throws {
        // spec42: no bid prices to refresh, so `hasDueWork` speaks of plans alone.
        var e = MatchingEngine(policy: .spec42)
        let pro = try e.addPro(1)
        let out = try e.addPlan(Self.plan(pro, until: "2026-11-25"), now: Fixture.now)
        #expect(Self.starts(e, pro) == ["2026-11-24T07:00:00Z", "2026-11-25T07:00:00Z"])
        #expect(out.published == 2)
        e.tick(now: Fixture.hours(24 * 10))
        #expect(Self.starts(e, pro).count == 2)
        #expect(!e.hasDueWork(at: Fixture.hours(24 * 10)))
        #expect(code { () throws(SNPError) in _ = try e.addPlan(Self.plan(pro, until: "2026-11-22"), now: Fixture.now) } == "BAD_REQUEST")
    }

    @Test func badPlansAreRefusedAndChangeNothing() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        _ = e.takeJournal()
        let bad: [PlanDraft] = [
            Self.plan(pro, from: "10:00", to: "09:00"),
            Self.plan(pro, from: "09:00", to: "09:00"),
            Self.plan(pro, from: "08:00", to: "09:00", length: 2 * 3600),
            Self.plan(pro, length: 0),
            Self.plan(pro, length: 90),
            Self.plan(pro, from: "06:00", to: "19:00", kind: .extra),
            Self.plan(pro, length: 0, kind: .extra),
        ]
        for draft in bad {
            #expect(code { () throws(SNPError) in _ = try e.addPlan(draft, now: Fixture.now) } == "BAD_REQUEST")
            e.undo(e.takeJournal())
        }
        #expect(code { () throws(SNPError) in _ = try e.addPlan(Self.plan(Fixture.rpps(99)), now: Fixture.now) } == "NOT_FOUND")
        #expect(e.plans.isEmpty)
        #expect(Self.starts(e, pro).isEmpty)
    }

    @Test func stoppedPlanPublishesNothingAndWithdrawsOnlyFreeFutureSlots() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let out = try e.addPlan(Self.plan(pro), now: Fixture.now)
        let booked = try e.submit("case-1")
        #expect(booked.request.state == .booked)
        let (plan, withdrawn) = try e.deletePlan(out.plan.id, withdraw: true, now: Fixture.now)
        #expect(!plan.isRunning)
        #expect(withdrawn.count == 6)
        #expect(e.current(booked).state == .booked)
        #expect(Self.starts(e, pro).count == 1)
        e.tick(now: Fixture.hours(24 * 3))
        #expect(Self.starts(e, pro).count == 1)
        #expect(code { () throws(SNPError) in _ = try e.deletePlan(out.plan.id, withdraw: false, now: Fixture.now) } == "CONFLICT")
        #expect(e.listPlans(pro: pro).isEmpty)
    }

    @Test func restartInTheMiddleOfADayPublishesWhatFellDueOnce() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let out = try e.addPlan(Self.plan(pro, from: "14:00", to: "15:00"), now: Fixture.now)
        // The records as the store holds them (the journal is what it writes).
        var pros: [RPPS: Professional] = [:]
        var slots: [Int64: Slot] = [:]
        var plans: [Int64: Plan] = [:]
        for change in e.takeJournal() {
            switch change {
            case .professional(_, let p): pros[p.rpps] = p
            case .slot(_, let s): slots[s.id.number] = s
            case .plan(_, let p): plans[p.id.number] = p
            case .request: break
            }
        }
        #expect(out.published == 7)  // today 14:00 … Sunday 29 14:00
        // Down from Monday 09:00 to Wednesday 13:30: the days that entered the horizon
        // meanwhile (Mon 30, Tue 1 December) are published at start, once.
        var restarted = MatchingEngine()
        restarted.restore(
            professionals: Array(pros.values), slots: Array(slots.values), requests: [], plans: Array(plans.values))
        let later = Fixture.time("2026-11-25T12:30:00Z")
        restarted.tick(now: later)
        #expect(restarted.plan(out.plan.id)?.published == 9)
        #expect(Self.starts(restarted, pro).count == 9)
        restarted.tick(now: later)
        #expect(Self.starts(restarted, pro).count == 9)
        #expect(restarted.lastPlanNumber == out.plan.id.number)
    }

    @Test func undoneFirstPublicationLeavesNoTrace() throws {
        // spec42: no bid prices to refresh, so `hasDueWork` speaks of plans alone.
        var e = MatchingEngine(policy: .spec42)
        let pro = try e.addPro(1)
        _ = e.takeJournal()
        _ = try e.addPlan(Self.plan(pro), now: Fixture.now)
        e.undo(e.takeJournal())
        #expect(e.plans.isEmpty)
        #expect(Self.starts(e, pro).isEmpty)
        #expect(!e.hasDueWork(at: Fixture.hours(24)))
    }

    @Test func weekdaysAndTimesParse() {
        #expect(Weekdays(parsing: "MON,wed")?.description == "mon,wed")
        #expect(Weekdays(parsing: "mon,funday") == nil)
        #expect(Weekdays(parsing: "") == nil)
        #expect(Plan.minutes(parsing: "08:30") == 510)
        #expect(Plan.minutes(parsing: "24:00") == nil)
        #expect(Plan.minutes(parsing: "24:00", endOfDay: true) == 1440)
        #expect(Plan.minutes(parsing: "8:30") == nil)
        #expect(ParisTime.instant(day: ParisTime.dayNumber(parsing: "2026-03-29")!, minute: 150) == nil)
    }
}
