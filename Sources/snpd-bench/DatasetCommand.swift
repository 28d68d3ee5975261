import ArgumentParser
import Foundation
import SNPSimulation
import SNPCore

/// `snpd-bench dataset`: the SQL that preloads a territory straight into PostgreSQL
/// (`COPY`, one transaction), for `psql`. A million slots over the protocol would take
/// minutes; loading them in the database also lets `run` time the daemon's cold start.
struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset", abstract: "Print the SQL that preloads professionals, open slots and queued requests.")

    @OptionGroup var territory: TerritoryOptions

    @Option(help: "Queued requests to preload (on the island, where nothing is eligible).")
    var queued = 0

    func run() throws {
        let t = territory.make()
        let now = Int64(Date().timeIntervalSince1970)
        var out = SQLOutput()
        out.line("BEGIN;")
        writeProfessionals(t, now: now, &out)
        writeSlots(t, now: now, &out)
        writeQueuedRequests(now: now, &out)
        out.line("COMMIT;")
        out.line("ANALYZE professionals; ANALYZE slots; ANALYZE requests;")
        out.flush()
    }

    private func writeProfessionals(_ t: Territory, now: Int64, _ out: inout SQLOutput) {
        out.line(
            "COPY professionals (rpps, profession, name, lat, lon, home_radius_km, weekly_cap, territory, active, updated_at) FROM stdin;"
        )
        for (i, p) in t.pros.enumerated() {
            out.row([p.rpps, p.profession.rawValue, "Bench \(i)", "\(p.lat)", "\(p.lon)", #"\N"#, #"\N"#, "BENCH", "t", time(now)])
        }
        out.line(#"\."#)
    }

    /// Each slot was published between five days and an hour before its start (never in the future).
    private func writeSlots(_ t: Territory, now: Int64, _ out: inout SQLOutput) {
        out.line(
            "COPY slots (id, pro, profession, starts_at, ends_at, mode, capacity, ref, created_at, withdrawn_at) FROM stdin;")
        t.forEachPreloadedSlot(now: now) { n, pro, k, start, created in
            out.row([
                "\(n + 1)", pro.rpps, pro.profession.rawValue, time(start), time(start + Territory.slotSeconds),
                Territory.mode(period: k).rawValue, "\(t.capacity)", #"\N"#, time(created), #"\N"#,
            ])
        }
        out.line(#"\."#)
    }

    /// Requests created in the last six hours, waiting on the island where nobody practises.
    private func writeQueuedRequests(now: Int64, _ out: inout SQLOutput) {
        guard queued > 0 else { return }
        out.line(
            "COPY requests (id, ref, owner, profession, priority, modes, lat, lon, within_s, created_at, deadline, state, updated_at) FROM stdin;"
        )
        var rng = SeededRandom(seed: 0x9E0E)
        let within: Int64 = 48 * 3600
        for i in 1...queued {
            let created = now - Int64(rng.below(6 * 3600))
            let priority = [1, 2, 2, 2, 3][rng.below(5)]
            out.row([
                "\(i)", "bench-queued-\(i)", "bench-preload", Territory.profession(&rng).rawValue, "\(priority)",
                "office,home", "\(rng.uniform(Territory.island.lat))", "\(rng.uniform(Territory.island.lon))",
                "\(within)", time(created), time(created + within), "queued", time(created),
            ])
        }
        out.line(#"\."#)
    }

    private func time(_ epoch: Int64) -> String { RFC3339.format(Date(epochSeconds: epoch)) }
}

/// Standard output in large writes: a million `print` calls would dominate the preload.
struct SQLOutput {
    private var buffer = ""

    mutating func line(_ text: String) {
        buffer += text
        buffer += "\n"
        if buffer.utf8.count > 1 << 20 { flush() }
    }

    /// One `COPY` text row (the values here never contain tabs, newlines or backslashes).
    mutating func row(_ values: [String]) { line(values.joined(separator: "\t")) }

    mutating func flush() {
        FileHandle.standardOutput.write(Data(buffer.utf8))
        buffer = ""
    }
}

extension Territory.Layout: ExpressibleByArgument {}

/// What defines a territory; `dataset` and `run` must be given the same values.
struct TerritoryOptions: ParsableArguments {
    @Option(help: "Open slots to preload.")
    var slots = 1_000_000

    @Option(help: "Seed of the territory (professionals' places and professions).")
    var seed: UInt64 = 7441

    @Option(help: "Epoch second at which the slots begin (default: the next hour plus one).")
    var base: Int64?

    @Option(help: "spread (professionals all over mainland France, 7 days of slots) or dense (GPs in a 4.5 km square, 40 hours of slots).")
    var layout: Territory.Layout = .spread

    @Option(help: "Slots per professional (default 100 spread, 20 dense); --slots / this is the number of professionals.")
    var slotsPerPro: Int?

    @Option(help: "Places of each preloaded slot.")
    var capacity = 1

    func make() -> Territory {
        let start = base ?? ((Int64(Date().timeIntervalSince1970) / 3600) + 2) * 3600
        return Territory(slots: slots, seed: seed, base: start, layout: layout, slotsPerPro: slotsPerPro, capacity: capacity)
    }

    func validate() throws {
        guard capacity >= 1 else { throw ValidationError("capacity must be at least 1") }
        if let slotsPerPro, slotsPerPro < 1 { throw ValidationError("slots-per-pro must be at least 1") }
    }
}
