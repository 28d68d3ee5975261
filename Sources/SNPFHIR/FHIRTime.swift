import Foundation
import SNPCore

/// Instants as the SAS platform writes and reads them.
///
/// - Out: `YYYY-MM-DDTHH:MM:SS.000+HH:MM`, in Europe/Paris local time with the offset of
///   that instant (`+01:00` in winter, `+02:00` in summer; SNPCore's `ParisTime`, the EU rule),
///   the exact form ANS's test kit checks (`ps_validate_dates_test.rb`).
/// - In (`start=ge…`/`le…`): RFC 3339 with any offset (`Z`, `+02:00`, `-05:00`), or no offset
///   at all (the IG's own examples send none): then the wall-clock time is Europe/Paris.
///   Fractional seconds are allowed and kept. See `parse(_:)` for the daylight-saving edges.
public enum FHIRTime {
    /// `2026-03-29T03:00:00.000+02:00`. Whole seconds (snpd keeps instants to the second).
    public static func format(_ date: Date) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(29)
        write(date, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `format(date)` to `out`, without a string of its own.
    public static func write(_ date: Date, into out: inout [UInt8]) {
        var writer = Writer()
        writer.write(date, into: &out)
    }

    /// Writes instants one after the other, and remembers the calendar of the last hour
    /// it wrote: a search's answer writes two per Slot, most of them on a few days, and the
    /// Paris offset and the civil date were a tenth of its cost (docs/PERFORMANCE.md).
    /// Within an hour of UTC the offset and the local date cannot change (the changes
    /// happen on the hour, and both offsets are whole hours).
    public struct Writer: Sendable {
        private var hour = Int64.min
        private var year = 0, month = 0, day = 0, localHour = 0, offset = 0
        /// The hour's text, minutes and seconds at `00` (years 0 to 9999): each instant of
        /// the hour copies it and writes its own 4 digits.
        private var text: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

        public init() {}

        /// The most `write(_:to:)` writes: 29 bytes for the years 0 to 9999, more only for
        /// instants snpd does not hold.
        public static let maximumCount = 64

        public mutating func write(_ date: Date, into out: inout [UInt8]) {
            withUnsafeTemporaryAllocation(byteCount: Self.maximumCount, alignment: 1) { b in
                let count = write(date, to: b.baseAddress!)
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[..<count]))
            }
        }

        /// Writes the instant at `target`, which has room for `maximumCount` bytes; returns
        /// the count written. A search's answer writes its Slots' times straight into the
        /// response's memory with it.
        public mutating func write(_ date: Date, to target: UnsafeMutableRawPointer) -> Int {
            let seconds = date.epochSeconds
            let hour = FHIRTime.floorDiv(seconds, 3_600)
            if hour != self.hour {
                offset = ParisTime.offset(at: seconds)
                let local = seconds + Int64(offset)
                let days = FHIRTime.floorDiv(local, 86_400)
                let d = Civil.date(days: Int(days))
                (year, month, day, localHour) = (d.year, d.month, d.day, Int(local - days * 86_400) / 3_600)
                self.hour = hour
                if (0...9999).contains(year) {
                    let (year, month, day, localHour, offset) = (year, month, day, localHour, offset)
                    withUnsafeMutableBytes(of: &text) {
                        Self.writeDigits(year, month, day, localHour, 0, 0, offset, to: $0.baseAddress!)
                    }
                }
            }
            let minute = Int(seconds - hour * 3_600) / 60
            let second = Int(seconds - hour * 3_600) % 60
            guard (0...9999).contains(year) else {
                // Not an instant snpd holds: digit by digit, sign and all.
                var out: [UInt8] = []
                for (value, width, separator) in [
                    (year, 4, "-"), (month, 2, "-"), (day, 2, "T"), (localHour, 2, ":"), (minute, 2, ":"),
                    (second, 2, offset < 0 ? ".000-" : ".000+"), (abs(offset) / 3600, 2, ":"), (abs(offset) / 60 % 60, 2, ""),
                ] {
                    FixedDecimal.writeDigits(Int64(value), width: width, into: &out)
                    out.append(contentsOf: separator.utf8)
                }
                precondition(out.count <= Self.maximumCount)
                out.withUnsafeBytes { target.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                return out.count
            }
            withUnsafeBytes(of: text) { target.copyMemory(from: $0.baseAddress!, byteCount: 29) }
            func put(_ i: Int, _ value: Int) {
                target.storeBytes(of: UInt8(truncatingIfNeeded: 48 + value / 10), toByteOffset: i, as: UInt8.self)
                target.storeBytes(of: UInt8(truncatingIfNeeded: 48 + value % 10), toByteOffset: i + 1, as: UInt8.self)
            }
            put(14, minute)
            put(17, second)
            return 29
        }

        /// `YYYY-MM-DDTHH:MM:SS.000+HH:MM` at `target` (29 bytes), for a year of 4 digits.
        private static func writeDigits(
            _ year: Int, _ month: Int, _ day: Int, _ localHour: Int, _ minute: Int, _ second: Int, _ offset: Int,
            to target: UnsafeMutableRawPointer
        ) {
            // Raw stores: the memory may be a `ByteBuffer`'s, not bound to `UInt8` by us.
            func put(_ i: Int, _ byte: UInt8) { target.storeBytes(of: byte, toByteOffset: i, as: UInt8.self) }
            func two(_ value: Int, _ i: Int, then separator: Unicode.Scalar) {
                put(i, UInt8(truncatingIfNeeded: 48 + value / 10))
                put(i + 1, UInt8(truncatingIfNeeded: 48 + value % 10))
                put(i + 2, UInt8(ascii: separator))
            }
            put(0, UInt8(truncatingIfNeeded: 48 + year / 1000))
            put(1, UInt8(truncatingIfNeeded: 48 + year / 100 % 10))
            two(year % 100, 2, then: "-")
            two(month, 5, then: "-")
            two(day, 8, then: "T")
            two(localHour, 11, then: ":")
            two(minute, 14, then: ":")
            two(second, 17, then: ".")
            two(0, 20, then: "0")  // the milliseconds: 000
            put(23, UInt8(ascii: offset < 0 ? "-" : "+"))
            two(abs(offset) / 3600, 24, then: ":")
            put(27, UInt8(truncatingIfNeeded: 48 + abs(offset) / 60 % 60 / 10))
            put(28, UInt8(truncatingIfNeeded: 48 + abs(offset) / 60 % 10))
        }
    }

    /// Parses a search instant (without its `ge`/`le` prefix).
    ///
    /// Accepted: `YYYY-MM-DDTHH:MM:SS[.f…](Z|±HH:MM)`; the same without offset (Paris local
    /// time); `±HHMM` offsets; a space where the offset's `+` was (a `+` sent unencoded in a
    /// query string is read back as a space by form decoding). A date alone,
    /// `YYYY-MM-DD`, is the Paris day: its first second for `ge`, its last for `le`
    /// (FHIR date search semantics: `le` of a day includes the whole day).
    ///
    /// Local times inside daylight-saving changes:
    /// - in the spring gap (29 March 2026, 02:00–02:59 do not exist), the time is read with
    ///   the offset in force before the change, `+01:00`: `02:30` is `01:30Z` (= `03:30+02:00`);
    /// - in the autumn overlap (25 October 2026, 02:00–02:59 happen twice), the first
    ///   occurrence, `+02:00`, is chosen: `02:30` is `00:30Z`.
    /// Both are what `java.time` does by default, so a platform in Java agrees with us.
    public static func parse(_ text: String, endOfDay: Bool = false) throws(FHIRError) -> Date {
        let b = Array(text.utf8)
        func fail(_ why: String) -> FHIRError {
            .badRequest(
                "invalid instant \"\(text.prefix(60))\": \(why); expected e.g. 2026-11-23T09:15:00+01:00, 2026-11-23T09:15:00.000Z or 2026-11-23T09:15:00 (Europe/Paris time)"
            )
        }
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from >= 0, from + count <= b.count else { return nil }
            var n = 0
            for i in from..<(from + count) {
                let c = b[i]
                guard c >= 48 && c <= 57 else { return nil }
                n = n * 10 + Int(c - 48)
            }
            return n
        }
        guard b.count >= 10, let year = number(0, 4), b[4] == UInt8(ascii: "-"), let month = number(5, 2),
            b[7] == UInt8(ascii: "-"), let day = number(8, 2)
        else { throw fail("malformed date") }
        guard year >= 1, (1...12).contains(month), day >= 1, day <= Civil.daysInMonth(year: year, month: month) else {
            throw fail("no such date")
        }
        let dayNumber = Civil.days(year: year, month: month, day: day)
        if b.count == 10 {
            // A whole Paris day.
            let start = parisInstant(localSeconds: Int64(dayNumber) * 86_400)
            if !endOfDay { return Date(epochSeconds: start) }
            let next = parisInstant(localSeconds: Int64(dayNumber + 1) * 86_400)
            return Date(epochSeconds: next - 1)
        }
        guard b.count >= 19, b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
            let hour = number(11, 2), b[13] == UInt8(ascii: ":"), let minute = number(14, 2),
            b[16] == UInt8(ascii: ":"), let second = number(17, 2)
        else { throw fail(b.count >= 16 && b.count < 19 ? "seconds are missing" : "malformed time") }
        guard hour <= 23, minute <= 59, second <= 60 else { throw fail("out of range time") }
        var i = 19
        var fraction = 0.0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            var scale = 0.1
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { throw fail("empty fraction of a second") }
            guard i - start <= 9 else { throw fail("more than 9 digits of a second") }
        }
        let localSeconds = Int64(dayNumber) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59))
        if i == b.count {
            return Date(timeIntervalSince1970: Double(parisInstant(localSeconds: localSeconds)) + fraction)
        }
        var offset = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: " "):
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            guard let oh = number(i + 1, 2) else { throw fail("malformed UTC offset") }
            let om: Int?
            if i + 3 < b.count, b[i + 3] == UInt8(ascii: ":") {
                om = number(i + 4, 2)
                i += 6
            } else {
                om = number(i + 3, 2)
                i += 5
            }
            guard let om, oh <= 23, om <= 59 else { throw fail("malformed UTC offset") }
            offset = sign * (oh * 3600 + om * 60)
        default:
            throw fail("unexpected \"\(String(decoding: b[i...].prefix(12), as: UTF8.self))\" after the time")
        }
        guard i == b.count else { throw fail("trailing characters") }
        return Date(timeIntervalSince1970: Double(localSeconds - Int64(offset)) + fraction)
    }

    /// The instant of a Paris wall-clock time (seconds since 1970 as if it were UTC), with the
    /// gap and overlap rules of `parse(_:)`.
    public static func parisInstant(localSeconds: Int64) -> Int64 {
        let summer = localSeconds - 7_200
        let winter = localSeconds - 3_600
        let summerValid = ParisTime.offset(at: summer) == 7_200
        let winterValid = ParisTime.offset(at: winter) == 3_600
        switch (summerValid, winterValid) {
        case (true, _): return summer  // summer time, or the first occurrence in the overlap
        case (false, true): return winter
        case (false, false): return winter  // the spring gap: the offset before the change
        }
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
}
