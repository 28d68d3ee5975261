import Foundation

/// A point on the Earth, in degrees (WGS 84). For a request it is approximate on purpose:
/// a request carries no patient identity, and its location needs no more than a few
/// hundred metres of precision.
public struct GeoPoint: Hashable, Sendable, Codable {
    public var lat: Double
    public var lon: Double

    public init(lat: Double, lon: Double) {
        self.lat = lat
        self.lon = lon
    }

    /// Mean Earth radius used for great-circle distances.
    public static let earthRadiusKm = 6_371.0088

    /// The grid, in degrees, a request's location is snapped to once older than the
    /// retention period (RGPD minimisation, `snpd retention` and the daemon alike).
    public static let retentionGridDegrees = 0.1

    /// This point snapped to the retention grid, exactly as the retention job's SQL does it:
    /// `round(lat / 0.1) * 0.1`, where PostgreSQL's `round` of a double breaks ties to even.
    public var snappedForRetention: GeoPoint {
        let step = GeoPoint.retentionGridDegrees
        return GeoPoint(
            lat: (lat / step).rounded(.toNearestOrEven) * step, lon: (lon / step).rounded(.toNearestOrEven) * step)
    }

    /// Great-circle (haversine) distance in kilometres (§4.1).
    public func distanceKm(to other: GeoPoint) -> Double {
        let rad = Double.pi / 180
        let dLat = (other.lat - lat) * rad
        let dLon = (other.lon - lon) * rad
        let a =
            sin(dLat / 2) * sin(dLat / 2) + cos(lat * rad) * cos(other.lat * rad) * sin(dLon / 2) * sin(dLon / 2)
        return 2 * GeoPoint.earthRadiusKm * asin(min(1, sqrt(a)))
    }
}
