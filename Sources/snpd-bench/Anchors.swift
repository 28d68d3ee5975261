import Foundation

/// The yardsticks measured in the same run on the same machine: PostgreSQL's own speed
/// at one-row INSERTs (`pgbench`), and Redis's at `PING` (`redis-benchmark`).
enum Anchors {
    struct PgbenchResult: Sendable {
        var clients: Int
        var seconds: Int
        var transactionsPerSecond: Double
        var latencyMs: Double?
        var commandLine: String
    }

    /// `pgbench` with a script of one INSERT of one row, each its own transaction (the
    /// default: autocommit), on a table of its own in the daemon's database.
    static func pgbench(databaseURL: String, clients: Int, seconds: Int) throws -> PgbenchResult {
        _ = try run(
            "psql",
            [
                "-q", "-v", "ON_ERROR_STOP=1", databaseURL, "-c",
                "CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, v integer NOT NULL, at timestamptz NOT NULL DEFAULT now())",
            ])
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("snpd-bench-insert-\(getpid()).sql")
        try "\\set v random(1, 1000000)\nINSERT INTO bench_insert (v) VALUES (:v);\n".write(to: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: script) }
        let arguments = ["-n", "-c", "\(clients)", "-j", "2", "-T", "\(seconds)", "-f", script.path, databaseURL]
        let output = try run("pgbench", arguments)
        guard let tps = number(after: "tps = ", in: output) else { throw BenchError("pgbench printed no tps:\n\(output)") }
        return PgbenchResult(
            clients: clients, seconds: seconds, transactionsPerSecond: tps, latencyMs: number(after: "latency average = ", in: output),
            commandLine: "pgbench " + arguments.dropLast().joined(separator: " ") + " URL  # script: INSERT INTO bench_insert (v) VALUES (:v)")
    }

    struct RedisResult: Sendable {
        var clients: Int
        var requestsPerSecond: Double
        var commandLine: String
    }

    /// `redis-benchmark -t ping_inline` against a Redis server already listening on `port`.
    static func redisPing(port: Int, clients: Int, requests: Int) throws -> RedisResult {
        let arguments = ["-h", "127.0.0.1", "-p", "\(port)", "-t", "ping_inline", "-c", "\(clients)", "-n", "\(requests)", "-q"]
        let output = try run("redis-benchmark", arguments)
        // -q rewrites a progress line with \r; the figure is on the last one.
        let last = output.split(whereSeparator: { $0 == "\r" || $0 == "\n" }).last { $0.contains("requests per second") }
        guard let line = last, let rps = number(after: ": ", in: String(line)) else {
            throw BenchError("redis-benchmark printed no rate:\n\(output)")
        }
        return RedisResult(clients: clients, requestsPerSecond: rps, commandLine: "redis-benchmark " + arguments.joined(separator: " "))
    }

    /// Runs a program found on PATH and returns its standard output; fails on a non-zero exit.
    static func run(_ program: String, _ arguments: [String]) throws -> String {
        try ChildProcess.output(of: program, arguments)
    }

    static func number(after marker: String, in text: String) -> Double? {
        guard let r = text.range(of: marker) else { return nil }
        return Double(text[r.upperBound...].prefix { $0.isNumber || $0 == "." })
    }
}
