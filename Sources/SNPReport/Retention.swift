import Foundation
import Logging
import PostgresNIO
import SNPCore
import SNPStore

/// RGPD minimisation of request locations (issue 4).
///
/// A request's location is what a regulator typed from a patient's address: the daemon
/// needs it to match, the indicators only need the territory the request counts in and
/// the distance to its slot. Once a request is older than the retention period (it has
/// long been settled: the window is 48 h), its location is snapped to a 0.1° grid (about
/// 11 km north–south, 7.5 km east–west in France: a canton, not a street), and its
/// territory is frozen first, computed exactly as the report computes it, so that a
/// report run again over an old period gives the same figures. `distance_km` is kept as is.
public struct Retention: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    /// The moment before which a request's location is blurred.
    public static func cutoff(now: Date, days: Int) -> Date { now.addingTimeInterval(-Double(days) * 86_400) }

    /// How many requests created before `cutoff` still have their exact location.
    public func pending(before cutoff: Date) async throws -> Int {
        let rows = try await store.client.query(
            "SELECT count(*)::int FROM requests WHERE location_blurred_at IS NULL AND created_at < \(cutoff)")
        for try await n in rows.decode(Int.self) { return n }
        return 0
    }

    /// Blurs every request created before `cutoff` not yet blurred, in one transaction;
    /// the number blurred. Running it twice changes nothing the second time.
    public func blurLocations(before cutoff: Date, now: Date) async throws -> Int {
        let step = LocationRetention.gridDegrees
        let rows = try await store.client.query(
            """
            UPDATE requests r
            SET territory = COALESCE(\(unescaped: ReportBuilder.nearestTerritory), 'none'),
                lat = round(r.lat / \(step)) * \(step),
                lon = round(r.lon / \(step)) * \(step),
                location_blurred_at = \(now)
            WHERE r.location_blurred_at IS NULL AND r.created_at < \(cutoff)
            RETURNING r.id
            """)
        var count = 0
        for try await _ in rows.decode(Int64.self) { count += 1 }
        return count
    }
}
