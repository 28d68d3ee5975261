import SNPCore
import SNPProtocol
import Testing

/// §3.1–§3.2: cutting a line into words.
@Suite struct LineParserTests {
    @Test func bareWordsAreValues() throws {
        #expect(try words("SLOT DEL s12") == [.value("SLOT"), .value("DEL"), .value("s12")])
        #expect(try words("  PING   ") == [.value("PING")])
    }

    @Test func keyValuePairsAreSplitAtTheFirstEquals() throws {
        #expect(
            try words("PRO GET id=10000000017 lat=48.85 x=a=b")
                == [
                    .value("PRO"), .value("GET"), .keyValue(key: "id", value: "10000000017"),
                    .keyValue(key: "lat", value: "48.85"), .keyValue(key: "x", value: "a=b"),
                ])
    }

    @Test func quotedValueKeepsItsSpaces() throws {
        #expect(
            try words("PRO PUT name=\"Dr Hélène  Le Goff\" territory=91")
                == [
                    .value("PRO"), .value("PUT"), .keyValue(key: "name", value: "Dr Hélène  Le Goff"),
                    .keyValue(key: "territory", value: "91"),
                ])
    }

    @Test func quotedPositionalIsOneValue() throws {
        #expect(try words("AUTH \"a b\" \"\"") == [.value("AUTH"), .value("a b"), .value("")])
        // Inside quotes, `=` is just a character.
        #expect(try words("\"a=b\"") == [.value("a=b")])
    }

    @Test func backslashEscapesQuoteAndBackslashOnly() throws {
        #expect(try words(#"k="say \"hi\" \\ ok""#) == [.keyValue(key: "k", value: #"say "hi" \ ok"#)])
        #expect(try words(#""\\\"""#) == [.value(#"\""#)])
    }

    @Test(arguments: [#"k="a\nb""#, #"k="a\tb""#, #"k="\'""#, #""\x41""#, #"k="ends with \"#])
    func unknownEscapeIsABadRequest(line: String) {
        let error = #expect(throws: SNPError.self) { try parse(line) }
        #expect(error?.code == "BAD_REQUEST")
    }

    @Test(arguments: [#"k="abc"#, #""abc"#, #"PING ""#, #"k="a\""#])
    func unterminatedQuoteIsABadRequest(line: String) {
        let error = #expect(throws: SNPError.self) { try parse(line) }
        #expect(error?.code == "BAD_REQUEST")
    }

    @Test(arguments: [#"ab"c"#, #"k=ab"c"#, #"k=abc""#, #""a"b"#, #"k="a"b"#, #"k="a""b""#])
    func quoteInsideAWordIsABadRequest(line: String) {
        let error = #expect(throws: SNPError.self) { try parse(line) }
        #expect(error?.code == "BAD_REQUEST")
    }

    @Test func backslashIsLiteralInABareValueButNotInAKeyOrPositional() throws {
        #expect(try words(#"k=a\b"#) == [.keyValue(key: "k", value: #"a\b"#)])
        let positional = #expect(throws: SNPError.self) { try parse(#"a\b"#) }
        #expect(positional?.code == "BAD_REQUEST")
    }

    @Test func trailingCarriageReturnIsIgnored() throws {
        #expect(try words("PING\r") == [.value("PING")])
        #expect(try words("k=\"a b\"\r") == [.keyValue(key: "k", value: "a b")])
        #expect(try words("k=\r") == [.keyValue(key: "k", value: "")])
    }

    @Test(arguments: ["", " ", "\t", " \t  \t", "\r", "   \r"])
    func blankLineIsNothing(line: String) throws {
        #expect(try parse(line) == nil)
    }

    @Test func lineOfExactlyTheLimitIsAccepted() throws {
        let word = String(repeating: "a", count: LineParser.maxLineBytes)
        #expect(LineParser.maxLineBytes == 8_192)
        #expect(try words(word) == [.value(word)])
        #expect(try words(word + "\r") == [.value(word)])
    }

    @Test(arguments: [
        String(repeating: "a", count: 8_193), String(repeating: "é", count: 4_097),
        "k=\"" + String(repeating: " ", count: 8_200) + "\"",
    ])
    func lineOverTheLimitIsTooLong(line: String) {
        let error = #expect(throws: SNPError.self) { try parse(line) }
        #expect(error?.code == "TOO_LONG")
    }

    @Test(
        arguments: [[0x50, 0xC3, 0x28], [0xFF], [0xC0, 0xAF], [0x6B, 0x3D, 0xE2, 0x82], [0xED, 0xA0, 0x80]] as [[UInt8]]
    )
    func invalidUTF8IsABadRequest(bytes: [UInt8]) {
        let error = #expect(throws: SNPError.self) { try LineParser.parse(bytes) }
        #expect(error?.code == "BAD_REQUEST")
    }

    @Test func nulByteIsABadRequest() {
        let error = #expect(throws: SNPError.self) { try LineParser.parse(Array("PING\0".utf8)) }
        #expect(error?.code == "BAD_REQUEST")
        #expect(error?.message.contains("NUL") == true)
        let quoted = #expect(throws: SNPError.self) { try LineParser.parse(Array("k=\"a\0b\"".utf8)) }
        #expect(quoted?.code == "BAD_REQUEST")
    }

    @Test(arguments: [0x01, 0x0A, 0x0B, 0x0D, 0x1B, 0x7F] as [UInt8])
    func controlCharacterInsideALineIsABadRequest(byte: UInt8) {
        let error = #expect(throws: SNPError.self) { try LineParser.parse(Array("a".utf8) + [byte] + Array("b".utf8)) }
        #expect(error?.code == "BAD_REQUEST")
    }

    @Test func tabsSeparateWords() throws {
        #expect(
            try words("SLOT\tLIST \tpro=1\t\tstate=open") == [
                .value("SLOT"), .value("LIST"), .keyValue(key: "pro", value: "1"),
                .keyValue(key: "state", value: "open"),
            ])
        // A tab inside quotes is kept.
        #expect(try words("k=\"a\tb\"") == [.keyValue(key: "k", value: "a\tb")])
    }

    @Test func keysAreLowercasedButValuesAreNot() throws {
        #expect(
            try words("LAT=1 Home_Radius_KM=3 name=ABC") == [
                .keyValue(key: "lat", value: "1"), .keyValue(key: "home_radius_km", value: "3"),
                .keyValue(key: "name", value: "ABC"),
            ])
        #expect(try words("_x=1") == [.keyValue(key: "_x", value: "1")])
    }

    @Test(arguments: ["1lat=2", "9=x", "home-radius=3", "é=1", "=5", "a.b=1", "k:=1", "1k=\"x\""])
    func invalidKeyIsABadRequest(line: String) {
        let error = #expect(throws: SNPError.self) { try parse(line) }
        #expect(error?.code == "BAD_REQUEST")
    }

    @Test func emptyValueIsKept() throws {
        #expect(
            try words("REQ CANCEL r1 reason=") == [
                .value("REQ"), .value("CANCEL"), .value("r1"), .keyValue(key: "reason", value: ""),
            ])
        #expect(try words("reason=\"\"") == [.keyValue(key: "reason", value: "")])
    }

    @Test func utf8TextPassesThrough() throws {
        #expect(
            try words("name=Hélène ville=\"Saint-Étienne-du-Rouvray\" 急診") == [
                .keyValue(key: "name", value: "Hélène"), .keyValue(key: "ville", value: "Saint-Étienne-du-Rouvray"),
                .value("急診"),
            ])
    }
}
