import Foundation

/// RFC 3339 times as the protocol writes them (§3.3): any offset in, UTC with `Z` out.
public enum RFC3339 {
    /// Parses `2026-11-23T09:15:00+01:00`, `…Z`, with optional fractional seconds (dropped:
    /// the service keeps instants to the second). A time without an offset is refused: a
    /// wall-clock time alone is ambiguous, and a wrong hour here is a patient seen late.
    public static func parse(_ text: String) throws(SNPError) -> Date {
        let b = Array(text.utf8)
        func fail(_ why: String) -> SNPError {
            .badRequest("invalid time \"\(text.prefix(40))\": \(why) (expected RFC 3339, e.g. 2026-11-23T09:15:00+01:00)")
        }
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var n = 0
            for i in from..<(from + count) {
                let c = b[i]
                guard c >= 48 && c <= 57 else { return nil }
                n = n * 10 + Int(c - 48)
            }
            return n
        }
        guard b.count >= 20,
            let year = number(0, 4), b[4] == UInt8(ascii: "-"),
            let month = number(5, 2), b[7] == UInt8(ascii: "-"),
            let day = number(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
            let hour = number(11, 2), b[13] == UInt8(ascii: ":"),
            let minute = number(14, 2), b[16] == UInt8(ascii: ":"),
            let second = number(17, 2)
        else { throw fail(b.count < 20 && b.count >= 19 ? "no UTC offset" : "malformed") }
        guard (1...12).contains(month), day >= 1, day <= Civil.daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59, second <= 60
        else { throw fail("out of range field") }
        var i = 19
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            let digitsStart = i
            while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }
            guard i > digitsStart else { throw fail("empty fraction") }
        }
        guard i < b.count else { throw fail("no UTC offset") }
        var offset = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let oh = number(i + 1, 2), i + 3 < b.count, b[i + 3] == UInt8(ascii: ":"),
                let om = number(i + 4, 2), oh <= 23, om <= 59
            else { throw fail("malformed offset") }
            offset = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        default:
            throw fail("no UTC offset")
        }
        guard i == b.count else { throw fail("trailing characters") }
        let days = Civil.days(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offset)
        // An offset can carry 0000-01-01 or 9999-12-31 out of the four-digit years, which
        // `format` could not write back as RFC 3339 (it wrote `-001-12-31T23:59:00Z`).
        guard validSeconds.contains(seconds) else { throw fail("before year 0000 or after 9999 in UTC") }
        return Date(epochSeconds: seconds)
    }

    /// The instants RFC 3339 can write in UTC: 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
    static let validSeconds: ClosedRange<Int64> =
        Int64(Civil.days(year: 0, month: 1, day: 1)) * 86_400...Int64(Civil.days(year: 9999, month: 12, day: 31)) * 86_400 + 86_399

    /// `2026-11-23T08:15:00Z`.
    ///
    /// Digit by digit rather than with `String(format:)`, which on Linux goes through
    /// CoreFoundation and dynamic casts: a `SLOT FIND` of ten slots writes twenty instants,
    /// and formatting them that way took a third of its time (docs/PERFORMANCE.md).
    public static func format(_ date: Date) -> String {
        var bytes: [UInt8] = []
        write(date, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `format(date)` to `out`, without a string of its own.
    public static func write(_ date: Date, into out: inout [UInt8]) {
        let s = date.epochSeconds
        let days = Civil.floorDiv(Int(s), 86_400)
        let rest = Int(s) - days * 86_400
        let d = Civil.date(days: days)
        guard (0...9999).contains(d.year) else {
            out.append(
                contentsOf: String(
                    format: "%04d-%02d-%02dT%02d:%02d:%02dZ", d.year, d.month, d.day, rest / 3600, rest / 60 % 60,
                    rest % 60
                ).utf8)
            return
        }
        func put(_ value: Int, width: Int, then separator: Unicode.Scalar) {
            FixedDecimal.writeDigits(Int64(value), width: width, into: &out)
            out.append(UInt8(ascii: separator))
        }
        put(d.year, width: 4, then: "-")
        put(d.month, width: 2, then: "-")
        put(d.day, width: 2, then: "T")
        put(rest / 3600, width: 2, then: ":")
        put(rest / 60 % 60, width: 2, then: ":")
        put(rest % 60, width: 2, then: "Z")
    }
}

/// Durations as the protocol writes them: `90s`, `30m`, `4h`, `2d`, or bare seconds.
public enum DurationText {
    public static func parseSeconds(_ text: String) throws(SNPError) -> Int {
        guard let last = text.last else { throw .badRequest("empty duration") }
        let unit: Int
        var digits = Substring(text)
        switch last {
        case "s": unit = 1; digits = digits.dropLast()
        case "m": unit = 60; digits = digits.dropLast()
        case "h": unit = 3_600; digits = digits.dropLast()
        case "d": unit = 86_400; digits = digits.dropLast()
        default: unit = 1
        }
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            let n = Int(digits)
        else {
            throw .badRequest("invalid duration \"\(text.prefix(40))\" (expected forms like 90s, 30m, 4h, 2d)")
        }
        return n * unit
    }

    /// The shortest exact form: `48h`, `90m`, `45s`.
    public static func format(seconds: Int) -> String {
        if seconds > 0, seconds % 86_400 == 0, seconds > 86_400 * 2 { return "\(seconds / 86_400)d" }
        if seconds > 0, seconds % 3_600 == 0 { return "\(seconds / 3_600)h" }
        if seconds > 0, seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}
