import SNPCore

/// The engine's strategies by name, as `--strategy` takes them: `spec42`, `scarcity`, or a
/// strategy with other numbers, `scarcity:bid=60:load=5:risk=2:urgent=0.5:history=72:refresh=10`
/// `:live=60:warm=6:power=2:prior=10:alpha=0.5:priorh=6:busy=0.5` (history and warm in hours, refresh in minutes), to
/// explore around the defaults (`live=0`: no live bid price, the prices before issue 17). `defer=P` is not a
/// rule of the engine but of the regulators: P % of the requests that can wait (kiné and
/// nurse requests, GP requests of priority 3) are sent with `decide=` (issue 17; `WeekRun`).
public enum Strategies {
    public static let names = MatchingStrategy.allCases.map(\.rawValue)
    public static let defaultName = MatchingPolicy().strategy.rawValue

    public static func policy(named text: String) -> MatchingPolicy? {
        // `defer=P` is the simulator's; the rest is the engine's (`MatchingPolicy(strategyNamed:)`).
        var engine: [Substring] = []
        for (i, setting) in text.split(separator: ":").enumerated() {
            let kv = setting.split(separator: "=", maxSplits: 1)
            if i > 0, kv.count == 2, kv[0] == "defer" {
                guard let v = Double(kv[1]), (0...100).contains(v) else { return nil }
            } else {
                engine.append(setting)
            }
        }
        return MatchingPolicy(strategyNamed: engine.joined(separator: ":"))
    }

    /// The share (0 to 1) of the requests that can wait sent with `decide=`: `defer=P` of the name.
    public static func deferShare(named text: String) -> Double {
        for setting in text.split(separator: ":").dropFirst() {
            let kv = setting.split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0] == "defer", let v = Double(kv[1]) { return v / 100 }
        }
        return 0
    }
}
