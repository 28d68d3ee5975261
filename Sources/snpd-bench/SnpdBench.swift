import ArgumentParser
import Foundation
import NIOPosix
import SNPTesting

/// snpd-bench: measures snpd against the targets of docs/PERFORMANCE.md, with PostgreSQL
/// (`pgbench`) and Redis (`redis-benchmark`) measured in the same run as yardsticks.
/// `scripts/bench` builds everything, starts the servers and calls it.
@main
struct SnpdBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snpd-bench", abstract: "Benchmark snpd (docs/PERFORMANCE.md).",
        subcommands: [RunCommand.self, DatasetCommand.self, SearchCommand.self], defaultSubcommand: RunCommand.self)
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Drive load against snpd and report throughput, latency percentiles and memory.")

    @OptionGroup var territory: TerritoryOptions

    @Option(help: "snpd executable to start (cold start is timed); without it, attach to --port.")
    var snpd: String?
    @Option(help: "Port of a running snpd (with --snpd: ignored, a free port is used).")
    var port = 7441
    @Option(help: "Pid of the running snpd, to read its memory (with --snpd: known).")
    var pid: Int32?
    @Option(help: "An admin token (with --snpd: it becomes SNPD_ADMIN_TOKEN).")
    var token: String
    @Option(help: "The daemon's PostgreSQL: for --snpd, and for the pgbench anchor.")
    var databaseURL: String?
    @Option(help: "Port of a Redis server for the PING anchor (redis-benchmark).")
    var redisPort: Int?

    @Option(help: "Connections (and pgbench / redis-benchmark clients).")
    var connections = 32
    @Option(help: "Seconds measured per phase.")
    var duration = 10.0
    @Option(help: "Seconds of warm-up before each phase's measurement.")
    var warmup = 2.0
    @Option(help: "Phases, in order: ping, find, book, paced, mix.")
    var phases = "ping,find,book,paced,mix"
    @Option(help: "Offered rate of the paced REQ ADD phase (default: half the bookings per second of `book`).")
    var pacedRate: Double?
    @Option(help: "Write the figures as JSON to this file.")
    var json: String?

    func run() async throws {
        let t = territory.make()
        let daemon: DaemonUnderTest
        if let snpd {
            guard let databaseURL else { throw ValidationError("--snpd needs --database-url") }
            daemon = try DaemonUnderTest(
                executable: snpd, port: try DaemonProcess.freePort(), databaseURL: databaseURL, adminToken: token)
        } else {
            daemon = DaemonUnderTest(attachedTo: pid, port: port)
        }
        defer { daemon.stop() }
        var report = BenchReport(slots: t.slotCount, connections: connections, duration: duration)
        report.coldStartSeconds = daemon.coldStartSeconds
        report.memoryAfterLoad = daemon.memory()
        if let s = report.coldStartSeconds { note(String(format: "cold start: %.2f s", s)) }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let target = Target(host: "127.0.0.1", port: daemon.port, token: token)
        let runTag = String(UInt32.random(in: .min ... .max), radix: 36)
        func phase(_ w: Workload, name: String? = nil, rate: Double? = nil) async throws -> PhaseResult {
            note("phase \(name ?? w.name): \(connections) connections, \(warmup) s warm-up + \(duration) s")
            let r = try await runPhase(
                w, name: name, on: target, territory: t, connections: connections, warmup: warmup, duration: duration,
                rate: rate, runTag: runTag, group: group)
            report.phases.append(r)
            return r
        }

        for name in phases.split(separator: ",").map(String.init) {
            switch name {
            case "ping":
                _ = try await phase(.ping)
                if let redisPort {
                    note("anchor: redis-benchmark PING_INLINE")
                    report.redis = try Anchors.redisPing(
                        port: redisPort, clients: connections, requests: max(100_000, Int(duration * 50_000)))
                }
            case "find":
                _ = try await phase(.find)
            case "book":
                if let databaseURL {
                    note("anchor: pgbench one-row INSERT")
                    report.pgbench = try Anchors.pgbench(databaseURL: databaseURL, clients: connections, seconds: Int(duration))
                }
                _ = try await phase(.book)
            case "paced":
                // Half the booking rate; half the REQ ADD rate if the book phase booked nothing
                // (at 10 000 slots its warm-up second can take every slot near the professionals).
                let booked = report.phases.last { $0.name == "book" }.map { book in
                    let n = book.count(.reqAddMatch, outcome: "booked")
                    return Double(n > 0 ? n : book.count(.reqAddMatch)) / book.seconds
                }
                guard let rate = pacedRate ?? booked.map({ $0 / 2 }), rate > 0 else {
                    throw ValidationError("the paced phase needs --paced-rate or a book phase before it")
                }
                _ = try await phase(.book, name: "paced", rate: rate)
            case "mix":
                _ = try await phase(.mix)
            default:
                throw ValidationError("unknown phase \(name)")
            }
        }
        report.memoryAtEnd = daemon.memory()
        try await group.shutdownGracefully()
        print(report.text())
        if let json { try report.json().write(toFile: json, atomically: true, encoding: .utf8) }
    }

    private func note(_ text: String) { FileHandle.standardError.write(Data("snpd-bench: \(text)\n".utf8)) }
}
