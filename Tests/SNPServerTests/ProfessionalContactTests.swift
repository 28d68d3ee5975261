import Foundation
import SNPTesting
import Testing

/// §3.6: the practice's contact (address, city, postcode, phone, name split, structure),
/// optional in `PRO PUT`, validated, stored, shown by `PRO GET` and `PRO LIST`.
@Suite("Professionals' contact for the FHIR interface")
struct ProfessionalContactTests {
    static let contact =
        #"address="12 rue Thiers" city=Vannes postcode=56000 phone=+33297000000 given=Anne family="Le Goff" structure=1560000123"#

    @Test func theContactIsStoredShownAndSurvivesARestart() async throws {
        let db = try await TestPostgres.freshDatabase()
        let d = try await TestDaemon.start(database: db)
        let admin = try await d.admin()
        try await admin.putPro(rpps(1), extra: Self.contact)
        try await admin.putPro(rpps(2))
        let got = try await admin.send("PRO GET \(rpps(1))")
        #expect(got["address"] == "12 rue Thiers" && got["city"] == "Vannes" && got["postcode"] == "56000")
        #expect(got["phone"] == "+33297000000" && got["given"] == "Anne" && got["family"] == "Le Goff")
        #expect(got["structure"] == "1560000123")
        #expect(try await admin.send("PRO GET \(rpps(2))")["address"] == nil, "left out when not set")
        let listed = try await admin.send("PRO LIST").items.first { $0["id"] == rpps(1) }
        #expect(listed?["family"] == "Le Goff")
        await d.stop()

        let again = try await TestDaemon.start(database: db)
        let reread = try await again.admin().send("PRO GET \(rpps(1))")
        #expect(reread.lines == got.lines, "the same after a restart")
        // PRO PUT replaces the whole record: fields left out are cleared.
        let admin2 = try await again.admin()
        try await admin2.putPro(rpps(1), extra: "city=Auray")
        let replaced = try await admin2.send("PRO GET \(rpps(1))")
        #expect(replaced["city"] == "Auray" && replaced["address"] == nil)
        await again.stop()
    }

    @Test func badContactFieldsAreRefusedWithAMessage() async throws {
        try await withDaemon { d in
            let admin = try await d.admin()
            let bad = [
                "postcode=5600", "postcode=56000x", "postcode=5600A", "phone=0297000000", "phone=+3329700000",
                "phone=+332970000000", "phone=+44297000000", "structure=2560000123", "structure=1", "structure=356",
                "structure=1ABCDEFGHI", "address=\"\"", "city=\"\(String(repeating: "x", count: 101))\"",
            ]
            for field in bad {
                let r = try await admin.send("PRO PUT id=\(rpps(3)) prof=gp name=\"Dr X\" lat=47.6 lon=-2.7 \(field)")
                #expect(r.code == "BAD_REQUEST", "\(field) → \(r)")
                #expect(r.lines[0].count > "ERR BAD_REQUEST ".count)
            }
            #expect(try await admin.send("PRO GET \(rpps(3))").code == "NOT_FOUND", "nothing half-applied")
            for good in ["structure=323456789012345", "structure=4123456789012", "structure=12A0000123"] {
                try await admin.expectOK("PRO PUT id=\(rpps(3)) prof=gp name=\"Dr X\" lat=47.6 lon=-2.7 \(good)")
            }
        }
    }
}
