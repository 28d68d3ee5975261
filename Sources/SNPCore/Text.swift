extension StringProtocol {
    /// What `trimmingCharacters(in: .whitespaces)` gives (the characters of Unicode's
    /// category `Zs`, and the tab, cut from both ends), without Foundation, which on Linux
    /// goes through `NSString` and cost a tenth of a FHIR search's answer
    /// (docs/PERFORMANCE.md, issue 15).
    public func trimmedWhitespace() -> String {
        let scalars = unicodeScalars
        func isSpace(_ s: Unicode.Scalar) -> Bool {
            s.isASCII ? s == " " || s == "\t" : s.properties.generalCategory == .spaceSeparator
        }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = scalars.index(after: scalars.lastIndex(where: { !isSpace($0) })!)
        return String(self[first..<end])
    }
}

extension StringProtocol {
    /// What Foundation's `removingPercentEncoding` gives (each `%XX` is a byte, the bytes
    /// must be UTF-8; `nil` for a `%` without two hex digits after it, or bytes that are
    /// not UTF-8; `+` stays a `+`), without `NSString`: a FHIR search decodes its query's
    /// items with it, and Foundation's took a twentieth of the search (docs/PERFORMANCE.md).
    public func percentDecoded() -> String? {
        guard utf8.contains(UInt8(ascii: "%")) else { return String(self) }
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var i = utf8.startIndex
        while i != utf8.endIndex {
            let c = utf8[i]
            i = utf8.index(after: i)
            guard c == UInt8(ascii: "%") else {
                bytes.append(c)
                continue
            }
            guard i != utf8.endIndex, let high = hex(utf8[i]) else { return nil }
            i = utf8.index(after: i)
            guard i != utf8.endIndex, let low = hex(utf8[i]) else { return nil }
            i = utf8.index(after: i)
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
