import Foundation
import SNPTesting
import Synchronization
import Testing

/// What a client connecting just as the daemon stops sees: an answer, or a closed
/// connection. Never silence, and never a crash of the daemon (NIO treats a connection
/// accepted and dropped unclosed as a programming error: the CI saw that crash when a
/// connection arrived as the listener closed).
@Suite("Listener: connections that arrive as it stops")
struct ListenerStopTests {
    /// What the clients of one storm saw.
    struct Tally {
        var answered = 0
        var closedUnanswered = 0
        var refused = 0
    }

    /// Shared by the clients of one storm.
    final class Storm: Sendable {
        let tally = Mutex(Tally())
        let stopped = Atomic<Bool>(false)
    }

    @Test(.timeLimit(.minutes(3)))
    func everyConnectionArrivingAsTheListenerClosesIsAnsweredOrClosed() async throws {
        let rounds = 6
        var total = Tally()
        for round in 0..<rounds {
            let db = try await TestPostgres.freshDatabase()
            let d = try await TestDaemon.start(database: db)
            let port = d.port
            let shared = Storm()
            let storm = Task {
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<6 {
                        group.addTask {
                            // Clients keep connecting until a refusal after the stop.
                            while true {
                                guard let client = try? await LineClient.connect(port: port) else {
                                    shared.tally.withLock { $0.refused += 1 }
                                    if shared.stopped.load(ordering: .sequentiallyConsistent) { return }
                                    try? await Task.sleep(for: .milliseconds(5))
                                    continue
                                }
                                // A connection accepted and never served nor closed would
                                // wait here for ever (and fail the time limit).
                                try? await client.write("PING\n")
                                let line = try? await client.readLine()
                                shared.tally.withLock {
                                    if line == "OK pong" { $0.answered += 1 } else { $0.closedUnanswered += 1 }
                                }
                                await client.close()
                            }
                        }
                    }
                }
            }
            // Let the storm be served (however loaded the machine), then stop while it goes
            // on, a little later each round, then let it see the refusals.
            let deadline = ContinuousClock.now + .seconds(30)
            while shared.tally.withLock({ $0.answered }) == 0 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await Task.sleep(for: .milliseconds(20 * round))
            await d.stop()
            shared.stopped.store(true, ordering: .sequentiallyConsistent)
            #expect(try await d.waitUntilEnded(seconds: 10), "round \(round): the daemon stops")
            await storm.value
            let seen = shared.tally.withLock { $0 }
            #expect(seen.answered > 0, "round \(round): clients were served before the stop")
            total.answered += seen.answered
            total.closedUnanswered += seen.closedUnanswered
            total.refused += seen.refused
        }
        print(
            "listener stop: \(rounds) stops under 6 connecting clients: \(total.answered) answered, "
                + "\(total.closedUnanswered) closed unanswered, \(total.refused) refused; 0 left hanging")
    }
}
