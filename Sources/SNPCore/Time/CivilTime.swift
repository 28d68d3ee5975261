import Foundation

/// Calendar arithmetic on the proleptic Gregorian calendar, by hand.
///
/// Done here rather than through `Calendar` because it runs on the hot path of matching
/// (weekly caps are counted per ISO week of every candidate slot) and because the result
/// must not depend on the time-zone database of the machine.
public enum Civil {
    /// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
    public static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// The civil date of a day count since 1970-01-01 (`civil_from_days`).
    public static func date(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// ISO weekday, Monday = 1 … Sunday = 7.
    public static func isoWeekday(days: Int) -> Int {
        // 1970-01-01 was a Thursday (4).
        let w = (days + 3) % 7
        return (w < 0 ? w + 7 : w) + 1
    }

    public static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
}

/// Local time in Europe/Paris: the calendar of the SAS, of the ACI and of weekly caps.
///
/// France follows the EU rule since 1996: CEST (UTC+2) from the last Sunday of March at
/// 01:00 UTC to the last Sunday of October at 01:00 UTC, CET (UTC+1) otherwise.
public enum ParisTime {
    /// The offset from UTC, in seconds, at an instant.
    public static func offset(at epochSeconds: Int64) -> Int {
        let days = Int(Civil.floorDiv(Int(epochSeconds), 86_400))
        let year = Civil.date(days: days).year
        let start = Int64(lastSunday(year: year, month: 3)) * 86_400 + 3_600
        let end = Int64(lastSunday(year: year, month: 10)) * 86_400 + 3_600
        return epochSeconds >= start && epochSeconds < end ? 7_200 : 3_600
    }

    public static func offset(at date: Date) -> Int { offset(at: date.epochSeconds) }

    /// Days since 1970-01-01 of the Paris calendar day that contains the instant.
    public static func dayNumber(at epochSeconds: Int64) -> Int {
        Civil.floorDiv(Int(epochSeconds) + offset(at: epochSeconds), 86_400)
    }

    /// The ISO week (Monday to Sunday, Paris time) that contains the instant, as
    /// `year * 100 + week` (e.g. 202648), the key of weekly caps and of `sas_week_counts`.
    public static func isoWeek(at epochSeconds: Int64) -> Int {
        let days = dayNumber(at: epochSeconds)
        // The ISO year is the year of the Thursday of the same week.
        let thursday = days - Civil.isoWeekday(days: days) + 4
        let isoYear = Civil.date(days: thursday).year
        let week = (thursday - Civil.days(year: isoYear, month: 1, day: 1)) / 7 + 1
        return isoYear * 100 + week
    }

    public static func isoWeek(at date: Date) -> Int { isoWeek(at: date.epochSeconds) }

    /// The instant at which a Paris calendar day begins.
    public static func startOfDay(dayNumber: Int) -> Int64 {
        let guess = Int64(dayNumber) * 86_400
        // Midnight is never inside a change (changes happen at 02:00 or 03:00 local).
        return guess - Int64(offset(at: guess - 3_600))
    }

    /// `YYYY-MM-DD` of a Paris day number.
    public static func dayString(_ dayNumber: Int) -> String {
        let d = Civil.date(days: dayNumber)
        return String(format: "%04d-%02d-%02d", d.year, d.month, d.day)
    }

    /// Parses `YYYY-MM-DD` into a day number.
    public static func dayNumber(parsing text: String) -> Int? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            (1...12).contains(m), d >= 1, d <= Civil.daysInMonth(year: y, month: m)
        else { return nil }
        return Civil.days(year: y, month: m, day: d)
    }

    /// The instant at which a Paris local time of day (`minute` after midnight) happens on a
    /// day: `nil` when it does not exist (the spring change skips 02:00–02:59); on the
    /// autumn change, when 02:00–02:59 happens twice, its first occurrence (summer time).
    public static func instant(day dayNumber: Int, minute: Int) -> Int64? {
        let local = Int64(dayNumber) * 86_400 + Int64(minute) * 60
        // Summer time first: of two instants with this local time, the earlier one.
        for offset in [7_200, 3_600] where self.offset(at: local - Int64(offset)) == offset {
            return local - Int64(offset)
        }
        return nil
    }

    /// The weekday (Monday = 1 … Sunday = 7) of a Paris day number.
    public static func weekday(_ dayNumber: Int) -> Int { Civil.isoWeekday(days: dayNumber) }

    private static func lastSunday(year: Int, month: Int) -> Int {
        let last = Civil.days(year: year, month: month, day: Civil.daysInMonth(year: year, month: month))
        return last - (Civil.isoWeekday(days: last) % 7)
    }
}

extension Date {
    /// Whole seconds since 1970; the service keeps every instant to the second.
    public var epochSeconds: Int64 { Int64(timeIntervalSince1970.rounded(.down)) }

    public init(epochSeconds: Int64) { self.init(timeIntervalSince1970: TimeInterval(epochSeconds)) }
}
