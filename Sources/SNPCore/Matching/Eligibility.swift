import Foundation

/// What a request asks of a slot, whether it comes from a stored request or from `SLOT FIND`.
public struct MatchNeed: Sendable {
    public var profession: Profession
    public var modes: ModeSet
    public var location: GeoPoint
    /// For `office` slots; `nil` means the policy's default.
    public var radiusKm: Double?
    public var priority: Int
    /// The latest acceptable start.
    public var deadline: Date
    public var declined: [SlotID]

    public init(
        profession: Profession, modes: ModeSet, location: GeoPoint, radiusKm: Double?, priority: Int, deadline: Date,
        declined: [SlotID] = []
    ) {
        self.profession = profession
        self.modes = modes
        self.location = location
        self.radiusKm = radiusKm
        self.priority = priority
        self.deadline = deadline
        self.declined = declined
    }

    public init(_ r: CareRequest) {
        self.init(
            profession: r.spec.profession, modes: r.spec.modes, location: r.spec.location, radiusKm: r.spec.radiusKm,
            priority: r.spec.priority, deadline: r.deadline, declined: r.declined)
    }
}

/// An eligible slot for a need, with its cost (§4.2).
public struct Candidate: Sendable, Equatable {
    public var slot: Slot
    /// When the patient is expected: the slot's start, or for extra capacity the earliest
    /// moment they may come, `max(window start, now + lead)` (§3.7).
    public var start: Date
    public var distanceKm: Double
    /// The §4.2 cost, as replies report it.
    public var cost: Double
    /// What the engine's strategy ranks by: the cost under `spec42`; the cost plus the
    /// strategy's premium (never negative) under `scarcity`.
    public var score: Double

    /// Lowest score first; ties to the earlier start, then the smaller slot id.
    public static func better(_ a: Candidate, than b: Candidate) -> Bool {
        if a.score != b.score { return a.score < b.score }
        if a.start != b.start { return a.start < b.start }
        return a.slot.id < b.slot.id
    }
}

/// Why a slot is not eligible for a need: one case per rule of §4.1.
public enum Ineligibility: Error, Equatable, Sendable {
    case withdrawn
    case otherProfession
    case modeNotAccepted
    case full
    case professionalInactive
    case weeklyCapReached
    case tooSoon
    case afterDeadline
    case tooFar(distanceKm: Double, limitKm: Double)
    case declinedBefore

    public var explanation: String {
        switch self {
        case .withdrawn: "the slot was withdrawn"
        case .otherProfession: "the slot is for another profession"
        case .modeNotAccepted: "the slot's mode is not among the request's modes"
        case .full: "the slot has no place left"
        case .professionalInactive: "the professional is not active"
        case .weeklyCapReached: "the professional has reached their weekly cap"
        case .tooSoon: "the slot starts too soon (or has started)"
        case .afterDeadline: "the slot starts after the request's deadline"
        case .tooFar(let d, let limit): String(format: "the slot is %.1f km away, beyond %.1f km", d, limit)
        case .declinedBefore: "the request declined this slot before"
        }
    }
}

extension MatchingEngine {
    /// Checks every rule of §4.1 for one slot and prices it (§4.2).
    public func evaluate(_ slot: Slot, for need: MatchNeed, now: Date) -> Result<Candidate, Ineligibility> {
        var distances = SearchMemo(from: need.location)
        return evaluate(slot, week: slot.week, for: need, now: now, distances: &distances)
    }

    /// `evaluate`, with the slot's ISO week and the distance to its practice given by the
    /// caller: a search keeps the week in its index and meets the same practice many times.
    func evaluate(
        _ slot: Slot, week: Int, for need: MatchNeed, now: Date, distances: inout SearchMemo
    ) -> Result<Candidate, Ineligibility> {
        guard !slot.isWithdrawn else { return .failure(.withdrawn) }
        guard slot.profession == need.profession else { return .failure(.otherProfession) }
        guard need.modes.contains(slot.mode) else { return .failure(.modeNotAccepted) }
        guard taken(slot.id.number) < slot.capacity else { return .failure(.full) }
        guard let pro = professionals[slot.pro], pro.active else { return .failure(.professionalInactive) }
        let lead = now.epochSeconds + Int64(policy.leadSeconds)
        var start = slot.start.epochSeconds
        var week = week
        if slot.isExtra {
            // The earliest the patient may come, leaving at least 15 minutes of the window.
            start = max(start, lead)
            guard start + Self.minExtraStaySeconds <= slot.end.epochSeconds else { return .failure(.tooSoon) }
            week = ParisTime.isoWeek(at: start)
        } else {
            guard start >= lead else { return .failure(.tooSoon) }
        }
        guard start <= need.deadline.epochSeconds else { return .failure(.afterDeadline) }
        let distance = distances.km(to: pro.location)
        let limit = distanceLimitKm(slot.mode, for: need, homeRadiusKm: pro.homeRadiusKm ?? policy.homeRadiusKm)
        guard distance <= limit else { return .failure(.tooFar(distanceKm: distance, limitKm: limit)) }
        guard !need.declined.contains(slot.id) else { return .failure(.declinedBefore) }
        let load = self.load(of: pro.rpps, week: week)
        if let cap = pro.weeklyCap, load >= cap { return .failure(.weeklyCapReached) }
        let hours = Double(start - now.epochSeconds) / 3600
        let cost =
            policy.timeWeight(priority: need.priority) * hours
            + policy.distanceWeight * (slot.mode == .tele ? 0 : distance)
            + policy.loadWeight * Double(load)
        return .success(
            Candidate(
                slot: slot, start: Date(epochSeconds: start), distanceKm: distance, cost: cost,
                score: cost
                    + (slot.isExtra
                        ? 0 : strategyPremium(slot, load: load, at: pro.location, now: now.epochSeconds, memo: &distances.prices))))
    }

    /// How far from a need a practice may be for one of its slots of `mode` (§4.1): the
    /// need's radius or the policy's for the office, the professional's home-visit radius
    /// (`homeRadiusKm`, theirs or the policy's) for a visit, anywhere for remote.
    func distanceLimitKm(_ mode: SlotMode, for need: MatchNeed, homeRadiusKm: Double) -> Double {
        switch mode {
        case .office: need.radiusKm ?? policy.officeRadiusKm
        case .home: homeRadiusKm
        case .tele: .infinity
        }
    }

    /// How far from a need its slots of `mode` are looked for: its own radius or the
    /// policy's for the office, the farthest home-visit radius, anywhere for remote.
    func searchRadius(_ mode: SlotMode, for need: MatchNeed) -> Double {
        switch mode {
        case .office: need.radiusKm ?? policy.officeRadiusKm
        case .home: maxHomeRadiusKm
        case .tele: .infinity
        }
    }

    /// What must be left of an extra-capacity window after the patient's earliest arrival (§4.1).
    public static let minExtraStaySeconds: Int64 = 15 * 60

    /// The `limit` best eligible slots for a need, best first (§4.1): regular slots, and
    /// only when none is eligible, extra-capacity windows.
    public func matchCandidates(for need: MatchNeed, now: Date, limit: Int) -> [Candidate] {
        let regular = candidates(for: need, now: now, limit: limit)
        return regular.isEmpty ? extraCandidates(for: need, now: now, limit: limit) : regular
    }

    /// The `limit` best eligible extra-capacity windows for a need: a walk over the open
    /// ones, which are few (a window a day for some professionals).
    public func extraCandidates(for need: MatchNeed, now: Date, limit: Int) -> [Candidate] {
        var found: [Candidate] = []
        for number in openExtra {
            guard let slot = slots[number], slot.profession == need.profession,
                case .success(let c) = evaluate(slot, for: need, now: now)
            else { continue }
            found.append(c)
        }
        found.sort { Candidate.better($0, than: $1) }
        return Array(found.prefix(limit))
    }

    /// The `limit` best eligible slots for a need, best first.
    ///
    /// Looks only at the open index's buckets of the right profession and modes near the
    /// point, nearest bucket first, and in each at its practices (a professional at a place),
    /// whose slots come by start, from `now + lead` to the deadline. Once `limit` candidates
    /// are found, a lower bound of the score prunes the rest (issue 18, docs/PERFORMANCE.md):
    /// - the score is at least the §4.2 cost plus, under `scarcity`, the extra load term,
    ///   since the bid price is never negative; for one practice, in one mode and one ISO
    ///   week, that bound differs from slot to slot only by the time term, which grows with
    ///   the start: the practice's earliest slot of the week bounds all its others;
    /// - a practice is skipped on its first start in the window, its least load over the
    ///   window's weeks (two at most) and the chord to it (`GeoPoint.chordKm`), read from
    ///   the bucket's compact `heads`: no haversine, no look at its slots. Otherwise its
    ///   distance is computed once, and the walk over its slots leaves it as soon as the
    ///   time and distance terms alone are too much, and a week of it as soon as the bound
    ///   with that week's load is; a bucket whose nearest corner is too far is skipped.
    /// The bound is computed with the same operations, in the same order, as the score,
    /// so that a slot whose score would tie the last one kept is still evaluated. Only the
    /// slots that pass it are looked up and evaluated.
    public func candidates(for need: MatchNeed, now: Date, limit: Int) -> [Candidate] {
        guard limit > 0 else { return [] }
        var best: [Candidate] = []
        let from = now.epochSeconds + Int64(policy.leadSeconds)
        let to = need.deadline.epochSeconds
        guard from <= to else { return [] }
        let timeWeight = policy.timeWeight(priority: need.priority)
        let nowSeconds = now.epochSeconds
        // The load terms of the score (`evaluate`, `strategyPremium`) but the bid price.
        let extraLoadWeight = policy.strategy == .scarcity ? max(0, policy.scarcity.loadWeight - policy.loadWeight) : 0
        var distances = SearchMemo(from: need.location)
        let needUnit = need.location.unitVector
        // While the live bid price counts (a cold start), a practice's least price joins the bound.
        let pricesLive = policy.strategy == .scarcity && liveBidPricesCount(at: now.epochSeconds)
        // The window's ISO weeks, for a bound of the load term, and when the second begins
        // (`to + 1` if there is one week); with a window of more than two weeks (a longer
        // `within` configured), no load bound (`nil`).
        let fromWeek = Int32(ParisTime.isoWeek(at: from))
        let toWeek = Int32(ParisTime.isoWeek(at: to))
        let toWeekStart: Int64? =
            toWeek == fromWeek
            ? to + 1
            : Int32(ParisTime.isoWeek(at: from + 7 * 86_400)) == toWeek
                ? Self.firstInstant(ofWeek: toWeek, after: from, upTo: to) : nil
        // The score of the last of `limit` candidates kept; infinite until there are `limit`.
        var worst = Double.infinity
        best.reserveCapacity(limit)
        for mode in need.modes.modes {
            let radius = searchRadius(mode, for: need)
            let perKm = mode == .tele ? 0 : policy.distanceWeight
            let firstTimePart = timeWeight * (Double(from - nowSeconds) / 3600)
            for (bucket, minKm) in open.buckets(profession: need.profession, mode: mode, near: need.location, radiusKm: radius) {
                if firstTimePart + perKm * minKm > worst { continue }
                for k in bucket.heads.indices {
                    let head = bucket.heads[k]
                    // Its slots inside the window lie between these (none if `last < first`).
                    let first = max(head.firstStart, from)
                    let last = min(head.lastStart, to)
                    if last < first { continue }
                    // The time term of its first slot in the window alone: no need to look further.
                    let firstTime = timeWeight * (Double(first - nowSeconds) / 3600)
                    if firstTime + perKm * minKm > worst { continue }
                    let practice = bucket.practices[k]
                    // The least bid price of its slots (0 but while the live price counts:
                    // `livePriceFloor`), once `limit` are kept.
                    let priceFloor =
                        worst < .infinity && pricesLive
                        ? livePriceFloor(
                            practice, mode: mode, profession: need.profession, now: nowSeconds, memo: &distances.prices)
                        : 0
                    if worst < .infinity, let toWeekStart {
                        // With its least load over the weeks of those slots, and the chord for
                        // the distance: still no sine, and no look at its slots.
                        let load = Double(
                            last < toWeekStart
                                ? load(ofNumber: head.pro, week: fromWeek)
                                : first >= toWeekStart
                                    ? load(ofNumber: head.pro, week: toWeek)
                                    : min(load(ofNumber: head.pro, week: fromWeek), load(ofNumber: head.pro, week: toWeek)))
                        let chord = perKm > 0 ? GeoPoint.chordKm(needUnit, head.unit) : 0
                        if firstTime + perKm * chord + policy.loadWeight * load + (extraLoadWeight * load + priceFloor) > worst {
                            continue
                        }
                    }
                    let entries = practice.entries
                    var i = head.firstStart >= from ? 0 : SlotIndex.firstStarting(at: from, in: entries)
                    guard i < entries.count, entries[i].start <= to else { continue }
                    // One distance for all the practice's slots; `evaluate` finds it in the memo.
                    let km = distances.km(to: practice.location)
                    if km > radius { continue }
                    let distancePart = perKm * (mode == .tele ? 0 : km)
                    var week: Int32 = -1
                    var loadPart = 0.0
                    var extraLoadPart = 0.0
                    while i < entries.count, entries[i].start <= to {
                        let entry = entries[i]
                        let timeAndDistance = timeWeight * (Double(entry.start - nowSeconds) / 3600) + distancePart
                        // Later slots of the practice start later: none can do better.
                        if timeAndDistance > worst { break }
                        if entry.week != week {
                            week = entry.week
                            let load = Double(load(ofNumber: practice.pro, week: week))
                            loadPart = policy.loadWeight * load
                            extraLoadPart = extraLoadWeight * load
                        }
                        if timeAndDistance + loadPart + (extraLoadPart + priceFloor) > worst {
                            // Nor can later slots of the same week, with the same load.
                            i = SlotIndex.firstAfter(week: week, in: entries, from: i + 1)
                            continue
                        }
                        i += 1
                        guard let slot = slots[entry.slot] else { continue }
                        let c: Candidate
                        switch evaluate(slot, week: Int(entry.week), for: need, now: now, distances: &distances) {
                        case .success(let found): c = found
                        case .failure(.tooFar), .failure(.professionalInactive):
                            // The same for every slot of the practice in this mode.
                            i = entries.count
                            continue
                        case .failure(.weeklyCapReached):
                            i = SlotIndex.firstAfter(week: week, in: entries, from: i)
                            continue
                        case .failure: continue
                        }
                        if best.count == limit {
                            guard Candidate.better(c, than: best[limit - 1]) else { continue }
                            best.removeLast()
                        }
                        let at = best.firstIndex { Candidate.better(c, than: $0) } ?? best.count
                        best.insert(c, at: at)
                        if best.count == limit { worst = best[limit - 1].score }
                    }
                }
            }
        }
        return best
    }
}

extension MatchingEngine {
    /// The first second of ISO week `week` (Europe/Paris), which begins after `start` and by
    /// `end`: a binary search, since weeks grow with time.
    static func firstInstant(ofWeek week: Int32, after start: Int64, upTo end: Int64) -> Int64 {
        var lo = start  // in an earlier week
        var hi = end  // in `week`
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2
            if ParisTime.isoWeek(at: mid) >= Int(week) { hi = mid } else { lo = mid }
        }
        return hi
    }
}

/// What one search from one point computes once: the distance to practices, kept for the
/// last practice asked about (a bucket's slots come by start, and a practice's slots tend
/// to follow one another), and what the live bid price reads (`LivePriceMemo`).
struct SearchMemo {
    let from: GeoPoint
    private var last: GeoPoint?
    private var lastKm = 0.0
    var prices = LivePriceMemo()

    init(from: GeoPoint) { self.from = from }

    mutating func km(to point: GeoPoint) -> Double {
        if point == last { return lastKm }
        last = point
        lastKm = from.distanceKm(to: point)
        return lastKm
    }
}
