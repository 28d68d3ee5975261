import Foundation
import SNPServer
import SNPTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Clients that try to hold the server without playing by the rules: a line that never
/// ends, replies never read while thousands of commands are pipelined, connections opened
/// in a loop. Memory stays bounded, others keep being served, and the offender is refused
/// (`BUSY`) or closed with a reason in the log.
@Suite("Hostile clients: slow, greedy, looping")
struct HostileClientTests {
    @Test(.timeLimit(.minutes(3)))
    func aLineThatNeverEndsIsCutOffButIdleSessionsAreKept() async throws {
        try await withDaemon(configure: { $0.listener.lineTimeout = .milliseconds(300) }) { d in
            let idle = try await d.admin()
            let slow = try await d.admin()
            try await slow.write("PIN")
            // One byte every 100 ms, never a newline: more bytes do not buy more time.
            var closed = false
            for _ in 0..<50 {
                try? await Task.sleep(for: .milliseconds(100))
                if (try? await slow.write("G")) == nil || !slow.channel.isActive {
                    closed = true
                    break
                }
            }
            #expect(closed, "the server closed the slow line's connection")
            #expect(try await slow.readLine() == nil)
            #expect(try await idle.send("PING").lines == ["OK pong"], "an idle session without a partial line is kept")
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func oneAddressCannotTakeEveryConnection() async throws {
        try await withDaemon(configure: { $0.listener.maxConnectionsPerAddress = 20 }) { d in
            var loopers: [LineClient] = []
            for _ in 0..<20 {
                let c = try await LineClient.connect(port: d.port, from: "127.0.0.2")
                #expect(try await c.send("PING").lines == ["OK pong"])
                loopers.append(c)
            }
            let refused = try await LineClient.connect(port: d.port, from: "127.0.0.2")
            let reply = try await refused.readReply()
            #expect(reply.code == "BUSY")
            #expect(reply.lines[0].contains("127.0.0.2"), "the message says which address is over its limit")
            #expect(try await refused.readLine() == nil, "and the connection is closed")

            // Someone else is still served.
            let other = try await d.admin()
            #expect(try await other.send("PING").isOK)

            // Connections opened and closed in a loop do not pile up.
            for c in loopers { await c.close() }
            for _ in 0..<300 {
                let c = try await LineClient.connect(port: d.port, from: "127.0.0.3")
                await c.close()
            }
            #expect(try await openConnections(seenBy: other, settlingOn: 1) == 1, "only the admin's connection is left")
        }
    }

    /// With the real executable, so that its memory is its own: four connections
    /// pipeline `HELP` (a long reply) as fast as the kernel takes it and never read.
    @Test(.timeLimit(.minutes(2)))
    func greedyPipelinersKeepMemoryBoundedAndAreClosed() async throws {
        let db = try await TestPostgres.freshDatabase()
        let daemon = try DaemonProcess(database: db)
        daemon.environment["SNPD_WRITE_TIMEOUT"] = "2s"
        daemon.logFile = FileManager.default.temporaryDirectory.appendingPathComponent("snpd-greedy-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: daemon.logFile!) }
        try await daemon.start()
        let good = try await LineClient.connect(port: daemon.port)
        try await good.expectOK("AUTH \(daemon.adminSecret)")
        let before = try #require(daemon.memoryKiB())

        let greedy = try (0..<4).map { _ in try RawWriter(port: daemon.port) }
        for g in greedy { _ = g.writeSome(Array("AUTH \(daemon.adminSecret)\n".utf8)) }
        let chunk = Array(String(repeating: "HELP\n", count: 200).utf8)
        var commandsSent = 0
        var stalledSince: ContinuousClock.Instant?
        // Until the kernel takes no more (the server stopped reading), or 25 000 each.
        while commandsSent < 100_000 {
            var wrote = 0
            for g in greedy { wrote += g.writeSome(chunk) }
            commandsSent += wrote / 5
            if wrote > 0 {
                stalledSince = nil
            } else if let since = stalledSince {
                if ContinuousClock.now - since > .milliseconds(500) { break }
            } else {
                stalledSince = .now
            }
            if stalledSince != nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        // Everybody else is still answered meanwhile.
        for _ in 0..<50 { #expect(try await good.send("PING").lines == ["OK pong"]) }

        // Nobody reads the greedy replies: the connections are closed, with the reason logged.
        var log = ""
        for _ in 0..<200 {
            log = daemon.log()
            if log.components(separatedBy: "the client does not read its replies").count - 1 >= 4 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let closedCount = log.components(separatedBy: "the client does not read its replies").count - 1
        let after = try #require(daemon.memoryKiB())
        let open = try await openConnections(seenBy: good, settlingOn: 1)
        for g in greedy { g.close() }
        await good.close()
        _ = await daemon.terminate()
        print(
            "greedy clients: 4 connections pipelined \(commandsSent) HELP without reading; "
                + "daemon RSS \(before.resident / 1024) MiB before, peak \(after.peak / 1024) MiB; \(closedCount) closed for not reading")
        #expect(commandsSent > 10_000, "thousands of commands were pipelined")
        #expect(closedCount == 4)
        #expect(open == 1)
        #expect(after.peak - before.resident < 128 * 1024, "memory stays bounded")
    }
}

/// The daemon's open connections (`STATS`), asked until they come down to `expected` or
/// 20 s pass (closing is asynchronous); the last count seen.
func openConnections(seenBy client: LineClient, settlingOn expected: Int) async throws -> Int {
    var open = -1
    for _ in 0..<400 {
        open = Int(try await client.send("STATS")["connections"] ?? "") ?? -1
        if open == expected { break }
        try await Task.sleep(for: .milliseconds(50))
    }
    return open
}

/// A client that writes and never reads: a plain socket, written without blocking.
final class RawWriter {
    let fd: Int32

    /// With `receiveBuffer`, the socket's receive buffer is set to that (before connecting,
    /// so the kernel does not grow it): the replies nobody reads then stay in the server.
    init(port: Int, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        // `readLine` blocks its thread: never for more than 30 s.
        var patience = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            Glibc.close(fd)
            throw ClientError("connect to \(port) failed")
        }
    }

    /// Writes what the kernel takes now, without waiting; the bytes written.
    func writeSome(_ bytes: some ContiguousBytes) -> Int {
        let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
        return max(n, 0)
    }

    /// Reads, blocking (30 s at most), up to the end of the next line; the line without its `\n`.
    func readLine() -> String {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while recv(fd, &byte, 1, 0) == 1 {
            if byte == UInt8(ascii: "\n") { break }
            line.append(byte)
        }
        return String(decoding: line, as: UTF8.self)
    }

    func close() { Glibc.close(fd) }
}
