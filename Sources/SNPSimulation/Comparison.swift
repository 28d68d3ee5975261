import Foundation
import SNPCore

/// Engine against oracle, scenario by scenario: what `snp-sim compare` prints.
public struct Comparison {
    public struct EngineRun: Sendable {
        public var strategy: String
        public var indicators: WeekIndicators
        public var bookings: Int
        public var declines: Int
        public var engineSeconds: Double
        public var beyondFeeCap: Int
        public var avoidableBeyondFeeCap: Int
    }

    public struct Row: Sendable {
        public var scenario: String
        public var arrival: ArrivalKind
        public var seed: UInt64
        public var requests: Int
        public var slots: Int
        public var pairs: Int
        public var oracle: WeekIndicators?
        public var oracleSeconds: Double?
        public var engines: [EngineRun]
    }

    public var scenarios: [Scenario]
    public var arrivals: [ArrivalKind]
    public var seeds: [UInt64]
    /// Named policies to run the engine with.
    public var strategies: [(name: String, policy: MatchingPolicy)]
    /// Where instances and oracle results go; `nil`: no oracle.
    public var oracle: Oracle?
    public var directory: URL
    public var log: (String) -> Void
    /// Extra capacity given to a share of GPs (issue 19), in the engine's week and the oracle's.
    public var extra: ExtraCapacity?

    public init(
        scenarios: [Scenario], arrivals: [ArrivalKind], seeds: [UInt64],
        strategies: [(name: String, policy: MatchingPolicy)],
        oracle: Oracle?, directory: URL, extra: ExtraCapacity? = nil, log: @escaping (String) -> Void
    ) {
        self.extra = extra
        self.scenarios = scenarios
        self.arrivals = arrivals
        self.seeds = seeds
        self.strategies = strategies
        self.oracle = oracle
        self.directory = directory
        self.log = log
    }

    public func run() throws -> [Row] {
        var rows: [Row] = []
        for scenario in scenarios {
            for arrival in arrivals where scenario.burst == nil || arrival == .slotsFirst {
                for seed in seeds {
                    rows.append(try row(scenario, arrival, seed))
                }
            }
        }
        return rows
    }

    func row(_ scenario: Scenario, _ arrival: ArrivalKind, _ seed: UInt64) throws -> Row {
        var plan = WeekGenerator.plan(scenario, arrival: arrival, seed: seed)
        if let extra { plan = plan.withExtraCapacity(extra) }
        // Every strategy is judged against the oracle of the default rules (§4.1 and the
        // §4.2 cost): strategies change choices, never eligibility or the cost measured.
        let instance = try OracleInstance(plan: plan, policy: MatchingPolicy())
        var row = Row(
            scenario: scenario.name, arrival: arrival, seed: seed, requests: plan.requests.count,
            slots: plan.slots.count, pairs: instance.pairs.count, engines: [])
        if let oracle {
            let result = try oracle.solve(instance, directory: directory)
            row.oracle = WeekIndicators.compute(
                plan: plan, allocation: Oracle.allocation(result, plan: plan), instance: instance, withTimes: false)
            row.oracleSeconds = result.elapsed_s
        }
        for (name, policy) in strategies {
            let (allocation, run) = try WeekRun.run(plan, policy: policy, deferShare: Strategies.deferShare(named: name))
            let indicators = WeekIndicators.compute(
                plan: plan, allocation: allocation, instance: instance, withTimes: true)
            if oracle != nil {
                try allocation.write(
                    to: directory.appendingPathComponent(
                        "\(scenario.name)-\(arrival.rawValue)-seed\(seed).\(name).engine.json"),
                    optionsAtArrival: run.optionsAtArrival)
            }
            row.engines.append(
                EngineRun(
                    strategy: name, indicators: indicators, bookings: run.bookings, declines: run.declines,
                    engineSeconds: run.engineSeconds, beyondFeeCap: run.beyondFeeCap,
                    avoidableBeyondFeeCap: run.avoidableBeyondFeeCap))
            log(
                "\(scenario.name)/\(arrival.rawValue) seed \(seed) \(name): rate_48h \(pct(indicators.rate48h))"
                    + (row.oracle.map { " (oracle \(pct($0.rate48h)))" } ?? "")
                    + String(format: ", engine %.2f s", run.engineSeconds))
        }
        return row
    }

    // MARK: Output

    /// The table of `docs/MATCHING.md`: engine against oracle, with ratios.
    public static func markdownTable(_ rows: [Row]) -> String {
        var out = """
            | scenario | arrival | seed | requests | strategy | rate_48h engine | rate_48h oracle | ratio | cost/served engine | cost/served oracle | ratio | delay med. h (e / o) | distance med. km (e / o) | Gini (e / o) | > 20/week | max/pro |
            |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|

            """
        for row in rows {
            for e in row.engines {
                let i = e.indicators
                let o = row.oracle
                let cells: [String] = [
                    row.scenario, row.arrival.rawValue, "\(row.seed)", "\(row.requests)", e.strategy,
                    pct(i.rate48h), o.map { pct($0.rate48h) } ?? "–",
                    o.map { ratio(i.rate48h, $0.rate48h) } ?? "–",
                    String(format: "%.2f", i.costPerServed), o.map { String(format: "%.2f", $0.costPerServed) } ?? "–",
                    o.map { ratio(i.costPerServed, $0.costPerServed) } ?? "–",
                    String(
                        format: "%.1f / %@", i.delayMedianH, o.map { String(format: "%.1f", $0.delayMedianH) } ?? "–"),
                    String(
                        format: "%.1f / %@", i.distanceMedianKm,
                        o.map { String(format: "%.1f", $0.distanceMedianKm) } ?? "–"),
                    String(format: "%.3f / %@", i.gini, o.map { String(format: "%.3f", $0.gini) } ?? "–"),
                    "\(i.above20)", "\(i.maxPerPro)",
                ]
                out += "| " + cells.joined(separator: " | ") + " |\n"
            }
        }
        return out
    }

    /// Over the seeds, per scenario, arrival kind and strategy: the worst and mean ratio of
    /// rate_48h to the oracle's, and the load spread.
    public static func markdownSummary(_ rows: [Row]) -> String {
        struct Key: Hashable {
            var scenario: String
            var arrival: String
            var strategy: String
        }
        var order: [Key] = []
        var runs: [Key: [(ratio: Double, cost: Double, gini: Double, above20: Int)]] = [:]
        for row in rows {
            guard let o = row.oracle else { continue }
            for e in row.engines {
                let key = Key(scenario: row.scenario, arrival: row.arrival.rawValue, strategy: e.strategy)
                if runs[key] == nil { order.append(key) }
                let i = e.indicators
                runs[key, default: []].append(
                    (
                        o.rate48h > 0 ? i.rate48h / o.rate48h : 0,
                        o.costPerServed > 0 ? i.costPerServed / o.costPerServed : 0,
                        i.gini, i.above20
                    ))
            }
        }
        var out = """
            | scenario | arrival | strategy | seeds | rate_48h ratio, worst | rate_48h ratio, mean | cost/served ratio, mean | Gini, mean | Gini, worst | > 20/week, worst |
            |---|---|---|---|---|---|---|---|---|---|

            """
        for key in order {
            let v = runs[key]!
            let n = Double(v.count)
            out +=
                "| \(key.scenario) | \(key.arrival) | \(key.strategy) | \(v.count) | "
                + String(
                    format: "%.3f | %.3f | %.3f | %.3f | %.3f | %d |\n", v.map(\.ratio).min()!,
                    v.map(\.ratio).reduce(0, +) / n,
                    v.map(\.cost).reduce(0, +) / n, v.map(\.gini).reduce(0, +) / n, v.map(\.gini).max()!,
                    v.map(\.above20).max()!)
        }
        return out
    }

    /// Every indicator of every run, one block per scenario: what `snp-sim` prints by default.
    public static func details(_ rows: [Row]) -> String {
        var out = ""
        for row in rows {
            out += "\n## \(row.scenario) / \(row.arrival.rawValue) / seed \(row.seed): \(row.requests) requests, "
            out += "\(row.slots) slots planned, \(row.pairs) eligible pairs\n"
            var columns: [(String, WeekIndicators)] = row.engines.map { ($0.strategy, $0.indicators) }
            if let o = row.oracle { columns.append(("oracle", o)) }
            out += "indicator".padding(toLength: 26, withPad: " ", startingAt: 0)
            for (name, _) in columns { out += name.leftPadded(14) }
            out += "\n"
            let lines: [(String, (WeekIndicators) -> String)] = [
                ("requests", { "\($0.requests)" }),
                ("cancelled_by_regulator", { "\($0.cancelledByRegulator)" }),
                ("booked", { "\($0.booked)" }),
                ("within_48h", { "\($0.within48h)" }),
                ("rate_48h", { pct($0.rate48h) }),
                ("rate_48h (report, literal)", { $0.aciRate48h.map(pct) ?? "–" }),
                ("unserved", { "\($0.unserved)" }),
                ("delay_h_median", { String(format: "%.1f", $0.delayMedianH) }),
                ("delay_h_p90", { String(format: "%.1f", $0.delayP90H) }),
                ("time_to_match_s_median", { $0.timeToMatchMedianS.map { String(format: "%.0f", $0) } ?? "–" }),
                ("distance_km_median", { String(format: "%.1f", $0.distanceMedianKm) }),
                ("slots_published", { "\($0.slotsPublished)" }),
                ("slot_utilisation", { pct($0.slotUtilisation) }),
                ("active_pros", { "\($0.activePros)" }),
                ("gini_bookings_per_pro", { String(format: "%.3f", $0.gini) }),
                ("pros_above_20_a_week", { "\($0.above20) (\(pct($0.shareAbove20)))" }),
                ("max_bookings_per_pro", { "\($0.maxPerPro)" }),
                ("cost_per_served", { String(format: "%.2f", $0.costPerServed) }),
                ("off_rules (check: 0)", { "\($0.offRules)" }),
            ]
            for (name, value) in lines {
                out += name.padding(toLength: 26, withPad: " ", startingAt: 0)
                for (_, i) in columns { out += value(i).leftPadded(14) }
                out += "\n"
            }
            for e in row.engines {
                out += String(
                    format:
                        "%@: %d bookings proposed, %d declined; %d bookings beyond 20 a week, %d of them avoidable; engine time %.2f s\n",
                    e.strategy, e.bookings, e.declines, e.beyondFeeCap, e.avoidableBeyondFeeCap, e.engineSeconds)
            }
            if let s = row.oracleSeconds { out += String(format: "oracle: %.1f s\n", s) }
        }
        return out
    }

    static func ratio(_ a: Double, _ b: Double) -> String { b > 0 ? String(format: "%.3f", a / b) : "–" }
}

func pct(_ x: Double) -> String { String(format: "%.1f%%", 100 * x) }

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? " " + self : String(repeating: " ", count: width - count) + self
    }
}
