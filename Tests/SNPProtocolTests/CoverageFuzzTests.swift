import Foundation
import SNPProtocol
import SNPTesting
import Testing

/// The coverage-guided fuzzer of the protocol (`tools/fuzz`, libFuzzer), run briefly: the
/// long run (10 million inputs) is by hand, `scripts/fuzz` (docs/RELIABILITY.md).
@Suite("Coverage-guided fuzzing of the parser, the table and the readers (libFuzzer)")
struct CoverageFuzzTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Whether this toolchain builds libFuzzer targets (`swiftc -sanitize=fuzzer,address`):
    /// Swift's toolchains for Linux do; on macOS, Xcode's does not ship libFuzzer.
    static let fuzzerAvailable: Bool = (try? run(["--check"]).status) == 0

    /// Runs `scripts/fuzz` with `arguments`; its standard output and error, together. It
    /// blocks its thread: only for `--check`, once, when the tests are planned (the run itself
    /// goes through `Subprocess`, which does not).
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("snpd-fuzz-\(UUID().uuidString).out")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = repository.appendingPathComponent("scripts/fuzz")
        process.arguments = arguments
        process.currentDirectoryURL = repository
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        return (process.terminationStatus, try String(contentsOf: log, encoding: .utf8))
    }

    /// 20 s of fuzzing, from the committed seeds alone, after the build (about a minute
    /// from scratch, with AddressSanitizer): no finding, and enough inputs to mean something.
    @Test(.enabled(if: fuzzerAvailable, "this swiftc cannot build with -sanitize=fuzzer,address"), .timeLimit(.minutes(5)))
    func shortRunFindsNothing() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("snpd-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (status, output) = try await Subprocess.run(Self.repository.appendingPathComponent("scripts/fuzz"), [
            "--seconds", "20", "--seed", "1", "--corpus", scratch.appendingPathComponent("corpus").path,
            "--log", scratch.appendingPathComponent("libfuzzer.log").path,
        ], directory: Self.repository)
        let summary = output.split(separator: "\n").last { $0.hasPrefix("fuzz: ") } ?? "no summary"
        print(summary)
        #expect(status == 0, "scripts/fuzz found something or failed:\n\(output.suffix(4_000))")
        // `fuzz: 123456 inputs in 20 s, cov …`
        let inputs = Int(summary.dropFirst("fuzz: ".count).prefix { $0.isNumber }) ?? 0
        #expect(inputs > 10_000, "\(summary)")
    }

    /// The dictionary that guides the fuzzer names every verb, subverb and key of the table.
    @Test func dictionaryNamesEveryVerbAndKey() throws {
        let dictionary = try String(
            contentsOf: Self.repository.appendingPathComponent("tools/fuzz/snp.dict"), encoding: .utf8)
        for spec in CommandTable.all {
            #expect(dictionary.contains("\"\(spec.verb)\""), "\(spec.verb)")
            if let sub = spec.subverb { #expect(dictionary.contains("\"\(sub)\""), "\(sub)") }
            for key in spec.requiredKeys + spec.optionalKeys {
                #expect(dictionary.contains("\"\(key)=\""), "\(key)=")
            }
        }
    }
}
