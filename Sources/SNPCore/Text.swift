extension StringProtocol {
    /// What `trimmingCharacters(in: .whitespaces)` gives (the characters of Unicode's
    /// category `Zs`, and the tab, cut from both ends), without Foundation, which on Linux
    /// goes through `NSString` and cost a tenth of a FHIR search's answer
    /// (docs/PERFORMANCE.md, issue 15).
    public func trimmedWhitespace() -> String {
        // On a `String`, not through the protocol: generic code called from another module
        // is not specialized, and retained and released at every index.
        let text = String(self)
        let scalars = text.unicodeScalars
        func isSpace(_ s: Unicode.Scalar) -> Bool {
            s.isASCII ? s == " " || s == "\t" : s.properties.generalCategory == .spaceSeparator
        }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = scalars.index(after: scalars.lastIndex(where: { !isSpace($0) })!)
        if first == scalars.startIndex && end == scalars.endIndex { return text }
        return String(text[first..<end])
    }
}

extension StringProtocol {
    /// What Foundation's `removingPercentEncoding` gives (each `%XX` is a byte, the bytes
    /// must be UTF-8; `nil` for a `%` without two hex digits after it, or bytes that are
    /// not UTF-8; `+` stays a `+`), without `NSString`: a FHIR search decodes its query's
    /// items with it, and Foundation's took a twentieth of the search (docs/PERFORMANCE.md).
    public func percentDecoded() -> String? {
        var text = String(self)
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        // Over the contiguous bytes of a `String`: walking the protocol's UTF-8 view, index
        // by index, unspecialized, was 3 times slower (a 1 000-byte identifier list per search).
        return text.withUTF8 { bytes -> String? in
            func hex(_ c: UInt8) -> UInt8? {
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
                default: nil
                }
            }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var i = 0
            while i < bytes.count {
                let c = bytes[i]
                guard c == UInt8(ascii: "%") else {
                    out.append(c)
                    i += 1
                    continue
                }
                guard i + 2 < bytes.count, let high = hex(bytes[i + 1]), let low = hex(bytes[i + 2]) else { return nil }
                out.append(high << 4 | low)
                i += 3
            }
            return String(validating: out, as: UTF8.self)
        }
    }
}
