import Foundation

/// Which slots `SLOT LIST` shows.
public enum SlotListState: String, Sendable, CaseIterable {
    /// With a place left.
    case open
    /// Every place taken.
    case full
    case all
}

/// Counters of `STATS`.
public struct EngineStats: Sendable, Equatable {
    public var openSlots: Int
    public var queued: Int
    /// Requests asked with `decide=` and not yet decided.
    public var pending: Int
    public var held: Int
    public var bookedToday: Int
}

extension MatchingEngine {
    public func professional(_ rpps: RPPS) -> Professional? { professionals[rpps] }
    public func slot(_ id: SlotID) -> Slot? { slots[id.number] }
    public func request(_ id: RequestID) -> CareRequest? { requests[id.number] }
    /// The request `owner` created with this `ref`.
    public func request(ref: String, owner: String) -> CareRequest? {
        requestRefs[RequestRefKey(owner: owner, ref: ref)].flatMap { requests[$0] }
    }

    /// Every request created with this `ref`, whoever created it, by id: for the roles that
    /// read all requests. (A walk over every request: the index is keyed by owner.)
    public func requests(ref: String) -> [CareRequest] {
        requests.values.filter { $0.spec.ref == ref }.sorted { $0.id < $1.id }
    }

    /// 1-based position of a queued request among the waiting requests of its profession.
    public func rank(of r: CareRequest) -> Int? { queue.rank(of: r) }

    public func listProfessionals(profession: Profession?, territory: String?) -> [Professional] {
        professionals.values
            .filter { p in (profession.map { p.profession == $0 } ?? true) && (territory.map { p.territory == $0 } ?? true) }
            .sorted { $0.rpps < $1.rpps }
    }

    /// What the SAS platform may book among the slots of `pros` (SPEC §7.2): open (a place
    /// left, not withdrawn, the professional active), starting after `now` plus the lead, and
    /// inside `[from, to]`; by professional in the order given, then start, then id.
    public func bookableSlots(of pros: [RPPS], from: Date, to: Date, now: Date) -> [Slot] {
        var out: [Slot] = []
        for pro in pros { forEachBookableSlot(of: pro, from: from, to: to, now: now) { out.append($0) } }
        return out
    }

    /// `bookableSlots` of one professional, by start then id, handed to `body` one by one
    /// (no array). Reads the professional's slots of the window only, from their timeline
    /// (SlotTimeline.swift): the FHIR search no longer looks up every slot they have and sorts
    /// those it keeps (docs/PERFORMANCE.md, issue 15).
    public func forEachBookableSlot(of pro: RPPS, from: Date, to: Date, now: Date, _ body: (Slot) -> Void) {
        // `isOpen`: the professional active (once for all their slots), a place left on the slot.
        guard professionals[pro]?.active ?? false else { return }
        let earliest = max(from.epochSeconds, now.epochSeconds + Int64(policy.leadSeconds))
        timelines[pro]?.numbers(startingFrom: earliest, through: to.epochSeconds) { number in
            guard let s = slots[number] else { return }
            // Extra capacity is not an appointment at a time: not a FHIR Slot (§7.2).
            if !s.isExtra && hasPlaceLeft(s) { body(s) }
        }
    }

    /// Published slots ending after `from` and starting before `to`, by start then id.
    public func listSlots(pro: RPPS?, from: Date, to: Date?, state: SlotListState, limit: Int) -> [Slot] {
        let pool: [Slot] = pro.map { p in (slotsByPro[p] ?? []).compactMap { slots[$0] } } ?? Array(slots.values)
        var chosen = pool.filter { s in
            guard !s.isWithdrawn, s.end > from, to.map({ s.start < $0 }) ?? true else { return false }
            switch state {
            case .all: return true
            case .open: return taken(s.id.number) < s.capacity
            case .full: return taken(s.id.number) >= s.capacity
            }
        }
        chosen.sort { ($0.start, $0.id) < ($1.start, $1.id) }
        return Array(chosen.prefix(limit))
    }

    /// Requests that `visible` lets through, created at or after `since`, with an id
    /// smaller than `before`: the `limit` newest, newest first (ids grow with arrival), so
    /// that a list cut at its limit shows what is going on now, and the next page is
    /// `before=` the last id shown.
    public func listRequests(
        state: RequestState?, since: Date?, before: RequestID? = nil, limit: Int, visible: (CareRequest) -> Bool
    ) -> [CareRequest] {
        var chosen = requests.values.filter { r in
            (state.map { r.state == $0 } ?? true) && (since.map { r.createdAt >= $0 } ?? true)
                && (before.map { r.id.number < $0.number } ?? true) && visible(r)
        }
        chosen.sort { $0.id > $1.id }
        return Array(chosen.prefix(limit))
    }

    public func stats(now: Date) -> EngineStats {
        EngineStats(
            openSlots: open.count,
            queued: stateCounts[.queued] ?? 0,
            pending: stateCounts[.pending] ?? 0,
            held: stateCounts[.held] ?? 0,
            bookedToday: bookedPerDay[ParisTime.dayNumber(at: now.epochSeconds)] ?? 0)
    }

    /// Number of slots in the open index (published, not full, not yet started).
    public var openSlotCount: Int { open.count }
    public var queuedCount: Int { queue.count }
}
