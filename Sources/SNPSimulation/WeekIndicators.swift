import Foundation
import SNPCore

/// The §5 indicators of a simulated week, for the requests created in it, and how the
/// load was spread over the professionals; computed the same way for the engine's week and
/// for the oracle's assignment.
///
/// A request counts as booked when it ends the week with an appointment, or was cancelled
/// by its regulator while it held one (§5 counts those as booked). This is §5 read at the
/// end of the week: the nightly report counts a request booked from its first booking on,
/// even if its slot is later withdrawn and nothing replaces it; that literal figure is
/// `aciRate48h` (engine only).
public struct WeekIndicators: Sendable {
    public var requests = 0
    public var cancelledByRegulator = 0
    public var booked = 0
    public var within48h = 0
    public var rate48h = 0.0
    public var unserved = 0
    public var delayMedianH = 0.0
    public var delayP90H = 0.0
    public var timeToMatchMedianS: Double?
    /// Of in-person (`office`, `home`) appointments.
    public var distanceMedianKm = 0.0
    public var slotsPublished = 0
    public var slotUtilisation = 0.0
    public var activePros = 0
    /// Of bookings per active professional in the ISO week.
    public var gini = 0.0
    /// Active professionals with more than 20 bookings in an ISO week (the SAS fee cap).
    public var above20 = 0
    public var maxPerPro = 0
    /// The §4.2 cost of the assignment of the requests never cancelled: the pairs' costs
    /// (hours counted from creation) plus, per professional and week, `W_LOAD × n(n−1)/2`.
    public var cost = 0.0
    public var costedServed = 0
    /// Bookings the oracle's rules do not allow (should be 0: a check of the simulator).
    public var offRules = 0
    public var aciRate48h: Double?

    public var costPerServed: Double { costedServed > 0 ? cost / Double(costedServed) : 0 }
    public var shareAbove20: Double { activePros > 0 ? Double(above20) / Double(activePros) : 0 }

    public static func compute(
        plan: WeekPlan, allocation: Allocation, instance: OracleInstance, withTimes: Bool
    ) -> WeekIndicators {
        var i = WeekIndicators()
        let weekEnd = plan.weekStart + 7 * 86_400
        var delays: [Double] = []
        var distances: [Double] = []
        var matchTimes: [Double] = []
        var perProWeek: [Int64: Int] = [:]
        var firmPerProWeek: [Int64: Int] = [:]
        for (r, fate) in allocation.fates.enumerated() {
            let req = plan.requests[r]
            i.requests += 1
            guard let s = fate.slot else {
                if fate == .cancelledWaiting { i.cancelledByRegulator += 1 } else { i.unserved += 1 }
                continue
            }
            let slot = plan.slots[s]
            let pair = instance.pair(request: r, slot: s)
            if pair == nil { i.offRules += 1 }
            i.booked += 1
            // On extra capacity the patient comes from the booking's start (the engine's), or
            // from the request's creation plus the lead (the oracle's), not the window's.
            let start =
                slot.kind == .extra
                ? (allocation.lastStart[r] ?? max(slot.start, req.createdAt + Int64(instance.policy.leadSeconds)))
                : slot.start
            let delay = Double(start - req.createdAt) / 3600
            delays.append(delay)
            if delay <= 48 { i.within48h += 1 }
            if let at = allocation.matchedAt[r] { matchTimes.append(Double(at - req.createdAt)) }
            if slot.mode != .tele {
                distances.append(pair?.distanceKm ?? req.location.distanceKm(to: plan.pros[slot.pro].location))
            }
            guard case .appointment = fate else { continue }
            let key = Int64(slot.pro) << 32 | Int64(ParisTime.isoWeek(at: slot.start))
            perProWeek[key, default: 0] += 1
            if req.cancelAt == nil, let pair {
                i.cost += pair.cost
                i.costedServed += 1
                firmPerProWeek[key, default: 0] += 1
            }
        }
        for n in firmPerProWeek.values { i.cost += instance.policy.loadWeight * Double(n * (n - 1) / 2) }
        let denominator = i.requests - i.cancelledByRegulator
        i.rate48h = denominator > 0 ? Double(i.within48h) / Double(denominator) : 0
        i.delayMedianH = median(delays)
        i.delayP90H = percentile(delays, 0.9)
        i.distanceMedianKm = median(distances)
        if withTimes { i.timeToMatchMedianS = median(matchTimes) }

        // Slots starting in the week, and the professionals who offered them.
        var capacity = 0
        var active = Set<Int>()
        for slot in plan.slots
        where slot.withdrawnAt == nil && slot.kind == .regular && slot.start >= plan.weekStart && slot.start < weekEnd {
            i.slotsPublished += 1
            capacity += slot.capacity
            active.insert(slot.pro)
        }
        let week = plan.isoWeek
        let counts = active.sorted().map { perProWeek[Int64($0) << 32 | Int64(week)] ?? 0 }
        i.activePros = active.count
        i.slotUtilisation = capacity > 0 ? Double(counts.reduce(0, +)) / Double(capacity) : 0
        i.gini = gini(counts)
        i.maxPerPro = counts.max() ?? 0
        var heavy = Set<Int>()
        for (key, n) in perProWeek where n > 20 { heavy.insert(Int(key >> 32)) }
        i.above20 = heavy.intersection(active).count

        if withTimes {
            // The nightly report's reading: booked from the first booking on.
            var literal = 0
            var cancelledUnbooked = 0
            for (r, fate) in allocation.fates.enumerated() {
                if fate == .cancelledWaiting, allocation.firstBookedAt[r] == nil { cancelledUnbooked += 1 }
                if allocation.firstBookedAt[r] != nil, let start = allocation.lastStart[r],
                    start - plan.requests[r].createdAt <= 48 * 3600
                {
                    literal += 1
                }
            }
            let d = i.requests - cancelledUnbooked
            i.aciRate48h = d > 0 ? Double(literal) / Double(d) : 0
        }
        return i
    }

    /// The Gini coefficient: 0 when everyone has the same, towards 1 when one has everything.
    public static func gini(_ values: [Int]) -> Double {
        let total = values.reduce(0, +)
        guard values.count > 1, total > 0 else { return 0 }
        let sorted = values.sorted()
        var weighted = 0.0
        for (k, v) in sorted.enumerated() { weighted += Double(k + 1) * Double(v) }
        let n = Double(values.count)
        return 2 * weighted / (n * Double(total)) - (n + 1) / n
    }

    static func median(_ xs: [Double]) -> Double { Statistics.median(xs) }

    static func percentile(_ xs: [Double], _ p: Double) -> Double { Statistics.percentile(xs, p) }
}
