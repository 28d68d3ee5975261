import Foundation

/// Shows the server's UTC times in the reader's time zone.
///
/// The server speaks UTC (`2026-11-23T08:00:00Z`) so that nothing depends on where it runs;
/// a regulator on the phone with a patient needs "09:00" in Paris. The rewritten value keeps
/// its offset (`2026-11-23 09:00:00+01:00`) so it still names one instant without doubt,
/// and only values of exactly the UTC shape are touched: the rest of the line, quoting and
/// odd bytes included, is passed through byte for byte. Scripts that want the server's
/// own text use `--raw` and never come here.
///
/// Values are parsed and printed by hand rather than with `DateFormatter` or
/// `ISO8601FormatStyle`, so that a fraction of a second keeps exactly the digits the
/// server sent and nothing depends on a formatter's locale.
struct LocalTimeRewriter: Sendable {
    let timeZone: TimeZone
    /// Whole seconds go through calendars; the fraction is carried over as text.
    private let utc: Calendar
    private let local: Calendar

    init(timeZone: TimeZone) {
        self.timeZone = timeZone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        utc = calendar
        calendar.timeZone = timeZone
        local = calendar
    }

    /// The line with every `key=<UTC time>` value in local time.
    func rewrite(_ line: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(line.count + 16)
        var index = 0
        while index < line.count {
            if line[index] == UInt8(ascii: " ") {
                output.append(line[index])
                index += 1
                continue
            }
            let end = Self.endOfField(line, from: index)
            let field = line[index..<end]
            if let equals = field.firstIndex(of: UInt8(ascii: "=")), equals > index,
                !field[..<equals].contains(UInt8(ascii: "\"")),
                let local = localTime(line[(equals + 1)..<end])
            {
                output.append(contentsOf: line[index...equals])
                output.append(contentsOf: local.utf8)
                index = end
            } else {
                output.append(contentsOf: field)
                index = end
            }
        }
        return output
    }

    /// The end of the field starting at `start`: the next space outside double quotes (a
    /// quoted value such as `name="Dr A B"` is one field, `\"` and `\\` escaped inside).
    private static func endOfField(_ line: [UInt8], from start: Int) -> Int {
        var index = start
        var quoted = false
        while index < line.count {
            switch line[index] {
            case UInt8(ascii: " ") where !quoted:
                return index
            case UInt8(ascii: "\""):
                quoted.toggle()
            case UInt8(ascii: "\\") where quoted:
                index += 1
            default:
                break
            }
            index += 1
        }
        return line.count
    }

    /// `value` in local time if it is exactly `YYYY-MM-DDTHH:MM:SS(.fraction)?Z` and a real
    /// instant (no 30 February, no leap second); `nil` otherwise.
    func localTime(_ value: ArraySlice<UInt8>) -> String? {
        let text = Array(value)
        guard text.count >= 20, text.last == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var result = 0
            for byte in text[range] {
                guard (0x30...0x39).contains(byte) else { return nil }
                result = result * 10 + Int(byte - 0x30)
            }
            return result
        }
        func separator(_ position: Int, _ character: Unicode.Scalar) -> Bool {
            text[position] == UInt8(ascii: character)
        }
        guard separator(4, "-"), separator(7, "-"), separator(10, "T"), separator(13, ":"),
            separator(16, ":"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }

        // Between the seconds and the `Z`: nothing, or a dot and at least one digit.
        let fraction = text[19..<(text.count - 1)]
        if !fraction.isEmpty {
            guard fraction.first == UInt8(ascii: "."), fraction.count >= 2,
                fraction.dropFirst().allSatisfy({ (0x30...0x39).contains($0) })
            else { return nil }
        }
        let parsed = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        guard second < 60, parsed.isValidDate(in: utc), let instant = utc.date(from: parsed) else { return nil }
        let shown = local.dateComponents([.year, .month, .day, .hour, .minute, .second], from: instant)
        guard let localYear = shown.year, (0...9_999).contains(localYear), let localMonth = shown.month,
            let localDay = shown.day, let localHour = shown.hour, let localMinute = shown.minute,
            let localSecond = shown.second
        else { return nil }

        var result = "\(pad(localYear, 4))-\(pad(localMonth))-\(pad(localDay)) "
        result += "\(pad(localHour)):\(pad(localMinute)):\(pad(localSecond))"
        result += String(decoding: fraction, as: UTF8.self)
        result += Self.offsetText(timeZone.secondsFromGMT(for: instant))
        return result
    }

    /// `+01:00`, `-03:30`; seconds only if the zone has them (historical local mean times),
    /// so that the printed offset is never rounded into a wrong instant.
    private static func offsetText(_ offset: Int) -> String {
        let sign = offset < 0 ? "-" : "+"
        let magnitude = abs(offset)
        var text = "\(sign)\(pad(magnitude / 3_600)):\(pad(magnitude / 60 % 60))"
        if magnitude % 60 != 0 { text += ":\(pad(magnitude % 60))" }
        return text
    }
}

/// `value` in decimal with leading zeros up to `width` digits.
private func pad(_ value: Int, _ width: Int = 2) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
