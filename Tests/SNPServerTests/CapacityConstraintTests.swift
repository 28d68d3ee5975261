import Foundation
import PostgresNIO
import SNPStore
import SNPTesting
import Testing

/// §4.4 in the database itself: whatever writes the requests, a slot never holds more
/// bookings and holds than its capacity (sql/007_capacity_per_statement.sql). These tests
/// write through `snpd_commit`, as the daemon does, and with plain SQL, as nothing else should.
@Suite("The capacity check of the schema, against a real PostgreSQL")
struct CapacityConstraintTests {
    @Test func aCommitThatOverbooksASlotIsRefusedWhole() async throws {
        try await withSlots(capacities: [1]) { store in
            let refused = await Self.sqlState {
                try await Self.commit(store, requests: [Self.request(1, slot: 1), Self.request(2, slot: 1)])
            }
            #expect(refused == "23514")
            let requests = try await store.integer("SELECT count(*)::int FROM requests")
            let audit = try await store.integer("SELECT count(*)::int FROM audit_log")
            #expect(requests == 0 && audit == 0, "nothing of it was written")
        }
    }

    @Test func placesUpToTheCapacityAndMovesInOneCommitAreAccepted() async throws {
        try await withSlots(capacities: [2, 1]) { store in
            try await Self.commit(store, requests: [Self.request(1, slot: 1), Self.request(2, slot: 1), Self.request(3, slot: 2)])
            // In one commit: 1 is cancelled, 3 moves from slot 2 to the place 1 left on slot 1,
            // and 4 takes the place 3 left on slot 2. Every slot ends at its capacity.
            try await Self.commit(
                store,
                requests: [
                    Self.request(1, slot: 1, state: "cancelled"), Self.request(3, slot: 1), Self.request(4, slot: 2),
                ])
            #expect(try await store.integer("SELECT count(*)::int FROM requests WHERE state = 'booked'") == 3)
            // A third place on the full slot 1, by an update: a queued request booked there, a
            // booking moved there from slot 2, the cancelled request (still naming slot 1)
            // booked again. Each is refused, and leaves its request as it was.
            try await Self.commit(store, requests: [Self.request(5, slot: nil, state: "queued")])
            for update in [Self.request(5, slot: 1), Self.request(4, slot: 1), Self.request(1, slot: 1)] {
                let refused = await Self.sqlState { try await Self.commit(store, requests: [update]) }
                #expect(refused == "23514")
            }
            #expect(try await Self.places(store) == "1:cancelled:1 2:booked:1 3:booked:1 4:booked:2 5:queued:-")
        }
    }

    @Test func plainSQLCannotOverbookEither() async throws {
        try await withSlots(capacities: [1, 1]) { store in
            try await Self.commit(
                store, requests: [Self.request(1, slot: 1), Self.request(2, slot: nil, state: "queued")])
            let byUpdate = await Self.sqlState {
                try await Self.execute(store, "UPDATE requests SET state = 'booked', slot_id = 1 WHERE id = 2")
            }
            #expect(byUpdate == "23514")
            let byInsert = await Self.sqlState {
                try await Self.execute(
                    store,
                    """
                    INSERT INTO requests (id, ref, owner, profession, priority, modes, lat, lon, within_s, created_at,
                        deadline, state, slot_id, updated_at)
                    VALUES (9, 'X9', 't', 'gp', 2, 'office', 47.6, -2.7, 3600, now(), now(), 'held', 1, now())
                    """)
            }
            #expect(byInsert == "23514")
            // Changing what is not a place (the retention job blurs locations) is not checked
            // against capacity, and an honoured booking stays where it is.
            try await Self.execute(store, "UPDATE requests SET lat = 47.7, state = 'honored' WHERE id = 1")
            try await Self.execute(store, "UPDATE requests SET state = 'booked', slot_id = 2 WHERE id = 2")
            #expect(try await store.integer("SELECT count(*)::int FROM requests WHERE slot_id IS NOT NULL") == 2)
        }
    }

    // MARK: - Fixture

    /// A fresh database with one professional and one slot per capacity (ids 1, 2, …).
    private func withSlots(capacities: [Int], _ body: @Sendable @escaping (Store) async throws -> Void) async throws {
        let db = try await TestPostgres.freshDatabase()
        try await TestPostgres.withStore(db) { store in
            try await Self.execute(
                store,
                "INSERT INTO professionals (rpps, profession, name, lat, lon, active, updated_at) VALUES ('10000000001', 'gp', 'Dr A', 47.6, -2.7, true, now())"
            )
            for (k, capacity) in capacities.enumerated() {
                let id = k + 1
                try await Self.execute(
                    store,
                    """
                    INSERT INTO slots (id, pro, profession, starts_at, ends_at, mode, capacity, created_at)
                    VALUES (\(id), '10000000001', 'gp', now() + make_interval(hours => \(id)),
                        now() + make_interval(hours => \(id), mins => 30), 'office', \(capacity), now())
                    """)
            }
            try await body(store)
        }
    }

    /// The row `snpd_commit` takes for request `id`: booked on `slot`, or in `state` without one.
    private static func request(_ id: Int, slot: Int?, state: String = "booked") -> String {
        let place = slot.map { "\"slot_id\":\($0),\"pro\":\"10000000001\",\"booked_at\":1790000000" } ?? "\"slot_id\":null"
        return """
            {"id":\(id),"ref":"R\(id)","owner":"t","profession":"gp","priority":2,"modes":"office","lat":47.6,"lon":-2.7,\
            "within_s":172800,"created_at":1790000000,"deadline":1790172800,"state":"\(state)",\(place),"declined":[],\
            "updated_at":1790000000}
            """
    }

    /// One group commit as the daemon sends it: the requests (inserted if new, updated if
    /// they exist), and one audit row.
    private static func commit(_ store: Store, requests: [String]) async throws {
        var existing = Set<Int>()
        for try await id in try await store.client.query("SELECT id::int FROM requests").decode(Int.self) { existing.insert(id) }
        func id(_ row: String) -> Int { Int(row.split(separator: ",")[0].dropFirst(#"{"id":"#.count))! }
        func array(_ rows: [String]) -> String? { rows.isEmpty ? nil : "[" + rows.joined(separator: ",") + "]" }
        let fresh = array(requests.filter { !existing.contains(id($0)) })
        let changed = array(requests.filter { existing.contains(id($0)) })
        let audit = #"[{"at":1790000000,"token":"t","command":"REQ ADD","objects":["r1"]}]"#
        let result = try await store.client.query(
            """
            SELECT snpd_commit(NULL, gen_random_uuid(), 1, NULL, NULL, NULL, \(fresh)::text::json, \(changed)::text::json, \
            \(audit)::text::json, NULL)
            """)
        for try await _ in result {}
    }

    /// Runs one statement to its end (a trigger's error arrives with the end of the statement).
    private static func execute(_ store: Store, _ sql: String) async throws {
        for try await _ in try await store.client.query(PostgresQuery(unsafeSQL: sql)) {}
    }

    /// Every request as `id:state:slot`, by id.
    private static func places(_ store: Store) async throws -> String {
        var text = ""
        let sql = "SELECT string_agg(id || ':' || state || ':' || coalesce(slot_id::text, '-'), ' ' ORDER BY id) FROM requests"
        for try await t in try await store.client.query(PostgresQuery(unsafeSQL: sql)).decode(String.self) { text = t }
        return text
    }

    /// The SQLSTATE `body` failed with, or nil if it succeeded.
    private static func sqlState(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let error as PSQLError {
            return error.serverInfo?[.sqlState] ?? "?"
        } catch {
            return "not a PostgreSQL error: \(error)"
        }
    }
}
