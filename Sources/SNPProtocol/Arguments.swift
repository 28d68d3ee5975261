import Foundation
import SNPCore

/// A command's arguments after the table checked their names, with typed readers that
/// turn a bad value into a `BAD_REQUEST` naming the key and what was expected.
public struct Arguments: Sendable, Equatable {
    public var positional: [String]
    public var named: [String: String]

    public init(positional: [String] = [], named: [String: String] = [:]) {
        self.positional = positional
        self.named = named
    }

    public subscript(key: String) -> String? { named[key] }

    /// A text value of 1 to `maxLength` characters, counted as PostgreSQL's `length()`
    /// counts them: in Unicode code points, not in the graphemes of Swift's `count` ("👍🏽"
    /// is one grapheme and two code points, "é" written e + U+0301 too). So that nothing
    /// accepted here is refused by a table's `CHECK` (`TextLimit`).
    public func text(_ key: String, maxLength: Int = TextLimit.name) throws(SNPError) -> String? {
        guard let v = named[key] else { return nil }
        guard !v.isEmpty else { throw .badRequest("\(key) is empty") }
        let length = v.unicodeScalars.count
        guard length <= maxLength else {
            throw .badRequest("\(key) is longer than \(maxLength) characters (Unicode code points; it has \(length))")
        }
        return v
    }

    public func requiredText(_ key: String, maxLength: Int = TextLimit.name) throws(SNPError) -> String {
        guard let v = try text(key, maxLength: maxLength) else { throw .badRequest("missing \(key)=…") }
        return v
    }

    public func double(_ key: String, in range: ClosedRange<Double>) throws(SNPError) -> Double? {
        guard let v = named[key] else { return nil }
        guard let x = Double(v), x.isFinite, !v.contains(where: { $0.isLetter }) else {
            throw .badRequest("\(key) must be a number, got \"\(v.prefix(40))\"")
        }
        guard range.contains(x) else {
            throw .badRequest("\(key) must be between \(Self.bound(range.lowerBound)) and \(Self.bound(range.upperBound)), got \(v.prefix(40))")
        }
        return x
    }

    /// A bound as a person writes it: `0.1` and `300`, not `0` (rounded) or `300.000`.
    static func bound(_ x: Double) -> String {
        var text = ReplyFormat.number(x, decimals: 3)
        guard text.contains(".") else { return text }
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    public func requiredDouble(_ key: String, in range: ClosedRange<Double>) throws(SNPError) -> Double {
        guard let x = try double(key, in: range) else { throw .badRequest("missing \(key)=…") }
        return x
    }

    public func int(_ key: String, in range: ClosedRange<Int>) throws(SNPError) -> Int? {
        guard let v = named[key] else { return nil }
        guard let n = Int(v), !v.hasPrefix("+") else { throw .badRequest("\(key) must be a whole number, got \"\(v.prefix(40))\"") }
        guard range.contains(n) else {
            throw .badRequest("\(key) must be between \(range.lowerBound) and \(range.upperBound), got \(n)")
        }
        return n
    }

    public func location() throws(SNPError) -> GeoPoint {
        GeoPoint(lat: try requiredDouble("lat", in: -90...90), lon: try requiredDouble("lon", in: -180...180))
    }

    public func time(_ key: String) throws(SNPError) -> Date? {
        guard let v = named[key] else { return nil }
        do {
            return try RFC3339.parse(v)
        } catch {
            throw .badRequest("\(key): \(error.message)")
        }
    }

    public func requiredTime(_ key: String) throws(SNPError) -> Date {
        guard let t = try time(key) else { throw .badRequest("missing \(key)=…") }
        return t
    }

    public func seconds(_ key: String) throws(SNPError) -> Int? {
        guard let v = named[key] else { return nil }
        do {
            return try DurationText.parseSeconds(v)
        } catch {
            throw .badRequest("\(key): \(error.message)")
        }
    }

    public func choice<T: RawRepresentable & CaseIterable>(_ key: String, _: T.Type) throws(SNPError) -> T?
    where T.RawValue == String {
        guard let v = named[key] else { return nil }
        guard let x = T(rawValue: v.lowercased()) else {
            throw .badRequest("\(key) must be one of \(T.allCases.map(\.rawValue).joined(separator: "|")), got \"\(v.prefix(40))\"")
        }
        return x
    }

    public func rpps(_ key: String) throws(SNPError) -> RPPS? {
        guard let v = named[key] else { return nil }
        return try RPPS(validating: v)
    }

    /// A server-assigned id (`s12`, `r7`), from a key or the first positional.
    public func id(_ key: String? = nil, prefix: Character, what: String) throws(SNPError) -> RecordID? {
        guard let v = key.map({ named[$0] }) ?? positional.first else { return nil }
        guard let id = RecordID(parsing: v, prefix: prefix) else {
            throw .badRequest("\"\(v.prefix(40))\" is not a \(what) id (they look like \(prefix)123)")
        }
        return id
    }

    /// A list of modes, `office,home`.
    public func modes(_ key: String) throws(SNPError) -> ModeSet? {
        guard let v = named[key] else { return nil }
        var set = ModeSet()
        for part in v.split(separator: ",", omittingEmptySubsequences: false) {
            guard let m = SlotMode(rawValue: part.lowercased()) else {
                throw .badRequest("\(key) must be a comma-separated list of office, home, tele; got \"\(v.prefix(40))\"")
            }
            set.insert(ModeSet(m))
        }
        return set
    }
}

/// The longest text each field takes, in Unicode code points (what PostgreSQL's `length()`
/// counts). One place, so that the protocol's checks and the schema's cannot drift apart.
public enum TextLimit {
    /// A professional's name: `professionals.name CHECK (length(name) BETWEEN 1 AND 200)`
    /// (sql/001_initial.sql).
    public static let name = 200
    /// A request's or a slot's `ref` (a token's name, `owner=`, is at most 100 as well:
    /// `tokens.name CHECK (length(name) BETWEEN 1 AND 100)`).
    public static let ref = 100
    /// A professional's territory code.
    public static let territory = 64
    /// A cancel's `reason`.
    public static let reason = 200
}
