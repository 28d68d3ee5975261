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

    /// Great-circle (haversine) distance in kilometres (§4.1).
    public func distanceKm(to other: GeoPoint) -> Double {
        let rad = Double.pi / 180
        let dLat = (other.lat - lat) * rad
        let dLon = (other.lon - lon) * rad
        let a =
            sin(dLat / 2) * sin(dLat / 2) + cos(lat * rad) * cos(other.lat * rad) * sin(dLon / 2) * sin(dLon / 2)
        return 2 * GeoPoint.earthRadiusKm * asin(min(1, sqrt(a)))
    }

    /// A lower bound of `distanceKm(to:)` from the latitudes alone: no path between two
    /// points is shorter than the meridian arc between their parallels. Less a part in 10⁹,
    /// for the haversine's rounding.
    public func latitudeGapKm(to other: GeoPoint) -> Double {
        abs(other.lat - lat) * (Double.pi / 180) * GeoPoint.earthRadiusKm * (1 - 1e-9)
    }
}
