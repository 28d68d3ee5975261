import Foundation
import SNPCore
import Testing

import SNPSimulation

/// Issue 19's measurement: extra capacity (surnuméraire) for a share of GPs.
@Suite struct ExtraCapacityWeekTests {
    @Test func oneGPInNGetsAWindowEachWeekday() throws {
        let plan = WeekGenerator.plan(.scarce, arrival: .slotsFirst, seed: 1)
        let extra = plan.withExtraCapacity(try #require(ExtraCapacity(parsing: "5:2")))
        let gps = plan.pros.filter { $0.profession == .gp }.count
        let windows = extra.slots.filter { $0.kind == .extra }
        #expect(extra.slots.count == plan.slots.count + windows.count)
        #expect(windows.count == (gps + 4) / 5 * 5)
        #expect(windows.allSatisfy { $0.capacity == 2 && $0.end - $0.start == 11 * 3600 && $0.publishedAt <= $0.start })
        #expect(Set(windows.map(\.pro)).allSatisfy { plan.pros[$0].profession == .gp })
        // 08:00 Paris on Monday of the simulated week (winter: 07:00Z).
        #expect(windows.map(\.start).min() == ParisTime.instant(day: ParisTime.dayNumber(at: plan.weekStart), minute: 480))
        #expect(ExtraCapacity(parsing: "0:2") == nil)
        #expect(ExtraCapacity(parsing: "5") == nil)
    }

    @Test func oracleInstancePairsARequestWithAWindowFromItsCreation() throws {
        let plan = WeekGenerator.plan(.scarce, arrival: .slotsFirst, seed: 1)
            .withExtraCapacity(ExtraCapacity(everyNth: 5, perDay: 2))
        let instance = try OracleInstance(plan: plan, policy: MatchingPolicy())
        let windows = Set(plan.slots.indices.filter { plan.slots[$0].kind == .extra })
        let extraPairs = instance.pairs.filter { windows.contains($0.slot) }
        #expect(!extraPairs.isEmpty)
        // A request may use a window that opened before it came: the pair exists as long as
        // 15 minutes of the window are left after its creation plus the lead.
        #expect(extraPairs.contains { plan.requests[$0.request].createdAt > plan.slots[$0.slot].start })
        #expect(
            extraPairs.allSatisfy {
                max(plan.slots[$0.slot].start, plan.requests[$0.request].createdAt + 900) + 900 <= plan.slots[$0.slot].end
            })
    }
}
