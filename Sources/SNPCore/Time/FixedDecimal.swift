import Foundation

/// Numbers with a fixed number of decimals, exactly as `String(format: "%.Nf")` writes them
/// (the exact binary value rounded half to even), without a sign on a value that rounds
/// to zero, and without going through CoreFoundation, which on Linux costs microseconds
/// per number (docs/PERFORMANCE.md).
public enum FixedDecimal {
    private static let powersOfTen: [Double] = (0...9).map { pow(10, Double($0)) }

    public static func format(_ x: Double, decimals: Int) -> String {
        guard (0...9).contains(decimals), x.isFinite else { return slow(x, decimals: decimals) }
        let scale = powersOfTen[decimals]
        // Beyond 2^52 the scaled value has no fraction left to round, nor fits the integers below.
        guard abs(x) * scale < 4e15 else { return slow(x, decimals: decimals) }
        // x × scale == product + error exactly (FMA), so the rounding below is that of the
        // exact value, as printf's is; scale is exact for these powers of ten.
        let product = x * scale
        let error = fma(x, scale, -product)
        var rounded = product.rounded(.toNearestOrEven)
        let fraction = product - rounded
        if fraction == 0.5, error > 0 {
            rounded += 1
        } else if fraction == -0.5, error < 0 {
            rounded -= 1
        }
        let units = Int64(abs(rounded))
        let divisor = Int64(scale)
        var text = rounded < 0 ? "-" : ""
        text += String(units / divisor)
        guard decimals > 0 else { return text }
        let digits = String(units % divisor)
        text += "."
        text += String(repeating: "0", count: decimals - digits.count)
        text += digits
        return text
    }

    /// The reference: printf, with the sign of a negative zero removed.
    static func slow(_ x: Double, decimals: Int) -> String {
        var s = String(format: "%.\(decimals)f", x)
        if s.hasPrefix("-"), s.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { s.removeFirst() }
        return s
    }
}
