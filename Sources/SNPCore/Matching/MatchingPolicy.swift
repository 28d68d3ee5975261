/// The tunable rules of matching (§4.1, §4.2). Every number here is configuration.
public struct MatchingPolicy: Sendable, Equatable {
    /// Cost per hour of waiting, by priority (index 1, 2, 3). Urgent requests weigh time most.
    public var timeWeight: [Int: Double] = [1: 2.0, 2: 0.5, 3: 0.1]
    /// Cost per kilometre (`tele` distances count as 0).
    public var distanceWeight = 1.0
    /// Cost per booking the professional already has that ISO week: spreads demand over
    /// all volunteers, as the SAS asks.
    public var loadWeight = 0.5
    /// No slot starting sooner than this after now is proposed (time to reach the patient).
    public var leadSeconds = 15 * 60
    /// Default `radius_km` of a request, for `office` slots.
    public var officeRadiusKm = 20.0
    /// Default `home_radius_km` of a professional, for `home` slots.
    public var homeRadiusKm = 10.0
    /// The window: the default and largest `within` of a request (48 hours).
    public var windowSeconds = 48 * 3600
    /// How far ahead a slot may start when published.
    public var horizonSeconds = 7 * 86_400
    /// The longest hold a regulator may ask for.
    public var maxHoldSeconds = 3_600
    /// The longest wait a regulator may ask for with `decide=` (SPEC §3.8: 12 h), and the
    /// shortest (below a minute, deferring makes no sense: ask without `decide=`).
    public var maxDecideSeconds = 12 * 3600
    public var minDecideSeconds = 60
    /// The largest `radius_km` accepted.
    public var maxRadiusKm = 300.0
    /// How the engine chooses among eligible slots and waiting requests (docs/MATCHING.md):
    /// `scarcity` by default, measured better than SPEC.md's `spec42` on every simulated
    /// scenario; `spec42` keeps §4.2 and §4.3 exactly.
    public var strategy = MatchingStrategy.scarcity
    /// The numbers of the `scarcity` strategy.
    public var scarcity = ScarcityTuning()
    /// Age after which a request's location is snapped to the retention grid in memory too
    /// (`SNPD_RETENTION_DAYS`, as for `snpd retention`, which does it in the database).
    public var locationRetentionSeconds = LocationRetention.defaultDays * 86_400

    public init() {}

    public func timeWeight(priority: Int) -> Double { timeWeight[priority] ?? 0.5 }
}
