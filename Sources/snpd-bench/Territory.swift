import Foundation
import SNPSimulation
import SNPCore

/// A synthetic country of volunteers, the same for a given size and seed, so that the
/// preload (`snpd-bench dataset`) and the load (`snpd-bench run`) agree on who publishes
/// what without talking to each other.
///
/// Professionals sit uniformly in a box the size of mainland France; each publishes
/// `slotsPerPro` slots of 20 minutes, one every `period` seconds from `base`, staggered
/// by a per-professional offset. Between two of its slots a professional has room for
/// four more (`gapPlaces`): that is where the benchmark's `SLOT ADD` publishes, so that
/// publishing never overlaps. Nobody practises on the island: requests placed there find
/// no slot and wait in the queue.
final class Territory: Sendable {
    struct Pro: Sendable {
        var rpps: String
        var profession: Profession
        var lat: Double
        var lon: Double
        /// Seconds after each period's beginning at which this professional's slot starts.
        var offset: Int64
    }

    static let slotsPerPro = 100
    /// The publication horizon (7 days) divided among a professional's slots.
    static let period: Int64 = 7 * 86_400 / Int64(slotsPerPro)
    static let slotSeconds: Int64 = 20 * 60
    /// Free places of `slotSeconds` after each preloaded slot, before the next one.
    static let gapPlaces = 3
    static let mainland = (lat: 43.5...49.5, lon: -1.5...6.5)
    static let island = (lat: 41.5...42.9, lon: 8.6...9.5)
    /// The professions of the territory and their share of the professionals.
    static let professions: [(Profession, Int)] = [(.gp, 50), (.nurse, 25), (.kine, 25)]

    let slotCount: Int
    let base: Int64
    let pros: [Pro]

    init(slots: Int, seed: UInt64, base: Int64) {
        slotCount = slots
        self.base = base
        var rng = SeededRandom(seed: seed)
        let count = max(1, (slots + Territory.slotsPerPro - 1) / Territory.slotsPerPro)
        pros = (0..<count).map { i in
            Pro(
                rpps: Territory.rpps(number: i), profession: Territory.profession(&rng),
                lat: rng.uniform(Territory.mainland.lat), lon: rng.uniform(Territory.mainland.lon),
                offset: Int64(rng.below(Int(Territory.period - Territory.slotSeconds * Int64(1 + Territory.gapPlaces)))))
        }
    }

    /// Slots of professional `p`: the first `slotCount` in all, `slotsPerPro` each.
    func slotsOf(_ p: Int) -> Range<Int> {
        let first = p * Territory.slotsPerPro
        return first..<min(slotCount, first + Territory.slotsPerPro)
    }

    func start(pro p: Int, period k: Int, place j: Int = -1) -> Int64 {
        base + Int64(k) * Territory.period + pros[p].offset + Int64(j + 1) * Territory.slotSeconds
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
                let k = n - p * Territory.slotsPerPro
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
