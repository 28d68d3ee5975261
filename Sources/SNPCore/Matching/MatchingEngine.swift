import Foundation

/// One change to a record, with its value before (for undo) and after (for the store).
public enum Change: Sendable {
    case professional(old: Professional?, new: Professional)
    case slot(old: Slot?, new: Slot)
    case request(old: CareRequest?, new: CareRequest)
    case plan(old: Plan?, new: Plan)
}

/// The matching engine: the open slots and waiting requests in memory, and every rule of
/// §4 that decides who gets which slot.
///
/// Pure: no I/O and no clock of its own; every operation takes `now`. Every record change
/// goes through `setProfessional`, `setSlot` or `setRequest`, which keep the derived indexes
/// (open-slot index, queue, occupancy, weekly loads, due times) in step and append the
/// change to `journal`. The server commits the journal to PostgreSQL before it answers; if
/// that commit fails, `undo` puts the records back, and with them every index.
public struct MatchingEngine: Sendable {
    public var policy: MatchingPolicy {
        didSet { version.widen() }
    }

    public private(set) var professionals: [RPPS: Professional] = [:]
    public private(set) var slots: [Int64: Slot] = [:]
    public private(set) var requests: [Int64: CareRequest] = [:]
    /// Availability plans (§3.10), stopped ones included (their numbers are never reused).
    public private(set) var plans: [Int64: Plan] = [:]

    /// Changes since the last `takeJournal()`.
    public private(set) var journal: [Change] = []
    private var journaling = true
    /// During `restore`: queued requests are appended to the queue, sorted once at the end.
    private var restoring = false

    // Derived state: a function of the records above, rebuilt by the setters.
    var open = SlotIndex()
    /// Extra-capacity windows (§3.7) offering a place: few, outside the open index (their
    /// earliest arrival moves with `now`, so the index's order by start does not fit them).
    var openExtra = Set<Int64>()
    /// When each running plan's next occurrence comes within the horizon; with `planDues`
    /// (stale entries are skipped when popped) the timer of plan publication.
    var planDue: [Int64: Int64] = [:]
    var planDues = DueHeap()
    var queue = RequestQueue()
    /// Requests taking a place on each slot (held, booked, honoured, no-show).
    var occupants: [Int64: [Int64]] = [:]
    var slotsByPro: [RPPS: Set<Int64>] = [:]
    /// Each professional's slots by start (SlotTimeline.swift): the FHIR search's window.
    var timelines: [RPPS: SlotTimeline] = [:]
    var slotRefs: [SlotRefKey: Int64] = [:]
    /// A request's `ref` belongs to the token that created it (§3.8): keyed by both.
    var requestRefs: [RequestRefKey: Int64] = [:]
    /// A number for each professional ever seen, never reused: the open index files slots
    /// under it, and the search reads the professional's loads by it (`weeklyLoads`)
    /// instead of hashing an RPPS for every practice in reach.
    var proNumber: [RPPS: Int32] = [:]
    /// Places taken per professional (by `proNumber`) and ISO week: weekly caps and the load
    /// term of the cost. The weeks a professional has places taken in, oldest first.
    var weeklyLoads: [[WeekLoad]] = []
    /// Requests first booked per Paris day (for `STATS booked_today`).
    var bookedPerDay: [Int: Int] = [:]
    var stateCounts: [RequestState: Int] = [:]
    var deadlines = DueHeap()
    var holds = DueHeap()
    /// Requests asked with `decide=` and not yet decided, and their `decideBy` times (stale
    /// entries are skipped when popped): the timer of batch decisions (PendingDecisions.swift).
    var pendingRequests = Set<Int64>()
    var decisionDues = DueHeap()
    /// The largest home radius any professional has set.
    var maxProHomeRadiusKm = 0.0
    /// How far to look for `home` slots: the largest radius any professional travels.
    var maxHomeRadiusKm: Double { max(policy.homeRadiusKm, maxProHomeRadiusKm) }

    private var lastPurge: Int64 = 0
    /// Requests up to this number have had their location snapped (or were too recent to
    /// need it when it was last looked at: see `snapOldLocations`).
    private var snappedThrough: Int64 = 0
    /// Bid prices of the `scarcity` strategy, refreshed by `tick`.
    var bidPrices = BidPriceBook()
    /// Open places and arrivals by cell, for the `scarcity` strategy's live bid prices
    /// (issue 17): kept by the setters, like the other indexes.
    var live: LiveMarket

    /// Counts the engine's changes, for a search made outside the server's actor
    /// (`PreparedMatch`): it is applied only if nothing that could change its answer
    /// happened since.
    public internal(set) var version = EngineVersion()

    public private(set) var lastSlotNumber: Int64 = 0
    public private(set) var lastRequestNumber: Int64 = 0
    public private(set) var lastPlanNumber: Int64 = 0

    struct SlotRefKey: Hashable, Sendable {
        var pro: RPPS
        var ref: String
    }

    struct RequestRefKey: Hashable, Sendable {
        var owner: String
        var ref: String
    }

    struct WeekLoad: Sendable {
        /// `year * 100 + week` (`ParisTime.isoWeek`).
        var week: Int32
        var places: Int
    }

    public init(policy: MatchingPolicy = MatchingPolicy()) {
        self.policy = policy
        self.live = LiveMarket(reachKm: policy.officeRadiusKm, priorExponent: policy.scarcity.livePriorExponent)
    }

    // MARK: Journal

    public mutating func takeJournal() -> [Change] {
        defer { journal.removeAll(keepingCapacity: true) }
        return journal
    }

    /// Reverts changes (most recent last, as journaled), restoring records and indexes.
    public mutating func undo(_ changes: [Change]) {
        journaling = false
        defer { journaling = true }
        for change in changes.reversed() {
            switch change {
            case .professional(let old, let new): setProfessional(old, rpps: new.rpps)
            case .slot(let old, let new): setSlot(old, number: new.id.number)
            case .request(let old, let new): setRequest(old, number: new.id.number)
            case .plan(let old, let new): setPlan(old, number: new.id.number)
            }
        }
    }

    /// Loads records read back from the store, without journaling them.
    public mutating func restore(
        professionals: [Professional], slots: [Slot], requests: [CareRequest], plans: [Plan] = []
    ) {
        journaling = false
        restoring = true
        defer {
            journaling = true
            restoring = false
            queue.restoreOrder()
        }
        for p in professionals { setProfessional(p, rpps: p.rpps) }
        for s in slots {
            setSlot(s, number: s.id.number)
            lastSlotNumber = max(lastSlotNumber, s.id.number)
        }
        for r in requests {
            setRequest(r, number: r.id.number)
            lastRequestNumber = max(lastRequestNumber, r.id.number)
        }
        for p in plans {
            setPlan(p, number: p.id.number)
            lastPlanNumber = max(lastPlanNumber, p.id.number)
        }
    }

    // MARK: Setters, the only writers of records

    mutating func put(_ p: Professional) { setProfessional(p, rpps: p.rpps) }
    mutating func put(_ s: Slot) { setSlot(s, number: s.id.number) }
    mutating func put(_ r: CareRequest) { setRequest(r, number: r.id.number) }
    mutating func put(_ p: Plan) { setPlan(p, number: p.id.number) }

    private mutating func setPlan(_ new: Plan?, number: Int64) {
        version.changes &+= 1
        let old = plans[number]
        plans[number] = new
        if journaling, let new { journal.append(.plan(old: old, new: new)) }
        if let new, new.isRunning, let due = nextDue(of: new) {
            planDue[number] = due
            planDues.push(.init(at: due, id: number))
        } else {
            planDue[number] = nil
        }
        // Entries left behind by earlier due times go as soon as they reach the top, so that
        // the top (what `hasDueWork` reads) is always a live one.
        while let top = planDues.next, planDue[top.id] != top.at { _ = planDues.pop() }
    }

    private mutating func setProfessional(_ new: Professional?, rpps: RPPS) {
        // A move, a reactivation, a wider home radius, a raised cap: their slots may do better.
        version.widen()
        let old = professionals[rpps]
        professionals[rpps] = new
        if journaling, let new { journal.append(.professional(old: old, new: new)) }
        if let radius = new?.homeRadiusKm { maxProHomeRadiusKm = max(maxProHomeRadiusKm, radius) }
        // The live market keeps their home radius and weekly cap with their practices.
        if old?.location != new?.location || old?.active != new?.active || old?.homeRadiusKm != new?.homeRadiusKm
            || old?.weeklyCap != new?.weeklyCap
        {
            for n in slotsByPro[rpps] ?? [] { refreshIndex(n) }
        }
        if old != new, !bidPrices.lateDemand.isEmpty {
            // A move or a new home radius changes who could reach their slots.
            for n in slotsByPro[rpps] ?? [] { bidPrices.lateDemand[n] = nil }
        }
    }

    private mutating func setSlot(_ new: Slot?, number: Int64) {
        // A new slot, or one withdrawn (which can only do worse, but is rare): counted alike.
        version.widen()
        let old = slots[number]
        slots[number] = new
        if journaling, let new { journal.append(.slot(old: old, new: new)) }
        let moved = old?.pro != new?.pro || old?.start != new?.start
        if let old {
            slotsByPro[old.pro]?.remove(number)
            if moved { timelines[old.pro]?.remove(start: old.start, number: number) }
            if let ref = old.ref { slotRefs[SlotRefKey(pro: old.pro, ref: ref)] = nil }
        }
        if let new {
            slotsByPro[new.pro, default: []].insert(number)
            if moved { timelines[new.pro, default: SlotTimeline()].insert(start: new.start, number: number) }
            if let ref = new.ref { slotRefs[SlotRefKey(pro: new.pro, ref: ref)] = number }
            if old == nil, policy.strategy == .scarcity, bidPrices.prices[number] == nil {
                bidPrices.lateDemand[number] = lateDemand(on: new)
            }
        } else {
            bidPrices.lateDemand[number] = nil
        }
        refreshIndex(number)
    }

    private mutating func setRequest(_ new: CareRequest?, number: Int64) {
        let old = requests[number]
        // A place freed lowers its professional's load and frees room: a widening. A place
        // taken only raises scores (`PreparedMatch`); a request that takes none changes no score.
        if let freed = old?.occupiedSlot, freed != new?.occupiedSlot { version.widen() } else { version.changes &+= 1 }
        requests[number] = new
        if journaling, let new { journal.append(.request(old: old, new: new)) }
        // An arrival counts once, from its creation, before its own place is taken; the
        // `undo` of the creation uncounts it once that place is free again.
        if old == nil, let new { countLiveArrival(new, sign: 1) }
        if let old { contribute(old, sign: -1) }
        if let new { contribute(new, sign: 1) }
        if new == nil, let old { countLiveArrival(old, sign: -1) }
    }

    /// Adds (`sign` 1) or removes (`sign` -1) what one request contributes to the indexes.
    private mutating func contribute(_ r: CareRequest, sign: Int) {
        let n = r.id.number
        stateCounts[r.state, default: 0] += sign
        let refKey = RequestRefKey(owner: r.owner, ref: r.spec.ref)
        if sign > 0 { requestRefs[refKey] = n } else if requestRefs[refKey] == n { requestRefs[refKey] = nil }
        if r.state == .queued {
            if sign > 0 {
                if restoring { queue.append(r) } else { queue.insert(r) }
                deadlines.push(.init(at: r.deadline.epochSeconds, id: n))
            } else {
                queue.remove(r)
            }
        }
        if r.state == .pending {
            if sign > 0 {
                pendingRequests.insert(n)
                if let by = r.decideBy { decisionDues.push(.init(at: by.epochSeconds, id: n)) }
            } else {
                pendingRequests.remove(n)
            }
        }
        if sign > 0, r.state == .held, let until = r.holdUntil {
            holds.push(.init(at: until.epochSeconds, id: n))
        }
        if let booked = r.bookedAt {
            bookedPerDay[ParisTime.dayNumber(at: booked.epochSeconds), default: 0] += sign
        }
        if let slot = r.occupiedSlot, let a = r.assignment {
            if sign > 0 {
                occupants[slot.number, default: []].append(n)
            } else {
                occupants[slot.number]?.removeAll { $0 == n }
                if occupants[slot.number]?.isEmpty == true { occupants[slot.number] = nil }
            }
            addLoad(sign, pro: proNumber(of: a.pro), week: Int32(ParisTime.isoWeek(at: a.start)))
            refreshIndex(slot.number)
        }
    }

    /// A slot is in the open index exactly when it is published, has room, and its
    /// professional is active. (Slots that have started are dropped by `tick`; searches
    /// start after `now + lead` anyway.)
    private mutating func refreshIndex(_ number: Int64) {
        guard let slot = slots[number], isOpen(slot), let pro = professionals[slot.pro] else {
            open.remove(slot: .slot(number))
            openExtra.remove(number)
            live.setPlaces(slot: number, nil)
            return
        }
        if slot.isExtra {
            openExtra.insert(number)
            return
        }
        let proIndex = proNumber(of: slot.pro)
        live.setPlaces(
            slot: number,
            LiveMarket.Opening(
                key: LiveMarket.Key(profession: slot.profession, cell: SlotIndex.cell(of: pro.location)),
                practice: LiveMarket.PracticeKey(pro: proIndex, mode: slot.mode, location: pro.location), mode: slot.mode,
                places: slot.capacity - taken(number), start: slot.start.epochSeconds,
                homeRadiusKm: pro.homeRadiusKm ?? policy.homeRadiusKm, weeklyCap: pro.weeklyCap))
        open.insert(
            slot: slot.id, start: slot.start.epochSeconds, profession: slot.profession, mode: slot.mode,
            pro: proIndex, at: pro.location)
    }

    /// The professional's number (`proNumber`), given on first sight.
    private mutating func proNumber(of pro: RPPS) -> Int32 {
        if let n = proNumber[pro] { return n }
        let n = Int32(weeklyLoads.count)
        proNumber[pro] = n
        weeklyLoads.append([])
        return n
    }

    private mutating func addLoad(_ sign: Int, pro: Int32, week: Int32) {
        let p = Int(pro)
        if let i = weeklyLoads[p].lastIndex(where: { $0.week == week }) {
            weeklyLoads[p][i].places += sign
            if weeklyLoads[p][i].places == 0 { weeklyLoads[p].remove(at: i) }
        } else {
            // Weeks come mostly in order: keep them so, for `load(ofNumber:week:)`.
            let i = weeklyLoads[p].firstIndex { $0.week > week } ?? weeklyLoads[p].count
            weeklyLoads[p].insert(WeekLoad(week: week, places: sign), at: i)
        }
    }

    /// Whether a slot offers a place: published, with room, and its professional active.
    /// The open index holds exactly these (whatever their start).
    public func isOpen(_ slot: Slot) -> Bool {
        (professionals[slot.pro]?.active ?? false) && hasPlaceLeft(slot)
    }

    /// `isOpen`, the professional's being active aside: for a caller that has checked it
    /// once for all their slots (the FHIR search).
    func hasPlaceLeft(_ slot: Slot) -> Bool { !slot.isWithdrawn && taken(slot.id.number) < slot.capacity }

    // MARK: Derived facts

    /// Places taken on a slot by holds and bookings.
    public func taken(_ number: Int64) -> Int { occupants[number]?.count ?? 0 }

    /// Places a professional has taken in an ISO week (`year * 100 + week`).
    public func load(of pro: RPPS, week: Int) -> Int {
        proNumber[pro].map { load(ofNumber: $0, week: Int32(week)) } ?? 0
    }

    /// `load(of:week:)` by the professional's number: no hashing, and the current weeks
    /// are the last ones.
    func load(ofNumber pro: Int32, week: Int32) -> Int {
        let weeks = weeklyLoads[Int(pro)]
        var i = weeks.count - 1
        while i >= 0 {
            if weeks[i].week == week { return weeks[i].places }
            if weeks[i].week < week { return 0 }
            i -= 1
        }
        return 0
    }

    public func occupantIDs(of slot: SlotID) -> [RequestID] { (occupants[slot.number] ?? []).map(RequestID.request) }

    /// Raises the identifier counters to at least these numbers: an engine rebuilt from the
    /// database after an outage keeps numbering after every identifier ever handed out,
    /// including those of changes that were undone (identifiers are never reused, §4.4).
    /// Its version counts on from `version`, so that a search prepared on the engine it
    /// replaces is never taken for one made on this one.
    public mutating func keepNumbering(
        after slot: Int64, request: Int64, plan: Int64 = 0, version: EngineVersion = EngineVersion()
    ) {
        lastSlotNumber = max(lastSlotNumber, slot)
        lastRequestNumber = max(lastRequestNumber, request)
        lastPlanNumber = max(lastPlanNumber, plan)
        self.version.changes = max(self.version.changes, version.changes) &+ 1
        self.version.widenings = max(self.version.widenings, version.widenings) &+ 1
    }

    mutating func nextPlanID() -> PlanID {
        lastPlanNumber += 1
        return .plan(lastPlanNumber)
    }

    mutating func nextSlotID() -> SlotID {
        lastSlotNumber += 1
        return .slot(lastSlotNumber)
    }

    mutating func nextRequestID() -> RequestID {
        lastRequestNumber += 1
        return .request(lastRequestNumber)
    }

    // MARK: Time

    /// Whether `tick(now:)` would change something a read can see: a lapsed hold, a passed
    /// deadline, or (under `scarcity`) bid prices due for a refresh. A read-only command that
    /// runs outside the server's actor falls back to it when this is true. (Dropping started
    /// slots from the open index is left out: searches skip them anyway.)
    public func hasDueWork(at now: Date) -> Bool {
        let t = now.epochSeconds
        if let due = holds.next, due.at <= t { return true }
        if let due = deadlines.next, due.at <= t { return true }
        if let due = planDues.next, due.at <= t { return true }
        if let due = decisionDues.next, due.at <= t { return true }
        guard policy.strategy == .scarcity else { return bidPrices.refreshedAt != nil }
        return bidPricesDue(at: t)
    }

    /// Applies what time has made due: lapsed holds are released (the request becomes
    /// `cancelled`, reason `hold_expired`, and the slot is offered to the queue), queued
    /// requests past their deadline become `expired`, and slots that have started leave
    /// the open index. Each change is dated when it fell due, not when it was noticed, so
    /// that lapses that happened while the daemon was down are reported at their true time.
    /// Under the `scarcity` strategy it also refreshes the bid prices when they are due.
    public mutating func tick(now: Date) {
        let t = now.epochSeconds
        refreshBidPrices(now: now)
        var freed: [Int64] = []
        while let due = holds.next, due.at <= t {
            _ = holds.pop()
            guard var r = requests[due.id], r.state == .held, r.holdUntil?.epochSeconds == due.at else { continue }
            r.state = .cancelled
            r.reason = "hold_expired"
            r.closedAt = r.holdUntil
            r.updatedAt = r.holdUntil ?? now
            if let slot = r.assignment?.slot { freed.append(slot.number) }
            r.leaveSlot()
            put(r)
        }
        while let due = deadlines.next, due.at <= t {
            _ = deadlines.pop()
            guard var r = requests[due.id], r.state == .queued, r.deadline.epochSeconds == due.at else { continue }
            r.state = .expired
            r.closedAt = r.deadline
            r.updatedAt = r.deadline
            put(r)
        }
        publishDuePlans(now: now)
        // Dropping started slots walks every bucket: once a minute is plenty.
        if t >= lastPurge + 60 {
            // Slots leave the index and the live market: no score falls, but live prices move.
            version.changes &+= 1
            open.removeStarting(before: t)
            live.removeStarting(before: t + Int64(policy.leadSeconds))
            openExtra = openExtra.filter { slots[$0].map { $0.end.epochSeconds > t } ?? false }
            snapOldLocations(createdBefore: t - Int64(policy.locationRetentionSeconds))
            lastPurge = t
        }
        for number in freed { release(slot: number, now: now) }
        // Last, so that the batch sees the places freed and published above.
        decidePending(now: now)
    }

    /// RGPD minimisation in memory: `snpd retention` snaps the location of requests older than
    /// the retention period in the database, and this does the same to the copies the daemon
    /// holds, so that a long-running daemon does not keep in memory what the database no
    /// longer has (no reply shows a request's location). Not journaled: the commit never
    /// writes a request's location. Requests are numbered in order of creation, so it walks only those created since the
    /// last call; a request still waiting or held (only possible with a retention shorter
    /// than the window) stops the walk until it is settled.
    mutating func snapOldLocations(createdBefore cutoff: Int64) {
        var n = snappedThrough + 1
        while n <= lastRequestNumber {
            if let r = requests[n] {
                guard r.createdAt.epochSeconds < cutoff, r.state != .queued, r.state != .held, r.state != .pending
                else { break }
                requests[n]!.spec.location = r.spec.location.snappedForRetention
            }
            n += 1
        }
        snappedThrough = n - 1
    }
}
