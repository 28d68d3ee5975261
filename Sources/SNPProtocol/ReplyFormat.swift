import Foundation
import SNPCore

/// The `key=value` fields of a reply, an item or an event, in the order they are written.
public struct Fields: Sendable, Equatable {
    public private(set) var pairs: [(key: String, value: String)] = []

    public init() {}

    /// Room for `capacity` pairs, added without growing the storage again.
    public init(capacity: Int) { pairs.reserveCapacity(capacity) }

    public init(_ pairs: [(String, String)]) {
        self.pairs = pairs.map { (key: $0.0, value: $0.1) }
    }

    public mutating func add(_ key: String, _ value: String) { pairs.append((key, value)) }

    public mutating func add(_ key: String, _ value: String?) {
        if let value { pairs.append((key, value)) }
    }

    public subscript(key: String) -> String? { pairs.first { $0.key == key }?.value }

    public static func == (a: Fields, b: Fields) -> Bool {
        a.pairs.map(\.key) == b.pairs.map(\.key) && a.pairs.map(\.value) == b.pairs.map(\.value)
    }

    /// ` key=value key="quoted value"`, with a leading space when not empty.
    public var encoded: String {
        var out = ""
        encode(into: &out)
        return out
    }

    /// Appends `encoded` to `out`, without building it apart first.
    public func encode(into out: inout String) {
        for (k, v) in pairs {
            out += " "
            out += k
            out += "="
            ReplyFormat.appendQuotedIfNeeded(v, to: &out)
        }
    }
}

/// Writes replies (§3.3): every line of the protocol that the server sends is made here.
public enum ReplyFormat {
    /// `OK key=value …`
    public static func ok(_ fields: Fields = Fields()) -> String { "OK" + fields.encoded + "\n" }

    /// `OK count=N` then N lines, each starting with the item's kind.
    public static func list(kind: String, _ items: [Fields]) -> String {
        var out = "OK count=\(items.count)\n"
        // One string, grown once: a `SLOT FIND` reply is ten lines of a dozen fields.
        out.reserveCapacity(out.utf8.count + items.count * (kind.utf8.count + 16 * 20))
        for item in items {
            out += kind
            item.encode(into: &out)
            out += "\n"
        }
        return out
    }

    /// `ERR CODE message`, on one line whatever the message holds.
    public static func error(_ e: SNPError) -> String {
        let message = String(e.message.map { $0.isNewline || $0 == "\r" ? " " : $0 })
        return "ERR \(e.code) \(message)\n"
    }

    /// `EVENT key=value …`
    public static func event(_ fields: Fields) -> String { "EVENT" + fields.encoded + "\n" }

    /// Quotes a value when a bare word would not read back the same.
    public static func quoteIfNeeded(_ v: String) -> String {
        var out = ""
        appendQuotedIfNeeded(v, to: &out)
        return out
    }

    /// Appends `quoteIfNeeded(v)` to `out`.
    public static func appendQuotedIfNeeded(_ v: String, to out: inout String) {
        guard v.isEmpty || v.utf8.contains(where: { $0 == 0x20 || $0 == 0x09 || $0 == 0x22 || $0 == 0x5C }) else {
            out += v
            return
        }
        out += "\""
        for c in v.unicodeScalars {
            if c == "\"" || c == "\\" { out.unicodeScalars.append("\\") }
            out.unicodeScalars.append(c)
        }
        out += "\""
    }

    /// Numbers as the protocol writes them: fixed decimals, no exponent.
    /// Exactly printf's `%.Nf`, a value that rounds to zero without its sign (`FixedDecimal`,
    /// which avoids `String(format:)`'s cost on Linux).
    public static func number(_ x: Double, decimals: Int = 2) -> String {
        FixedDecimal.format(x, decimals: decimals)
    }
}
