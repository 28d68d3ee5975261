import Foundation
import SNPCore

/// The shape of a cold-start burst (issue 17): a daemon that has just started, the slots of
/// the next 48 hours already published, then requests arriving one by one within minutes.
/// The engine has no history to read its forecasts from: only the open slots and the
/// requests of the burst itself.
public struct BurstShape: Sendable {
    /// When the burst starts: hours after midnight, Paris time, on the simulated Monday.
    public var startHour: Double
    /// Requests arrive uniformly within this many minutes from the start.
    public var minutes: Double
    /// Requests of a profession per open place of that profession in the 48 hours.
    public var requestsPerPlace: Double
    /// Each town's demand is its population times one of these factors, drawn per town and
    /// seed (equally likely): towns where offer and demand differ.
    public var townDemandFactors: [Double]

    public init(startHour: Double, minutes: Double, requestsPerPlace: Double, townDemandFactors: [Double]) {
        self.startHour = startHour
        self.minutes = minutes
        self.requestsPerPlace = requestsPerPlace
        self.townDemandFactors = townDemandFactors
    }
}

/// Draws the `WeekPlan` of a burst scenario: the scenario's professionals and their usual
/// slots (`WeekGenerator`), those starting within 48 hours of the burst all published an
/// hour before it, never withdrawn; the requests of the burst, located in towns by
/// population times a town factor; no declines, no cancellations. So every request's fate
/// is decided at its arrival or in the queue, and the oracle's count of requests served is
/// the largest number any assignment under §4.1 (places, weekly caps) could serve: the
/// maximum bipartite matching of requests to places.
enum BurstGenerator {
    static func plan(_ scenario: Scenario, shape: BurstShape, seed: UInt64) -> WeekPlan {
        let weekStart = ParisTime.startOfDay(dayNumber: WeekGenerator.mondayDay)
        let burstStart = WeekGenerator.instant(day: 0, hour: shape.startHour)
        let published = burstStart - 3600
        let lead: Int64 = 15 * 60
        let pros = WeekGenerator.professionals(scenario, seed: seed)
        // The usual slots (published here all at once): those a request of the burst could use.
        let slots = WeekGenerator.slots(for: pros, arrival: .slotsFirst, seed: seed, simulationStart: published)
            .filter { $0.start >= burstStart + lead && $0.start <= burstStart + 48 * 3600 }
            .map { s -> WeekPlan.PlannedSlot in
                var s = s
                s.publishedAt = published
                s.withdrawnAt = nil
                return s
            }
        var places: [Profession: Int] = [:]
        for s in slots { places[pros[s.pro].profession, default: 0] += s.capacity }

        var rng = SeededRandom(seed: seed, stream: "burst/\(scenario.name)")
        let towns = scenario.territory.towns
        let demand = towns.map { Double($0.population) * rng.pick(shape.townDemandFactors.map { ($0, 1.0) }) }
        var requests: [WeekPlan.PlannedRequest] = []
        for profession in [Profession.gp, .kine, .nurse] {
            let count = Int((shape.requestsPerPlace * Double(places[profession] ?? 0)).rounded())
            for _ in 0..<count {
                let (priority, modes) = WeekGenerator.priorityAndModes(profession, &rng)
                let created = burstStart + Int64((rng.unit() * shape.minutes * 60).rounded(.down))
                let within = priority == 1 && rng.chance(0.6) ? 24 * 3600 : 48 * 3600
                requests.append(
                    WeekPlan.PlannedRequest(
                        createdAt: created, profession: profession, priority: priority, modes: modes,
                        location: WeekGenerator.jitter(towns[rng.index(weights: demand)].location, km: 2.0, &rng),
                        withinSeconds: within, radiusKm: scenario.requestRadiusKm, cancelAt: nil, noShow: false))
            }
        }
        requests = requests.enumerated()
            .sorted { ($0.element.createdAt, $0.offset) < ($1.element.createdAt, $1.offset) }.map(\.element)
        return WeekPlan(
            scenario: scenario, arrival: .slotsFirst, seed: seed, weekStart: weekStart, simulationStart: published,
            simulationEnd: burstStart + 50 * 3600, pros: pros,
            slots: slots.sorted { ($0.publishedAt, $0.start, $0.pro) < ($1.publishedAt, $1.start, $1.pro) },
            requests: requests, declineRate: 0)
    }
}
