import Foundation

/// Runs the offline oracle (`tools/oracle/oracle.py`, SciPy's HiGHS) on an exported
/// instance and reads its assignment back as an `Allocation`.
public struct Oracle {
    /// The oracle script; relative paths are resolved from the current directory.
    public var script: String
    public var python: String
    public var solver: String

    public init(script: String = "tools/oracle/oracle.py", python: String = "python3", solver: String = "scipy") {
        self.script = script
        self.python = python
        self.solver = solver
    }

    public struct Result: Decodable, Sendable {
        public var solver: String
        public var served_firm: Int
        public var cost: Double
        public var assign_r: [Int]
        public var assign_s: [Int]
        public var cancelled_served_r: [Int]
        public var cancelled_served_s: [Int]
        public var elapsed_s: Double
        public var pairs: Int
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Writes the instance into `directory`, runs the oracle on it, and returns its result.
    public func solve(_ instance: OracleInstance, directory: URL) throws -> Result {
        guard FileManager.default.fileExists(atPath: script) else {
            throw Failure(
                description:
                    "oracle script \(script) not found; run snp-sim from the repository's root or pass --oracle PATH")
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let plan = instance.plan
        let stem = "\(plan.scenario.name)-\(plan.arrival.rawValue)-seed\(plan.seed)"
        let input = directory.appendingPathComponent("\(stem).instance.json")
        let output = directory.appendingPathComponent("\(stem).oracle.json")
        // The same instance as last time (same scenario, seed and code): its result stands.
        let data = try instance.encoded()
        if let previous = try? Data(contentsOf: input), previous == data,
            let result = try? JSONDecoder().decode(Result.self, from: Data(contentsOf: output))
        {
            return result
        }
        try data.write(to: input)
        try? FileManager.default.removeItem(at: output)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script, input.path, "--out", output.path, "--solver", solver]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "the oracle failed (exit \(process.terminationStatus)) on \(input.path)")
        }
        return try JSONDecoder().decode(Result.self, from: Data(contentsOf: output))
    }

    /// The oracle's week, request by request.
    public static func allocation(_ result: Result, plan: WeekPlan) -> Allocation {
        var fates: [Fate] = plan.requests.map { $0.cancelAt == nil ? .unserved : .cancelledWaiting }
        for (r, s) in zip(result.assign_r, result.assign_s) { fates[r] = .appointment(slot: s) }
        for (r, s) in zip(result.cancelled_served_r, result.cancelled_served_s) {
            fates[r] = .cancelledHolding(slot: s)
        }
        return Allocation(fates: fates)
    }
}
