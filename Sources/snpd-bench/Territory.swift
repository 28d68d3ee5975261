import Foundation
import SNPSimulation
import SNPCore

/// A synthetic country of volunteers, the same for a given size and seed, so that the
/// preload (`snpd-bench dataset`) and the load (`snpd-bench run`) agree on who publishes
/// what without talking to each other.
///
/// In the `spread` layout, professionals sit uniformly in a box the size of mainland
/// France; each publishes `slotsPerPro` (100) slots of 20 minutes over 7 days. In the
/// `dense` layout (issue 18), GPs only, in a square of `denseSideKm` around Laval, each
/// publishing `slotsPerPro` (20) slots over the next 40 hours: every request of the
/// benchmark reaches every one of them, the worst case of a search that looks at each
/// slot in reach. Slots come one every `period` seconds from `base`, staggered by a
/// per-professional offset. Between two of its slots a professional has room for
/// three more (`gapPlaces`): that is where the benchmark's `SLOT ADD` publishes, so that
/// publishing never overlaps. Nobody practises on the island: requests placed there find
/// no slot and wait in the queue.
final class Territory: Sendable {
    enum Layout: String, Sendable, CaseIterable {
        case spread
        case dense
    }

    struct Pro: Sendable {
        var rpps: String
        var profession: Profession
        var lat: Double
        var lon: Double
        /// Seconds after each period's beginning at which this professional's slot starts.
        var offset: Int64
    }

    static let slotSeconds: Int64 = 20 * 60
    /// The side of the `dense` layout's square, and its centre (Laval).
    static let denseSideKm = 4.5
    static let denseCentre = (lat: 48.0706, lon: -0.7734)
    /// The hours over which the `dense` layout's slots are published.
    static let denseHorizon: Int64 = 40 * 3600
    /// Free places of `slotSeconds` after each preloaded slot, before the next one.
    static let gapPlaces = 3
    static let mainland = (lat: 43.5...49.5, lon: -1.5...6.5)
    static let island = (lat: 41.5...42.9, lon: 8.6...9.5)
    /// The professions of the territory and their share of the professionals.
    static let professions: [(Profession, Int)] = [(.gp, 50), (.nurse, 25), (.kine, 25)]

    let layout: Layout
    let slotCount: Int
    let slotsPerPro: Int
    /// The publication horizon divided among a professional's slots.
    let period: Int64
    /// Places of each preloaded slot.
    let capacity: Int
    let base: Int64
    let pros: [Pro]

    /// `slotsPerPro` defaults to 100 (`spread`) or 20 (`dense`).
    init(slots: Int, seed: UInt64, base: Int64, layout: Layout = .spread, slotsPerPro: Int? = nil, capacity: Int = 1) {
        self.layout = layout
        slotCount = slots
        self.base = base
        self.capacity = capacity
        let perPro = max(1, slotsPerPro ?? (layout == .spread ? 100 : 20))
        self.slotsPerPro = perPro
        let horizon: Int64 = layout == .spread ? 7 * 86_400 : Territory.denseHorizon
        // Room for a slot, its gap places and an offset in every period, however many slots.
        let period = max(horizon / Int64(perPro), Territory.slotSeconds * Int64(2 + Territory.gapPlaces))
        self.period = period
        var rng = SeededRandom(seed: seed)
        let count = max(1, (slots + perPro - 1) / perPro)
        let offsetRange = Int(period - Territory.slotSeconds * Int64(1 + Territory.gapPlaces))
        switch layout {
        case .spread:
            pros = (0..<count).map { i in
                Pro(
                    rpps: Territory.rpps(number: i), profession: Territory.profession(&rng),
                    lat: rng.uniform(Territory.mainland.lat), lon: rng.uniform(Territory.mainland.lon),
                    offset: Int64(rng.below(offsetRange)))
            }
        case .dense:
            let halfLat = Territory.denseSideKm / 2 / Territory.kmPerDegree
            let halfLon = halfLat / cos(Territory.denseCentre.lat * Double.pi / 180)
            let c = Territory.denseCentre
            pros = (0..<count).map { i in
                Pro(
                    rpps: Territory.rpps(number: i), profession: .gp,
                    lat: rng.uniform((c.lat - halfLat)...(c.lat + halfLat)),
                    lon: rng.uniform((c.lon - halfLon)...(c.lon + halfLon)), offset: Int64(rng.below(offsetRange)))
            }
        }
    }

    static let kmPerDegree = GeoPoint.earthRadiusKm * Double.pi / 180

    /// Slots of professional `p`: the first `slotCount` in all, `slotsPerPro` each.
    func slotsOf(_ p: Int) -> Range<Int> {
        let first = p * slotsPerPro
        return first..<min(slotCount, first + slotsPerPro)
    }

    func start(pro p: Int, period k: Int, place j: Int = -1) -> Int64 {
        base + Int64(k) * period + pros[p].offset + Int64(j + 1) * Territory.slotSeconds
    }

    /// The preloaded slots, in order: each one's number (from 0), professional, period,
    /// start, and publication time, between five days and an hour before its start (never
    /// after `now`). `snpd-bench dataset` writes them; `snpd-bench search` restores them.
    func forEachPreloadedSlot(
        now: Int64, _ body: (_ number: Int, _ pro: Pro, _ period: Int, _ start: Int64, _ created: Int64) -> Void
    ) {
        var rng = SeededRandom(seed: 0x5107)
        for (p, pro) in pros.enumerated() {
            for n in slotsOf(p) {
                let k = n - p * slotsPerPro
                let start = start(pro: p, period: k)
                body(n, pro, k, start, min(now - 60, start - 3600 - Int64(rng.below(5 * 86_400))))
            }
        }
    }

    /// Every third slot is a home visit, one in fifty is remote; the rest at the practice.
    static func mode(period k: Int) -> SlotMode { k % 50 == 49 ? .tele : k % 3 == 2 ? .home : .office }

    /// An 11-digit RPPS with its Luhn key, `1` then the number on 9 digits.
    static func rpps(number: Int) -> String {
        let body = "1" + String(repeating: "0", count: 9 - String(number).count) + String(number)
        let key = RPPS.luhnCheckDigit(for: body.map { Int($0.asciiValue! - 48) })
        return body + String(key)
    }

    static func profession(_ rng: inout SeededRandom) -> Profession {
        var pick = rng.below(100)
        for (profession, share) in professions {
            if pick < share { return profession }
            pick -= share
        }
        return .gp
    }
}

/// The benchmark must be reproducible, and `SystemRandomNumberGenerator` is neither
/// seedable nor cheap: it draws from the simulator's SeededRandom (`SeededRandom`).
extension SeededRandom {
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    mutating func uniform(_ range: ClosedRange<Double>) -> Double { uniform(range.lowerBound, range.upperBound) }
}
