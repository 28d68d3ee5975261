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
    /// calling `acquired` once.
    ///
    /// `prepare` runs once, under the lock, before the epoch is claimed: the schema's
    /// migrations go there, so that a standby (perhaps a newer version) never changes the
    /// schema under a running leader. An error from it is thrown from `hold`.
    ///
    /// If the lock's connection is lost it tries at once to take the lock again, then every
    /// second while the database does not answer (an outage: the leader keeps its memory
    /// and answers reads, see docs/RELIABILITY.md). When the database answers and another
    /// session holds the lock, or another daemon led meanwhile, it throws `LeadershipLost`
    /// at once: the caller must stop serving.
    public func hold(
        prepare: @Sendable () async throws -> Void = {}, acquired: @Sendable (Int64) -> Void
    ) async throws {
        var announcedStandby = false
        var retriedAtOnce = false
        while !Task.isCancelled {
            do {
                // A leader that lost its lock's connection tries again quickly, with a shorter
                // limit: the pool may hand out a connection that does not answer yet.
                let limit: Duration = currentEpoch == nil ? .seconds(5) : .seconds(2)
                let outcome: Int64? = try await store.client.withConnection { conn in
                    if conn.isClosed { throw LockSessionEnded() }
                    guard try await withTimeout(limit, { try await self.takeLock(conn) }) else {
                        if let mine = self.currentEpoch {
                            throw LeadershipLost(
                                description: "another session holds the leadership lock (we led under epoch \(mine))")
                        }
                        return nil
                    }
                    let mine: Int64
                    do {
                        if self.currentEpoch == nil {
                            do { try await prepare() } catch { throw PreparationFailed(underlying: error) }
                        }
                        mine = try await self.claim(conn)
                    } catch {
                        _ = try? await conn.query("SELECT pg_advisory_unlock(\(Leadership.lockKey))", logger: self.logger)
                        throw error
                    }
                    self.store.setFence(epoch: mine)
                    acquired(mine)
                    // Hold: a query a second proves the session (and so the lock) is alive;
                    // a connection the server closed (its session ended) is noticed sooner.
                    while !Task.isCancelled {
                        for _ in 0..<20 where !Task.isCancelled {
                            try? await Task.sleep(for: .milliseconds(50))
                            if conn.isClosed { throw LockSessionEnded() }
                        }
                        if Task.isCancelled { break }
                        try await self.probe(conn)
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
            } catch let failed as PreparationFailed {
                throw failed.underlying
            } catch {
                if currentEpoch != nil {
                    logger.error("the leadership lock's connection was lost; taking it again when the database answers")
                    // At once: if a standby took the lock meanwhile, this daemon must stop
                    // serving now, not a second later.
                    if !retriedAtOnce {
                        retriedAtOnce = true
                        continue
                    }
                }
            }
            retriedAtOnce = false
            try? await Task.sleep(for: currentEpoch == nil ? .seconds(1) : .milliseconds(200))
        }
    }

    /// The lock's connection was closed under it.
    private struct LockSessionEnded: Error {}

    /// `SELECT 1` on the lock's connection: given up after 3 s (a query on a connection the
    /// server cut can wait a long time), or as soon as the connection closes, whichever
    /// comes first. Not a task group, which would wait for a query that may not heed
    /// cancellation (see `withTimeout`).
    private func probe(_ conn: PostgresConnection) async throws {
        let once = ResumeOnce<Void>()
        let logger = self.logger
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            once.set(continuation)
            let work = Task {
                do {
                    try await conn.query("SELECT 1", logger: logger)
                    once.resume(.success(()))
                } catch {
                    once.resume(.failure(error))
                }
            }
            conn.closeFuture.whenComplete { _ in
                if once.resume(.failure(LockSessionEnded())) { work.cancel() }
            }
            Task {
                try? await Task.sleep(for: .seconds(3))
                if once.resume(.failure(TimedOut())) { work.cancel() }
            }
        }
    }

    /// An error of `hold`'s `prepare`, carried out of the retry loop.
    private struct PreparationFailed: Error {
        var underlying: any Error
    }

    /// The session that holds the lock for this daemon: its backend's pid and start time
    /// (a pid alone may be reused after a restart of the server).
    private struct LockSession: Sendable, Equatable {
        var pid: Int32
        var started: Date
    }
    private let lockSession = Mutex<LockSession?>(nil)

    /// Takes the lock on `conn`. When it is held by this daemon's own earlier session (the
    /// client side gave up on it, but the server has not noticed yet: a query timed out, a
    /// connection dropped without a reset), that session is ended and the lock taken again:
    /// nobody else can have led meanwhile, since that session held the lock throughout.
    private func takeLock(_ conn: PostgresConnection) async throws -> Bool {
        if try await tryLock(conn) {
            try await rememberSession(conn)
            return true
        }
        guard let old = lockSession.withLock({ $0 }), try await lockHolder(conn) == old else { return false }
        logger.notice("the leadership lock is still held by this daemon's previous session; ending it")
        _ = try await conn.query("SELECT pg_terminate_backend(\(old.pid), 3000)", logger: logger)
        guard try await tryLock(conn) else { return false }
        try await rememberSession(conn)
        return true
    }

    private func rememberSession(_ conn: PostgresConnection) async throws {
        for try await (pid, started) in try await conn.query(
            "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()", logger: logger
        ).decode((Int32, Date).self) {
            lockSession.withLock { $0 = LockSession(pid: pid, started: started) }
        }
    }

    /// The session holding the advisory lock now, if any. (A bigint key shows in `pg_locks`
    /// as its high 32 bits in `classid`, its low 32 bits in `objid`, and `objsubid` 1.)
    private func lockHolder(_ conn: PostgresConnection) async throws -> LockSession? {
        var holder: LockSession?
        for try await (pid, started) in try await conn.query(
            """
            SELECT l.pid, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND l.classid::bigint = (\(Leadership.lockKey) >> 32)
              AND l.objid::bigint = (\(Leadership.lockKey) & 4294967295)
            """, logger: logger
        ).decode((Int32, Date).self) {
            holder = LockSession(pid: pid, started: started)
        }
        return holder
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
