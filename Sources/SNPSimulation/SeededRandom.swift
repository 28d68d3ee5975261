/// A small, fast, seedable generator (SplitMix64), so that a simulated week is the same on
/// every run and every machine for a given seed.
///
/// Swift's `SystemRandomNumberGenerator` cannot be seeded, and `Int.random(in:using:)`'s
/// algorithm is not promised to stay the same across toolchains, so the helpers below draw
/// from the raw 64-bit stream themselves.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// An independent stream for one purpose (`"slots"`, `"requests"`…) of one run: changing
    /// how many numbers one part of the generator draws does not shift the others.
    public init(seed: UInt64, stream: String) {
        state = SeededRandom.mix(seed ^ SeededRandom.fnv1a(stream))
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SeededRandom.mix(state)
    }

    /// The SplitMix64 finaliser: a good 64-bit hash of one word.
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// FNV-1a of a string: a hash that, unlike `Hasher`, is the same in every process.
    public static func fnv1a(_ text: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }

    /// A uniform number in [0, 1) from a hash of several words: a property of a pair
    /// (request, slot) that does not depend on the order things happen in.
    public static func unit(hashing words: UInt64...) -> Double {
        var h: UInt64 = 0x2545_F491_4F6C_DD1D
        for w in words { h = mix(h ^ w) }
        return Double(h >> 11) * 0x1p-53
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    public mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * unit() }

    /// Uniform in `range` (small ranges: the modulo bias is below 2⁻⁵⁰).
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// An index drawn with probability proportional to `weights`.
    public mutating func index(weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var x = unit() * total
        for (i, w) in weights.enumerated() {
            x -= w
            if x < 0 { return i }
        }
        return weights.count - 1
    }

    /// One of `choices`, drawn with the probability paired with it.
    public mutating func pick<T>(_ choices: [(T, Double)]) -> T {
        choices[index(weights: choices.map(\.1))].0
    }
}
