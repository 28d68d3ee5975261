import Foundation
import SNPCore
import SNPStore
import SNPTesting
import Testing

/// SPEC §7.2 over a real socket against a real PostgreSQL: which slots the SAS platform's
/// search returns, in what form; each answer also validated by an independent FHIR
/// implementation (`tests/fhir/validate.py`, the PyPI package fhir.resources).
@Suite("FHIR slot search (INT_R01)")
struct FHIRSearchTests {
    static let system = "urn:oid:1.2.250.1.71.4.2.1"

    static func contact(_ n: Int) -> String {
        #"address="\#(n) rue Thiers" city=Vannes postcode=56000 phone=+33297000\#(String(format: "%03d", n)) given=Anne family="Le Goff \#(n)""#
    }

    @Test(.timeLimit(.minutes(2)))
    func theSearchReturnsBookableSlotsOfTheNamedProfessionalsOnly() async throws {
        let db = try await TestPostgres.freshDatabase()
        let d = try await TestDaemon.start(database: db) { $0.http.listen = ("127.0.0.1", 0) }
        let port = try await d.waitForHTTPPort()
        let admin = try await d.admin()
        try await admin.putPro(rpps(1), extra: Self.contact(1) + " structure=1560000123")
        try await admin.putPro(rpps(2), extra: Self.contact(2))
        try await admin.putPro(rpps(3))  // no contact: left out
        let open = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 3))["slot"]!
        let home = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 4, extra: "mode=home"))["slot"]!
        let full = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 5))["slot"]!
        let withdrawn = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 6))["slot"]!
        let tooSoon = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 0.1))["slot"]!
        let late = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 40))["slot"]!
        let other = try await admin.expectOK(d.slotLine(pro: rpps(2), hours: 3))["slot"]!
        _ = try await admin.expectOK(d.slotLine(pro: rpps(3), hours: 3))
        try await admin.expectOK("SLOT DEL \(withdrawn)")
        try await admin.expectOK("REQ ADD ref=F prof=gp lat=47.6582 lon=-2.7608 slot=\(full)")
        let regulator = try await d.daemon.store.addToken(Principal(name: "samu56", role: .regulator))
        let auth = ["Authorization": "Bearer \(regulator)", "Accept": "application/fhir+json"]
        let from = RFC3339.format(d.clock.now)
        let to = RFC3339.format(d.clock.now.addingTimeInterval(24 * 3600))

        // Pro 1 only, the IG's exact form, `|` and `+` encoded.
        let enc = { (s: String) in s.replacingOccurrences(of: "+", with: "%2B").replacingOccurrences(of: ":", with: "%3A") }
        let one = try await RawHTTPClient.get(
            port: port,
            "/fhir/Slot?start=ge\(enc(from))&start=le\(enc(to))&schedule.actor%3APractitioner.identifier=\(Self.system)%7C8\(rpps(1))&status=free&_include=Slot%3Aschedule&_include%3Aiterate=Schedule%3Aactor",
            headers: auth)
        #expect(one.status == 200, "\(one.body)")
        #expect(one.headers["content-type"] == "application/fhir+json")
        let bundle = try #require(one.json as? [String: Any])
        let entries = bundle["entry"] as? [[String: Any]] ?? []
        let slots = entries.filter { ($0["search"] as? [String: Any])?["mode"] as? String == "match" }
        let slotIDs = Set(slots.compactMap { ($0["resource"] as? [String: Any])?["id"] as? String })
        #expect(slotIDs == [open, home], "only open, bookable, in-window slots of pro 1: \(slotIDs)")
        #expect(bundle["total"] as? Int == 2)
        #expect(bundle["type"] as? String == "searchset")
        for excluded in [full, withdrawn, tooSoon, late, other] { #expect(!slotIDs.contains(excluded)) }
        let types = entries.compactMap { ($0["resource"] as? [String: Any])?["resourceType"] as? String }
        #expect(Set(types) == ["Slot", "Schedule", "Practitioner", "PractitionerRole"], "\(types)")
        let first = try #require(slots.first?["resource"] as? [String: Any])
        let start = try #require(first["start"] as? String)
        #expect(start.hasSuffix(".000+01:00") || start.hasSuffix(".000+02:00"), "Paris offset: \(start)")
        #expect(first["status"] as? String == "free")
        try await Self.validate(one.body)

        // Pro 1 and 2 and the one without contact; bare RPPS, raw `|` and `+`, a space after a comma.
        let both = try await RawHTTPClient.get(
            port: port,
            "/fhir/Slot?start=ge\(from.replacingOccurrences(of: "Z", with: "+00:00"))&start=le\(to)&schedule.actor:Practitioner.identifier=\(Self.system)|\(rpps(1)),%20\(Self.system)|8\(rpps(2)),\(Self.system)|8\(rpps(3))",
            headers: auth)
        #expect(both.status == 200, "\(both.body)")
        #expect((both.json as? [String: Any])?["total"] as? Int == 3, "\(both.body.prefix(500))")
        try await Self.validate(both.body)

        // 25 identifiers are fine, 26 are not.
        let many = (1...26).map { "\(Self.system)|8\(rpps(100 + $0))" }
        let ok25 = try await RawHTTPClient.get(
            port: port, "/fhir/Slot?start=ge\(from)&start=le\(to)&schedule.actor:Practitioner.identifier=\(many.prefix(25).joined(separator: ","))",
            headers: auth)
        #expect(ok25.status == 200 && (ok25.json as? [String: Any])?["total"] as? Int == 0, "\(ok25.body.prefix(300))")
        try await Self.validate(ok25.body)
        let bad26 = try await RawHTTPClient.get(
            port: port, "/fhir/Slot?start=ge\(from)&start=le\(to)&schedule.actor:Practitioner.identifier=\(many.joined(separator: ","))",
            headers: auth)
        #expect(bad26.status == 400)
        let reversed = try await RawHTTPClient.get(
            port: port, "/fhir/Slot?start=ge\(to)&start=le\(from)&schedule.actor:Practitioner.identifier=\(Self.system)|8\(rpps(1))",
            headers: auth)
        #expect(reversed.status == 400, "ge after le")
        try await Self.validate(reversed.body)
        let metadata = try await RawHTTPClient.get(port: port, "/fhir/metadata")
        try await Self.validate(metadata.body)
        await d.stop()
    }

    /// Runs the independent validator over one answer.
    static func validate(_ json: String) async throws { try await validate([json]) }

    /// Every document (one resource each) in one run of the validator (the SAS feed's
    /// Appointments too, `FeedTests`).
    static func validate(_ documents: [String]) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("snpd-fhir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var paths: [String] = []
        for (i, json) in documents.enumerated() {
            let file = dir.appendingPathComponent("\(i).json")
            try json.write(to: file, atomically: true, encoding: .utf8)
            paths.append(file.path)
        }
        let script = TestPostgres.repositoryRoot.appendingPathComponent("tests/fhir/validate.py").path
        let (status, output) = try await Subprocess.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script] + paths)
        print(output, terminator: "")
        #expect(status == 0, "fhir.resources refused it: \(output)")
    }
}

extension FHIRSearchTests {
    /// INT_R04: with `SNPD_CPTS_FINESS`, slots are offered on behalf of the CPTS.
    @Test(.timeLimit(.minutes(3)))
    func theCPTSFormOffersTheSlotsOnBehalfOfTheCPTS() async throws {
        let db = try await TestPostgres.freshDatabase()
        let d = try await TestDaemon.start(database: db) {
            $0.http.listen = ("127.0.0.1", 0)
            $0.http.cptsFiness = "560012345"
            $0.http.cptsName = "CPTS Pays de Vannes"
            $0.http.bookingURL = "https://rdv.example.fr/snp/{rpps}"
        }
        let port = try await d.waitForHTTPPort()
        let admin = try await d.admin()
        try await admin.putPro(rpps(1), extra: Self.contact(1))
        let slot = try await admin.expectOK(d.slotLine(pro: rpps(1), hours: 3))["slot"]!
        let regulator = try await d.daemon.store.addToken(Principal(name: "samu56", role: .regulator))
        let from = RFC3339.format(d.clock.now)
        let to = RFC3339.format(d.clock.now.addingTimeInterval(24 * 3600))
        let answer = try await RawHTTPClient.get(
            port: port,
            "/fhir/Slot?start=ge\(from)&start=le\(to)&schedule.actor:Practitioner.identifier=\(Self.system)|8\(rpps(1))&status=free&_include=Slot:schedule&_include:iterate=Schedule:actor&_include=Slot:service-type-reference&_include:iterate=HealthcareService:organization",
            headers: ["Authorization": "Bearer \(regulator)"])
        #expect(answer.status == 200, "\(answer.body)")
        let entries = ((answer.json as? [String: Any])?["entry"] as? [[String: Any]] ?? []).compactMap { $0["resource"] as? [String: Any] }
        let types = Set(entries.compactMap { $0["resourceType"] as? String })
        #expect(types.isSuperset(of: ["Slot", "HealthcareService", "Organization"]), "\(types)")
        let found = try #require(entries.first { $0["resourceType"] as? String == "Slot" })
        #expect(found["id"] as? String == slot)
        let security = ((found["meta"] as? [String: Any])?["security"] as? [[String: Any]])?.compactMap { $0["code"] as? String }
        #expect(security == ["CPTS"])
        #expect(found["comment"] as? String == "https://rdv.example.fr/snp/\(rpps(1))")
        #expect(answer.body.contains("1560012345"), "the CPTS's IDNST identifier")
        try await Self.validate(answer.body)
        await d.stop()
    }
}
