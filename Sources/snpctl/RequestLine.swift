/// Turns the words of a one-shot command line back into one protocol line.
///
/// The shell has already removed the user's quotes, so `name="Dr A B"` arrives as the single
/// word `name=Dr A B`. Joining with spaces alone would send three arguments; the words
/// are therefore quoted again the protocol's way (§3.2: double quotes, `\"` and `\\` the
/// only escapes). For `key=value`, only the value is quoted, because that is where the
/// server expects quotes.
enum RequestLine {
    enum Problem: Error, CustomStringConvertible {
        case lineBreak(String)

        var description: String {
            switch self {
            case .lineBreak(let word):
                "a command word cannot contain a line break: \(word.debugDescription)"
            }
        }
    }

    static func join(_ words: [String]) throws(Problem) -> String {
        var quotedWords: [String] = []
        for word in words {
            if word.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
                // The protocol has no escape for a line break: it would end the request early
                // and the rest would run as a second command.
                throw .lineBreak(word)
            }
            quotedWords.append(quote(word))
        }
        return quotedWords.joined(separator: " ")
    }

    /// The word as the server must receive it to read it back as one argument.
    static func quote(_ word: String) -> String {
        if let equals = word.firstIndex(of: "="), equals != word.startIndex {
            let key = word[..<equals]
            let value = word[word.index(after: equals)...]
            if !needsQuotes(key) {
                return needsQuotes(value) ? "\(key)=\(quoted(value))" : word
            }
        }
        return needsQuotes(word) || word.isEmpty ? quoted(word) : word
    }

    /// The first word of a request, upper-cased (verbs are case-insensitive): how snpctl
    /// recognises the few commands it must act on itself (`AUTH`, `WATCH`, `QUIT`).
    static func verb(of line: [UInt8]) -> String {
        let word = line.split(whereSeparator: isSpace).first ?? []
        return String(decoding: word, as: UTF8.self).uppercased()
    }

    /// Nothing but spaces and tabs: not worth sending.
    static func isBlank(_ line: [UInt8]) -> Bool {
        line.allSatisfy(isSpace)
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    private static func needsQuotes(_ text: Substring) -> Bool {
        text.contains { $0 == " " || $0 == "\t" || $0 == "\"" || $0 == "\\" }
    }

    private static func needsQuotes(_ text: String) -> Bool {
        needsQuotes(text[...])
    }

    private static func quoted(_ text: some StringProtocol) -> String {
        var result = "\""
        for character in text {
            if character == "\"" || character == "\\" { result.append("\\") }
            result.append(character)
        }
        result.append("\"")
        return result
    }
}
