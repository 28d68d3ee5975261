import SNPCore

/// The engine's strategies by name, as `--strategy` takes them: `spec42`, `scarcity`, or a
/// strategy with other numbers, `scarcity:bid=60:load=5:risk=2:urgent=0.5:history=72:refresh=10`
/// (history in hours, refresh in minutes), to explore around the defaults; `resolve=12`
/// turns on forecast matching among the 12 best candidates, with `penalty=30` (added to an
/// essential candidate's score; default: ruled out), `forecasts=3`, `horizon=72` (hours),
/// `future=0|1`, `keepbid=0|1`, and `queue=1` on the queue's side (docs/MATCHING.md).
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
            case "bid": p.scarcity.bidPriceWeight = v
            case "load": p.scarcity.loadWeight = v
            case "risk": p.scarcity.riskPlaces = v
            case "urgent": p.scarcity.urgentPlacesFactor = v
            case "history": p.scarcity.historySeconds = Int(v * 3600)
            case "refresh": p.scarcity.refreshSeconds = Int(v * 60)
            case "resolve": p.scarcity.resolveCandidates = Int(v)
            case "penalty": p.scarcity.resolvePenalty = v
            case "horizon": p.scarcity.resolveHorizonSeconds = Int(v * 3600)
            case "future": p.scarcity.resolveFutureSlots = v != 0
            case "forecasts": p.scarcity.resolveForecasts = Int(v)
            case "keepbid": p.scarcity.resolveKeepsBidPrice = v != 0
            case "queue": p.scarcity.resolveQueue = v != 0
            default: return nil
            }
        }
        return p
    }
}
