import SNPCore
import Testing

@Suite struct RPPSTests {
    @Test func numberWithItsLuhnKeyIsValid() throws {
        let rpps = try RPPS(validating: "10000000017")
        #expect(rpps.value == "10000000017")
        #expect(rpps.description == "10000000017")
        #expect(try RPPS(validating: "00000000000").value == "00000000000")
    }

    @Test(arguments: 1...20)
    func fixtureNumbersAreValid(n: Int) throws {
        let rpps = Fixture.rpps(n)
        #expect(rpps.value.count == 11)
        #expect(try RPPS(validating: rpps.value) == rpps)
    }

    @Test(arguments: ["10000000010", "10000000011", "10000000016", "10000000061"])
    func wrongLuhnKeyIsABadRequest(text: String) {
        let error = #expect(throws: SNPError.self) { try RPPS(validating: text) }
        #expect(error?.code == "BAD_REQUEST")
        #expect(error?.message.contains("Luhn") == true)
    }

    @Test(arguments: ["", "1000000001", "100000000166", "1000000001a", "10000 00017", "+0000000017", "١٠٠٠٠٠٠٠٠١٧"])
    func notElevenAsciiDigitsIsABadRequest(text: String) {
        let error = #expect(throws: SNPError.self) { try RPPS(validating: text) }
        #expect(error?.code == "BAD_REQUEST")
        #expect(error?.message.contains("11 digits") == true)
    }

    @Test func luhnCheckDigitCompletesAValidNumber() {
        #expect(RPPS.luhnCheckDigit(for: [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]) == 7)
        #expect(RPPS.luhnCheckDigit(for: [7, 9, 9, 2, 7, 3, 9, 8, 7, 1]) == 3)  // the textbook example
        #expect(RPPS.luhnValid([7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 3]))
        #expect(!RPPS.luhnValid([7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 4]))
        // A swap of two neighbouring digits is caught.
        #expect(!RPPS.luhnValid([9, 7, 9, 2, 7, 3, 9, 8, 7, 1, 3]))
    }
}
