/// A professional's national identifier (Répertoire partagé des professionnels de santé):
/// 11 digits, the last a Luhn check digit over the whole number.
public struct RPPS: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let value: String

    /// Fails, with a reason a person understands, unless `text` is a valid RPPS.
    public init(validating text: String) throws(SNPError) {
        let digits = Array(text.utf8)
        guard digits.count == 11, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw .badRequest("RPPS must be 11 digits, got \"\(text.prefix(40))\"")
        }
        guard RPPS.luhnValid(digits.map { Int($0 - 48) }) else {
            throw .badRequest("RPPS \(text) has a wrong check digit (Luhn)")
        }
        value = text
    }

    /// Trusts `value`: for rows read back from the database, which checked them on the way in.
    public init(trusted value: String) { self.value = value }

    public var description: String { value }
    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }

    /// The Luhn test over a whole number, check digit last.
    public static func luhnValid(_ digits: [Int]) -> Bool {
        var sum = 0
        for (offset, digit) in digits.reversed().enumerated() {
            if offset % 2 == 1 {
                let doubled = digit * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += digit
            }
        }
        return sum % 10 == 0
    }

    /// The check digit that makes `prefix` followed by it pass the Luhn test.
    public static func luhnCheckDigit(for prefix: [Int]) -> Int {
        (0...9).first { luhnValid(prefix + [$0]) }!
    }
}
