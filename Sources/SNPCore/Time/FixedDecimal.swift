import Foundation

/// Numbers with a fixed number of decimals, exactly as `String(format: "%.Nf")` writes them
/// (the exact binary value rounded half to even), without a sign on a value that rounds
/// to zero, and without going through CoreFoundation, which on Linux costs microseconds
/// per number (docs/PERFORMANCE.md).
public enum FixedDecimal {
    private static let powersOfTen: [Double] = (0...9).map { pow(10, Double($0)) }

    public static func format(_ x: Double, decimals: Int) -> String {
        var bytes: [UInt8] = []
        write(x, decimals: decimals, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `format(x, decimals:)` to `out`, without a string of its own: a reply
    /// writes its numbers straight into its bytes.
    public static func write(_ x: Double, decimals: Int, into out: inout [UInt8]) {
        guard (0...9).contains(decimals), x.isFinite else {
            out.append(contentsOf: slow(x, decimals: decimals).utf8)
            return
        }
        let scale = powersOfTen[decimals]
        // Beyond 2^52 the scaled value has no fraction left to round, nor fits the integers below.
        guard abs(x) * scale < 4e15 else {
            out.append(contentsOf: slow(x, decimals: decimals).utf8)
            return
        }
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
        if rounded < 0 { out.append(UInt8(ascii: "-")) }
        writeDigits(units / divisor, into: &out)
        guard decimals > 0 else { return }
        out.append(UInt8(ascii: "."))
        writeDigits(units % divisor, width: decimals, into: &out)
    }

    /// Appends the decimal digits of `n` (a `-` first if negative), with leading zeros up
    /// to `width` digits.
    public static func writeDigits(_ n: Int64, width: Int = 1, into out: inout [UInt8]) {
        if n < 0 { out.append(UInt8(ascii: "-")) }
        let magnitude = n.magnitude
        var count = 1
        var rest = magnitude / 10
        while rest > 0 {
            count += 1
            rest /= 10
        }
        for _ in count..<max(count, width) { out.append(UInt8(ascii: "0")) }
        // Room for the digits, then filled from the last one, in place.
        let end = out.count + count
        for _ in 0..<count { out.append(0) }
        out.withUnsafeMutableBufferPointer { buffer in
            var v = magnitude
            for i in stride(from: end - 1, through: end - count, by: -1) {
                buffer[i] = UInt8(truncatingIfNeeded: 48 + v % 10)
                v /= 10
            }
        }
    }

    /// The reference: printf, with the sign of a negative zero removed.
    static func slow(_ x: Double, decimals: Int) -> String {
        var s = String(format: "%.\(decimals)f", x)
        if s.hasPrefix("-"), s.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { s.removeFirst() }
        return s
    }
}
