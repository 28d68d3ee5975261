import Foundation
import Testing

@testable import SNPStore

/// The group commit's rows are written as JSON by hand (`JSONRows`, docs/PERFORMANCE.md):
/// whatever a name, a ref or a reason holds, PostgreSQL must read back exactly that.
/// Checked here with Foundation's JSON parser; the end-to-end tests read the rows back
/// from PostgreSQL itself.
@Suite struct CommitEncodingTests {
    struct Row {
        var text: String?
        var number: Double?
        var count: Int64?
        var list: [String]
    }

    static func decode(_ json: String?) throws -> [[String: Any]] {
        let data = try #require(json).data(using: .utf8)!
        return try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
    }

    static func encode(_ rows: [Row]) -> String? {
        JSONRows.array(rows) { row, json in
            json.field("text", row.text)
            json.field("number", row.number)
            json.field("count", row.count)
            json.field("list", row.list)
        }
    }

    @Test func everyCharacterSurvivesTheRoundTrip() throws {
        let controls = String(String.UnicodeScalarView((0..<0x20).map { Unicode.Scalar($0)! }))
        let texts = [
            "plain", "", "Dr \"Quote\" O'Neil", #"back\slash \\ and \n not a newline"#, controls,
            "é à ç — «guillemets» 🩺", "tab\there\r\nCRLF", "\u{7F}\u{2028}\u{2029}",
        ]
        let rows = texts.map { Row(text: $0, number: nil, count: nil, list: [$0, "x"]) }
        let decoded = try CommitEncodingTests.decode(CommitEncodingTests.encode(rows))
        #expect(decoded.count == texts.count)
        for (row, text) in zip(decoded, texts) {
            #expect(row["text"] as? String == text)
            #expect(row["list"] as? [String] == [text, "x"])
        }
    }

    struct Numbers: Decodable {
        var text: String?
        var number: Double?
        var count: Int64?
        var list: [String]
    }

    @Test func numbersKeepTheirExactValueAndMissingOnesAreNull() throws {
        let numbers: [Double] = [0, -0.0, 48.856_613, -4.486_009_5, 1e-7, 123_456_789.123_456_78, 1e21, 0.1 + 0.2]
        let rows = numbers.map { Row(text: nil, number: $0, count: Int64.max, list: []) }
        // JSONDecoder (not JSONSerialization, which rounds on Linux) parses doubles exactly,
        // as PostgreSQL's float8 does.
        let json = try #require(CommitEncodingTests.encode(rows))
        let decoded = try JSONDecoder().decode([Numbers].self, from: Data(json.utf8))
        #expect(decoded.map(\.number) == numbers)
        #expect(decoded.allSatisfy { $0.text == nil && $0.count == Int64.max && $0.list.isEmpty })
        #expect(decoded[1].number?.sign == .minus)
        let notFinite = try CommitEncodingTests.decode(
            CommitEncodingTests.encode([Row(text: nil, number: .infinity, count: nil, list: [])]))
        #expect(notFinite[0]["number"] is NSNull)
        #expect(notFinite[0]["count"] is NSNull)
    }

    @Test func noRowsIsNoArray() {
        #expect(CommitEncodingTests.encode([]) == nil)
    }
}
