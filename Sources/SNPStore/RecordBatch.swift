import Foundation
import SNPCore

/// The final value of each record a batch of changes touched, ready to upsert. Later
/// changes to the same record replace earlier ones: a commit writes each row once.
struct RecordBatch {
    private var pros: [RPPS: Professional] = [:]
    private var slots: [Int64: Slot] = [:]
    private var requests: [Int64: CareRequest] = [:]

    init(_ changes: [Change]) {
        for change in changes {
            switch change {
            case .professional(_, let p): pros[p.rpps] = p
            case .slot(_, let s): slots[s.id.number] = s
            case .request(_, let r): requests[r.id.number] = r
            }
        }
    }

    var isEmpty: Bool { pros.isEmpty && slots.isEmpty && requests.isEmpty }

    /// JSON arrays for `jsonb_to_recordset`, `nil` for a table with nothing to write.
    /// Instants travel as epoch seconds.
    func json() throws -> (String?, String?, String?) {
        let encoder = JSONEncoder()
        func encode<T: Encodable>(_ rows: [T]) throws -> String? {
            rows.isEmpty ? nil : String(decoding: try encoder.encode(rows), as: UTF8.self)
        }
        return (
            try encode(pros.values.map(ProRow.init)),
            // Withdrawals first, so a slot withdrawn and one republished over it in the
            // same batch never meet in the overlap check (it is deferred anyway).
            try encode(slots.values.sorted { ($0.withdrawnAt != nil ? 0 : 1, $0.id) < ($1.withdrawnAt != nil ? 0 : 1, $1.id) }.map(SlotRow.init)),
            try encode(requests.values.sorted { $0.id < $1.id }.map(RequestRow.init))
        )
    }
}

private func seconds(_ d: Date?) -> Double? { d.map { Double($0.epochSeconds) } }

private struct ProRow: Encodable {
    var rpps: String, profession: String, name: String, lat: Double, lon: Double
    var home_radius_km: Double?, weekly_cap: Int?, territory: String?, active: Bool, updated_at: Double

    init(_ p: Professional) {
        rpps = p.rpps.value
        profession = p.profession.rawValue
        name = p.name
        lat = p.location.lat
        lon = p.location.lon
        home_radius_km = p.homeRadiusKm
        weekly_cap = p.weeklyCap
        territory = p.territory
        active = p.active
        updated_at = Double(p.updatedAt.epochSeconds)
    }
}

private struct SlotRow: Encodable {
    var id: Int64, pro: String, profession: String, starts_at: Double, ends_at: Double, mode: String
    var capacity: Int, ref: String?, created_at: Double, withdrawn_at: Double?

    init(_ s: Slot) {
        id = s.id.number
        pro = s.pro.value
        profession = s.profession.rawValue
        starts_at = Double(s.start.epochSeconds)
        ends_at = Double(s.end.epochSeconds)
        mode = s.mode.rawValue
        capacity = s.capacity
        ref = s.ref
        created_at = Double(s.createdAt.epochSeconds)
        withdrawn_at = seconds(s.withdrawnAt)
    }
}

private struct RequestRow: Encodable {
    var id: Int64, ref: String, owner: String, profession: String, priority: Int, modes: String
    var lat: Double, lon: Double, within_s: Int, radius_km: Double?, hold_s: Int?, wanted_slot: Int64?
    var created_at: Double, deadline: Double, state: String
    var slot_id: Int64?, pro: String?, slot_start: Double?, slot_end: Double?, slot_mode: String?
    var distance_km: Double?, cost: Double?, matched_at: Double?
    var hold_until: Double?, booked_at: Double?, declined: [Int64], reason: String?, closed_at: Double?
    var updated_at: Double

    init(_ r: CareRequest) {
        id = r.id.number
        ref = r.spec.ref
        owner = r.owner
        profession = r.spec.profession.rawValue
        priority = r.spec.priority
        modes = r.spec.modes.description
        lat = r.spec.location.lat
        lon = r.spec.location.lon
        within_s = r.spec.withinSeconds
        radius_km = r.spec.radiusKm
        hold_s = r.spec.holdSeconds
        wanted_slot = r.spec.slot?.number
        created_at = Double(r.createdAt.epochSeconds)
        deadline = Double(r.deadline.epochSeconds)
        state = r.state.rawValue
        slot_id = r.assignment?.slot.number
        pro = r.assignment?.pro.value
        slot_start = seconds(r.assignment?.start)
        slot_end = seconds(r.assignment?.end)
        slot_mode = r.assignment?.mode.rawValue
        distance_km = r.assignment?.distanceKm
        cost = r.assignment?.cost
        matched_at = seconds(r.assignment?.at)
        hold_until = seconds(r.holdUntil)
        booked_at = seconds(r.bookedAt)
        declined = r.declined.map(\.number)
        reason = r.reason
        closed_at = seconds(r.closedAt)
        updated_at = Double(r.updatedAt.epochSeconds)
    }
}
