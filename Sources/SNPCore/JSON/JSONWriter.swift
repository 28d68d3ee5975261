/// JSON strings as snpd writes them, everywhere it writes JSON by hand (the commit's rows,
/// the SAS feed's Appointment, the FHIR search's Bundle): the one escaper.
///
/// The escapes are Foundation `JSONEncoder`'s (with `.withoutEscapingSlashes`), so that a
/// hand-written document can be checked byte for byte against the `Codable` one: `"` and
/// `\` escaped; `\b`, `\t`, `\n`, `\f`, `\r` by name; the other control characters as
/// `\u00xx` (lowercase hex); everything else, `/`, DEL and non-ASCII included, as it is
/// (UTF-8). Only ASCII bytes are ever escaped, and no byte of a multi-byte UTF-8 sequence
/// is ASCII, so the string is escaped byte by byte.
public enum JSONString {
    /// Appends `value` quoted and escaped.
    public static func append(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        appendEscaped(value, to: &out)
        out.append(UInt8(ascii: "\""))
    }

    /// Appends `value` escaped, without quotes.
    public static func appendEscaped(_ value: String, to out: inout [UInt8]) {
        var value = value
        value.withUTF8 { bytes in
            var plainFrom = 0
            for i in 0..<bytes.count where needsEscape(bytes[i]) {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plainFrom..<i]))
                appendEscape(bytes[i], to: &out)
                plainFrom = i + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plainFrom...]))
        }
    }

    /// The same, into a `String`.
    public static func append(_ value: String, to text: inout String) {
        // Most values (ids, refs, names, URLs) need no escape: one pass over the bytes, one append.
        guard value.utf8.contains(where: needsEscape) else {
            text += "\""
            text += value
            text += "\""
            return
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count + 8)
        append(value, to: &bytes)
        text += String(decoding: bytes, as: UTF8.self)
    }

    /// `value` quoted and escaped.
    public static func quoted(_ value: String) -> String {
        var text = ""
        append(value, to: &text)
        return text
    }

    /// Whether `byte` is written escaped (inlinable: the FHIR answer checks its Slots' ids with it).
    @inlinable @inline(__always)
    public static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    static func appendEscape(_ byte: UInt8, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(byte)
        case 0x08: out.append(UInt8(ascii: "b"))
        case 0x09: out.append(UInt8(ascii: "t"))
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0C: out.append(UInt8(ascii: "f"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        default:
            let hex = Array("0123456789abcdef".utf8)
            out.append(contentsOf: [UInt8(ascii: "u"), 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
        }
    }
}

/// Where a large JSON document goes as it is written: a `[UInt8]`, or, in the daemon, the
/// `ByteBuffer` the HTTP response is sent from (SNPHTTP), so that the half megabyte of a
/// FHIR search's answer is written once, where it is sent from, instead of into an array
/// that is then copied (docs/PERFORMANCE.md, issue 15).
public protocol JSONOutput {
    /// Lets `write` put up to `maximum` bytes at the end (from the start of the buffer it is
    /// given), and keeps the count it returns.
    mutating func append(upTo maximum: Int, _ write: (UnsafeMutableRawBufferPointer) -> Int)
    /// Makes room for `count` more bytes ahead of time.
    mutating func reserve(_ count: Int)
}

extension JSONOutput {
    /// Appends `bytes` as they are.
    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { source in
            append(upTo: source.count) { target in
                target.copyMemory(from: source)
                return source.count
            }
        }
    }
}

extension Array: JSONOutput where Element == UInt8 {
    public mutating func append(upTo maximum: Int, _ write: (UnsafeMutableRawBufferPointer) -> Int) {
        let start = count
        append(contentsOf: repeatElement(0, count: maximum))
        let written = withUnsafeMutableBytes { write(UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
        precondition(written <= maximum, "wrote past the room asked for")
        removeLast(maximum - written)
    }

    public mutating func reserve(_ count: Int) { reserveCapacity(self.count + count) }
}

/// A JSON document written straight into bytes, value after value, for the answers that are
/// too large or too frequent for `JSONEncoder` (the FHIR search's Bundle: 700 Slots,
/// half a megabyte, docs/PERFORMANCE.md).
///
/// The writer puts the commas; the caller writes keys in the order it wants them (to match
/// `JSONEncoder`'s `.sortedKeys`, sorted by their bytes) and leaves out absent values.
/// Numbers are written as `JSONEncoder` writes them.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// A value was just completed at this level: the next key or value needs a comma.
    private var afterValue = false

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func beginObject() { open(UInt8(ascii: "{")) }
    public mutating func endObject() { close(UInt8(ascii: "}")) }
    public mutating func beginArray() { open(UInt8(ascii: "[")) }
    public mutating func endArray() { close(UInt8(ascii: "]")) }

    /// `"name":`; names are plain ASCII, written as they are.
    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        afterValue = false
    }

    public mutating func string(_ value: String) {
        separate()
        JSONString.append(value, to: &bytes)
        afterValue = true
    }

    public mutating func int(_ value: Int) {
        separate()
        FixedDecimal.writeDigits(Int64(value), into: &bytes)
        afterValue = true
    }

    /// As `JSONEncoder` writes a `Double`: Swift's shortest round-trip form, without a
    /// trailing `.0` (`47`, `-2.7608`, `1e-07`). A value that is not finite is the caller's
    /// to refuse (`JSONEncoder` throws on it); written here as `null`.
    public mutating func double(_ value: Double) {
        separate()
        guard value.isFinite else { return append(raw: "null") }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes.append(contentsOf: text.utf8)
        afterValue = true
    }

    /// `key` and the string, when there is one.
    public mutating func field(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        string(value)
    }

    /// A value written beforehand (by another `JSONWriter`, say), as it is.
    public mutating func value(_ json: [UInt8]) {
        separate()
        bytes.append(contentsOf: json)
        afterValue = true
    }

    /// A value written beforehand, as it is, straight to `out` after what `flush` moves there.
    public mutating func value<Output: JSONOutput>(_ json: [UInt8], into out: inout Output) {
        separate()
        flush(into: &out)
        out.append(json)
        afterValue = true
    }

    /// Moves what is written so far to the end of `out`; the writer goes on where it was
    /// (the next value still gets its comma). For a large document written into `out` in
    /// pieces, some of them by `verbatim`.
    public mutating func flush<Output: JSONOutput>(into out: inout Output) {
        out.append(bytes)
        bytes.removeAll(keepingCapacity: true)
    }

    /// What `write` appends to `out`, as it is, with no comma, after what was written so far
    /// (`flush`): for a caller that writes a run of fixed text around its own values (the
    /// FHIR Bundle's Slots) and keeps it well-formed itself.
    public mutating func verbatim<Output: JSONOutput>(into out: inout Output, writing write: (inout Output) -> Void) {
        flush(into: &out)
        write(&out)
    }

    /// After a `verbatim` run: whether what comes next follows a value (needs a comma).
    public mutating func verbatimEnded(afterValue: Bool) { self.afterValue = afterValue }

    private mutating func append(raw: StaticString) {
        raw.withUTF8Buffer { bytes.append(contentsOf: $0) }
        afterValue = true
    }

    private mutating func open(_ bracket: UInt8) {
        separate()
        bytes.append(bracket)
        afterValue = false
    }

    private mutating func close(_ bracket: UInt8) {
        bytes.append(bracket)
        afterValue = true
    }

    @inline(__always)
    private mutating func separate() {
        if afterValue { bytes.append(UInt8(ascii: ",")) }
    }
}
