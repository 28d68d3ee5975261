import Foundation
import SNPCore
import SNPProtocol
import SNPStore

/// How records read on the wire: one place, so `GET`, `LIST`, `FIND` and `EVENT` agree.
enum RecordFields {
    static func professional(_ p: Professional, policy: MatchingPolicy) -> Fields {
        var f = Fields()
        f.add("pro", p.rpps.value)
        f.add("prof", p.profession.rawValue)
        f.add("name", p.name)
        f.add("lat", number: p.location.lat, decimals: 6)
        f.add("lon", number: p.location.lon, decimals: 6)
        f.add("home_radius_km", number: p.homeRadiusKm ?? policy.homeRadiusKm, decimals: 1)
        f.add("weekly_cap", p.weeklyCap.map(String.init) ?? "none")
        f.add("territory", p.territory ?? "none")
        let c = p.contact
        for (key, value) in [
            ("address", c.address), ("city", c.city), ("postcode", c.postcode), ("phone", c.phone), ("given", c.given),
            ("family", c.family), ("structure", c.structure),
        ] {
            if let value { f.add(key, value) }
        }
        f.add("active", p.active ? "true" : "false")
        return f
    }

    static func slot(_ s: Slot, taken: Int) -> Fields {
        var f = Fields(capacity: 10)  // and `SLOT FIND` adds two
        f.add("id", s.id.description)
        f.add("pro", s.pro.value)
        f.add("prof", s.profession.rawValue)
        f.add("start", time: s.start)
        f.add("end", time: s.end)
        f.add("mode", s.mode.rawValue)
        f.add("capacity", integer: s.capacity)
        f.add("booked", integer: taken)
        f.add("kind", s.kind.rawValue)
        return f
    }

    /// `PLAN LIST`: `plan id=… pro=… days=… from=… to=… length=… mode=… capacity=… kind=… until=… published=… skipped=…`.
    static func plan(_ p: Plan) -> Fields {
        let d = p.draft
        var f = Fields()
        f.add("id", p.id.description)
        f.add("pro", d.pro.value)
        f.add("days", d.days.description)
        f.add("from", Plan.clock(d.from))
        f.add("to", Plan.clock(d.to))
        f.add("length", d.kind == .extra ? "none" : DurationText.format(seconds: d.lengthSeconds ?? (d.to - d.from) * 60))
        f.add("mode", d.mode.rawValue)
        f.add("capacity", integer: d.capacity)
        f.add("kind", d.kind.rawValue)
        f.add("until", d.until.map(ParisTime.dayString) ?? "none")
        f.add("published", integer: p.published)
        f.add("skipped", integer: p.skipped)
        return f
    }

    /// The assignment part of a matched request: `slot= pro= start= end= mode= dist_km= cost=`.
    static func assignment(_ a: Assignment) -> Fields {
        var f = Fields()
        f.add("slot", a.slot.description)
        f.add("pro", a.pro.value)
        f.add("start", time: a.start)
        f.add("end", time: a.end)
        f.add("mode", a.mode.rawValue)
        f.add("dist_km", number: a.distanceKm)
        f.add("cost", number: a.cost, decimals: 3)
        if a.kind == .extra { f.add("kind", a.kind.rawValue) }
        return f
    }

    /// The reply of a command that (re)matches a request (§3.8): booked, held or queued.
    static func outcome(_ r: CareRequest, rank: Int?) -> Fields {
        var f = Fields()
        f.add("req", r.id.description)
        f.add("state", r.state.rawValue)
        switch r.state {
        case .booked, .held, .honored, .noshow:
            if let a = r.assignment { f.append(assignment(a)) }
            if r.state == .held, let until = r.holdUntil { f.add("hold_until", time: until) }
        case .pending:
            if let by = r.decideBy { f.add("decide_by", time: by) }
        case .queued:
            if let rank { f.add("rank", integer: rank) }
            f.add("deadline", time: r.deadline)
        case .expired, .cancelled:
            f.add("reason", r.reason)
        }
        return f
    }

    /// `REQ GET`: the request, and its slot while it has one.
    static func request(_ r: CareRequest, rank: Int?) -> Fields {
        var f = Fields()
        f.add("req", r.id.description)
        f.add("ref", r.spec.ref)
        f.add("state", r.state.rawValue)
        f.add("prof", r.spec.profession.rawValue)
        f.add("prio", integer: r.spec.priority)
        f.add("mode", r.spec.modes.description)
        f.add("created", time: r.createdAt)
        f.add("deadline", time: r.deadline)
        if r.state.occupiesSlot, let a = r.assignment { f.append(assignment(a)) }
        if r.state == .held, let until = r.holdUntil { f.add("hold_until", time: until) }
        if r.state == .queued, let rank { f.add("rank", integer: rank) }
        if r.state == .pending, let by = r.decideBy { f.add("decide_by", time: by) }
        if let booked = r.bookedAt { f.add("booked_at", time: booked) }
        f.add("reason", r.reason)
        if let closed = r.closedAt { f.add("closed", time: closed) }
        return f
    }

    /// `EVENT req=… state=…`: what a watcher needs to act, without the patient's location.
    static func event(_ r: CareRequest) -> Fields {
        var f = Fields()
        f.add("req", r.id.description)
        f.add("ref", r.spec.ref)
        f.add("state", r.state.rawValue)
        if r.state.occupiesSlot, let a = r.assignment {
            f.add("slot", a.slot.description)
            f.add("pro", a.pro.value)
            f.add("start", time: a.start)
            if a.kind == .extra { f.add("kind", a.kind.rawValue) }
        }
        if r.state == .held, let until = r.holdUntil { f.add("hold_until", time: until) }
        if r.state == .pending, let by = r.decideBy { f.add("decide_by", time: by) }
        f.add("reason", r.reason)
        return f
    }

    /// Lists read as `id=` followed by the fields of the matching `GET`.
    /// A list line's fields: `id=` first, as slot lines have it (SPEC §3.7), and the item's
    /// own identifier field (`req=`, `pro=`) not repeated.
    static func listItem(id: String, kind: String, _ fields: Fields) -> Fields {
        var f = Fields()
        f.add("id", id)
        f.append(fields, except: kind)
        return f
    }
}
