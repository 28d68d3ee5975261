import Foundation

/// Everything one run measured, as a table for people and JSON for `scripts/bench`.
struct BenchReport {
    var slots: Int
    var connections: Int
    var duration: Double
    var coldStartSeconds: Double?
    var memoryAfterLoad: (rss: Int, peak: Int)?
    var memoryAtEnd: (rss: Int, peak: Int)?
    var phases: [PhaseResult] = []
    var pgbench: Anchors.PgbenchResult?
    var redis: Anchors.RedisResult?

    func phase(_ name: String) -> PhaseResult? { phases.last { $0.name == name } }

    var bookingsPerSecond: Double? { phase("book").map { Double($0.count(.reqAddMatch, outcome: "booked")) / $0.seconds } }

    /// Milliseconds at a percentile, from the microsecond histogram.
    func millis(_ phase: String, _ kind: CommandKind, _ percentile: Double) -> Double? {
        guard let h = self.phase(phase)?.tally.latencies[kind], h.totalCount > 0 else { return nil }
        return Double(h.valueAtPercentile(percentile)) / 1000
    }

    func text() -> String {
        var out = "snpd-bench: \(slots) slots preloaded, \(connections) connections, \(duration) s per phase\n\n"
        out += "phase    command            count   per s      p50 ms   p99 ms  p99.9 ms   max ms  outcomes\n"
        for p in phases {
            for kind in CommandKind.allCases {
                guard let h = p.tally.latencies[kind], h.totalCount > 0 else { continue }
                let outcomes = (p.tally.outcomes[kind] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                out += pad(p.name, 9) + pad(kind.rawValue, 18)
                out += String(
                    format: "%7d %8.0f %9.3f %8.3f %9.3f %8.2f  ", Int(h.totalCount), p.perSecond(kind),
                    Double(h.valueAtPercentile(50)) / 1000, Double(h.valueAtPercentile(99)) / 1000,
                    Double(h.valueAtPercentile(99.9)) / 1000, Double(h.max) / 1000)
                out += outcomes.joined(separator: " ") + "\n"
            }
            if let rate = p.offeredRate {
                out += pad(p.name, 9) + String(format: "(offered %.0f/s; latency counted from when each command was due)\n", rate)
            }
        }
        out += "\ntargets\n"
        for line in targetLines() { out += "  \(line)\n" }
        return out
    }

    private func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count + 1), withPad: " ", startingAt: 0) }

    private func targetLines() -> [String] {
        var lines: [String] = []
        func verdict(_ ok: Bool) -> String { ok ? "met" : "MISSED" }
        if let booked = bookingsPerSecond, let pg = pgbench {
            let ratio = booked / pg.transactionsPerSecond
            lines.append(
                String(
                    format: "1 durable bookings/s %.0f / pgbench INSERT tps %.0f = %.2f (>= 1.0) %@", booked,
                    pg.transactionsPerSecond, ratio, verdict(ratio >= 1.0)))
        }
        if let p = phase("paced"), let p99 = millis("paced", .reqAddMatch, 99) {
            lines.append(String(format: "2 REQ ADD p99 at %.0f/s offered: %.2f ms (<= 10) %@", p.offeredRate ?? 0, p99, verdict(p99 <= 10)))
        }
        if let f = phase("find"), let p99 = millis("find", .slotFind, 99) {
            let rate = f.perSecond(.slotFind)
            lines.append(
                String(format: "3 SLOT FIND %.0f/s (>= 20000), p99 %.2f ms (<= 2) %@", rate, p99, verdict(rate >= 20_000 && p99 <= 2)))
        }
        if let m = memoryAtEnd {
            let gib = Double(m.peak) / Double(1 << 30)
            lines.append(String(format: "4 daemon peak memory (VmHWM) %.2f GiB (<= 1.5) %@", gib, verdict(gib <= 1.5)))
        }
        if let s = coldStartSeconds { lines.append(String(format: "4 cold start %.2f s (<= 20) %@", s, verdict(s <= 20))) }
        if let ping = phase("ping"), let r = redis {
            let ratio = ping.perSecond(.ping) / r.requestsPerSecond
            lines.append(
                String(
                    format: "6 PING %.0f/s / redis PING_INLINE %.0f/s = %.2f (>= 0.5) %@", ping.perSecond(.ping),
                    r.requestsPerSecond, ratio, verdict(ratio >= 0.5)))
        }
        return lines
    }

    func json() throws -> String {
        var root: [String: Any] = ["slots": slots, "connections": connections, "duration_s": duration]
        root["cold_start_s"] = coldStartSeconds
        if let m = memoryAfterLoad { root["rss_after_load_bytes"] = m.rss }
        if let m = memoryAtEnd { root["peak_rss_bytes"] = m.peak }
        root["bookings_per_s"] = bookingsPerSecond
        if let pg = pgbench { root["pgbench_tps"] = pg.transactionsPerSecond; root["pgbench_command"] = pg.commandLine }
        if let r = redis { root["redis_ping_per_s"] = r.requestsPerSecond; root["redis_command"] = r.commandLine }
        root["phases"] = phases.map { p -> [String: Any] in
            var commands: [String: Any] = [:]
            for (kind, h) in p.tally.latencies where h.totalCount > 0 {
                commands[kind.rawValue] = [
                    "count": Int(h.totalCount), "per_s": p.perSecond(kind),
                    "p50_ms": Double(h.valueAtPercentile(50)) / 1000, "p99_ms": Double(h.valueAtPercentile(99)) / 1000,
                    "p999_ms": Double(h.valueAtPercentile(99.9)) / 1000, "max_ms": Double(h.max) / 1000,
                    "outcomes": p.tally.outcomes[kind] ?? [:],
                ]
            }
            var entry: [String: Any] = ["name": p.name, "seconds": p.seconds, "commands": commands]
            entry["offered_rate"] = p.offeredRate
            return entry
        }
        let data = try JSONSerialization.data(withJSONObject: root.compactMapValues { $0 }, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
