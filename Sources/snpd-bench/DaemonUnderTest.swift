import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The snpd being measured: one the benchmark started (and times from `exec` to its
/// first `PING` answered: the cold start), or one already running, known by its pid.
final class DaemonUnderTest: Sendable {
    let pid: Int32?
    let port: Int
    /// Seconds from process start to the first `OK pong`; `nil` for a daemon we did not start.
    let coldStartSeconds: Double?
    private let process: ChildProcess?

    init(attachedTo pid: Int32?, port: Int) {
        self.pid = pid
        self.port = port
        coldStartSeconds = nil
        process = nil
    }

    /// Starts `snpd serve` on the loopback and waits until it answers `PING`: the state is
    /// loaded from PostgreSQL before the listener opens, so this is the whole cold start.
    init(executable: String, port: Int, databaseURL: String, adminToken: String, logLevel: String = "warning") throws {
        self.port = port
        var env = ProcessInfo.processInfo.environment
        env["SNPD_DATABASE_URL"] = databaseURL
        env["SNPD_ADMIN_TOKEN"] = adminToken
        let started = Date()
        let p = try ChildProcess(
            executable, ["serve", "--listen", "127.0.0.1:\(port)", "--no-migrate", "--log-level", logLevel],
            environment: env, captureOutput: false)
        process = p
        pid = p.pid
        while !DaemonUnderTest.answersPing(port: port) {
            guard p.isRunning() else { throw BenchError("snpd exited before answering PING") }
            guard Date().timeIntervalSince(started) < 600 else {
                p.signal(SIGKILL)
                throw BenchError("snpd did not answer PING in 10 minutes")
            }
            usleep(20_000)
        }
        coldStartSeconds = Date().timeIntervalSince(started)
    }

    /// Stops a daemon this benchmark started (SIGTERM: a clean stop).
    func stop() {
        guard let p = process, p.isRunning() else { return }
        p.signal(SIGTERM)
        p.waitForExit()
    }

    /// Resident memory now and at its peak (`VmRSS`, `VmHWM` of /proc/PID/status), in bytes.
    func memory() -> (rss: Int, peak: Int)? {
        guard let pid, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func kib(_ key: String) -> Int? {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return nil }
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        guard let rss = kib("VmRSS"), let peak = kib("VmHWM") else { return nil }
        return (rss * 1024, peak * 1024)
    }

    /// One blocking `PING` on a fresh connection: true if `OK pong` came back.
    static func answersPing(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { return false }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let ping = Array("PING\n".utf8)
        guard write(fd, ping, ping.count) == ping.count else { return false }
        var reply = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &reply, reply.count)
        return n > 0 && String(decoding: reply[..<n], as: UTF8.self).hasPrefix("OK pong")
    }
}
