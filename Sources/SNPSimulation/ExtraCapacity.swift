import Foundation
import SNPCore

/// Extra capacity (surnuméraire, SPEC §3.7) given to a share of the GPs of a simulated week:
/// one window a weekday, Monday to Friday, 08:00–19:00 Paris time, of `perDay` patients,
/// as a plan with `kind=extra` would publish it (issue 19's measurement).
public struct ExtraCapacity: Sendable, Equatable {
    /// One GP in `everyNth` (the first, the `everyNth + 1`-th… in the plan's order).
    public var everyNth: Int
    public var perDay: Int

    public init(everyNth: Int, perDay: Int) {
        self.everyNth = everyNth
        self.perDay = perDay
    }

    /// `5:2`: one GP in five, two patients a day.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let n = Int(parts[0]), let k = Int(parts[1]), n >= 1, (1...100).contains(k) else {
            return nil
        }
        self.init(everyNth: n, perDay: k)
    }

    public var description: String { "one GP in \(everyNth), \(perDay) a day" }
}

extension WeekPlan {
    /// This week with `extra`'s windows added (published when the simulation starts, or six
    /// days before their start if later, within the horizon).
    public func withExtraCapacity(_ extra: ExtraCapacity) -> WeekPlan {
        var plan = self
        let monday = ParisTime.dayNumber(at: weekStart)
        let gps = pros.indices.filter { pros[$0].profession == .gp }
        for (ordinal, pro) in gps.enumerated() where ordinal % extra.everyNth == 0 {
            for day in monday..<(monday + 5) {
                guard let start = ParisTime.instant(day: day, minute: 8 * 60),
                    let end = ParisTime.instant(day: day, minute: 19 * 60)
                else { continue }
                let published = min(start, max(simulationStart, start - 6 * 86_400))
                plan.slots.append(
                    PlannedSlot(
                        pro: pro, start: start, end: end, mode: .office, capacity: extra.perDay, publishedAt: published,
                        withdrawnAt: nil, kind: .extra))
            }
        }
        return plan
    }
}
