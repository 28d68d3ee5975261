import Foundation

/// What `PRO PUT` carries.
public struct ProfessionalDraft: Sendable, Equatable {
    public var rpps: RPPS
    public var profession: Profession
    public var name: String
    public var location: GeoPoint
    public var homeRadiusKm: Double?
    public var weeklyCap: Int?
    public var territory: String?
    public var contact: PracticeContact

    public init(
        rpps: RPPS, profession: Profession, name: String, location: GeoPoint, homeRadiusKm: Double? = nil,
        weeklyCap: Int? = nil, territory: String? = nil, contact: PracticeContact = PracticeContact()
    ) {
        self.rpps = rpps
        self.profession = profession
        self.name = name
        self.location = location
        self.homeRadiusKm = homeRadiusKm
        self.weeklyCap = weeklyCap
        self.territory = territory
        self.contact = contact
    }
}

/// What `SLOT ADD` carries.
public struct SlotDraft: Sendable, Equatable {
    public var pro: RPPS
    public var start: Date
    public var end: Date
    public var mode: SlotMode
    public var capacity: Int
    public var ref: String?
    public var kind: SlotKind

    public init(
        pro: RPPS, start: Date, end: Date, mode: SlotMode = .office, capacity: Int = 1, ref: String? = nil,
        kind: SlotKind = .regular
    ) {
        self.pro = pro
        self.start = start
        self.end = end
        self.mode = mode
        self.capacity = capacity
        self.ref = ref
        self.kind = kind
    }
}

/// The result of a command that (re)matches a request.
public struct RequestOutcome: Sendable, Equatable {
    public var request: CareRequest
    /// Its position in its profession's queue, when queued.
    public var rank: Int?
    /// True when a retry with the same `ref` found the request already there.
    public var existing: Bool
    /// What became of the search prepared outside the server's actor, if one was given.
    public var prepared: PreparedUse = .none
}

/// Results of `REQ OUTCOME`.
public enum VisitOutcome: String, Sendable, CaseIterable {
    case honored
    case noshow

    var state: RequestState { self == .honored ? .honored : .noshow }
}

extension MatchingEngine {
    // MARK: Professionals

    /// `PRO PUT`: creates or updates a professional, and makes them active. Returns the
    /// requests that a changed professional's slots took from the queue.
    public mutating func putProfessional(_ d: ProfessionalDraft, now: Date) throws(SNPError) -> [RequestID] {
        let old = professionals[d.rpps]
        if let old, old.profession != d.profession,
            (slotsByPro[d.rpps] ?? []).contains(where: { slots[$0].map { !$0.isWithdrawn && $0.end > now } ?? false })
        {
            throw .conflict("professional \(d.rpps) has published slots as \(old.profession.rawValue); withdraw them before changing profession")
        }
        put(
            Professional(
                rpps: d.rpps, profession: d.profession, name: d.name, location: d.location,
                homeRadiusKm: d.homeRadiusKm, weeklyCap: d.weeklyCap, territory: d.territory, contact: d.contact,
                active: true, updatedAt: now))
        // A move, a reactivation or a raised cap can make their slots eligible for waiting requests.
        var booked: [RequestID] = []
        for number in (slotsByPro[d.rpps] ?? []).sorted() {
            booked += offer(slot: number, now: now)
        }
        return booked
    }

    /// `PRO OFF`: deactivates a professional and withdraws their slots that have not started;
    /// requests booked or held on them go back to matching. Returns those requests.
    public mutating func deactivateProfessional(_ rpps: RPPS, now: Date) throws(SNPError) -> [RequestID] {
        guard var pro = professionals[rpps] else { throw .notFound("no professional \(rpps)") }
        pro.active = false
        pro.updatedAt = now
        put(pro)
        let future = (slotsByPro[rpps] ?? []).sorted().compactMap { slots[$0] }.filter { !$0.isWithdrawn && $0.start > now }
        return withdraw(future, now: now)
    }

    // MARK: Slots

    /// `SLOT ADD`: publishes a slot and offers it at once to the queue. The same `ref`
    /// again (for the same professional) returns the slot already published.
    public mutating func addSlot(_ d: SlotDraft, now: Date) throws(SNPError) -> (slot: Slot, booked: [RequestID]) {
        if let ref = d.ref, let number = slotRefs[SlotRefKey(pro: d.pro, ref: ref)], let existing = slots[number] {
            return (existing, [])
        }
        guard let pro = professionals[d.pro] else { throw .notFound("no professional \(d.pro)") }
        guard pro.active else { throw .conflict("professional \(d.pro) is not active") }
        guard d.end > d.start else { throw .badRequest("end must be after start") }
        guard d.end.timeIntervalSince(d.start) <= 24 * 3600 else { throw .badRequest("a slot lasts 24 hours at most") }
        if d.kind == .extra, d.end.epochSeconds - d.start.epochSeconds > Int64(Self.maxExtraWindowSeconds) {
            throw .badRequest("an extra-capacity window lasts 12 hours at most")
        }
        guard d.start >= now else { throw .badRequest("start \(RFC3339.format(d.start)) is in the past") }
        guard d.start.epochSeconds <= now.epochSeconds + Int64(policy.horizonSeconds) else {
            throw .badRequest(
                "start is beyond the publication horizon (\(DurationText.format(seconds: policy.horizonSeconds)) from now)")
        }
        guard d.capacity >= 1 else { throw .badRequest("capacity must be at least 1") }
        // Extra windows may overlap regular slots, not each other (§3.7).
        for number in slotsByPro[d.pro] ?? [] {
            guard let other = slots[number], !other.isWithdrawn, other.kind == d.kind else { continue }
            if other.start < d.end && d.start < other.end {
                throw .conflict(
                    "overlaps \(d.kind == .extra ? "extra window" : "slot") \(other.id) (\(RFC3339.format(other.start))–\(RFC3339.format(other.end))) of professional \(d.pro)"
                )
            }
        }
        let slot = Slot(
            id: nextSlotID(), pro: d.pro, profession: pro.profession, start: d.start, end: d.end, mode: d.mode,
            capacity: d.capacity, ref: d.ref, createdAt: now, kind: d.kind)
        put(slot)
        return (slot, offer(slot: slot.id.number, now: now))
    }

    /// `SLOT DEL`: withdraws a slot that has not started. Requests on it go back to
    /// matching with their priority and deadline. Returns them.
    public mutating func withdrawSlot(_ id: SlotID, now: Date) throws(SNPError) -> [RequestID] {
        guard let slot = slots[id.number] else { throw .notFound("no slot \(id)") }
        guard !slot.isWithdrawn else { throw .conflict("slot \(id) is already withdrawn") }
        guard slot.start > now else { throw .conflict("slot \(id) has already started") }
        return withdraw([slot], now: now)
    }

    /// Withdraws slots; their held and booked requests go back to matching together, in
    /// queue order (priority, deadline, arrival), so the most urgent gets the best slot left.
    private mutating func withdraw(_ withdrawn: [Slot], now: Date) -> [RequestID] {
        var moved: [CareRequest] = []
        for slot in withdrawn {
            var s = slot
            s.withdrawnAt = now
            put(s)
            for id in occupantIDs(of: slot.id) {
                guard var r = requests[id.number], r.state == .held || r.state == .booked else { continue }
                r.state = .queued
                r.leaveSlot()
                r.holdUntil = nil
                r.updatedAt = now
                put(r)
                moved.append(r)
            }
        }
        moved.sort { RequestQueue.key(for: $0) < RequestQueue.key(for: $1) }
        for r in moved { rematch(r.id.number, now: now) }
        // Their professional's load went down: under a weekly cap, other slots may now be eligible.
        for slot in withdrawn { releaseLoad(of: slot.pro, week: slot.week, now: now) }
        return moved.map(\.id)
    }

    /// Capacity appeared on a slot: offer it to the queue, and since its professional's
    /// weekly load went down, their other slots that week too (a cap may have been lifted).
    mutating func release(slot number: Int64, now: Date) {
        offer(slot: number, now: now)
        if let slot = slots[number] { releaseLoad(of: slot.pro, week: slot.week, now: now) }
    }

    /// Offers a capped professional's slots of one week to the queue after their load fell.
    mutating func releaseLoad(of pro: RPPS, week: Int, now: Date) {
        guard professionals[pro]?.weeklyCap != nil else { return }
        for number in (slotsByPro[pro] ?? []).sorted() where slots[number]?.week == week {
            offer(slot: number, now: now)
        }
    }

    /// Offers a slot's free places to the queue (§4.3): walks its profession's queue in
    /// order and books each place to the first request for which the slot is eligible
    /// (under the `scarcity` strategy, to the one `scarcityChoice` picks).
    @discardableResult
    mutating func offer(slot number: Int64, now: Date) -> [RequestID] {
        guard let slot = slots[number], !slot.isWithdrawn, taken(number) < slot.capacity,
            slot.isExtra || slot.start.epochSeconds >= now.epochSeconds + Int64(policy.leadSeconds)
        else { return [] }
        var booked: [RequestID] = []
        if slot.isExtra {
            // Extra capacity goes, in queue order, to requests with no eligible regular slot
            // (§4.1), under every strategy.
            for key in waiting(for: slot) {
                guard taken(number) < slot.capacity else { break }
                guard key.deadline >= slot.start.epochSeconds, let r = requests[key.request],
                    case .success(let c) = evaluate(slot, for: MatchNeed(r), now: now),
                    candidates(for: MatchNeed(r), now: now, limit: 1).isEmpty
                else { continue }
                assign(r, to: c, hold: false, now: now)
                booked.append(r.id)
            }
            return booked
        }
        if policy.strategy == .scarcity {
            while taken(number) < slot.capacity, let (r, c) = scarcityChoice(for: slot, now: now) {
                assign(r, to: c, hold: false, now: now)
                booked.append(r.id)
            }
            return booked
        }
        for key in waiting(for: slot) {
            guard taken(number) < slot.capacity else { break }
            guard key.deadline >= slot.start.epochSeconds, let r = requests[key.request],
                case .success(let c) = evaluate(slot, for: MatchNeed(r), now: now)
            else { continue }
            assign(r, to: c, hold: false, now: now)
            booked.append(r.id)
        }
        return booked
    }

    /// The waiting requests a place of `slot` may go to, in queue order: those filed near
    /// its practice (within the office radius, or the professional's home radius) and those
    /// that reach further (`RequestQueue.waiting(_:near:reachKm:)`). A superset of the
    /// eligible ones.
    func waiting(for slot: Slot) -> [RequestQueue.Key] {
        guard let pro = professionals[slot.pro] else { return [] }
        return queue.waiting(slot.profession, near: pro.location, reachKm: reachKm(of: slot, pro: pro))
    }

    /// How far around its practice a place of `slot` looks for requests filed by cell
    /// (`RequestQueue.cell(for:)`): the office radius of a request filed by cell (at most
    /// `nearbyKm`, or the policy's default), the professional's home radius, or no cell at
    /// all for a remote place (every request that accepts one is on the wide list).
    func reachKm(of slot: Slot, pro: Professional) -> Double? {
        switch slot.mode {
        case .office: max(RequestQueue.nearbyKm, policy.officeRadiusKm)
        case .home: pro.homeRadiusKm ?? policy.homeRadiusKm
        case .tele: nil
        }
    }

    // MARK: Requests

    /// `REQ ADD`: creates a request and matches it at once: the best eligible slot (or the
    /// one named by `slot=`), booked or held, else the queue. The same `ref` again from the
    /// same owner returns the request unchanged; with other content it is a conflict.
    /// Another owner's identical `ref` is another request (§3.8).
    ///
    /// With `prepared` (`prepareMatch`, made earlier, outside the server's actor), its
    /// choice is taken instead of searching when a search now would make the same; else it
    /// searches, as without. Either way the same decision.
    public mutating func addRequest(
        _ spec: RequestSpec, owner: String, now: Date, prepared: PreparedMatch? = nil
    ) throws(SNPError) -> RequestOutcome {
        if let number = requestRefs[RequestRefKey(owner: owner, ref: spec.ref)], let existing = requests[number] {
            guard existing.spec == spec else { throw .conflict("ref \(spec.ref) already names a request with other content") }
            return RequestOutcome(request: existing, rank: queue.rank(of: existing), existing: true)
        }
        guard (1...3).contains(spec.priority) else { throw .badRequest("prio must be 1, 2 or 3") }
        guard spec.withinSeconds > 0, spec.withinSeconds <= policy.windowSeconds else {
            throw .badRequest("within must be between 1s and \(DurationText.format(seconds: policy.windowSeconds))")
        }
        let deadline = Date(epochSeconds: now.epochSeconds + Int64(spec.withinSeconds))
        var use = PreparedUse.none
        var request = CareRequest(id: .request(lastRequestNumber + 1), spec: spec, owner: owner, createdAt: now, deadline: deadline)
        if let decide = spec.decideSeconds {
            // Pending (§3.8, decide=): no place now; decided with the others by decide_by.
            try checkDecide(decide, spec: spec)
            _ = nextRequestID()
            request.state = .pending
            request.decideBy = Date(epochSeconds: now.epochSeconds + Int64(decide))
            put(request)
        } else if let wanted = spec.slot {
            guard let slot = slots[wanted.number] else { throw .conflict("slot \(wanted) does not exist") }
            switch evaluate(slot, for: MatchNeed(request), now: now) {
            case .failure(let why): throw .conflict("slot \(wanted) is not eligible: \(why.explanation)")
            case .success(_) where slot.isExtra && !candidates(for: MatchNeed(request), now: now, limit: 1).isEmpty:
                throw .conflict("slot \(wanted) is extra capacity, and a regular slot is eligible for this request")
            case .success(let c):
                _ = nextRequestID()
                assign(request, to: c, hold: spec.holdSeconds != nil, now: now)
            }
        } else {
            _ = nextRequestID()
            let best: Candidate?
            if let prepared, let found = reuse(prepared, for: spec, now: now) {
                best = found
                use = .applied
            } else {
                best = matchCandidates(for: MatchNeed(request), now: now, limit: 1).first
                if prepared != nil { use = .searchedAgain }
            }
            // Matched at once (the usual case), it never enters the queue; else it waits.
            if let best {
                assign(request, to: best, hold: spec.holdSeconds != nil, now: now)
            } else {
                put(request)
            }
        }
        let stored = requests[request.id.number]!
        return RequestOutcome(request: stored, rank: queue.rank(of: stored), existing: false, prepared: use)
    }

    /// `REQ CONFIRM`: held → booked.
    public mutating func confirm(_ id: RequestID, now: Date) throws(SNPError) -> RequestOutcome {
        var r = try existingRequest(id)
        guard r.state == .held else { throw .conflict("request \(id) is \(r.state.rawValue), not held") }
        r.state = .booked
        r.holdUntil = nil
        if r.bookedAt == nil { r.bookedAt = now }
        r.updatedAt = now
        put(r)
        return RequestOutcome(request: r, rank: nil, existing: false)
    }

    /// `REQ DECLINE`: releases the held or booked slot, never proposes it again to this
    /// request, matches the request again, and offers the freed place to the queue.
    public mutating func decline(_ id: RequestID, now: Date) throws(SNPError) -> RequestOutcome {
        var r = try existingRequest(id)
        guard r.state == .held || r.state == .booked, let slot = r.assignment?.slot else {
            throw .conflict("request \(id) is \(r.state.rawValue): only a held or booked request can decline")
        }
        r.declined.append(slot)
        r.state = .queued
        r.leaveSlot()
        r.holdUntil = nil
        r.updatedAt = now
        put(r)
        rematch(id.number, now: now)
        release(slot: slot.number, now: now)
        let stored = requests[id.number]!
        return RequestOutcome(request: stored, rank: queue.rank(of: stored), existing: false)
    }

    /// `REQ CANCEL`: any slot is freed (and offered to the queue); the request is `cancelled`.
    public mutating func cancel(_ id: RequestID, reason: String?, now: Date) throws(SNPError) -> CareRequest {
        var r = try existingRequest(id)
        guard !r.state.isFinal else { throw .conflict("request \(id) is already \(r.state.rawValue)") }
        let freed = r.occupiedSlot
        r.state = .cancelled
        r.leaveSlot()
        r.holdUntil = nil
        r.reason = reason ?? "cancelled"
        r.closedAt = now
        r.updatedAt = now
        put(r)
        if let freed { release(slot: freed.number, now: now) }
        return r
    }

    /// `REQ OUTCOME`: records whether the patient came, once the appointment has started.
    public mutating func recordOutcome(_ id: RequestID, _ outcome: VisitOutcome, now: Date) throws(SNPError) -> CareRequest {
        var r = try existingRequest(id)
        guard r.state == .booked, let a = r.assignment else {
            throw .conflict("request \(id) is \(r.state.rawValue): an outcome needs a booked appointment")
        }
        guard a.start <= now else {
            throw .conflict("the appointment of \(id) starts at \(RFC3339.format(a.start)); record its outcome after that")
        }
        r.state = outcome.state
        r.closedAt = now
        r.updatedAt = now
        put(r)
        return r
    }

    /// Matches a request that has no slot: the best candidate, booked (or held if it asked
    /// for a hold), else it stays queued; past its deadline it expires.
    mutating func rematch(_ number: Int64, now: Date) {
        guard let r = requests[number] else { return }
        if let best = matchCandidates(for: MatchNeed(r), now: now, limit: 1).first {
            assign(r, to: best, hold: r.spec.holdSeconds != nil, now: now)
        } else if r.deadline <= now {
            var expired = r
            expired.state = .expired
            expired.closedAt = now
            expired.updatedAt = now
            put(expired)
        } else if r.state != .queued {
            var queued = r
            queued.state = .queued
            queued.updatedAt = now
            put(queued)
        }
    }

    mutating func assign(_ request: CareRequest, to c: Candidate, hold: Bool, now: Date) {
        var r = request
        r.state = hold ? .held : .booked
        r.holdUntil = hold ? now.addingTimeInterval(TimeInterval(r.spec.holdSeconds ?? 0)) : nil
        if !hold, r.bookedAt == nil { r.bookedAt = now }
        r.assignment = Assignment(
            slot: c.slot.id, pro: c.slot.pro, start: c.start, end: c.slot.end, mode: c.slot.mode,
            distanceKm: c.distanceKm, cost: c.cost, at: now, kind: c.slot.kind)
        r.formerAssignment = nil
        r.updatedAt = now
        put(r)
    }

    private func existingRequest(_ id: RequestID) throws(SNPError) -> CareRequest {
        guard let r = requests[id.number] else { throw .notFound("no request \(id)") }
        return r
    }
}
