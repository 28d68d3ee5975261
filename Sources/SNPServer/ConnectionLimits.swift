import Logging
import Synchronization

/// Counts open connections, in all and per peer address, and refuses the one too many.
///
/// The per-address cap keeps one client that opens connections in a loop from taking
/// every place: others keep being served. Refusals are logged at most once a second, with
/// how many there were, so that a connection loop cannot flood the log either.
final class ConnectionLimits: Sendable {
    enum Verdict: Equatable {
        case admitted
        case refused(String)
    }

    private struct State {
        var total = 0
        var perAddress: [String: Int] = [:]
        var refusedSinceLog = 0
        var lastLog: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    let maxTotal: Int
    let maxPerAddress: Int
    private let logger: Logger

    init(maxTotal: Int, maxPerAddress: Int, logger: Logger) {
        self.maxTotal = maxTotal
        self.maxPerAddress = maxPerAddress
        self.logger = logger
    }

    var open: Int { state.withLock { $0.total } }

    /// Counts the connection in, or says why not; an admitted one must be `release`d.
    /// `address` is the peer's IP address, `nil` for the Unix socket (no per-address cap).
    func admit(address: String?) -> Verdict {
        let (verdict, log): (Verdict, (reason: String, count: Int)?) = state.withLock { s in
            var reason: String?
            if s.total >= maxTotal {
                reason = "too many connections (\(maxTotal))"
            } else if let address, s.perAddress[address, default: 0] >= maxPerAddress {
                reason = "too many connections from \(address) (\(maxPerAddress))"
            }
            guard let reason else {
                s.total += 1
                if let address { s.perAddress[address, default: 0] += 1 }
                return (.admitted, nil)
            }
            s.refusedSinceLog += 1
            let now = ContinuousClock.now
            if let last = s.lastLog, now - last < .seconds(1) { return (.refused(reason), nil) }
            defer {
                s.lastLog = now
                s.refusedSinceLog = 0
            }
            return (.refused(reason), (reason, s.refusedSinceLog))
        }
        if let log {
            logger.warning("connections refused: \(log.reason)", metadata: ["refused": "\(log.count)"])
        }
        return verdict
    }

    func release(address: String?) {
        state.withLock { s in
            s.total -= 1
            guard let address, let n = s.perAddress[address] else { return }
            s.perAddress[address] = n > 1 ? n - 1 : nil
        }
    }
}
