import CoreMetrics
import Foundation
import Synchronization

/// What the daemon counts for the operator (SPEC §7.3), through swift-metrics: the HTTP
/// side exposes them in Prometheus's format. The factory is the daemon's own, not the
/// process-wide one, so that daemons in one process (tests) keep apart.
public final class ServerMetrics: Sendable {
    public let factory: any MetricsFactory
    /// Handlers by label and dimension values, made once: a command costs a dictionary
    /// look-up, not a registry's, and builds no key string.
    private let counters = Mutex<[Key: Counter]>([:])
    private let timers = Mutex<[Key: CoreMetrics.Timer]>([:])

    /// A metric's label and its dimensions' values (the dimension names follow the label).
    private struct Key: Hashable {
        let label: String
        let first: String
        let second: String
    }
    private let batchSize: Recorder

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        batchSize = Recorder(label: "snpd_commit_batch_commands", dimensions: [], aggregate: true, factory: factory)
    }

    /// One command: its words, its outcome (`OK` or the `ERR` code), the engine's time on it.
    func command(_ words: String, reply: String, nanoseconds: Int64) {
        let outcome = ServerMetrics.outcome(of: reply)
        counter("snpd_commands_total", [("command", words), ("outcome", outcome)]).increment()
        timer("snpd_command_duration_seconds", [("command", words)]).recordNanoseconds(nanoseconds)
    }

    /// One group commit: how many commands it carried, how long it took, and whether it landed.
    func commit(commands: Int, nanoseconds: Int64, landed: Bool) {
        counter("snpd_commits_total", [("outcome", landed ? "landed" : "failed")]).increment()
        timer("snpd_commit_duration_seconds", []).recordNanoseconds(nanoseconds)
        batchSize.record(commands)
    }

    /// A change held back from a group commit because it needs a record of one in flight
    /// (`SNPD_COMMIT_CONCURRENCY` above 1): counted once per change.
    func commitHeld() { counter("snpd_commit_held_total", []).increment() }

    /// A change's search made outside the actor: `applied` as found, or `searched_again`
    /// by the actor because the engine had changed in a way that could change the answer.
    func preparedSearch(applied: Bool) {
        counter("snpd_prepared_searches_total", [("outcome", applied ? "applied" : "searched_again")]).increment()
    }

    /// Bookings not reported to the SAS feed: their token has no operator identity (SPEC §8).
    func feedSkipped(_ n: Int) { counter("snpd_feed_skipped_total", []).increment(by: n) }

    /// The SAS feed's deliveries (SPEC §8): `delivered`, `retried` or `parked`.
    public func feedDelivery(_ outcome: String) { counter("snpd_feed_messages_total", [("outcome", outcome)]).increment() }

    /// A level read when scraped (open slots, queued requests, connections).
    public func gauge(_ label: String, _ value: Int) {
        Gauge(label: label, dimensions: [], factory: factory).record(value)
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        counters.withLock { cache in
            let key = Self.key(label, dimensions)
            if let c = cache[key] { return c }
            let c = Counter(label: label, dimensions: dimensions, factory: factory)
            cache[key] = c
            return c
        }
    }

    private func timer(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Timer {
        timers.withLock { cache in
            let key = Self.key(label, dimensions)
            if let t = cache[key] { return t }
            let t = CoreMetrics.Timer(label: label, dimensions: dimensions, factory: factory)
            cache[key] = t
            return t
        }
    }

    /// Every metric here has at most two dimensions.
    private static func key(_ label: String, _ dimensions: [(String, String)]) -> Key {
        precondition(dimensions.count <= 2, "a metric of snpd has at most two dimensions")
        return Key(
            label: label, first: dimensions.first?.1 ?? "", second: dimensions.count > 1 ? dimensions[1].1 : "")
    }

    /// `OK`, or the code of an `ERR CODE message` reply.
    static func outcome(of reply: String) -> String {
        guard reply.hasPrefix("ERR ") else { return "OK" }
        return String(reply.dropFirst(4).prefix { $0 != " " && $0 != "\n" })
    }
}
