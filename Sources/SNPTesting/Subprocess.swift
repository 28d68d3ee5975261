import Foundation
import Synchronization

/// A child process the tests wait for without blocking a thread. The test runner's tasks
/// share a cooperative pool of as many threads as cores (two here): a test blocked in
/// `waitUntilExit` for the length of a fuzzing run or a Python start takes half of it, two
/// take all of it, and every other test stalls (time limits passed, database calls timed
/// out, a CI run that never ended).
public enum Subprocess {
    /// Runs `executable` with `arguments` to its end: its exit status, and its standard
    /// output and error together (through a file: a pipe read after the exit would fill).
    public static func run(
        _ executable: URL, _ arguments: [String], directory: URL? = nil
    ) async throws -> (status: Int32, output: String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("snpd-subprocess-\(UUID().uuidString).out")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        process.standardOutput = handle
        process.standardError = handle
        let exit = ExitSignal()
        process.terminationHandler = { _ in exit.fire() }
        try process.run()
        await exit.wait()
        try handle.close()
        return (process.terminationStatus, try String(contentsOf: log, encoding: .utf8))
    }
}

/// Fired once when a child process ends; any number of tasks wait for it.
final class ExitSignal: Sendable {
    private let state = Mutex<(fired: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    func fire() {
        let waiting = state.withLock { state in
            state.fired = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let fired = state.withLock { state in
                if !state.fired { state.waiting.append(continuation) }
                return state.fired
            }
            if fired { continuation.resume() }
        }
    }
}
