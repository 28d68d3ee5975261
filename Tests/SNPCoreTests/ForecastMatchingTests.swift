import Foundation
import SNPSimulation
import Testing

@testable import SNPCore

/// Forecast matching (experimental, off by default) reads which places and requests every
/// maximum matching uses. Checked here against the definition, by brute force, on small
/// seeded random graphs: a place (a request) is spare exactly when removing it leaves the
/// maximum matching as large.
@Suite struct ForecastMatchingTests {
    /// The size of a maximum matching, by plain augmenting paths, without the place and the
    /// request named.
    static func maximum(_ edges: [[Int32]], places: Int, withoutPlace: Int = -1, withoutRequest: Int = -1) -> Int {
        var requestOf = [Int](repeating: -1, count: places)
        func augment(_ u: Int, _ seen: inout [Bool]) -> Bool {
            for v in edges[u].map(Int.init) where v != withoutPlace && !seen[v] {
                seen[v] = true
                if requestOf[v] < 0 || augment(requestOf[v], &seen) {
                    requestOf[v] = u
                    return true
                }
            }
            return false
        }
        var size = 0
        for u in edges.indices where u != withoutRequest {
            var seen = [Bool](repeating: false, count: places)
            if augment(u, &seen) { size += 1 }
        }
        return size
    }

    @Test func spareNodesAreThoseAMaximumMatchingCanLeaveOut() {
        for seed: UInt64 in 1...40 {
            var g = SeededRandom(seed: seed, stream: "forecast-graph")
            let requests = Int.random(in: 1...9, using: &g)
            let places = Int.random(in: 1...9, using: &g)
            let edges: [[Int32]] = (0..<requests).map { _ in
                (0..<places).filter { _ in Double.random(in: 0..<1, using: &g) < 0.3 }.map(Int32.init)
            }
            var m = PlaceMatching(edges: edges, placeCount: places)
            m.solve()
            let size = ForecastMatchingTests.maximum(edges, places: places)
            #expect(m.placeOf.filter { $0 >= 0 }.count == size)
            let sparePlaces = m.spareOrReplaceable()
            for v in 0..<places {
                let without = ForecastMatchingTests.maximum(edges, places: places, withoutPlace: v)
                #expect(sparePlaces[v] == (without == size), "seed \(seed), place \(v)")
            }
            let spareRequests = m.spareRequests()
            for u in 0..<requests {
                let without = ForecastMatchingTests.maximum(edges, places: places, withoutRequest: u)
                #expect(spareRequests[u] == (without == size), "seed \(seed), request \(u)")
            }
        }
    }
}
