import Foundation
import SNPCore
import Testing

/// The journal lets the server take back a command whose commit failed: `undo` must put
/// back the records and every index derived from them.
@Suite struct JournalTests {
    /// What a client can observe of an engine.
    struct Observed: Equatable {
        var professionals: [RPPS: Professional]
        var slots: [Int64: Slot]
        var requests: [Int64: CareRequest]
        var candidates: [[Candidate]]
        var ranks: [Int64: Int?]
        var taken: [Int64: Int]
        var loads: [Int]
        var stats: EngineStats
        var queuedCount: Int
        var openSlotCount: Int

        static let needs: [MatchNeed] = [
            Fixture.need(), Fixture.need(prio: 1, modes: [.office, .home, .tele]), Fixture.need(.kine),
            Fixture.need(modes: .home, at: Fixture.north(6)),
        ]

        init(_ e: MatchingEngine, now: Date = Fixture.now) {
            professionals = e.professionals
            slots = e.slots
            requests = e.requests
            candidates = Observed.needs.map { e.candidates(for: $0, now: now, limit: 10) }
            ranks = e.requests.mapValues { e.rank(of: $0) }
            taken = Dictionary(uniqueKeysWithValues: (1...12).map { (Int64($0), e.taken(Int64($0))) })
            loads = (1...4).map { e.load(of: Fixture.rpps($0), week: 202648) }
            stats = e.stats(now: now)
            queuedCount = e.queuedCount
            openSlotCount = e.openSlotCount
        }
    }

    /// Two GPs, a kiné, slots, one booking, one hold and two queued requests.
    func busyEngine() throws -> MatchingEngine {
        var e = MatchingEngine()
        let a = try e.addPro(1)
        let b = try e.addPro(2, at: Fixture.north(4), homeRadiusKm: 12)
        _ = try e.addPro(3, .kine, at: Fixture.north(2))
        _ = try e.publish(a, at: Fixture.hours(2), capacity: 2)
        _ = try e.publish(b, at: Fixture.hours(3), mode: .home)
        _ = try e.publish(b, at: Fixture.hours(5))
        _ = try e.submit("booked", prio: 1)
        _ = try e.submit("held", hold: 900)
        _ = try e.submit("waiting-kine", .kine)
        _ = try e.submit("waiting-tele", modes: .tele)
        _ = e.takeJournal()
        return e
    }

    @Test func undoOfTheJournalRestoresTheEngine() throws {
        var e = try busyEngine()
        let before = Observed(e)
        #expect(before.stats.queued == 2)
        #expect(before.stats.held == 1)

        let t = Fixture.minutes(1)
        let kine = Fixture.rpps(3)
        _ = try e.addSlot(e.draft(kine, at: Fixture.hours(6)), now: t)  // books waiting-kine
        let new = try e.submit("new", now: t)
        _ = try e.decline(new.request.id, now: t)
        _ = try e.cancel(try #require(e.request(ref: "booked")).id, reason: "seen elsewhere", now: t)
        _ = try e.confirm(try #require(e.request(ref: "held")).id, now: t)
        _ = try e.withdrawSlot(.slot(2), now: t)
        _ = try e.addPro(4, at: Fixture.north(1), now: t)
        _ = try e.publish(Fixture.rpps(4), at: Fixture.hours(1), mode: .tele, now: t)
        _ = try e.submit("later", prio: 3, hold: 60, now: t)
        _ = try e.addPro(2, at: Fixture.north(9), weeklyCap: 1, now: t)
        _ = try e.deactivateProfessional(Fixture.rpps(1), now: t)
        e.tick(now: Fixture.minutes(3))  // the 60 s hold lapses
        #expect(Observed(e) != before)

        e.undo(e.takeJournal())
        #expect(e.journal.isEmpty)
        let after = Observed(e)
        #expect(after.professionals == before.professionals)
        #expect(after.slots == before.slots)
        #expect(after.requests == before.requests)
        #expect(after.candidates == before.candidates)
        #expect(after.ranks == before.ranks)
        #expect(after.taken == before.taken)
        #expect(after.loads == before.loads)
        #expect(after.stats == before.stats)
        #expect(after == before)
        #expect(e.request(ref: "new") == nil)
        #expect(e.request(ref: "later") == nil)
    }

    @Test func engineKeepsWorkingAfterUndo() throws {
        var reference = try busyEngine()
        var e = try busyEngine()
        _ = try e.submit("doomed", now: Fixture.minutes(1))
        _ = try e.withdrawSlot(.slot(1), now: Fixture.minutes(1))
        e.undo(e.takeJournal())
        // The same commands give the same results as on an engine that never saw the undone ones
        // (request ids aside: an undone id is not reused).
        let expected = try reference.submit("next", now: Fixture.minutes(2))
        let got = try e.submit("next", now: Fixture.minutes(2))
        #expect(got.request.state == expected.request.state)
        #expect(got.request.assignment == expected.request.assignment)
        let expectedSlot = try reference.addSlot(
            reference.draft(Fixture.rpps(3), at: Fixture.hours(4)), now: Fixture.minutes(2))
        let gotSlot = try e.addSlot(e.draft(Fixture.rpps(3), at: Fixture.hours(4)), now: Fixture.minutes(2))
        #expect(
            gotSlot.booked.map { e.request($0)?.spec.ref }
                == expectedSlot.booked.map { reference.request($0)?.spec.ref })
    }

    @Test func undoneLapseAndExpiryFallDueAgain() throws {
        var e = MatchingEngine()
        let slot = try e.publish(try e.addPro(1), at: Fixture.hours(2))
        let held = try e.submit("held", hold: 600)
        let queued = try e.submit("queued", within: 3600)
        _ = e.takeJournal()
        e.tick(now: Fixture.hours(1.5))
        #expect(e.current(held).state == .cancelled)
        #expect(e.current(queued).state == .expired)
        // The commit of what the tick did failed: both are back, and still fall due.
        e.undo(e.takeJournal())
        #expect(e.current(held).state == .held)
        #expect(e.current(queued).state == .queued)
        #expect(e.taken(slot.id.number) == 1)
        e.tick(now: Fixture.hours(1.5))
        #expect(e.current(held).state == .cancelled)
        #expect(e.current(held).reason == "hold_expired")
        #expect(e.current(queued).state == .expired)
        #expect(e.taken(slot.id.number) == 0)
    }

    @Test func journalRecordsEveryChangeWithItsPreviousValue() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        _ = e.takeJournal()
        let slot = try e.publish(pro, at: Fixture.hours(2))
        let out = try e.submit("case-1")
        let changes = e.takeJournal()
        #expect(e.takeJournal().isEmpty)
        var slotChanges = 0
        var lastRequest: CareRequest?
        for change in changes {
            switch change {
            case .slot(let old, let new):
                slotChanges += 1
                #expect(old == nil)
                #expect(new == slot)
            case .request(_, let new): lastRequest = new
            case .professional: Issue.record("no professional changed")
            case .plan: Issue.record("no plan changed")
            }
        }
        #expect(slotChanges == 1)
        #expect(lastRequest == out.request)
    }

    @Test func failedCommandLeavesNothingToUndo() throws {
        var e = try busyEngine()
        let before = Observed(e)
        _ = #expect(throws: SNPError.self) { try e.publish(Fixture.rpps(1), at: Fixture.hours(2)) }
        _ = #expect(throws: SNPError.self) { try e.submit("booked", prio: 3) }
        _ = #expect(throws: SNPError.self) { try e.decline(.request(3), now: Fixture.now) }
        e.undo(e.takeJournal())
        #expect(Observed(e) == before)
    }
}
