import Foundation
import SNPCore
import SNPTesting
import Testing

/// Clients that send as fast as the kernel takes it and never read (issue 14, item 2):
/// whatever path their lines take, the daemon's memory stays bounded and a new client is
/// answered at once. The real executable, so that its memory (`/proc`) is its own.
///
/// Each case floods for `SNPD_FLOOD_SECONDS` (3 s by default; the figures in
/// docs/RELIABILITY.md are from `SNPD_FLOOD_SECONDS=10`).
@Suite("Flooding clients: sending without reading", .serialized)
struct FloodTests {
    /// One way to flood: what each of the four connections sends, over and over.
    enum Flood: String, CaseIterable, CustomTestStringConvertible {
        /// `PING` before `AUTH`: answered on the event loop, no principal.
        case pingBeforeAuth
        /// `HELP` after `AUTH`: a 4.5 KB reply from the session task.
        case helpAfterAuth
        /// `SLOT FIND … limit=50` after `AUTH`: a read answered on the event loop (about 9 KB).
        case findOnTheEventLoop
        /// `HELLO` then `SLOT FIND … limit=50`: the find waits behind the `HELLO` in flight,
        /// so it takes the session task, the reply queue and the writer.
        case findThroughTheSession

        var testDescription: String { rawValue }

        var needsAuth: Bool { self != .pingBeforeAuth }
        var needsSlots: Bool { self == .findOnTheEventLoop || self == .findThroughTheSession }

        var lines: String {
            let find = "SLOT FIND prof=gp lat=\(Place.vannes.lat) lon=\(Place.vannes.lon) limit=50\n"
            switch self {
            case .pingBeforeAuth: return "PING\n"
            case .helpAfterAuth: return "HELP\n"
            case .findOnTheEventLoop: return find
            case .findThroughTheSession: return "HELLO\n" + find
            }
        }
    }

    static var seconds: Double { Double(ProcessInfo.processInfo.environment["SNPD_FLOOD_SECONDS"] ?? "") ?? 3 }

    @Test(.timeLimit(.minutes(3)), arguments: Flood.allCases)
    func clientsThatSendWithoutReadingCannotGrowTheDaemonsMemory(_ flood: Flood) async throws {
        let db = try await TestPostgres.freshDatabase()
        let daemon = try DaemonProcess(database: db)
        try await daemon.start()
        do {
            try await measure(flood, on: daemon)
        } catch {
            _ = await daemon.terminate()
            throw error
        }
        _ = await daemon.terminate()
    }

    /// Floods `daemon` as `flood` says, and checks what its memory did.
    private func measure(_ flood: Flood, on daemon: DaemonProcess) async throws {
        if flood.needsSlots { try await publishSixtySlots(daemon) }
        let before = try #require(daemon.memoryKiB())

        // Small receive buffers: what the daemon writes and nobody reads stays in the daemon,
        // not in the kernel on the clients' side.
        let flooders = try (0..<4).map { _ in try RawWriter(port: daemon.port, receiveBuffer: 4_096) }
        defer { for f in flooders { f.close() } }
        if flood.needsAuth {
            for f in flooders {
                _ = f.writeSome(Array("AUTH \(daemon.adminSecret)\n".utf8))
                #expect(f.readLine().hasPrefix("OK role=admin"))
            }
        }
        let chunk = Array(String(repeating: flood.lines, count: max(1, 8_192 / flood.lines.utf8.count)).utf8)
        var sent = 0
        // Where each connection is in its chunk: the kernel may take part of one, and the
        // rest goes first next time, so that every line arrives whole.
        var offsets = [Int](repeating: 0, count: flooders.count)
        let end = ContinuousClock.now + .seconds(Self.seconds)
        while ContinuousClock.now < end {
            var wrote = 0
            for (i, f) in flooders.enumerated() {
                let n = f.writeSome(chunk[offsets[i]...])
                offsets[i] = (offsets[i] + n) % chunk.count
                wrote += n
            }
            sent += wrote
            // The kernel takes no more: the daemon stopped reading (or is slow); try again soon.
            if wrote == 0 { try await Task.sleep(for: .milliseconds(20)) }
        }
        let flooded = try #require(daemon.memoryKiB())

        // A new client, while the four are still connected and unread, and the daemon may
        // still be busy with what the kernel had taken for it: printed, not asserted.
        let duringDrain = try await pingTime(daemon)
        // What the kernel still holds for the daemon is taken, or not, by now: the memory
        // is measured once the daemon has nothing left to do (or after a minute).
        let idle = try await daemon.waitUntilIdle(seconds: 60)
        let after = try #require(daemon.memoryKiB())
        let afterwards = try await pingTime(daemon)

        let peak = max(flooded.peak, after.peak)
        let growthKiB = peak - before.resident
        print(
            "flood \(flood.rawValue): 4 connections, \(Self.seconds) s, \(sent / 1_000_000) MB sent without reading; "
                + "daemon RSS \(before.resident / 1024) MiB before, \(flooded.resident / 1024) MiB when the sending stopped, "
                + "\(after.resident / 1024) MiB once idle\(idle ? "" : " (still busy after 60 s)"), "
                + "peak \(peak / 1024) MiB (growth \(growthKiB / 1024) MiB); a new client's PING answered in "
                + "\(duringDrain.formatted(.units(fractionalPart: .show(length: 3)))) when the sending stopped, "
                + "\(afterwards.formatted(.units(fractionalPart: .show(length: 3)))) once idle")
        #expect(afterwards < .seconds(5), "a new client is answered at once (generous bound)")
        #expect(growthKiB <= 64 * 1024, "the daemon's memory grew by at most 64 MiB")
    }

    /// How long a new client waits for `OK pong`.
    private func pingTime(_ daemon: DaemonProcess) async throws -> Duration {
        let asked = ContinuousClock.now
        let client = try await LineClient.connect(port: daemon.port)
        let pong = try await client.send("PING")
        let waited = ContinuousClock.now - asked
        await client.close()
        #expect(pong.lines == ["OK pong"])
        return waited
    }

    /// Two professionals near Vannes with 30 half-hour slots each, from 1 h on: a
    /// `SLOT FIND … limit=50` there returns 50 lines.
    private func publishSixtySlots(_ daemon: DaemonProcess) async throws {
        let admin = try await LineClient.connect(port: daemon.port)
        try await admin.expectOK("AUTH \(daemon.adminSecret)")
        let now = Date()
        for p in 1...2 {
            try await admin.putPro(rpps(p))
            var batch = ""
            for i in 0..<30 {
                let start = now.addingTimeInterval(3600 + Double(i) * 1800)
                batch += "SLOT ADD pro=\(rpps(p)) start=\(RFC3339.format(start)) "
                    + "end=\(RFC3339.format(start.addingTimeInterval(1800)))\n"
            }
            try await admin.write(batch)
            for _ in 0..<30 { #expect(try await admin.readReply().isOK) }
        }
        let found = try await admin.send("SLOT FIND prof=gp lat=\(Place.vannes.lat) lon=\(Place.vannes.lon) limit=50")
        #expect(found.lines.count == 51, "the search returns 50 slots")
        await admin.close()
    }
}
