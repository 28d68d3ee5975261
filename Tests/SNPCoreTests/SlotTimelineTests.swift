import Foundation
@testable import SNPCore
import SNPSimulation
import Testing

/// The FHIR search's window read (`forEachBookableSlot`, through each professional's
/// `SlotTimeline`) gives what a walk over every slot gives, after publications, bookings,
/// withdrawals, undos and a restore in any order.
@Suite struct SlotTimelineTests {
    /// §7.2's rules applied to every slot the engine holds, by start then id: what the
    /// timeline must give.
    static func expected(_ e: MatchingEngine, _ pro: RPPS, from: Date, to: Date, now: Date) -> [SlotID] {
        let earliest = max(from.epochSeconds, now.epochSeconds + Int64(e.policy.leadSeconds))
        return e.slots.values
            .filter { s in
                s.pro == pro && !s.isExtra && s.start.epochSeconds >= earliest && s.start.epochSeconds <= to.epochSeconds
                    && e.isOpen(s)
            }
            .sorted { ($0.start, $0.id) < ($1.start, $1.id) }
            .map(\.id)
    }

    static func found(_ e: MatchingEngine, _ pro: RPPS, from: Date, to: Date, now: Date) -> [SlotID] {
        var ids: [SlotID] = []
        e.forEachBookableSlot(of: pro, from: from, to: to, now: now) { ids.append($0.id) }
        return ids
    }

    /// Random windows and instants, some on slot starts to the second; and each timeline
    /// holds exactly the professional's slots, in order.
    static func check(_ e: MatchingEngine, _ pros: [RPPS], _ random: inout SeededRandom) {
        for pro in pros {
            let held = e.timelines[pro]?.entries.map(\.number) ?? []
            let all = e.slots.values.filter { $0.pro == pro }.sorted { ($0.start, $0.id) < ($1.start, $1.id) }
            #expect(held == all.map(\.id.number))
        }
        for _ in 0..<40 {
            let pro = pros[random.int(in: 0...pros.count - 1)]
            let from = Fixture.minutes(random.int(in: -120...3_000))
            let to = Date(epochSeconds: from.epochSeconds + Int64(random.int(in: -60...3_000) * 60) + Int64(random.int(in: 0...1)))
            let now = Fixture.minutes(random.int(in: -60...600))
            #expect(found(e, pro, from: from, to: to, now: now) == expected(e, pro, from: from, to: to, now: now))
        }
        // The whole line of each professional, from before the first slot to after the last.
        for pro in pros {
            let all = found(e, pro, from: Fixture.hours(-24), to: Fixture.hours(24 * 60), now: Fixture.hours(-24))
            #expect(all == expected(e, pro, from: Fixture.hours(-24), to: Fixture.hours(24 * 60), now: Fixture.hours(-24)))
            #expect(e.bookableSlots(of: [pro], from: Fixture.hours(-24), to: Fixture.hours(24 * 60), now: Fixture.hours(-24)) .map(\.id) == all)
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64]) func theWindowReadIsTheWalkOverEverySlot(seed: UInt64) throws {
        var random = SeededRandom(seed: seed, stream: "slot-timeline")
        var e = MatchingEngine()
        let pros = try (1...3).map { n throws(SNPError) in try e.addPro(n) }
        var published: [Slot] = []
        // Out of order, several on the same minute (different lengths), extra windows.
        for _ in 0..<300 {
            let pro = pros[random.int(in: 0...2)]
            let start = Fixture.minutes(random.int(in: 0...2_880))
            if random.chance(0.05) {
                if let w = try? e.addSlot(
                    SlotDraft(pro: pro, start: start, end: Date(epochSeconds: start.epochSeconds + 7_200), capacity: 2, kind: .extra),
                    now: Fixture.now)
                {
                    published.append(w.slot)
                }
            } else if let s = try? e.publish(pro, at: start, minutes: random.int(in: 1...3) * 10, capacity: random.int(in: 1...2)) {
                published.append(s)
            }
        }
        #expect(published.count > 150)
        _ = e.takeJournal()
        Self.check(e, pros, &random)

        // Bookings fill some, withdrawals take others out.
        for i in 0..<60 { _ = try? e.submit("case-\(i)", within: 48 * 3600) }
        for s in published where random.chance(0.2) { _ = try? e.withdrawSlot(s.id, now: Fixture.now) }
        Self.check(e, pros, &random)

        // A failed commit takes changes back: the timelines with them.
        let before = pros.map { Self.found(e, $0, from: Fixture.now, to: Fixture.hours(72), now: Fixture.now) }
        _ = e.takeJournal()
        for _ in 0..<40 { _ = try? e.publish(pros[random.int(in: 0...2)], at: Fixture.minutes(random.int(in: 0...2_880))) }
        for s in published where random.chance(0.2) { _ = try? e.withdrawSlot(s.id, now: Fixture.now) }
        e.undo(e.takeJournal())
        #expect(pros.map { Self.found(e, $0, from: Fixture.now, to: Fixture.hours(72), now: Fixture.now) } == before)
        Self.check(e, pros, &random)

        // A restart reads the records back in any order.
        var restored = MatchingEngine()
        var slots = Array(e.slots.values)
        slots.shuffle(using: &random)
        restored.restore(
            professionals: pros.compactMap { e.professional($0) }, slots: slots, requests: Array(e.requests.values))
        for pro in pros {
            #expect(
                Self.found(restored, pro, from: Fixture.hours(-24), to: Fixture.hours(24 * 60), now: Fixture.hours(-24))
                    == Self.found(e, pro, from: Fixture.hours(-24), to: Fixture.hours(24 * 60), now: Fixture.hours(-24)))
        }
        Self.check(restored, pros, &random)
    }
}
