/// RGPD minimisation of request locations (issue 4): once a request is older than the
/// retention period, its location is snapped to a 0.1° grid (about 11 km north–south,
/// 7.5 km east–west in France). `snpd retention` does it in the database, the running
/// daemon to its copies in memory (`MatchingEngine.snapOldLocations`); both take the
/// period from `SNPD_RETENTION_DAYS` through `days(parsing:)`.
public enum LocationRetention {
    public static let defaultDays = 90
    /// The grid step, in degrees.
    public static let gridDegrees = 0.1

    /// A retention period as written in `SNPD_RETENTION_DAYS` or `--days`: a whole number
    /// of days from 1 to 36 500; `nil` for anything else.
    public static func days(parsing text: String) -> Int? {
        guard let n = Int(text), (1...36_500).contains(n) else { return nil }
        return n
    }
}

extension GeoPoint {
    /// This point snapped to the retention grid, exactly as the retention job's SQL does it:
    /// `round(lat / 0.1) * 0.1`, where PostgreSQL's `round` of a double breaks ties to even.
    public var snappedForRetention: GeoPoint {
        let step = LocationRetention.gridDegrees
        return GeoPoint(
            lat: (lat / step).rounded(.toNearestOrEven) * step, lon: (lon / step).rounded(.toNearestOrEven) * step)
    }
}
