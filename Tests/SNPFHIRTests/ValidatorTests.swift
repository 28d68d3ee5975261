import Foundation
import SNPCore
import SNPTesting
import Testing

@testable import SNPFHIR

/// What we emit, checked by an independent FHIR implementation: `tests/fhir/validate.py`
/// (PyPI `fhir.resources`, R4B models, plus the Bundle's reference rules). Skipped, with a
/// printed message, when `python3` or `fhir.resources` is missing.
@Suite struct ValidatorTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let script = repo.appendingPathComponent("tests/fhir/validate.py").path

    static func run(_ arguments: [String]) -> (status: Int32, output: String)? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static let available: Bool = {
        let ok = run(["-c", "import fhir.resources.R4B"])?.status == 0
        if !ok { print("ValidatorTests skipped: python3 with fhir.resources is not available (pip install fhir.resources)") }
        return ok
    }()

    func validate(_ documents: [String: Data]) async throws -> (status: Int32, output: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("snpfhir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var paths: [String] = []
        for (name, data) in documents.sorted(by: { $0.key < $1.key }) {
            let url = dir.appendingPathComponent(name + ".json")
            try data.write(to: url)
            paths.append(url.path)
        }
        return try await Subprocess.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", Self.script] + paths)
    }

    func bundles() throws -> [String: Data] {
        let base = "https://snp.example.org/fhir"
        let slots = [
            F.slot("s1", 1, "2026-03-29T01:30:00+01:00"), F.slot("s2", 1, "2026-10-25T02:30:00+02:00", mode: .home),
            F.slot("s3", 2, "2026-11-23T09:00:00+01:00", mode: .tele),
        ]
        let pros = [F.pro(1), F.pro(2, .kine, structure: nil)]
        let ps = FHIRConfig(baseURL: base, bookingURLTemplate: "https://rdv.example.org/{rpps}")
        let cpts = FHIRConfig(baseURL: base, cpts: try FHIRConfig.CPTS(finess: "560012345", name: "CPTS du Golfe"))
        // Slots on both 2026 DST changes; the builder does not filter by the window (the caller does).
        let q = try F.parse(F.sasQuery([1, 2]))
        let qc = try F.parse(F.sasQuery([1, 2], cpts: true))
        var awkward = F.pro(1)
        awkward.family = "O'Neil \"Doc\" \\ Tréguier\t"
        awkward.addressLine = "1 rue \"du Port\"\n(bât. B)"
        let escapes = FHIRConfig(baseURL: base, bookingURLTemplate: "https://rdv.example.org/{rpps}?a=\"b\"")
        return [
            "escapes": SlotBundleBuilder.json(query: q, slots: slots, practitioners: [awkward], config: escapes),
            "ps": SlotBundleBuilder.json(query: q, slots: slots, practitioners: pros, config: ps),
            "cpts": SlotBundleBuilder.json(query: qc, slots: slots, practitioners: pros, config: cpts),
            "empty": SlotBundleBuilder.json(query: q, slots: [], practitioners: pros, config: ps),
            "metadata": FHIRCapabilityStatement.snpd(baseURL: base).json,
            "metadata-cpts": FHIRCapabilityStatement.snpd(baseURL: base, softwareVersion: "1", cpts: true).json,
            "outcome": FHIRError.badRequest("start is missing").body,
        ]
    }

    @Test func whatWeEmitIsValidFHIR() async throws {
        guard Self.available else { return }
        let result = try await validate(bundles())
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.components(separatedBy: ": valid").count - 1 == 7, "\(result.output)")
    }

    /// The validator does catch what it is there for.
    @Test func theValidatorRefusesBrokenDocuments() async throws {
        guard Self.available else { return }
        var ps = try #require(try JSONSerialization.jsonObject(with: bundles()["ps"]!) as? [String: Any])
        var entries = ps["entry"] as! [[String: Any]]
        entries.removeAll { ($0["resource"] as! [String: Any])["resourceType"] as! String == "Schedule" }
        ps["entry"] = entries
        let dangling = try JSONSerialization.data(withJSONObject: ps)
        let badTime = Data(
            #"{"resourceType":"Slot","schedule":{"reference":"Schedule/x"},"status":"free","start":"2026-11-23T09:00:00","end":"2026-11-23T09:20:00.000+01:00"}"#
                .utf8)
        let unknownElement = Data(#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","colour":"red"}]}"#.utf8)
        for (name, doc) in [("dangling", dangling), ("badTime", badTime), ("unknown", unknownElement)] {
            let result = try await validate([name: doc])
            #expect(result.status == 1, "\(name): \(result.output)")
        }
    }
}
