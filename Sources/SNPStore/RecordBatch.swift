import Foundation
import SNPCore

/// The final value of each record a batch of changes touched, ready to write. Later
/// changes to the same record replace earlier ones: a commit writes each row once. A slot
/// or request that did not exist before the batch is new (inserted: a conflict on its id is
/// an error, never a merge); one that did is changed (updated: it must exist).
struct RecordBatch {
    private var pros: [RPPS: Professional] = [:]
    private var slots: [Int64: Slot] = [:]
    private var requests: [Int64: CareRequest] = [:]
    private var newSlots: Set<Int64> = []
    private var newRequests: Set<Int64> = []
    private var plans: [Int64: Plan] = [:]
    private var newPlans: Set<Int64> = []

    init(_ changes: [Change]) {
        for change in changes {
            switch change {
            case .professional(_, let p): pros[p.rpps] = p
            case .slot(let old, let s):
                if slots.updateValue(s, forKey: s.id.number) == nil, old == nil { newSlots.insert(s.id.number) }
            case .request(let old, let r):
                if requests.updateValue(r, forKey: r.id.number) == nil, old == nil { newRequests.insert(r.id.number) }
            case .plan(let old, let p):
                if plans.updateValue(p, forKey: p.id.number) == nil, old == nil { newPlans.insert(p.id.number) }
            }
        }
    }

    var isEmpty: Bool { pros.isEmpty && slots.isEmpty && requests.isEmpty && plans.isEmpty }

    /// The keys of the records touched, to tell which batches of a group share a record:
    /// one letter per kind of record (p professional, s slot, r request, l plan), then its key.
    var keys: Set<String> {
        var out = Set<String>()
        for rpps in pros.keys { out.insert("p" + rpps.value) }
        for n in slots.keys { out.insert("s\(n)") }
        for n in requests.keys { out.insert("r\(n)") }
        for n in plans.keys { out.insert("l\(n)") }
        return out
    }

    /// The JSON arrays of `snpd_commit`'s arguments (`json_to_recordset`), `nil` for a set
    /// with nothing to write. Instants travel as epoch seconds. Written by hand
    /// (`JSONRows`): `JSONEncoder` was 14 % of the daemon's time under a stream of bookings
    /// (docs/PERFORMANCE.md).
    func json() -> Rows {
        let slotList = slots.values.sorted { $0.id < $1.id }
        let requestList = requests.values.sorted { $0.id < $1.id }
        return Rows(
            pros: JSONRows.array(pros.values.sorted { $0.rpps.value < $1.rpps.value }, RecordBatch.write),
            newSlots: JSONRows.array(slotList.filter { newSlots.contains($0.id.number) }, RecordBatch.write),
            slotChanges: JSONRows.array(slotList.filter { !newSlots.contains($0.id.number) }, RecordBatch.write),
            newRequests: JSONRows.array(requestList.filter { newRequests.contains($0.id.number) }, RecordBatch.write),
            requestChanges: JSONRows.array(requestList.filter { !newRequests.contains($0.id.number) }, RecordBatch.write),
            plans: JSONRows.array(plans.values.sorted { $0.id < $1.id }) { p, row in
                RecordBatch.write(p, isNew: newPlans.contains(p.id.number), &row)
            })
    }

    struct Rows {
        var pros: String?
        var newSlots: String?
        var slotChanges: String?
        var newRequests: String?
        var requestChanges: String?
        var plans: String?
    }

    /// The columns of `snpd_commit`'s `plans` (sql/013_plans.sql); `is_new` says insert or update.
    static func write(_ p: Plan, isNew: Bool, _ row: inout JSONRows) {
        let d = p.draft
        row.field("id", p.id.number)
        row.field("is_new", isNew)
        row.field("pro", d.pro.value)
        row.field("days", d.days.description)
        row.field("from_min", Int64(d.from))
        row.field("to_min", Int64(d.to))
        row.field("length_s", d.lengthSeconds.map(Int64.init))
        row.field("mode", d.mode.rawValue)
        row.field("capacity", Int64(d.capacity))
        row.field("kind", d.kind.rawValue)
        row.field("until", d.until.map(ParisTime.dayString))
        row.field("created_at", p.createdAt)
        row.field("deleted_at", p.deletedAt)
        row.field("cursor_pos", Int64(p.cursor))
        row.field("published", Int64(p.published))
        row.field("skipped", Int64(p.skipped))
        row.field("updated_at", p.updatedAt)
    }

    /// `snpd_commit`'s `outbox` (sql/012_feed_outbox.sql): `n` keeps the order, the body
    /// is the Appointment's JSON as it is (already JSON: not quoted).
    static func outboxJSON(_ messages: [FeedMessage]) -> String? {
        guard !messages.isEmpty else { return nil }
        var text = "["
        for (i, m) in messages.enumerated() {
            text += i == 0 ? "{\"n\":" : ",{\"n\":"
            text += String(i + 1)
            text += ",\"appointment\":"
            JSONRows.appendQuoted(m.appointment, to: &text)
            text += ",\"method\":\"" + m.method.rawValue + "\",\"body\":"
            text += m.body
            text += "}"
        }
        return text + "]"
    }

    /// The columns of `snpd_commit`'s `pros` (sql/013_plans.sql, the function's one definition).
    static func write(_ p: Professional, _ row: inout JSONRows) {
        row.field("rpps", p.rpps.value)
        row.field("profession", p.profession.rawValue)
        row.field("name", p.name)
        row.field("lat", p.location.lat)
        row.field("lon", p.location.lon)
        row.field("home_radius_km", p.homeRadiusKm)
        row.field("weekly_cap", p.weeklyCap.map(Int64.init))
        row.field("territory", p.territory)
        row.field("address", p.contact.address)
        row.field("city", p.contact.city)
        row.field("postcode", p.contact.postcode)
        row.field("phone", p.contact.phone)
        row.field("given", p.contact.given)
        row.field("family", p.contact.family)
        row.field("structure", p.contact.structure)
        row.field("active", p.active)
        row.field("updated_at", p.updatedAt)
    }

    /// The columns of `snpd_commit`'s `slots`.
    static func write(_ s: Slot, _ row: inout JSONRows) {
        row.field("id", s.id.number)
        row.field("pro", s.pro.value)
        row.field("profession", s.profession.rawValue)
        row.field("starts_at", s.start)
        row.field("ends_at", s.end)
        row.field("mode", s.mode.rawValue)
        row.field("capacity", Int64(s.capacity))
        row.field("ref", s.ref)
        row.field("created_at", s.createdAt)
        row.field("withdrawn_at", s.withdrawnAt)
        row.field("kind", s.kind.rawValue)
    }

    /// The columns of `snpd_commit`'s `reqs`.
    static func write(_ r: CareRequest, _ row: inout JSONRows) {
        // The slot columns hold the current slot, else the last one (the report reads them).
        let a = r.lastAssignment
        row.field("id", r.id.number)
        row.field("ref", r.spec.ref)
        row.field("owner", r.owner)
        row.field("profession", r.spec.profession.rawValue)
        row.field("priority", Int64(r.spec.priority))
        row.field("modes", r.spec.modes.description)
        row.field("lat", r.spec.location.lat)
        row.field("lon", r.spec.location.lon)
        row.field("within_s", Int64(r.spec.withinSeconds))
        row.field("radius_km", r.spec.radiusKm)
        row.field("hold_s", r.spec.holdSeconds.map(Int64.init))
        row.field("wanted_slot", r.spec.slot?.number)
        row.field("created_at", r.createdAt)
        row.field("deadline", r.deadline)
        row.field("state", r.state.rawValue)
        row.field("slot_id", a?.slot.number)
        row.field("pro", a?.pro.value)
        row.field("slot_start", a?.start)
        row.field("slot_end", a?.end)
        row.field("slot_mode", a?.mode.rawValue)
        row.field("distance_km", a?.distanceKm)
        row.field("cost", a?.cost)
        row.field("matched_at", a?.at)
        row.field("hold_until", r.holdUntil)
        row.field("booked_at", r.bookedAt)
        row.field("declined", r.declined.map(\.number))
        row.field("reason", r.reason)
        row.field("closed_at", r.closedAt)
        row.field("updated_at", r.updatedAt)
        row.field("decide_s", r.spec.decideSeconds.map(Int64.init))
        row.field("decide_by", r.decideBy)
    }
}

/// A JSON array of flat objects, written straight into a string: strings escaped as
/// RFC 8259 requires, numbers in their shortest round-trip form, instants as epoch
/// seconds, `null` for a missing value (and for a number that is not finite).
struct JSONRows {
    private(set) var text = "["
    private var fieldCount = 0

    /// `nil` for no rows; else the array of one object per row, written by `body`.
    static func array<Row>(_ rows: [Row], _ body: (Row, inout JSONRows) -> Void) -> String? {
        guard !rows.isEmpty else { return nil }
        var json = JSONRows()
        for (i, row) in rows.enumerated() {
            json.text += i == 0 ? "{" : ",{"
            json.fieldCount = 0
            body(row, &json)
            json.text += "}"
        }
        json.text += "]"
        return json.text
    }

    private mutating func key(_ name: String) {
        text += fieldCount == 0 ? "\"" : ",\""
        text += name
        text += "\":"
        fieldCount += 1
    }

    mutating func field(_ name: String, _ value: String?) {
        key(name)
        guard let value else { return text += "null" }
        JSONRows.appendQuoted(value, to: &text)
    }

    mutating func field(_ name: String, _ value: Int64?) {
        key(name)
        text += value.map { String($0) } ?? "null"
    }

    mutating func field(_ name: String, _ value: Double?) {
        key(name)
        guard let value, value.isFinite else { return text += "null" }
        text += value.description
    }

    mutating func field(_ name: String, _ value: Date?) {
        field(name, value.map(\.epochSeconds))
    }

    mutating func field(_ name: String, _ value: Bool) {
        key(name)
        text += value ? "true" : "false"
    }

    mutating func field(_ name: String, _ values: [Int64]) {
        key(name)
        text += "["
        text += values.map { String($0) }.joined(separator: ",")
        text += "]"
    }

    mutating func field(_ name: String, _ values: [String]) {
        key(name)
        text += "["
        for (i, value) in values.enumerated() {
            if i > 0 { text += "," }
            JSONRows.appendQuoted(value, to: &text)
        }
        text += "]"
    }

    /// `value` as a JSON string: SNPCore's `JSONString`, the one escaper of snpd's JSON.
    static func appendQuoted(_ value: String, to text: inout String) {
        JSONString.append(value, to: &text)
    }
}
