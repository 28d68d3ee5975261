import Foundation
import SNPCore
import SNPSimulation
import Testing

/// Issue 17's cold start: a fresh engine, the next 48 hours' slots, then a burst of requests.
@Suite struct BurstScenarioTests {
    @Test func slotsComeFirstThenOneRequestPerPlaceWithinHalfAnHour() throws {
        let scenario = try #require(Scenario.named("burst"))
        #expect(!Scenario.all.contains { $0.name == "burst" })
        let plan = WeekGenerator.plan(scenario, arrival: .slotsFirst, seed: 1)
        let first = try #require(plan.requests.first?.createdAt)
        let last = try #require(plan.requests.last?.createdAt)
        #expect(last - first < 30 * 60)
        #expect(plan.slots.allSatisfy { $0.publishedAt < first && $0.withdrawnAt == nil })
        #expect(plan.slots.allSatisfy { $0.start >= first + 15 * 60 && $0.start <= first + 48 * 3600 })
        #expect(plan.requests.allSatisfy { $0.cancelAt == nil })
        #expect(plan.declineRate == 0)
        let places = plan.slots.reduce(0) { $0 + $1.capacity }
        #expect(abs(plan.requests.count - places) <= 3)
        // The same seed, the same burst.
        let again = WeekGenerator.plan(scenario, arrival: .slotsFirst, seed: 1)
        #expect(again.requests.map(\.createdAt) == plan.requests.map(\.createdAt))
    }

    /// The live bid price serves more of the burst than the history's prices alone (seed 1:
    /// 293 against 290 of 373; the oracle's maximum is 305), and never books off the rules.
    @Test func liveBidPriceServesMoreOfTheBurst() throws {
        let plan = WeekGenerator.plan(try #require(Scenario.named("burst")), arrival: .slotsFirst, seed: 1)
        let instance = try OracleInstance(plan: plan, policy: MatchingPolicy())
        var served: [Int] = []
        for name in ["scarcity:live=0", "scarcity"] {
            let (allocation, _) = try WeekRun.run(plan, policy: try #require(Strategies.policy(named: name)))
            let i = WeekIndicators.compute(plan: plan, allocation: allocation, instance: instance, withTimes: false)
            #expect(i.offRules == 0)
            served.append(i.within48h)
        }
        #expect(served[1] > served[0])
    }
}
