import Foundation
import SNPStore

#if canImport(Glibc)
import Glibc
#endif

/// The real `snpd` executable as a child process, for tests that kill it for real.
public final class DaemonProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched by the test task that owns this object.
    public let port: Int
    public let database: DatabaseSettings
    public let adminSecret = "crash-test-admin-secret-0123"
    private var process: Process?
    /// Fired when `process` ends.
    private var exited = ExitSignal()
    /// More `SNPD_*` settings for `start()`.
    public var environment: [String: String] = [:]
    /// Where the daemon's log (standard error) goes; by default, the test's own.
    public var logFile: URL?

    public init(database: DatabaseSettings) throws {
        self.database = database
        self.port = try DaemonProcess.freePort()
    }

    public var pid: Int32? { process?.processIdentifier }

    /// Resident memory now and at its peak (`VmRSS`, `VmHWM` of /proc/PID/status), in KiB.
    public func memoryKiB() -> (resident: Int, peak: Int)? {
        guard let pid, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func field(_ name: String) -> Int? {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return nil }
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        guard let rss = field("VmRSS"), let hwm = field("VmHWM") else { return nil }
        return (rss, hwm)
    }

    /// Processor time used so far (user and system, `/proc/PID/stat`), in clock ticks
    /// (usually 100 a second).
    public func cpuTicks() -> Int? {
        guard let pid, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return nil }
        // After the command name in parentheses: state is field 3, utime and stime 14 and 15.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    /// Waits until the daemon has been nearly idle (under 3 ticks of processor time) for
    /// half a second, or `seconds` pass; false in the second case.
    public func waitUntilIdle(seconds: Double) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var last = cpuTicks() ?? 0
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            let now = cpuTicks() ?? 0
            if now - last < 3 { return true }
            last = now
        }
        return false
    }

    /// The daemon's log so far (when `logFile` is set).
    public func log() -> String {
        guard let logFile else { return "" }
        return (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
    }

    /// `snpd` next to the test bundle (SwiftPM builds every product before testing).
    public static var executable: URL {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [bundle.appendingPathComponent("snpd"), bundle.deletingLastPathComponent().appendingPathComponent("snpd")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    /// Starts `snpd serve` and, unless `waitUntilServing` is false (a standby does not
    /// listen), waits until it answers `PING`.
    public func start(waitUntilServing wait: Bool = true) async throws {
        let p = Process()
        p.executableURL = DaemonProcess.executable
        p.arguments = ["serve", "--listen", "127.0.0.1:\(port)", "--log-level", logFile == nil ? "error" : "info"]
        var env = ProcessInfo.processInfo.environment.merging(environment) { _, mine in mine }
        var url = "postgres://\(database.user)@\(database.host):\(database.port)/\(database.database)"
        if let pw = database.password { url = "postgres://\(database.user):\(pw)@\(database.host):\(database.port)/\(database.database)" }
        env["SNPD_DATABASE_URL"] = url
        env["SNPD_ADMIN_TOKEN"] = adminSecret
        env["SNPD_SQL_DIR"] = TestPostgres.migrations.path
        p.environment = env
        // Never the test runner's own output: a daemon outliving a crashed test process
        // would hold that pipe open, and `swift test` would wait for it forever.
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        if let logFile {
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
            p.standardError = try FileHandle(forWritingTo: logFile)
        }
        let signal = ExitSignal()
        p.terminationHandler = { _ in signal.fire() }
        try p.run()
        process = p
        exited = signal
        if wait { try await waitUntilServing(seconds: 30) }
    }

    /// Whether it answers `PING` on its port.
    public func answers() async -> Bool {
        guard let c = try? await LineClient.connect(port: port) else { return false }
        let ok = (try? await c.send("PING"))?.isOK ?? false
        await c.close()
        return ok
    }

    /// Waits until it answers `PING`; throws if it exits or `seconds` pass.
    public func waitUntilServing(seconds: Double) async throws {
        guard let p = process else { throw ClientError("snpd is not running") }
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if await answers() { return }
            guard p.isRunning else { throw ClientError("snpd exited with status \(p.terminationStatus)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ClientError("snpd did not answer on port \(port) within \(seconds) s")
    }

    /// kill -9: no chance to finish anything.
    public func kill9() async {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, SIGKILL)
        await exited.wait()
        process = nil
    }

    /// SIGTERM, and waits for the exit status. A daemon still running a minute later is
    /// said on standard error and killed (its status is then SIGKILL's): the test's own
    /// checks fail, the run goes on.
    public func terminate() async -> Int32 {
        guard let p = process else { return 0 }
        p.terminate()
        let pid = p.processIdentifier
        let watchdog = Task {
            try await Task.sleep(for: .seconds(60))
            FileHandle.standardError.write(Data("DaemonProcess: snpd \(pid) still running 60 s after SIGTERM: killed\n".utf8))
            kill(pid, SIGKILL)
        }
        await exited.wait()
        watchdog.cancel()
        process = nil
        return p.terminationStatus
    }

    /// A loopback TCP port nobody listens on now (also used by `snpd-bench`).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw ClientError("no free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
