import Foundation
import SNPCore

/// A field's value, kept typed until its line is written: a time or a number goes straight
/// into the reply's bytes, without a string of its own (a `SLOT FIND` reply has sixty).
public enum FieldValue: Sendable {
    case text(String)
    case integer(Int)
    /// RFC 3339, UTC (`RFC3339.format`).
    case time(Date)
    /// Fixed decimals, no exponent (`ReplyFormat.number`).
    case number(Double, decimals: Int)

    /// The value as written on the wire, before any quoting.
    public var text: String {
        if case .text(let s) = self { return s }
        var bytes: [UInt8] = []
        writeUnquoted(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the value, quoted if a bare word would not read back the same.
    func write(into out: inout [UInt8]) {
        if case .text(let s) = self {
            ReplyFormat.appendQuotedIfNeeded(s, to: &out)
        } else {
            // Digits, signs, dots, dashes and colons: never quoted.
            writeUnquoted(into: &out)
        }
    }

    private func writeUnquoted(into out: inout [UInt8]) {
        switch self {
        case .text(let s): out.append(contentsOf: s.utf8)
        case .integer(let n): FixedDecimal.writeDigits(Int64(n), into: &out)
        case .time(let d): RFC3339.write(d, into: &out)
        case .number(let x, let decimals): FixedDecimal.write(x, decimals: decimals, into: &out)
        }
    }
}

/// The `key=value` fields of a reply, an item or an event, in the order they are written.
public struct Fields: Sendable, Equatable {
    private var items: [(key: String, value: FieldValue)] = []

    public init() {}

    /// Room for `capacity` pairs, added without growing the storage again.
    public init(capacity: Int) { items.reserveCapacity(capacity) }

    public init(_ pairs: [(String, String)]) {
        items = pairs.map { (key: $0.0, value: .text($0.1)) }
    }

    /// The pairs as written on the wire, before any quoting.
    public var pairs: [(key: String, value: String)] { items.map { (key: $0.key, value: $0.value.text) } }

    public mutating func add(_ key: String, _ value: String) { items.append((key, .text(value))) }

    public mutating func add(_ key: String, _ value: String?) {
        if let value { items.append((key, .text(value))) }
    }

    public mutating func add(_ key: String, integer: Int) { items.append((key, .integer(integer))) }

    public mutating func add(_ key: String, time: Date) { items.append((key, .time(time))) }

    public mutating func add(_ key: String, number: Double, decimals: Int = 2) {
        items.append((key, .number(number, decimals: decimals)))
    }

    /// Adds every pair of `other`, after these.
    public mutating func append(_ other: Fields) { items += other.items }

    /// `other`'s fields but `key`.
    public mutating func append(_ other: Fields, except key: String) { items += other.items.filter { $0.key != key } }

    public subscript(key: String) -> String? { items.first { $0.key == key }?.value.text }

    public static func == (a: Fields, b: Fields) -> Bool {
        let (x, y) = (a.pairs, b.pairs)
        return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// ` key=value key="quoted value"`, with a leading space when not empty.
    public var encoded: String {
        var out: [UInt8] = []
        encode(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `encoded` to `out`, without building it apart first.
    public func encode(into out: inout [UInt8]) {
        for (k, v) in items {
            out.append(UInt8(ascii: " "))
            out.append(contentsOf: k.utf8)
            out.append(UInt8(ascii: "="))
            v.write(into: &out)
        }
    }
}

/// Writes replies (§3.3): every line of the protocol that the server sends is made here.
/// Lines are built as bytes and turned into a string once: appending to a `String` piece
/// by piece was most of a `SLOT FIND`'s cost (docs/PERFORMANCE.md).
public enum ReplyFormat {
    /// `OK key=value …`
    public static func ok(_ fields: Fields = Fields()) -> String { line("OK", fields) }

    /// `OK count=N` then N lines, each starting with the item's kind.
    public static func list(kind: String, _ items: [Fields]) -> String {
        var out: [UInt8] = []
        // Grown once: a `SLOT FIND` reply is ten lines of a dozen fields.
        out.reserveCapacity(16 + items.count * (kind.utf8.count + 16 * 20))
        out.append(contentsOf: "OK count=".utf8)
        FixedDecimal.writeDigits(Int64(items.count), into: &out)
        out.append(UInt8(ascii: "\n"))
        for item in items {
            out.append(contentsOf: kind.utf8)
            item.encode(into: &out)
            out.append(UInt8(ascii: "\n"))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `ERR CODE message`, on one line whatever the message holds.
    public static func error(_ e: SNPError) -> String {
        let message = String(e.message.map { $0.isNewline || $0 == "\r" ? " " : $0 })
        return "ERR \(e.code) \(message)\n"
    }

    /// `EVENT key=value …`
    public static func event(_ fields: Fields) -> String { line("EVENT", fields) }

    private static func line(_ word: String, _ fields: Fields) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(contentsOf: word.utf8)
        fields.encode(into: &out)
        out.append(UInt8(ascii: "\n"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Quotes a value when a bare word would not read back the same.
    public static func quoteIfNeeded(_ v: String) -> String {
        var out: [UInt8] = []
        appendQuotedIfNeeded(v, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `quoteIfNeeded(v)` to `out`: in quotes, with `"` and `\` escaped, when it is
    /// empty or holds a space, a tab, a quote or a backslash (all ASCII, so never part of
    /// a longer UTF-8 sequence).
    public static func appendQuotedIfNeeded(_ v: String, to out: inout [UInt8]) {
        func write(_ bytes: some Collection<UInt8>) {
            let special: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x22 || $0 == 0x5C }
            guard bytes.isEmpty || bytes.contains(where: special) else {
                out.append(contentsOf: bytes)
                return
            }
            out.append(0x22)
            for b in bytes {
                if b == 0x22 || b == 0x5C { out.append(0x5C) }
                out.append(b)
            }
            out.append(0x22)
        }
        if v.utf8.withContiguousStorageIfAvailable({ write($0) }) == nil { write(v.utf8) }
    }

    /// Numbers as the protocol writes them: fixed decimals, no exponent.
    /// Exactly printf's `%.Nf`, a value that rounds to zero without its sign (`FixedDecimal`,
    /// which avoids `String(format:)`'s cost on Linux).
    public static func number(_ x: Double, decimals: Int = 2) -> String {
        FixedDecimal.format(x, decimals: decimals)
    }
}
