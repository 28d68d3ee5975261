import Foundation
import SNPCore
import SNPSimulation

/// snp-sim: a simulated SAS week against the real matching engine, and the offline oracle.
///
///     snp-sim compare [--scenario all|normal|scarce|surge|rural|burst] [--arrival all|slots-first|requests-first]
///                     [--seed 1[,2…]] [--strategy NAME[,NAME…]] [--out var/sim] [--oracle tools/oracle/oracle.py]
///                     [--solver scipy|ortools] [--table]
///     snp-sim run     (same options; the engine only, no oracle)
///     snp-sim export  (same options; writes the oracle instances and stops)
///     snp-sim batch-bench [--requests 1000] [--slots 10000] [--seed 1]
let usage = """
    usage: snp-sim batch-bench [--requests N] [--slots N] [--seed N]
           snp-sim compare|run|export [--scenario all|\((Scenario.all + [.burst]).map(\.name).joined(separator: "|"))]
                   [--arrival all|\(ArrivalKind.allCases.map(\.rawValue).joined(separator: "|"))] [--seed N[,N…]]
                   [--strategy all|\(Strategies.names.joined(separator: "|"))[,…]] [--out DIR] [--oracle PATH]
                   [--solver scipy|ortools] [--extra N:K] [--table]
      compare  the engine and the offline oracle (python3 tools/oracle/oracle.py), with ratios
      run      the engine only
      export   write the oracle's instances (JSON) into --out and stop
      batch-bench  time one batch decision of N pending requests (decide=) against N open slots
    Defaults: all scenarios and arrival kinds, seed 1, the engine's default strategy
    (\(Strategies.defaultName)), --out var/sim. --extra 5:2 gives one GP in five extra capacity
    (surnuméraire) of 2 patients a weekday, 08:00-19:00, in the engine's week and the oracle's.
    `all` is the four week scenarios; `burst` (issue 17's cold start: a fresh engine, 48 h of
    slots, then one request per place within 30 minutes) is slots-first only, and its oracle
    serves the maximum bipartite matching of requests to places.
    See docs/MATCHING.md.
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("snp-sim: \(message)\n".utf8))
    exit(2)
}

func required<T>(_ value: T?, _ message: @autoclosure () -> String) -> T {
    guard let value else { fail(message()) }
    return value
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first, ["compare", "run", "export", "batch-bench"].contains(command) else { fail(usage) }
arguments.removeFirst()
var options: [String: String] = [:]
var tableOnly = false
while let key = arguments.first {
    arguments.removeFirst()
    if key == "--table" {
        tableOnly = true
        continue
    }
    guard key.hasPrefix("--"), let value = arguments.first else { fail(usage) }
    arguments.removeFirst()
    options[String(key.dropFirst(2))] = value
}
if command == "batch-bench" {
    let requests = required(Int(options.removeValue(forKey: "requests") ?? "1000"), "bad --requests")
    let slots = required(Int(options.removeValue(forKey: "slots") ?? "10000"), "bad --slots")
    let seed = required(UInt64(options.removeValue(forKey: "seed") ?? "1"), "bad --seed")
    if let unknown = options.keys.sorted().first { fail("unknown option --\(unknown)\n\(usage)") }
    do {
        let r = try BatchBench.run(requests: requests, slots: slots, seed: seed)
        print(
            "batch of \(r.requests) pending requests, \(r.slots) open slots: \(r.pairs) pairs; CPU seconds: "
                + "pairs \(String(format: "%.3f", r.pairsSeconds)), plan (pairs + solver) \(String(format: "%.3f", r.planSeconds)), "
                + "whole decision \(String(format: "%.3f", r.decisionSeconds)) (\(r.booked) booked, \(r.queued) queued)")
    } catch {
        fail("\(error)")
    }
    exit(0)
}
let known: Set<String> = ["scenario", "arrival", "seed", "strategy", "out", "oracle", "solver", "extra"]
if let unknown = options.keys.sorted().first(where: { !known.contains($0) }) {
    fail("unknown option --\(unknown)\n\(usage)")
}

let scenarios: [Scenario] =
    options["scenario", default: "all"] == "all"
    ? Scenario.all
    : options["scenario"]!.split(separator: ",").map { required(Scenario.named(String($0)), "unknown scenario \($0)") }
let arrivals: [ArrivalKind] =
    options["arrival", default: "all"] == "all"
    ? ArrivalKind.allCases
    : options["arrival"]!.split(separator: ",").map {
        required(ArrivalKind(rawValue: String($0)), "unknown arrival \($0)")
    }
let seeds: [UInt64] = options["seed", default: "1"].split(separator: ",").map { required(UInt64($0), "bad seed \($0)") }
let strategyNames =
    options["strategy"].map { $0 == "all" ? Strategies.names : $0.split(separator: ",").map(String.init) } ?? [
        Strategies.defaultName
    ]
let strategies = strategyNames.map { name in
    (name: name, policy: required(Strategies.policy(named: name), "unknown strategy \(name)"))
}
let directory = URL(fileURLWithPath: options["out", default: "var/sim"])
let log: (String) -> Void = { FileHandle.standardError.write(Data("\($0)\n".utf8)) }

do {
    if command == "export" {
        for scenario in scenarios {
            for arrival in arrivals where scenario.burst == nil || arrival == .slotsFirst {
                for seed in seeds {
                    let plan = WeekGenerator.plan(scenario, arrival: arrival, seed: seed)
                    let instance = try OracleInstance(plan: plan, policy: MatchingPolicy())
                    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                    let url = directory.appendingPathComponent(
                        "\(scenario.name)-\(arrival.rawValue)-seed\(seed).instance.json")
                    try instance.write(to: url)
                    print(
                        "\(url.path): \(plan.requests.count) requests, \(plan.slots.count) slots, \(instance.pairs.count) pairs"
                    )
                }
            }
        }
        exit(0)
    }
    let oracle =
        command == "compare"
        ? Oracle(
            script: options["oracle", default: "tools/oracle/oracle.py"], solver: options["solver", default: "scipy"])
        : nil
    let extra = options["extra"].map { required(ExtraCapacity(parsing: $0), "--extra wants N:K (one GP in N, K patients a day), got \($0)") }
    let comparison = Comparison(
        scenarios: scenarios, arrivals: arrivals, seeds: seeds, strategies: strategies, oracle: oracle,
        directory: directory, extra: extra, log: log)
    let rows = try comparison.run()
    if !tableOnly { print(Comparison.details(rows)) }
    print(Comparison.markdownTable(rows))
    if command == "compare", seeds.count > 1 {
        print()
        print(Comparison.markdownSummary(rows))
    }
} catch {
    fail("\(error)")
}
