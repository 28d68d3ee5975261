import Foundation
import Logging
import PostgresNIO
import SNPCore
import Synchronization

/// snpd's state in PostgreSQL: the schema's migrations, reading every record back at start,
/// and committing the engine's changes, many commands to one transaction.
public final class Store: Sendable {
    public let client: PostgresClient
    public let settings: DatabaseSettings
    let logger: Logger
    /// The leadership epoch every commit must still find (see `Leadership`); `nil` until set.
    private let fence = Mutex<Int64?>(nil)

    public func setFence(epoch: Int64) { fence.withLock { $0 = epoch } }

    public init(settings: DatabaseSettings, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        client = PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: logger)
    }

    /// Runs the connection pool; returns when cancelled. Start it before any query.
    public func run() async { await client.run() }

    /// Runs `body` with a live connection pool on `settings`, then stops the pool: for
    /// one-shot commands (`snpd migrate`, `token`, `report`) and tests.
    public static func withRunning<T: Sendable>(
        _ settings: DatabaseSettings, logger: Logger, _ body: @Sendable @escaping (Store) async throws -> T
    ) async throws -> T {
        let store = try Store(settings: settings, logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await store.run()
                return nil
            }
            group.addTask { try await body(store) }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            throw CancellationError()
        }
    }

    // MARK: Migrations

    /// Applies, in order and each in its own transaction, the `NNN_name.sql` files of
    /// `directory` not yet recorded in `schema_migrations`. Returns the names applied.
    /// An advisory lock keeps two processes from migrating at once.
    @discardableResult
    public func migrate(directory: URL) async throws -> [String] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".sql") && $0.first?.isNumber == true }
            .sorted()
        guard !files.isEmpty else { throw SettingsError("no migrations (NNN_name.sql) in \(directory.path)") }
        return try await client.withTransaction(logger: logger) { conn in
            try await conn.query("SELECT pg_advisory_xact_lock(7441001)", logger: self.logger)
            try await conn.query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                logger: self.logger)
            var done = Set<Int>()
            for try await v in try await conn.query("SELECT version FROM schema_migrations", logger: self.logger).decode(Int.self) {
                done.insert(v)
            }
            var applied: [String] = []
            for file in files {
                guard let version = Int(file.prefix { $0.isNumber }), !done.contains(version) else { continue }
                let sql = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
                for statement in SQLScript.statements(sql) {
                    try await conn.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                }
                try await conn.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(version), \(file))", logger: self.logger)
                applied.append(file)
            }
            return applied
        }
    }

    /// Finds the `sql/` folder: `SNPD_SQL_DIR`, else `./sql`, else next to the executable
    /// (`.build/release/snpd` → `sql/`, `/usr/local/bin/snpd` → `/usr/local/share/snpd/sql`).
    public static func migrationsDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        var candidates: [URL] = []
        if let d = environment["SNPD_SQL_DIR"] { candidates.append(URL(fileURLWithPath: d)) }
        candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("sql"))
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        candidates.append(exe.appendingPathComponent("../../../sql").standardized)
        candidates.append(exe.appendingPathComponent("../../sql").standardized)
        candidates.append(exe.appendingPathComponent("../share/snpd/sql").standardized)
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("001_initial.sql").path) }
    }

    // MARK: Loading

    /// Every record, to rebuild the engine at start or after an outage: one consistent
    /// snapshot (a repeatable-read transaction), so that a commit landing meanwhile is
    /// either wholly in it or wholly out.
    public func loadAll() async throws -> (
        professionals: [Professional], slots: [Slot], requests: [CareRequest], plans: [Plan]
    ) {
        try await client.withConnection { conn in
            try await conn.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: self.logger)
            do {
                let all = try await self.loadAll(conn)
                try await conn.query("COMMIT", logger: self.logger)
                return all
            } catch {
                _ = try? await conn.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }

    private func loadAll(_ conn: PostgresConnection) async throws -> (
        professionals: [Professional], slots: [Slot], requests: [CareRequest], plans: [Plan]
    ) {
        var pros: [Professional] = []
        let proRows = try await conn.query(
            """
            SELECT rpps, profession, name, lat, lon, home_radius_km, weekly_cap, territory, active, updated_at,
                address, city, postcode, phone, given, family, structure
            FROM professionals
            """,
            logger: logger)
        for try await row in proRows {
            let c = row.makeRandomAccess()
            pros.append(
                Professional(
                    rpps: RPPS(trusted: try c[0].decode(String.self)),
                    profession: try Self.enumValue(c[1].decode(String.self)),
                    name: try c[2].decode(String.self),
                    location: GeoPoint(lat: try c[3].decode(Double.self), lon: try c[4].decode(Double.self)),
                    homeRadiusKm: try c[5].decode(Double?.self), weeklyCap: try c[6].decode(Int?.self),
                    territory: try c[7].decode(String?.self),
                    contact: PracticeContact(
                        address: try c[10].decode(String?.self), city: try c[11].decode(String?.self),
                        postcode: try c[12].decode(String?.self), phone: try c[13].decode(String?.self),
                        given: try c[14].decode(String?.self), family: try c[15].decode(String?.self),
                        structure: try c[16].decode(String?.self)),
                    active: try c[8].decode(Bool.self),
                    updatedAt: try c[9].decode(Date.self)))
        }
        var slots: [Slot] = []
        let slotRows = try await conn.query(
            "SELECT id, pro, profession, starts_at, ends_at, mode, capacity, ref, created_at, withdrawn_at, kind FROM slots ORDER BY id",
            logger: logger)
        for try await row in slotRows {
            let c = row.makeRandomAccess()
            let profession: Profession = try Self.enumValue(c[2].decode(String.self))
            let mode: SlotMode = try Self.enumValue(c[5].decode(String.self))
            slots.append(
                Slot(
                    id: .slot(try c[0].decode(Int64.self)), pro: RPPS(trusted: try c[1].decode(String.self)),
                    profession: profession, start: try c[3].decode(Date.self), end: try c[4].decode(Date.self),
                    mode: mode, capacity: try c[6].decode(Int.self), ref: try c[7].decode(String?.self),
                    createdAt: try c[8].decode(Date.self), withdrawnAt: try c[9].decode(Date?.self),
                    kind: try Self.enumValue(c[10].decode(String.self))))
        }
        // A request's row does not say the kind of its slot: the slot does.
        let extraSlots = Set(slots.filter(\.isExtra).map(\.id.number))
        var requests: [CareRequest] = []
        let requestRows = try await conn.query(
            """
            SELECT id, ref, owner, profession, priority, modes, lat, lon, within_s, radius_km, hold_s, wanted_slot,
                   created_at, deadline, state, slot_id, pro, slot_start, slot_end, slot_mode, distance_km, cost,
                   matched_at, hold_until, booked_at, declined, reason, closed_at, updated_at, decide_s, decide_by
            FROM requests ORDER BY id
            """, logger: logger)
        for try await row in requestRows {
            let c = row.makeRandomAccess()
            var modes = ModeSet()
            for m in try c[5].decode(String.self).split(separator: ",") {
                modes.insert(ModeSet(try Self.enumValue(String(m)) as SlotMode))
            }
            let spec = RequestSpec(
                ref: try c[1].decode(String.self), profession: try Self.enumValue(c[3].decode(String.self)),
                priority: Int(try c[4].decode(Int16.self)), modes: modes,
                location: GeoPoint(lat: try c[6].decode(Double.self), lon: try c[7].decode(Double.self)),
                withinSeconds: try c[8].decode(Int.self), radiusKm: try c[9].decode(Double?.self),
                holdSeconds: try c[10].decode(Int?.self), slot: try c[11].decode(Int64?.self).map(SlotID.slot),
                decideSeconds: try c[29].decode(Int?.self))
            var r = CareRequest(
                id: .request(try c[0].decode(Int64.self)), spec: spec, owner: try c[2].decode(String.self),
                createdAt: try c[12].decode(Date.self), deadline: try c[13].decode(Date.self))
            r.state = try Self.enumValue(c[14].decode(String.self))
            if let slot = try c[15].decode(Int64?.self) {
                // The slot columns are its current slot while it occupies one, else its last.
                let a = Assignment(
                    slot: .slot(slot), pro: RPPS(trusted: try c[16].decode(String.self)),
                    start: try c[17].decode(Date.self), end: try c[18].decode(Date.self),
                    mode: try Self.enumValue(c[19].decode(String.self)), distanceKm: try c[20].decode(Double.self),
                    cost: try c[21].decode(Double.self), at: try c[22].decode(Date.self),
                    kind: extraSlots.contains(slot) ? .extra : .regular)
                if r.state.occupiesSlot { r.assignment = a } else { r.formerAssignment = a }
            }
            r.holdUntil = try c[23].decode(Date?.self)
            r.bookedAt = try c[24].decode(Date?.self)
            r.declined = try c[25].decode([Int64].self).map(SlotID.slot)
            r.reason = try c[26].decode(String?.self)
            r.closedAt = try c[27].decode(Date?.self)
            r.updatedAt = try c[28].decode(Date.self)
            r.decideBy = try c[30].decode(Date?.self)
            requests.append(r)
        }
        var plans: [Plan] = []
        let planRows = try await conn.query(
            """
            SELECT id, pro, days, from_min, to_min, length_s, mode, capacity, kind, until::text, created_at, deleted_at,
                   cursor_pos, published, skipped, updated_at
            FROM plans ORDER BY id
            """, logger: logger)
        for try await row in planRows {
            let c = row.makeRandomAccess()
            let daysText = try c[2].decode(String.self)
            guard let days = Weekdays(parsing: daysText) else { throw SettingsError("unexpected days \(daysText) in plans") }
            let draft = PlanDraft(
                pro: RPPS(trusted: try c[1].decode(String.self)), days: days, from: try c[3].decode(Int.self),
                to: try c[4].decode(Int.self), lengthSeconds: try c[5].decode(Int?.self),
                mode: try Self.enumValue(c[6].decode(String.self)), capacity: try c[7].decode(Int.self),
                kind: try Self.enumValue(c[8].decode(String.self)),
                until: try c[9].decode(String?.self).flatMap(ParisTime.dayNumber(parsing:)))
            plans.append(
                Plan(
                    id: .plan(try c[0].decode(Int64.self)), draft: draft, createdAt: try c[10].decode(Date.self),
                    deletedAt: try c[11].decode(Date?.self), cursor: try c[12].decode(Int.self),
                    published: try c[13].decode(Int.self), skipped: try c[14].decode(Int.self),
                    updatedAt: try c[15].decode(Date.self)))
        }
        return (pros, slots, requests, plans)
    }

    static func enumValue<T: RawRepresentable>(_ raw: String) throws -> T where T.RawValue == String {
        guard let v = T(rawValue: raw) else { throw SettingsError("unexpected value \(raw) for \(T.self) in the database") }
        return v
    }

    // MARK: Group commit

    /// This daemon's run: with a commit's number, the key of the marker row every commit
    /// writes (sql/011_commit_marker.sql), by which a commit whose answer was lost is settled.
    public let run = UUID()
    private let lastCommitNumber = Atomic<Int64>(0)

    /// Writes the final value of every record changed by a group of commands in one
    /// transaction: one multi-row statement per table, whatever the number of commands, so
    /// that the cost of a commit (its WAL flush) is shared by all of them. Each commit is
    /// numbered within this run (its marker row).
    ///
    /// Throws `CommitFailure.refused` when the commit did not and will not land, and
    /// `.outcomeUnknown` when it was sent and its answer was not seen (a timeout, a dropped
    /// connection): then `settle(seq)` says what became of it.
    ///
    /// `outbox`: the SAS feed's messages reporting these changes (SPEC §8), written in the
    /// same transaction.
    public func commit(_ changes: [Change], audit: [AuditEntry] = [], outbox: [FeedMessage] = []) async throws(CommitFailure) {
        let batch = RecordBatch(changes)
        guard !batch.isEmpty else { return }
        let outboxJSON = RecordBatch.outboxJSON(outbox)
        let seq = lastCommitNumber.add(1, ordering: .relaxed).newValue
        let rows = batch.json()
        let auditJSON = JSONRows.array(audit) { entry, row in
            row.field("at", entry.at)
            row.field("token", entry.token)
            row.field("command", entry.command)
            row.field("objects", entry.objects)
        }
        let epoch = fence.withLock { $0 }
        let phase = SendPhase()
        do {
            try await withTimeout(commitTimeout) {
                try await self.client.withConnection { conn in
                    // Past this point the statement may reach the server: its outcome is ours
                    // to find out. Before it, a timeout means it was never sent.
                    guard phase.markSent() else { throw TimedOut() }
                    try await self.write(conn, rows, audit: auditJSON, outbox: outboxJSON, epoch: epoch, seq: seq)
                }
            }
        } catch {
            let sent = phase.abandon()
            if let lost = error as? LeadershipLost {
                onLeadershipLost.withLock { $0 }?(lost)
                throw .refused(Store.classify(lost), rowRefused: false)
            }
            if let p = error as? PSQLError, let state = p.serverInfo?[.sqlState], !Store.outcomeUncertain(state) {
                // The server answered with an error: the transaction rolled back.
                throw .refused(Store.classify(error), rowRefused: Store.rowRefused(state))
            }
            guard sent else { throw .refused(Store.classify(error), rowRefused: false) }
            throw .outcomeUnknown(seq: seq, Store.classify(error).message)
        }
    }

    /// The records `changes` touch, as opaque keys: to tell which commands of a group
    /// commit share a record.
    public static func recordKeys(_ changes: [Change]) -> Set<String> { RecordBatch(changes).keys }

    /// What keeps two group commits apart (`SNPD_COMMIT_CONCURRENCY`): a later batch of
    /// changes must not be committed beside an earlier one, unordered, when its `needs`
    /// meet the earlier one's `blocks`. Both hold the records touched (`recordKeys`);
    /// `blocks` adds the slot and professional of every place a request frees (a later
    /// booking may take that place, or that professional's week), `needs` those of every
    /// place a request takes (which may be a place freed, or a capacity raised, just
    /// before). Bookings of new requests on the same slot do not meet: each alone fits in
    /// memory, and the capacity check in the database counts what has committed.
    public static func commitKeys(_ changes: [Change]) -> (blocks: Set<String>, needs: Set<String>) {
        let records = RecordBatch(changes).keys
        var blocks = records
        var needs = records
        for case .request(let old, let new) in changes {
            let was = old.flatMap { $0.state.occupiesSlot ? $0.assignment : nil }
            let now = new.state.occupiesSlot ? new.assignment : nil
            guard was?.slot != now?.slot else { continue }
            if let was {
                blocks.insert("s\(was.slot.number)")
                blocks.insert("p" + was.pro.value)
            }
            if let now {
                needs.insert("s\(now.slot.number)")
                needs.insert("p" + now.pro.value)
            }
        }
        return (blocks, needs)
    }

    /// How long a commit may wait for the database before its outcome is settled
    /// (`SNPD_COMMIT_TIMEOUT_MS`, default 5 000: a regulator on the phone needs an answer).
    public var commitTimeout: Duration { settings.commitTimeout }

    /// One statement, its own transaction (`snpd_commit`, sql/013_plans.sql): one
    /// round trip per group commit.
    private func write(
        _ conn: PostgresConnection, _ rows: RecordBatch.Rows, audit: String?, outbox: String?, epoch: Int64?, seq: Int64
    ) async throws {
        do {
            let result = try await conn.query(
                """
                SELECT snpd_commit(\(epoch), \(run), \(seq), \(rows.pros)::text::json, \(rows.newSlots)::text::json, \
                \(rows.slotChanges)::text::json, \(rows.newRequests)::text::json, \(rows.requestChanges)::text::json, \
                \(audit)::text::json, \(outbox)::text::json, \(rows.plans)::text::json)
                """,
                logger: logger)
            // Drained to the end: a SELECT's error (a stale epoch, a constraint at commit)
            // arrives with its rows, after `query` has returned.
            for try await _ in result {}
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == Store.staleEpochState {
            throw LeadershipLost(description: error.serverInfo?[.message] ?? "another snpd leads this database now")
        }
    }

    /// Finds out whether commit `seq` of this run landed, making sure first that it never
    /// will if it has not: ends any commit backend of this database still running (a
    /// commit stalled on a lock, a full disk, a synchronous replica), then writes the
    /// commit's tombstone marker, which the commit itself cannot get past
    /// (sql/011_commit_marker.sql). Tries again every second until the database answers:
    /// the commands of that commit get no answer before their outcome is known (§3.3).
    public func settle(seq: Int64) async -> Bool {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let landed = try await withTimeout(.seconds(15)) { try await self.fenceAndLook(seq) }
                logger.notice(
                    "commit settled", metadata: ["seq": "\(seq)", "landed": "\(landed)", "attempts": "\(attempt)"])
                return landed
            } catch {
                logger.warning(
                    "cannot settle a commit yet; its commands wait for the database",
                    metadata: ["seq": "\(seq)", "error": "\(Store.classify(error).message)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func fenceAndLook(_ seq: Int64) async throws -> Bool {
        try await client.withConnection { conn in
            // Only the leader commits, one commit at a time, and none while one is being
            // settled: any `snpd_commit` still running here is the lost one (or a fenced
            // former leader's). Once its backend has exited, its transaction committed or
            // rolled back for good. The wait is bounded; the tombstone below is the fence.
            try await conn.query(
                """
                SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'
                    AND query LIKE 'SELECT snpd_commit(%'
                """, logger: self.logger)
            try await conn.query("BEGIN", logger: self.logger)
            do {
                // Waits for a commit that wrote its marker and is still finishing; bounded.
                try await conn.query("SET LOCAL lock_timeout = '5s'", logger: self.logger)
                // The tombstone fences a commit of this server: it need not wait for a
                // synchronous replica (which may be the very thing that stalled).
                try await conn.query("SET LOCAL synchronous_commit = local", logger: self.logger)
                var inserted = false
                for try await _ in try await conn.query(
                    "INSERT INTO snpd_commits (run, seq, landed) VALUES (\(self.run), \(seq), false) ON CONFLICT DO NOTHING RETURNING seq",
                    logger: self.logger)
                {
                    inserted = true
                }
                var landed = false
                if !inserted {
                    for try await value in try await conn.query(
                        "SELECT landed FROM snpd_commits WHERE run = \(self.run) AND seq = \(seq)", logger: self.logger
                    ).decode(Bool.self) {
                        landed = value
                    }
                }
                try await conn.query("COMMIT", logger: self.logger)
                return landed
            } catch {
                _ = try? await conn.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }

    /// What `snpd_commit` raises when another daemon has taken the lead.
    static let staleEpochState = "SN001"

    /// Server errors after which a commit may still have landed: the connection was cut
    /// (class 08), or the backend was terminated or the server shut down (57P), possibly
    /// after the commit record was written (a wait for a synchronous replica is cut so).
    static func outcomeUncertain(_ state: String) -> Bool { state.hasPrefix("08") || state.hasPrefix("57P") }

    /// Server errors that are about the rows written (a constraint, a value out of range),
    /// not about the database: the other commands of a group commit may still go through.
    static func rowRefused(_ state: String) -> Bool {
        state.hasPrefix("23") || state.hasPrefix("22") || state == "SN003"
    }

    /// Whether the database answers a trivial query within `limit`.
    public func ping(limit: Duration = .seconds(2)) async -> Bool {
        (try? await withTimeout(limit) { try await self.client.query("SELECT 1", logger: self.logger); return true }) ?? false
    }

    /// Called when a commit finds that another daemon leads: the daemon must stop.
    public let onLeadershipLost = Mutex<(@Sendable (LeadershipLost) -> Void)?>(nil)

    /// Connection trouble is `UNAVAILABLE` (retry); anything the server refused is a bug
    /// caught by the schema's constraints: `INTERNAL`.
    public static func classify(_ error: any Error) -> SNPError {
        if let e = error as? SNPError { return e }
        if error is LeadershipLost { return .unavailable("this snpd no longer leads the database; nothing was changed, retry") }
        if let p = error as? PSQLError, let state = p.serverInfo?[.sqlState] {
            if state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300" {
                return .unavailable("the database is unavailable (\(state)); nothing was changed, retry")
            }
            return .internal("the database refused the change (\(state): \(p.serverInfo?[.message] ?? "?")); nothing was changed")
        }
        return .unavailable("the database is unreachable; nothing was changed, retry")
    }
}

/// Why a group commit did not answer `OK`.
public enum CommitFailure: Error {
    /// It did not and will not land. `rowRefused`: the server refused the rows themselves (a
    /// constraint), not the database being away: the group's commands may be tried apart.
    case refused(SNPError, rowRefused: Bool)
    /// It was sent and its answer was not seen: `Store.settle` finds out what became of it.
    case outcomeUnknown(seq: Int64, String)
}

/// One line of the audit trail: who changed what, and when (ids only, no patient data).
public struct AuditEntry: Sendable {
    public var at: Double
    public var token: String
    public var command: String
    public var objects: [String]

    public init(at: Date, token: String, command: String, changes: [Change]) {
        self.at = Double(at.epochSeconds)
        self.token = token
        self.command = command
        var ids: [String] = []
        for change in changes {
            let id: String
            switch change {
            case .professional(_, let p): id = p.rpps.value
            case .slot(_, let s): id = s.id.description
            case .request(_, let r): id = r.id.description
            case .plan(_, let p): id = p.id.description
            }
            if !ids.contains(id) { ids.append(id) }
        }
        self.objects = ids
    }
}
