import Foundation
import PostgresNIO
import SNPCore

/// A message of the SAS feed's outbox (sql/012_feed_outbox.sql), as delivery and the
/// operator's commands see it.
public struct OutboxEntry: Sendable {
    public var id: Int64
    public var appointment: String
    public var seq: Int
    public var method: FeedMessage.Method
    public var body: String
    public var state: String
    public var attempts: Int
    /// A POST was sent and not answered: the SAS may have the appointment already.
    public var inDoubt: Bool
    public var lastError: String?
    public var createdAt: Date
    public var nextAttemptAt: Date
}

/// The levels of the outbox, for the metrics.
public struct OutboxLevels: Sendable {
    public var waiting = 0
    public var parked = 0
    public var oldestWaitingSeconds = 0.0
}

/// The SAS feed's outbox: written by `snpd_commit` (with the changes it reports), read and
/// marked here by the leader's delivery worker and by `snpd feed`.
extension Store {
    /// The next message of each appointment with something to send, if it is due: the
    /// first not delivered, unless it is parked (then the appointment waits for
    /// `snpd feed retry`) or waits for its next attempt. In the order they were written.
    public func dueFeedMessages(limit: Int) async throws -> [OutboxEntry] {
        try await feedEntries(
            """
            SELECT id, appointment, seq, method, body::text, state, attempts, in_doubt, last_error, created_at, next_attempt_at
            FROM (
                SELECT DISTINCT ON (appointment) * FROM feed_outbox WHERE state <> 'delivered' ORDER BY appointment, seq
            ) head
            WHERE state = 'waiting' AND next_attempt_at <= now()
            ORDER BY id LIMIT \(limit)
            """)
    }

    /// Every message not delivered (or only the parked ones), in order.
    public func pendingFeedMessages(parkedOnly: Bool) async throws -> [OutboxEntry] {
        try await feedEntries(
            """
            SELECT id, appointment, seq, method, body::text, state, attempts, in_doubt, last_error, created_at, next_attempt_at
            FROM feed_outbox WHERE state <> 'delivered' AND (NOT \(parkedOnly) OR state = 'parked') ORDER BY id
            """)
    }

    private func feedEntries(_ query: PostgresQuery) async throws -> [OutboxEntry] {
        var out: [OutboxEntry] = []
        let rows = try await client.query(query, logger: logger)
        for try await row in rows {
            let c = row.makeRandomAccess()
            out.append(
                OutboxEntry(
                    id: try c[0].decode(Int64.self), appointment: try c[1].decode(String.self),
                    seq: Int(try c[2].decode(Int32.self)),
                    method: FeedMessage.Method(rawValue: try c[3].decode(String.self)) ?? .put,
                    body: try c[4].decode(String.self), state: try c[5].decode(String.self),
                    attempts: Int(try c[6].decode(Int32.self)), inDoubt: try c[7].decode(Bool.self),
                    lastError: try c[8].decode(String?.self), createdAt: try c[9].decode(Date.self),
                    nextAttemptAt: try c[10].decode(Date.self)))
        }
        return out
    }

    /// Before sending: one more attempt, and for a POST, in doubt until answered (a crash
    /// or a lost answer after this makes the next attempt a conditional update).
    public func feedAttemptStarting(_ id: Int64, post: Bool) async throws {
        try await client.query(
            "UPDATE feed_outbox SET attempts = attempts + 1, in_doubt = in_doubt OR \(post) WHERE id = \(id)",
            logger: logger)
    }

    /// The SAS accepted it.
    public func feedDelivered(_ id: Int64) async throws {
        try await client.query(
            "UPDATE feed_outbox SET state = 'delivered', delivered_at = now(), in_doubt = false WHERE id = \(id)",
            logger: logger)
    }

    /// It failed and will be tried again after `delay`. `answered`: the SAS answered (so a
    /// POST did not create anything), else it stays in doubt.
    public func feedFailed(_ id: Int64, error: String, answered: Bool, delay: Duration) async throws {
        let ms = Int64(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)
        try await client.query(
            """
            UPDATE feed_outbox SET last_error = \(String(error.prefix(4000))),
                in_doubt = in_doubt AND NOT \(answered),
                next_attempt_at = now() + make_interval(secs => \(Double(ms) / 1000))
            WHERE id = \(id)
            """, logger: logger)
    }

    /// The SAS refused it for good (a 4xx other than 408/429): it and every later message
    /// of its appointment wait for the operator (`snpd feed retry`). The SAS answered, so a
    /// refused POST created nothing: it is no longer in doubt.
    public func feedParked(_ id: Int64, appointment: String, error: String) async throws {
        try await client.query(
            """
            UPDATE feed_outbox SET state = 'parked',
                last_error = CASE WHEN id = \(id) THEN \(String(error.prefix(4000))) ELSE last_error END,
                in_doubt = in_doubt AND id <> \(id)
            WHERE appointment = \(appointment) AND state = 'waiting'
            """, logger: logger)
    }

    /// `snpd feed retry`: the parked messages of `appointment` (or of all, `nil`) wait again,
    /// due at once. Returns how many.
    public func feedRetry(appointment: String?) async throws -> Int {
        var n = 0
        let rows = try await client.query(
            """
            UPDATE feed_outbox SET state = 'waiting', next_attempt_at = now()
            WHERE state = 'parked' AND (\(appointment)::text IS NULL OR appointment = \(appointment)) RETURNING id
            """, logger: logger)
        for try await _ in rows { n += 1 }
        return n
    }

    /// What waits, what is parked, and the age of the oldest waiting message.
    public func feedLevels() async throws -> OutboxLevels {
        var levels = OutboxLevels()
        let rows = try await client.query(
            """
            SELECT state, count(*)::bigint, COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8
            FROM feed_outbox WHERE state <> 'delivered' GROUP BY state
            """, logger: logger)
        for try await (state, count, age) in rows.decode((String, Int64, Double).self) {
            if state == "waiting" {
                levels.waiting = Int(count)
                levels.oldestWaitingSeconds = age
            } else {
                levels.parked = Int(count)
            }
        }
        return levels
    }

    /// Deletes delivered messages older than `days`; returns how many.
    public func pruneFeed(olderThanDays days: Int) async throws -> Int {
        var n = 0
        let rows = try await client.query(
            """
            DELETE FROM feed_outbox WHERE state = 'delivered' AND delivered_at < now() - make_interval(days => \(days)::int)
            RETURNING id
            """, logger: logger)
        for try await _ in rows { n += 1 }
        return n
    }

    /// The names of active regulator tokens without an operator identity (their bookings
    /// are not reported: the daemon warns at start when the feed is on).
    public func regulatorTokensWithoutOperator() async throws -> [String] {
        var names: [String] = []
        let rows = try await client.query(
            "SELECT name FROM tokens WHERE role = 'regulator' AND operator_id IS NULL AND revoked_at IS NULL ORDER BY name",
            logger: logger)
        for try await name in rows.decode(String.self) { names.append(name) }
        return names
    }
}
