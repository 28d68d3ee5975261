import Foundation
import NIOCore
import NIOPosix

/// Where the daemon under test listens, and how the benchmark authenticates.
struct Target: Sendable {
    var host: String
    var port: Int
    var token: String
}

/// What one phase measured, all connections together.
struct PhaseResult: Sendable {
    var name: String
    var connections: Int
    var seconds: Double
    /// The offered rate of a paced phase (commands per second), `nil` for a closed loop.
    var offeredRate: Double?
    var tally: Tally

    func count(_ kind: CommandKind) -> Int { tally.outcomes[kind]?.values.reduce(0, +) ?? 0 }
    func count(_ kind: CommandKind, outcome: String) -> Int { tally.outcomes[kind]?[outcome] ?? 0 }
    func perSecond(_ kind: CommandKind) -> Double { Double(count(kind)) / seconds }
    var total: Int { CommandKind.allCases.reduce(0) { $0 + count($1) } }
}

/// Runs one workload on `connections` connections for `warmup + duration` seconds and
/// merges what they measured (only the last `duration` seconds count).
func runPhase(
    _ workload: Workload, name: String? = nil, on target: Target, territory: Territory, connections: Int,
    warmup: Double, duration: Double, rate: Double? = nil, runTag: String, group: EventLoopGroup
) async throws -> PhaseResult {
    let startAt = NIODeadline.now() + .milliseconds(500 + Int64(connections) * 10)
    let measureFrom = startAt + .nanoseconds(Int64(warmup * 1e9))
    let endAt = measureFrom + .nanoseconds(Int64(duration * 1e9))
    let interval = rate.map { TimeAmount.nanoseconds(Int64(Double(connections) / $0 * 1e9)) }
    var results: [EventLoopFuture<Tally>] = []
    for c in 0..<connections {
        let loop = group.next()
        let done = loop.makePromise(of: Tally.self)
        let script = CommandScript(
            territory: territory, workload: workload, connection: c, connections: connections, runTag: runTag,
            seed: UInt64(c + 1) &* 0x2545_F491_4F6C_DD1D)
        var pacing = Pacing(startAt: startAt, measureFrom: measureFrom, endAt: endAt, interval: interval)
        // Paced connections take turns rather than all sending at once.
        if let interval { pacing.phase = .nanoseconds(interval.nanoseconds * Int64(c) / Int64(connections)) }
        let connectionPacing = pacing
        let token = target.token
        _ = try await ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        LoadConnection(script: script, token: token, pacing: connectionPacing, done: done))
                }
            }
            .connect(host: target.host, port: target.port).get()
        results.append(done.futureResult)
    }
    var tally = Tally()
    for r in results { tally.add(try await r.get()) }
    return PhaseResult(name: name ?? workload.name, connections: connections, seconds: duration, offeredRate: rate, tally: tally)
}
