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
        let parts = text.split(separator: ":").map(String.init)
        guard let first = parts.first, let strategy = MatchingStrategy(rawValue: first) else { return nil }
        var p = MatchingPolicy()
        p.strategy = strategy
        for setting in parts.dropFirst() {
            let kv = setting.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, let v = Double(kv[1]) else { return nil }
            switch kv[0] {
            case "defer": guard (0...100).contains(v) else { return nil }
            case "bid": p.scarcity.bidPriceWeight = v
            case "load": p.scarcity.loadWeight = v
            case "risk": p.scarcity.riskPlaces = v
            case "urgent": p.scarcity.urgentPlacesFactor = v
            case "history": p.scarcity.historySeconds = Int(v * 3600)
            case "refresh": p.scarcity.refreshSeconds = Int(v * 60)
            case "live": p.scarcity.liveBidPriceWeight = v
            case "warm": p.scarcity.warmHours = v
            case "prior": p.scarcity.livePriorRequests = v
            case "alpha": p.scarcity.livePriorExponent = v
            case "power": p.scarcity.livePressureExponent = v
            case "priorh": p.scarcity.livePriorHours = v
            case "busy": p.scarcity.liveBusyThreshold = v
            default: return nil
            }
        }
        return p
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
