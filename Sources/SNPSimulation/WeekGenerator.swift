import Foundation
import SNPCore

/// Draws a `WeekPlan` from a scenario, an arrival kind and a seed.
///
/// The habits below are plausible orders of magnitude for SAS volunteers, not measurements:
/// a volunteer gives one block of two to four short slots on two to four days a week, at a
/// habitual hour (before surgery, at lunch, at the end of the day); SAS calls follow the
/// day (mornings and early evenings busiest, nights quiet) and the week (Monday and
/// Saturday busiest).
public enum WeekGenerator {
    /// Monday 12 January 2026: a winter week with no change of clock (the `surge` epidemic
    /// is a winter one), in ISO week 2026-03.
    public static let mondayDay = ParisTime.dayNumber(parsing: "2026-01-12")!

    static let dayWeights = [1.25, 1.0, 0.95, 1.0, 1.1, 1.15, 0.85]
    static let hourWeights: [Double] = [
        0.15, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5,  // 00–07
        1.6, 1.6, 1.5, 1.4, 1.0, 1.0, 1.2, 1.2,  // 08–15
        1.2, 1.3, 1.4, 1.4, 1.1, 0.8, 0.4, 0.3,  // 16–23
    ]

    public static func plan(_ scenario: Scenario, arrival: ArrivalKind, seed: UInt64) -> WeekPlan {
        if let shape = scenario.burst { return BurstGenerator.plan(scenario, shape: shape, seed: seed) }
        let weekStart = ParisTime.startOfDay(dayNumber: mondayDay)
        // Early enough for the warm-up Friday's slots to be published three days ahead.
        let simulationStart = ParisTime.startOfDay(dayNumber: mondayDay - 7)
        let pros = professionals(scenario, seed: seed)
        let slots = slots(for: pros, arrival: arrival, seed: seed, simulationStart: simulationStart)
        let requests = requests(scenario, pros: pros, slots: slots, seed: seed, weekStart: weekStart)
        return WeekPlan(
            scenario: scenario, arrival: arrival, seed: seed, weekStart: weekStart, simulationStart: simulationStart,
            simulationEnd: ParisTime.startOfDay(dayNumber: mondayDay + 11), pros: pros, slots: slots,
            requests: requests, declineRate: 0.05)
    }

    /// The start of local hour `hour` (fractional) on day `day` after the simulated Monday.
    static func instant(day: Int, hour: Double) -> Int64 {
        ParisTime.startOfDay(dayNumber: mondayDay + day) + Int64((hour * 3600).rounded())
    }

    // MARK: Professionals

    static func professionals(_ scenario: Scenario, seed: UInt64) -> [WeekPlan.Pro] {
        var rng = SeededRandom(seed: seed, stream: "pros/\(scenario.territory.code)")
        let towns = scenario.territory.towns
        // Practices gather in the larger towns more than people do.
        let settle = towns.map { pow(Double($0.population), 1.3) }
        var pros: [WeekPlan.Pro] = []
        for profession in [Profession.gp, .kine, .nurse] {
            for _ in 0..<(scenario.professionals[profession] ?? 0) {
                let town = towns[rng.index(weights: settle)]
                let n = pros.count + 1
                let prefix = "1\(scenario.territory.code)" + String(format: "%07d", n)
                let rpps = RPPS(trusted: prefix + String(RPPS.luhnCheckDigit(for: prefix.map { Int(String($0))! })))
                pros.append(
                    WeekPlan.Pro(
                        rpps: rpps, profession: profession, town: town.name,
                        location: jitter(town.location, km: 1.0, &rng),
                        homeRadiusKm: profession == .nurse ? scenario.nurseHomeRadiusKm : nil,
                        weeklyCap: rng.chance(0.25) ? rng.pick([(6, 1), (8, 1), (10, 1), (12, 1)]) : nil))
            }
        }
        return pros
    }

    // MARK: Slots

    struct Habit {
        var dayChance: Double
        var saturdayChance: Double
        var slotMinutes: Int
        var perBlock: ClosedRange<Int>
        var mainMode: [(SlotMode, Double)]
    }

    static func habit(_ p: Profession) -> Habit {
        switch p {
        case .kine:
            Habit(
                dayChance: 0.45, saturdayChance: 0.15, slotMinutes: 30, perBlock: 2...3,
                mainMode: [(.office, 0.85), (.home, 0.15)])
        case .nurse:
            Habit(
                dayChance: 0.6, saturdayChance: 0.3, slotMinutes: 30, perBlock: 2...4,
                mainMode: [(.home, 0.7), (.office, 0.3)])
        default:
            Habit(
                dayChance: 0.55, saturdayChance: 0.25, slotMinutes: 20, perBlock: 2...4,
                mainMode: [(.office, 0.8), (.tele, 0.1), (.home, 0.1)])
        }
    }

    static let weekdayHours: [(Double, Double)] = [
        (8, 2), (9, 1), (11, 1.5), (12, 1), (13.5, 1), (14, 1), (17, 1.5), (18, 1),
    ]
    static let saturdayHours: [(Double, Double)] = [(8, 1), (9, 1), (10, 1), (11, 0.5)]

    /// Days with slots: the simulated week's Monday to Saturday (0–5); the Friday and
    /// Saturday before (-3, -2), so that the week starts as weeks do, with the weekend's
    /// requests waiting for Monday; and the Monday and Tuesday after (7, 8), which the
    /// week's own weekend requests need.
    static let slotDays = [-3, -2, 0, 1, 2, 3, 4, 5, 7, 8]
    /// Days with requests: from the Friday before the week to its Sunday.
    static let requestDays = Array(-3...6)

    static func weekday(_ day: Int) -> Int { ((day % 7) + 7) % 7 }

    static func slots(
        for pros: [WeekPlan.Pro], arrival: ArrivalKind, seed: UInt64, simulationStart: Int64
    )
        -> [WeekPlan.PlannedSlot]
    {
        // The same slots for both arrival kinds: only how long before their start they are
        // published differs (the same draw, mapped onto the kind's range of leads).
        var rng = SeededRandom(seed: seed, stream: "slots")
        var leads = SeededRandom(seed: seed, stream: "leads")
        var slots: [WeekPlan.PlannedSlot] = []
        for (index, pro) in pros.enumerated() {
            let h = habit(pro.profession)
            let mainMode = rng.pick(h.mainMode)
            let usualHour = rng.pick(weekdayHours)
            let weekdays = (0..<5).filter { _ in rng.chance(h.dayChance) }
            let days = weekdays.isEmpty ? [rng.int(in: 0...4)] : weekdays
            let saturday = rng.chance(h.saturdayChance)
            for day in slotDays {
                let weekday = weekday(day)
                guard weekday == 5 ? saturday : days.contains(weekday) else { continue }
                let count = rng.int(in: h.perBlock)
                let blockMinutes = Double(count * h.slotMinutes) / 60
                var hour =
                    weekday == 5 ? rng.pick(saturdayHours) : (rng.chance(0.7) ? usualHour : rng.pick(weekdayHours))
                hour = min(hour, (weekday == 5 ? 12 : 20) - blockMinutes)
                let blockStart = instant(day: day, hour: hour)
                let range = arrival.publicationLeadHours
                let lead = range.lowerBound + leads.unit() * (range.upperBound - range.lowerBound)
                let published = max(simulationStart, blockStart - Int64(lead * 3600))
                for k in 0..<count {
                    let start = blockStart + Int64(k * h.slotMinutes * 60)
                    let mode = rng.chance(0.9) ? mainMode : (mainMode == .office ? .home : .office)
                    let capacity = mode == .office && pro.profession == .gp && rng.chance(0.1) ? 2 : 1
                    // Both numbers are drawn for every slot, so that the stream stays aligned
                    // across arrival kinds.
                    let withdraws = rng.chance(0.04)
                    let when = rng.unit()
                    var withdrawn: Int64? = nil
                    let latest = start - 15 * 60
                    if withdraws, latest > published {
                        withdrawn = published + Int64(when * Double(latest - published))
                    }
                    slots.append(
                        WeekPlan.PlannedSlot(
                            pro: index, start: start, end: start + Int64(h.slotMinutes * 60), mode: mode,
                            capacity: capacity, publishedAt: published, withdrawnAt: withdrawn))
                }
            }
        }
        // Stable order: by publication, then start, then professional.
        return slots.sorted { ($0.publishedAt, $0.start, $0.pro) < ($1.publishedAt, $1.start, $1.pro) }
    }

    // MARK: Requests

    static func requests(
        _ scenario: Scenario, pros: [WeekPlan.Pro], slots: [WeekPlan.PlannedSlot], seed: UInt64, weekStart: Int64
    ) -> [WeekPlan.PlannedRequest] {
        // Demand is set from the places of the week (Monday–Saturday), each professional's
        // counted up to their weekly cap, so that `demandPerPlace` means the same everywhere.
        let weekEnd = weekStart + 7 * 86_400
        var placesByPro = [Int](repeating: 0, count: pros.count)
        for s in slots where s.withdrawnAt == nil && s.start >= weekStart && s.start < weekEnd {
            placesByPro[s.pro] += s.capacity
        }
        var rng = SeededRandom(seed: seed, stream: "requests/\(scenario.name)")
        let towns = scenario.territory.towns
        let people = towns.map { Double($0.population) }
        var requests: [WeekPlan.PlannedRequest] = []
        for profession in [Profession.gp, .kine, .nurse] {
            let places = pros.indices.filter { pros[$0].profession == profession }
                .reduce(0) { $0 + min(placesByPro[$1], pros[$1].weeklyCap ?? .max) }
            // Requests per unit of day weight, at the base level of demand.
            let rate = scenario.demandPerPlace * Double(places) / dayWeights.reduce(0, +)
            for day in requestDays {
                let count = Int((rate * dayWeights[weekday(day)] * scenario.dayFactor(day, profession)).rounded())
                for _ in 0..<count {
                    let hour = Double(rng.index(weights: hourWeights)) + rng.unit()
                    let (priority, modes) = priorityAndModes(profession, &rng)
                    let created = instant(day: day, hour: hour)
                    let within = priority == 1 && rng.chance(0.6) ? 24 * 3600 : 48 * 3600
                    let cancel = rng.chance(0.05) ? created + Int64(rng.uniform(1, 20) * 3600) : nil
                    requests.append(
                        WeekPlan.PlannedRequest(
                            createdAt: created, profession: profession, priority: priority, modes: modes,
                            location: jitter(towns[rng.index(weights: people)].location, km: 2.0, &rng),
                            withinSeconds: within, radiusKm: scenario.requestRadiusKm, cancelAt: cancel,
                            noShow: rng.chance(0.07)))
                }
            }
        }
        return requests.enumerated().sorted { ($0.element.createdAt, $0.offset) < ($1.element.createdAt, $1.offset) }
            .map(\.element)
    }

    /// A request's priority (1/2/3 at 15/60/25 %) and the modes it accepts, by profession.
    static func priorityAndModes(_ profession: Profession, _ rng: inout SeededRandom) -> (Int, ModeSet) {
        let priority = rng.pick([(1, 0.15), (2, 0.6), (3, 0.25)])
        let modes: ModeSet =
            switch profession {
            case .kine: rng.pick([(ModeSet.office, 0.65), (.inPerson, 0.35)])
            case .nurse: rng.pick([(ModeSet.home, 0.55), (.inPerson, 0.45)])
            default: rng.pick([(ModeSet.inPerson, 0.55), (.office, 0.3), ([.office, .home, .tele], 0.15)])
            }
        return (priority, modes)
    }

    /// A point uniformly inside a square of side `2 × km` around `p`.
    static func jitter(_ p: GeoPoint, km: Double, _ rng: inout SeededRandom) -> GeoPoint {
        let kmPerDegree = GeoPoint.earthRadiusKm * Double.pi / 180
        let dLat = rng.uniform(-km, km) / kmPerDegree
        let dLon = rng.uniform(-km, km) / (kmPerDegree * cos(p.lat * Double.pi / 180))
        return GeoPoint(lat: p.lat + dLat, lon: p.lon + dLon)
    }
}
