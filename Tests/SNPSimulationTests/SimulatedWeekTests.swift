import Foundation
import SNPCore
import SNPSimulation
import Testing

/// The simulator: reproducible weeks, and the engine's weeks judged by the oracle's rules.
@Suite struct SimulatedWeekTests {
    /// A small territory, so that a whole week runs in a moment even unoptimised.
    static let hamlet = Scenario(
        name: "hamlet", summary: "Lozère, 10 professionals", territory: .lozere,
        professionals: [.gp: 6, .kine: 2, .nurse: 2], demandPerPlace: 0.9, requestRadiusKm: 35)

    @Test func sameSeedGivesTheSameWeekAndAnotherSeedAnother() {
        let a = WeekGenerator.plan(.normal, arrival: .slotsFirst, seed: 7)
        let b = WeekGenerator.plan(.normal, arrival: .slotsFirst, seed: 7)
        let c = WeekGenerator.plan(.normal, arrival: .slotsFirst, seed: 8)
        #expect(a.requests.map(\.createdAt) == b.requests.map(\.createdAt))
        #expect(a.slots.map(\.start) == b.slots.map(\.start))
        #expect(a.pros.map(\.rpps) == b.pros.map(\.rpps))
        #expect(a.requests.map(\.createdAt) != c.requests.map(\.createdAt))
    }

    @Test func bothArrivalKindsMeetTheSameSlotsAndRequestsPublishedAtOtherTimes() {
        let early = WeekGenerator.plan(.scarce, arrival: .slotsFirst, seed: 3)
        let late = WeekGenerator.plan(.scarce, arrival: .requestsFirst, seed: 3)
        #expect(Set(early.slots.map(\.start)) == Set(late.slots.map(\.start)))
        #expect(early.requests.map(\.createdAt) == late.requests.map(\.createdAt))
        let lead = { (p: WeekPlan) in
            p.slots.map { Double($0.start - $0.publishedAt) }.reduce(0, +) / Double(p.slots.count)
        }
        #expect(lead(early) > 24 * 3600)
        #expect(lead(late) < 6 * 3600)
    }

    @Test func professionalsHaveValidRPPSAndSlotsKeepOfficeHours() throws {
        let plan = WeekGenerator.plan(.rural, arrival: .slotsFirst, seed: 1)
        for pro in plan.pros { _ = try RPPS(validating: pro.rpps.value) }
        for slot in plan.slots {
            let local = Int(slot.start + Int64(ParisTime.offset(at: slot.start))) % 86_400
            #expect(local >= 8 * 3600 && Int(slot.end + Int64(ParisTime.offset(at: slot.end))) % 86_400 <= 20 * 3600)
            #expect(slot.publishedAt <= slot.start)
        }
    }

    @Test func everyBookingOfTheEngineIsAPairOfTheOracleAndNoSlotIsOverbooked() throws {
        let plan = WeekGenerator.plan(Self.hamlet, arrival: .requestsFirst, seed: 2)
        let instance = try OracleInstance(plan: plan, policy: MatchingPolicy())
        for policy in [MatchingPolicy.spec42, MatchingPolicy()] {
            let (allocation, run) = try WeekRun.run(plan, policy: policy)
            let i = WeekIndicators.compute(plan: plan, allocation: allocation, instance: instance, withTimes: true)
            #expect(i.offRules == 0)
            #expect(i.booked > 0 && i.requests == plan.requests.count)
            for slot in run.engine.listSlots(pro: nil, from: .distantPast, to: nil, state: .all, limit: .max) {
                #expect(run.engine.taken(slot.id.number) <= slot.capacity)
            }
        }
    }

    @Test func theEngineWeekIsTheSameOnEveryRun() throws {
        let plan = WeekGenerator.plan(Self.hamlet, arrival: .slotsFirst, seed: 5)
        let first = try WeekRun.run(plan, policy: MatchingPolicy()).0
        let second = try WeekRun.run(plan, policy: MatchingPolicy()).0
        #expect(first.fates == second.fates)
        #expect(first.matchedAt == second.matchedAt)
    }

    @Test func giniIsZeroWhenEqualAndGrowsWithConcentration() {
        #expect(WeekIndicators.gini([3, 3, 3, 3]) == 0)
        #expect(abs(WeekIndicators.gini([0, 0, 0, 4]) - 0.75) < 1e-12)
        #expect(WeekIndicators.gini([1, 2, 3, 4]) < WeekIndicators.gini([0, 1, 2, 7]))
    }
}
