import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Talks to systemd for a `Type=notify` service (sd_notify(3)), without libsystemd: one
/// datagram per message on the socket named by `NOTIFY_SOCKET`. Does nothing when the
/// daemon is not started by systemd.
public struct SystemdNotifier: Sendable {
    let socketPath: String?
    /// How often systemd wants `WATCHDOG=1` (`WATCHDOG_USEC`), when the watchdog is on.
    public let watchdogInterval: Duration?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        let pidMatches = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if pidMatches, let usec = environment["WATCHDOG_USEC"].flatMap(Int64.init), usec > 0 {
            watchdogInterval = .microseconds(usec)
        } else {
            watchdogInterval = nil
        }
    }

    public var isActive: Bool { socketPath != nil }

    /// Sends `READY=1`, `STOPPING=1`, `WATCHDOG=1`, `STATUS=…` (several separated by `\n`).
    public func notify(_ message: String) {
        #if canImport(Glibc)
        guard let path = socketPath else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        // An abstract socket is written with a leading '@' and starts with a NUL byte.
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        _ = message.withCString { text in
            withUnsafePointer(to: &address) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    sendto(fd, text, strlen(text), Int32(MSG_NOSIGNAL), sa, length)
                }
            }
        }
        #endif
    }
}
