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

    /// The point on the unit sphere, for `chordKm`.
    public var unitVector: SIMD3<Double> {
        let rad = Double.pi / 180
        return SIMD3(cos(lat * rad) * cos(lon * rad), cos(lat * rad) * sin(lon * rad), sin(lat * rad))
    }

    /// A lower bound of `distanceKm` between the points of two unit vectors: the chord is
    /// never longer than the arc (`2 asin(c / 2) ≥ c`). Less a part in 10⁶ and a millimetre,
    /// for the rounding of both computations; without a sine or cosine.
    public static func chordKm(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Double {
        let d = a - b
        return max(0, ((d * d).sum()).squareRoot() * earthRadiusKm * (1 - 1e-6) - 1e-6)
    }
}
