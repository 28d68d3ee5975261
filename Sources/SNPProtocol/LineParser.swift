import SNPCore

/// One word of a command line: a bare or quoted value, or `key=value`.
public enum Word: Equatable, Sendable {
    case value(String)
    case keyValue(key: String, value: String)
}

/// A command line cut into words (§3.2), before any meaning is given to them.
public struct ParsedLine: Equatable, Sendable {
    public var words: [Word]
}

/// Cuts a line into words. Pure, and strict: anything ambiguous is a `BAD_REQUEST`
/// rather than a guess, since a guessed argument can book the wrong slot.
///
/// Grammar: words are separated by spaces or tabs. A word is `key=value`, `key="quoted"`,
/// `"quoted"` or bare. Inside quotes, `\"` and `\\` are the only escapes. Keys are
/// ASCII letters, digits and `_`, not starting with a digit, and are case-insensitive.
public enum LineParser {
    /// The longest line accepted, in bytes, without its `\n` (§3.1).
    public static let maxLineBytes = 8_192

    /// Parses one line (without its `\n`; a trailing `\r` is ignored). Returns `nil` for a
    /// line that is empty or only blanks.
    public static func parse(_ bytes: some Collection<UInt8>) throws(SNPError) -> ParsedLine? {
        var b = Array(bytes)
        if b.last == UInt8(ascii: "\r") { b.removeLast() }
        guard b.count <= maxLineBytes else { throw .tooLong("line longer than \(maxLineBytes) bytes") }
        if let bad = b.firstIndex(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7F }) {
            throw .badRequest(b[bad] == 0 ? "NUL byte in line" : "control character (0x\(String(b[bad], radix: 16))) in line")
        }
        guard String(validating: b, as: UTF8.self) != nil else { throw .badRequest("line is not valid UTF-8") }

        var words: [Word] = []
        var i = 0
        func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
        func text(_ s: ArraySlice<UInt8>) -> String { String(decoding: s, as: UTF8.self) }

        func quoted() throws(SNPError) -> String {
            // b[i] is the opening quote.
            i += 1
            var out: [UInt8] = []
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\"") {
                    i += 1
                    guard i == b.count || isBlank(b[i]) else { throw .badRequest("a closing quote must end the word") }
                    return text(out[...])
                }
                if c == UInt8(ascii: "\\") {
                    guard i + 1 < b.count, b[i + 1] == UInt8(ascii: "\"") || b[i + 1] == UInt8(ascii: "\\") else {
                        throw .badRequest("only \\\" and \\\\ are escapes inside quotes")
                    }
                    out.append(b[i + 1])
                    i += 2
                    continue
                }
                out.append(c)
                i += 1
            }
            throw .badRequest("unterminated quote")
        }

        while true {
            while i < b.count, isBlank(b[i]) { i += 1 }
            guard i < b.count else { break }
            if b[i] == UInt8(ascii: "\"") {
                words.append(.value(try quoted()))
                continue
            }
            let start = i
            var equals: Int?
            while i < b.count, !isBlank(b[i]) {
                let c = b[i]
                if c == UInt8(ascii: "=") && equals == nil {
                    equals = i
                    if i + 1 < b.count, b[i + 1] == UInt8(ascii: "\"") {
                        let key = try validKey(b[start..<i])
                        i += 1
                        words.append(.keyValue(key: key, value: try quoted()))
                        equals = -1
                        break
                    }
                } else if c == UInt8(ascii: "\"") {
                    throw .badRequest("a quote may only open a word or a value")
                } else if c == UInt8(ascii: "\\") && equals == nil {
                    throw .badRequest("a backslash may only appear inside quotes or a value")
                }
                i += 1
            }
            if equals == -1 { continue }
            if let e = equals {
                words.append(.keyValue(key: try validKey(b[start..<e]), value: text(b[(e + 1)..<i])))
            } else {
                words.append(.value(text(b[start..<i])))
            }
        }
        return words.isEmpty ? nil : ParsedLine(words: words)
    }

    private static func validKey(_ k: ArraySlice<UInt8>) throws(SNPError) -> String {
        guard let first = k.first, !(first >= 48 && first <= 57),
            k.allSatisfy({ ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 })
        else {
            throw .badRequest("invalid key \"\(String(decoding: k.prefix(40), as: UTF8.self))\" before '='")
        }
        return String(decoding: k, as: UTF8.self).lowercased()
    }
}
