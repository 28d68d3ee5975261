import Foundation
import SNPCore
import SNPTesting

/// A valid RPPS number (Luhn check digit) made from a small integer.
func rpps(_ n: Int) -> String {
    let prefix = Array("10" + String(format: "%08d", n)).map { Int(String($0))! }
    return prefix.map(String.init).joined() + String(RPPS.luhnCheckDigit(for: prefix))
}

/// Vannes, and points at known distances from it.
enum Place {
    static let vannes = (lat: 47.6582, lon: -2.7608)
    /// About 5.5 km north-west.
    static let ploeren = (lat: 47.6572, lon: -2.8639)
    /// About 55 km away.
    static let lorient = (lat: 47.7483, lon: -3.3700)
}

extension TestDaemon {
    /// RFC 3339 text of the daemon's now plus some hours.
    func at(hours: Double) -> String { RFC3339.format(clock.now.addingTimeInterval(hours * 3600)) }

    /// `SLOT ADD` line for a slot starting in `hours`, lasting `minutes`.
    func slotLine(pro: String, hours: Double, minutes: Double = 20, extra: String = "") -> String {
        "SLOT ADD pro=\(pro) start=\(at(hours: hours)) end=\(at(hours: hours + minutes / 60)) \(extra)"
    }

    /// How the ordering tests pipeline commands that wait for a commit: registers
    /// professional 1, then writes at once `count` of its slots (an hour apart from 2 h on,
    /// refs `refPrefix0`, `refPrefix1`…), each line followed by `each`, then `last`.
    func pipelineSlots(on c: LineClient, count: Int, refPrefix: String, each: String, last: String = "") async throws {
        try await c.putPro(rpps(1))
        var batch = ""
        for i in 0..<count {
            batch += slotLine(pro: rpps(1), hours: 2 + Double(i), extra: "ref=\(refPrefix)\(i)") + "\n" + each
        }
        try await c.write(batch + last)
    }
}

extension LineClient {
    /// Registers a professional at a place.
    func putPro(
        _ id: String, prof: String = "gp", at place: (lat: Double, lon: Double) = Place.vannes, extra: String = ""
    ) async throws {
        try await expectOK("PRO PUT id=\(id) prof=\(prof) name=\"Dr Test \(id)\" lat=\(place.lat) lon=\(place.lon) \(extra)")
    }
}

/// Starts a daemon on a fresh database, runs `body`, stops it.
func withDaemon(
    configure: (inout SNPServer.DaemonSettings) -> Void = { _ in },
    _ body: (TestDaemon) async throws -> Void
) async throws {
    let db = try await TestPostgres.freshDatabase()
    let daemon = try await TestDaemon.start(database: db, configure: configure)
    do {
        try await body(daemon)
    } catch {
        await daemon.stop()
        throw error
    }
    await daemon.stop()
}

import SNPServer
