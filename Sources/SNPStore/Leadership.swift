import Foundation
import Logging
import PostgresNIO
import SNPCore
import Synchronization

/// Raised when another daemon has taken over the database: this one must stop serving.
public struct LeadershipLost: Error, CustomStringConvertible {
    public var description: String
}

/// Only one daemon serves a database (§4.4), by PostgreSQL's own means: a session-level
/// advisory lock, held on a dedicated connection for as long as the daemon leads. A second
/// daemon waits as a standby, trying the lock every second, and takes over when the
/// leader's session ends (crash, kill -9, lost connection).
///
/// The lock alone cannot stop a leader that lost its connection without noticing from
/// writing once another has taken over; so taking the lock also bumps an epoch, and
/// every commit checks, in its transaction, that the epoch is still its own (fencing).
public final class Leadership: Sendable {
    /// The advisory lock's key: "snpd" on 7441.
    public static let lockKey: Int64 = 0x736E_7064_1D11
    let store: Store
    let logger: Logger
    let holder: String
    private let epoch = Mutex<Int64?>(nil)

    public init(store: Store, logger: Logger, holder: String) {
        self.store = store
        self.logger = logger
        self.holder = holder
    }

    /// The epoch this daemon leads under, once it leads.
    public var currentEpoch: Int64? { epoch.withLock { $0 } }

    /// Waits until this daemon leads, then keeps the lock until cancelled (graceful stop),
    /// calling `acquired` once. If the lock's connection is lost it takes the lock again
    /// when the database answers, unless another daemon took over meanwhile: then it
    /// throws `LeadershipLost`.
    public func hold(acquired: @Sendable (Int64) -> Void) async throws {
        var announcedStandby = false
        while !Task.isCancelled {
            do {
                let outcome: Int64? = try await store.client.withConnection { conn in
                    guard try await withTimeout(.seconds(5), { try await self.tryLock(conn) }) else { return nil }
                    let mine: Int64
                    do {
                        mine = try await self.claim(conn)
                    } catch {
                        _ = try? await conn.query("SELECT pg_advisory_unlock(\(Leadership.lockKey))", logger: self.logger)
                        throw error
                    }
                    self.store.setFence(epoch: mine)
                    acquired(mine)
                    // Hold: a query a second proves the session (and so the lock) is alive.
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        if Task.isCancelled { break }
                        // Bounded: a query on a connection the server cut can wait a long time.
                        try await withTimeout(.seconds(3)) { try await conn.query("SELECT 1", logger: self.logger) }
                    }
                    // A pooled connection outlives this lease: give the lock back explicitly.
                    _ = try? await withTimeout(.seconds(2)) {
                        try await conn.query("SELECT pg_advisory_unlock(\(Leadership.lockKey))", logger: self.logger)
                    }
                    return mine
                }
                if let _ = outcome { return }
                if !announcedStandby {
                    logger.notice("standby: another snpd serves this database; waiting to take over")
                    announcedStandby = true
                }
            } catch let lost as LeadershipLost {
                throw lost
            } catch {
                if currentEpoch != nil {
                    logger.error("the leadership lock's connection was lost; taking it again when the database answers")
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func tryLock(_ conn: PostgresConnection) async throws -> Bool {
        var got = false
        for try await ok in try await conn.query("SELECT pg_try_advisory_lock(\(Leadership.lockKey))", logger: logger)
            .decode(Bool.self)
        {
            got = ok
        }
        return got
    }

    /// Under the lock: a first leadership bumps the epoch; taking the lock again after a
    /// lost connection keeps it, unless another daemon led meanwhile.
    private func claim(_ conn: PostgresConnection) async throws -> Int64 {
        if let mine = currentEpoch {
            var now: Int64 = -1
            for try await e in try await conn.query("SELECT epoch FROM leadership WHERE id = 1", logger: logger).decode(Int64.self) {
                now = e
            }
            guard now == mine else {
                throw LeadershipLost(description: "another snpd took over the database (epoch \(now), ours \(mine))")
            }
            logger.notice("leadership lock taken again", metadata: ["epoch": "\(mine)"])
            return mine
        }
        // A commit of a former leader may still run (stalled on a lock or a synchronous
        // replica, its daemon killed meanwhile): end it, so that its outcome is final and
        // the state this daemon loads has it wholly or not at all. Its rows, if it landed,
        // keep their identifiers: this daemon numbers after them.
        try await conn.query(
            """
            SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'
                AND query LIKE 'SELECT snpd_commit(%'
            """, logger: logger)
        var next: Int64 = 0
        for try await e in try await conn.query(
            "UPDATE leadership SET epoch = epoch + 1, holder = \(holder), since = now() WHERE id = 1 RETURNING epoch",
            logger: logger
        ).decode(Int64.self) {
            next = e
        }
        epoch.withLock { $0 = next }
        logger.notice("leading: this snpd serves the database", metadata: ["epoch": "\(next)"])
        return next
    }
}
