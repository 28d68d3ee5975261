import Foundation
import Testing

@testable import SNPCore

/// The fast formatters write exactly what `String(format:)` writes.
struct FormattingTests {
    @Test func fixedDecimalMatchesPrintf() {
        var state: UInt64 = 0x5EED
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
        var values: [Double] = [0, -0.0, 0.125, 0.375, 2.5, -2.5, 0.005, 1.005, -0.0004, 999.9995, 1e14, 12.345, 0.0015]
        for _ in 0..<20_000 {
            let magnitude = pow(10, Double(next() % 8) - 3)
            values.append((Double(next() >> 11) / Double(1 << 53) - 0.3) * magnitude)
        }
        // Exact ties at every number of decimals: k / 2^n.
        for k in 0..<2_000 { values.append(Double(k) / 8 + 0.0625) }
        for x in values {
            for decimals in [0, 1, 2, 3, 6] {
                #expect(FixedDecimal.format(x, decimals: decimals) == FixedDecimal.slow(x, decimals: decimals), "\(x) \(decimals)")
            }
        }
    }

    @Test func recordIDsAreWrittenAsInterpolated() {
        let numbers: [Int64] = [0, 1, 9, 10, 42, 99_999, 1_000_000, 123_456_789_012, Int64.max, -1, -42, Int64.min]
        for prefix: Character in ["s", "r", "p", "é"] {
            for n in numbers {
                #expect(RecordID(prefix, n).description == "\(prefix)\(n)", "\(prefix) \(n)")
            }
        }
    }

    @Test func rfc3339MatchesPrintf() {
        for seconds in stride(from: Int64(-86_400 * 400), to: 86_400 * 365 * 60, by: 86_400 * 7 + 3_671) {
            let d = Date(epochSeconds: seconds)
            let days = Civil.floorDiv(Int(seconds), 86_400)
            let rest = Int(seconds) - days * 86_400
            let c = Civil.date(days: days)
            let expected = String(
                format: "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month, c.day, rest / 3600, rest / 60 % 60, rest % 60)
            #expect(RFC3339.format(d) == expected)
        }
    }

    @Test func digitsAreWrittenAsStringWritesThem() {
        var values: [Int64] = [0, 1, -1, 9, 10, 99, 100, 2026, -2026, Int64.max, Int64.min, Int64.max - 1]
        var n: Int64 = 1
        for _ in 0..<18 {
            n *= 10
            values += [n - 1, n, n + 1, -n]
        }
        for value in values {
            for width in [1, 2, 4, 20, 30] {
                var bytes: [UInt8] = Array("x".utf8)
                FixedDecimal.writeDigits(value, width: width, into: &bytes)
                let digits = String(value.magnitude)
                let padded = String(repeating: "0", count: max(0, width - digits.count)) + digits
                #expect(String(decoding: bytes, as: UTF8.self) == "x" + (value < 0 ? "-" : "") + padded, "\(value) \(width)")
            }
        }
    }
}
