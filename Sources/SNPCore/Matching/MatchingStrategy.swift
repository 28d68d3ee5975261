import Foundation

/// How the engine chooses among eligible slots, and among waiting requests when a place
/// appears. Eligibility (§4.1) and the guarantees (§4.4) are the same under every strategy,
/// and the `cost` reported with a booking is always the §4.2 cost. docs/MATCHING.md gives
/// the rules precisely and the measurements that chose them.
public enum MatchingStrategy: String, Sendable, CaseIterable, Codable {
    /// SPEC.md as written: the lowest §4.2 cost (§4.2); a new place goes to the first
    /// eligible request in queue order (§4.3).
    case spec42
    /// Scarcity-aware: a request gets the slot of lowest §4.2 cost plus a stronger load
    /// term plus the slot's bid price (the demand it is likely to meet from requests with
    /// few other options); a new place goes to the waiting request with the fewest places
    /// likely to come before its deadline.
    case scarcity
}

/// The numbers of the `scarcity` strategy.
public struct ScarcityTuning: Sendable, Equatable {
    /// How far back recent requests and publications are read as the forecast of the next ones.
    public var historySeconds = 3 * 86_400
    /// How often bid prices are recomputed (by `tick`).
    public var refreshSeconds = 600
    /// The bid price of a place that requests from elsewhere are expected to claim `ρ`
    /// times is `bidPriceWeight × ρ` (in units of the §4.2 cost).
    public var bidPriceWeight = 60.0
    /// Per booking the professional already has that ISO week, in the ranking; the §4.2
    /// cost keeps `MatchingPolicy.loadWeight`. Spreads bookings more than §4.2 does.
    public var loadWeight = 5.0
    /// A waiting request expecting fewer places than this before its deadline is at risk:
    /// a free place goes to the requests at risk first.
    public var riskPlaces = 2.0
    /// A priority-1 request counts its likely places times this: it goes first when it is
    /// as constrained as another, and keeps its turn unless the other is much more so.
    public var urgentPlacesFactor = 0.5
    /// The live bid price (issue 17, `LiveMarket`): `liveBidPriceWeight × pressure^livePressureExponent`,
    /// `pressure` the expected claims on a place from the requests to come, read from the
    /// open places and the requests so far at each decision. It carries the prices while
    /// there is less than `warmHours` of history (a daemon just started), blended into the
    /// history's bid price as history accumulates: weight `1 − hours of history / warmHours`.
    /// `liveBidPriceWeight = 0` turns it off (the prices before issue 17).
    public var liveBidPriceWeight = 60.0
    public var warmHours = 6.0
    /// Above 1, a place claimed more than once costs much more than one claimed less than
    /// once (which would likely go unused anyway).
    public var livePressureExponent = 2.0
    /// With no request yet, demand is assumed where the places are (`places^exponent` per
    /// cell and mode), worth this many requests against those that arrive.
    public var livePriorRequests = 10.0
    public var livePriorExponent = 0.5
    /// The prior's requests count as come over this many hours before the first request:
    /// the rate of requests to come is `(requests so far + livePriorRequests) / (hours
    /// since the first + livePriorHours)`.
    public var livePriorHours = 6.0
    /// The live price counts only while the requests to come would claim at least this
    /// share of the open places: a quiet first night keeps the history's prices exactly.
    public var liveBusyThreshold = 0.5
    /// The live price counts for a profession only while its requests come as a burst: at
    /// least `liveBurstArrivals` of them so far, at a rate (over the hours of history, at
    /// least a minute) that would bring within the window `liveBurstFactor` times its open
    /// places. A fresh daemon's first quiet hours (a few requests a profession, as each
    /// simulated week starts) keep the history's prices. 0 and 0: no such condition (the
    /// live price of before this condition). docs/MATCHING.md, "Cold start", has the measures.
    public var liveBurstArrivals = 10
    public var liveBurstFactor = 10.0

    public init() {}
}

extension MatchingPolicy {
    /// The default policy with SPEC.md's choice rules (§4.2, §4.3) instead of the default strategy.
    public static var spec42: MatchingPolicy {
        var p = MatchingPolicy()
        p.strategy = .spec42
        return p
    }
}

extension MatchingPolicy {
    /// The default policy with the strategy named as `SNPD_STRATEGY` and `snp-sim --strategy`
    /// take it: `spec42`, `scarcity`, or a strategy with other numbers,
    /// `scarcity:bid=60:load=5:risk=2:urgent=0.5:history=72:refresh=10:live=60:warm=6:power=2`
    /// `:prior=10:alpha=0.5:priorh=6:busy=0.5:burstn=10:burstx=10` (history, warm and priorh in hours, refresh in
    /// minutes; `live=0`: no live bid price, the prices before issue 17). Nil for an unknown
    /// strategy or setting, or a value that is not a number.
    public init?(strategyNamed text: String) {
        let parts = text.split(separator: ":").map(String.init)
        guard let first = parts.first, let strategy = MatchingStrategy(rawValue: first.lowercased()) else { return nil }
        self.init()
        self.strategy = strategy
        // The settings are all the `scarcity` strategy's numbers, none of them negative.
        guard strategy == .scarcity || parts.count == 1 else { return nil }
        for setting in parts.dropFirst() {
            let kv = setting.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, let v = Double(kv[1]), v.isFinite, v >= 0 else { return nil }
            switch kv[0] {
            case "bid": scarcity.bidPriceWeight = v
            case "load": scarcity.loadWeight = v
            case "risk": scarcity.riskPlaces = v
            case "urgent": scarcity.urgentPlacesFactor = v
            case "history": scarcity.historySeconds = Int(v * 3600)
            case "refresh": scarcity.refreshSeconds = Int(v * 60)
            case "live": scarcity.liveBidPriceWeight = v
            case "warm": scarcity.warmHours = v
            case "prior": scarcity.livePriorRequests = v
            case "alpha": scarcity.livePriorExponent = v
            case "power": scarcity.livePressureExponent = v
            case "priorh": scarcity.livePriorHours = v
            case "busy": scarcity.liveBusyThreshold = v
            case "burstn": scarcity.liveBurstArrivals = Int(v)
            case "burstx": scarcity.liveBurstFactor = v
            default: return nil
            }
        }
    }
}

/// An open slot as the bid-price refresh reads it.
struct OpenPlace {
    var slot: Int64
    var start: Int64
    var mode: SlotMode
    /// Places left.
    var places: Int
    var homeRadiusKm: Double

    /// Whether a request like `q`, this far from the practice, could use it: its mode, and
    /// the distance rule of §4.1 (profession and time are the caller's).
    func reachable(by q: BidPriceBook.Sample, distanceKm: Double) -> Bool {
        guard q.modes.contains(mode) else { return false }
        switch mode {
        case .office: return distanceKm <= q.officeRadiusKm
        case .home: return distanceKm <= homeRadiusKm
        case .tele: return true
        }
    }
}

/// The open places of one profession grouped by practice, and the practices by grid cell
/// (`SlotIndex`'s cells): the bid-price refresh reads it once per recent request, and
/// looks only at the practices that request could reach instead of at every open place.
struct PracticeMap {
    var locations: [GeoPoint] = []
    /// Open places of each practice (same index as `locations`).
    var places: [[OpenPlace]] = []
    var byCell: [Int64: [Int]] = [:]
    var maxHomeRadiusKm = 0.0
    var hasTele = false

    /// Practices that may hold a place `q` could use, with their distance from `q`: every
    /// practice if `q` accepts remote slots and there are some, else those in the cells
    /// within its office radius or the largest home radius. A superset: the caller still
    /// checks each place with `OpenPlace.reachable`.
    func practices(near q: BidPriceBook.Sample) -> [(practice: Int, distanceKm: Double)] {
        if q.modes.contains(.tele) && hasTele {
            return locations.indices.map { ($0, q.location.distanceKm(to: locations[$0])) }
        }
        var radius = 0.0
        if q.modes.contains(.office) { radius = max(radius, q.officeRadiusKm) }
        if q.modes.contains(.home) { radius = max(radius, maxHomeRadiusKm) }
        guard radius > 0 else { return [] }
        var found: [(practice: Int, distanceKm: Double)] = []
        SlotIndex.forEachCell(near: q.location, radiusKm: radius) { cell in
            for k in byCell[cell] ?? [] { found.append((k, q.location.distanceKm(to: locations[k]))) }
        }
        return found
    }
}

/// The bid prices of open places, and the recent requests they were computed from: derived
/// state, recomputed by `tick` every `refreshSeconds`, never journaled.
struct BidPriceBook: Sendable {
    /// A recent request, read as a kind of request likely to come again.
    struct Sample: Sendable {
        var location: GeoPoint
        var modes: ModeSet
        var officeRadiusKm: Double
        var withinSeconds: Int64
        /// 1 / the open places it could use now: a request with many options spreads its
        /// demand thin over them.
        var share: Double

        /// The demand a request like this one, arriving at rate 1/`spanHours` from `t` on,
        /// puts on a reachable place starting at `start`: it could use it if it arrives
        /// before the start minus the lead, and no longer than its `within` before the start.
        func demand(onPlaceStarting start: Int64, leadSeconds: Int64, after t: Int64, spanHours: Double) -> Double {
            let from = max(t, start - withinSeconds)
            let latest = start - leadSeconds
            guard latest > from else { return 0 }
            return Double(latest - from) / 3600 / spanHours * share
        }
    }

    var refreshedAt: Int64?
    /// Hours of history the samples stand for.
    var spanHours = 1.0
    var samples: [Profession: [Sample]] = [:]
    /// The same samples filed by place.
    var sampleIndex: [Profession: CellFiling] = [:]
    /// Bid price of one place of each open slot, at the last refresh.
    var prices: [Int64: Double] = [:]
    /// Demand on each slot published since the last refresh (`lateDemand(on:)`), kept at
    /// publication; dropped with the slot, and when its professional changes.
    var lateDemand: [Int64: Double] = [:]
}

extension MatchingEngine {
    /// What the `scarcity` strategy adds to the §4.2 cost in the ranking: the extra load
    /// term and the slot's bid price. Never negative, so that the time part of the cost
    /// stays a lower bound of the score (the search in `candidates` relies on it). `location`
    /// is the slot's practice; `memo` keeps what the live price reads once per search.
    func strategyPremium(_ slot: Slot, load: Int, at location: GeoPoint, now: Int64, memo: inout LivePriceMemo) -> Double {
        guard policy.strategy == .scarcity else { return 0 }
        let extraLoad = max(0, policy.scarcity.loadWeight - policy.loadWeight) * Double(load)
        return extraLoad + bidPrice(slot, at: location, now: now, memo: &memo)
    }

    /// The bid price of one place of `slot` at `now`: the history's (`historyBidPrice`) once
    /// there are `warmHours` of history. Before, the live price (`liveBidPrice`) is added,
    /// weighted by `cold = 1 − hours of history / warmHours`, and the history's is taken at
    /// `1 − cold × busy`, `busy` the share of the open places the requests to come would
    /// claim (`LiveMarket.requestsToCome` / open places): a burst on a daemon just started is
    /// priced from what it sees now, not from the few minutes of history a refresh read
    /// with the rate of a whole day. Below `liveBusyThreshold` (a quiet first night), the
    /// history's price alone. Never negative.
    func bidPrice(_ slot: Slot, now: Int64) -> Double {
        guard let pro = professionals[slot.pro] else { return historyBidPrice(slot) }
        var memo = LivePriceMemo()
        return bidPrice(slot, at: pro.location, now: now, memo: &memo)
    }

    /// `bidPrice(_:now:)` for a slot whose practice is at `location`, reading the market's
    /// state for the profession and the prior of each cell and mode once per `memo`.
    func bidPrice(_ slot: Slot, at location: GeoPoint, now: Int64, memo: inout LivePriceMemo) -> Double {
        let history = historyBidPrice(slot)
        let market = memo.market(of: slot.profession, at: now, in: self)
        // Below the threshold (or warm), no pressure to compute.
        guard market.counts, market.busy >= policy.scarcity.liveBusyThreshold else { return history }
        return (1 - market.cold * market.busy) * history
            + market.cold * liveBidPrice(slot, at: location, market: market, memo: &memo)
    }

    /// `LiveMarket.requestsToCome` with the strategy's numbers and the window.
    func requestsToCome(_ profession: Profession, at now: Int64) -> Double {
        live.requestsToCome(
            profession, at: now, windowHours: Double(policy.windowSeconds) / 3600,
            priorRequests: policy.scarcity.livePriorRequests, priorHours: policy.scarcity.livePriorHours)
    }

    /// The live bid price of one place of `slot`, `liveBidPriceWeight × pressure^livePressureExponent`
    /// (`LiveMarket.pressure`).
    func liveBidPrice(_ slot: Slot, at location: GeoPoint, market: LivePriceMemo.Market, memo: inout LivePriceMemo) -> Double {
        let tuning = policy.scarcity
        let n0 = tuning.livePriorRequests
        let key = LiveMarket.Key(profession: slot.profession, cell: SlotIndex.cell(of: location))
        let prior = n0 > 0 ? memo.prior(key, mode: slot.mode, in: live) : 0
        let pressure = LiveMarket.pressure(
            shares: live.shares(of: slot.id.number), prior: prior, arrived: market.arrived, priorRequests: n0,
            toCome: market.toCome)
        return tuning.liveBidPriceWeight * pow(pressure, tuning.livePressureExponent)
    }

    /// At most the bid price of any open slot of a practice (`SlotIndex`'s, in `mode`, of
    /// `profession`), for the bound of `candidates`: the live part with the least shares of
    /// its slots (`LiveMarket.sharesFloor`) and the history's part at 0; 0 when the live
    /// price does not count. Every operation the price makes is monotone, so the floor,
    /// computed the same way from a smaller number, is never above a slot's price.
    func livePriceFloor(
        _ practice: SlotIndex.Practice, mode: SlotMode, profession: Profession, now: Int64, memo: inout LivePriceMemo
    ) -> Double {
        let market = memo.market(of: profession, at: now, in: self)
        guard market.counts, market.busy >= policy.scarcity.liveBusyThreshold else { return 0 }
        let tuning = policy.scarcity
        let n0 = tuning.livePriorRequests
        let key = LiveMarket.Key(profession: profession, cell: SlotIndex.cell(of: practice.location))
        let prior = n0 > 0 ? memo.prior(key, mode: mode, in: live) : 0
        let shares = live.sharesFloor(of: LiveMarket.PracticeKey(pro: practice.pro, mode: mode, location: practice.location))
        let pressure = LiveMarket.pressure(
            shares: shares, prior: prior, arrived: market.arrived, priorRequests: n0, toCome: market.toCome)
        return market.cold * (tuning.liveBidPriceWeight * pow(pressure, tuning.livePressureExponent))
    }

    /// Whether the live bid price still counts at `t`: under `scarcity`, with less than
    /// `warmHours` of history.
    func liveBidPricesCount(at t: Int64) -> Bool {
        let tuning = policy.scarcity
        return policy.strategy == .scarcity && tuning.liveBidPriceWeight > 0
            && live.historyHours(at: t) < tuning.warmHours
    }

    /// Counts a request's arrival in the live market (`sign` -1: its creation undone), and,
    /// while the live price counts, its share of each open place it could use at its
    /// creation (`liveArrival`). Called without the request's own place taken, so that the
    /// creation and its undo count the same options.
    mutating func countLiveArrival(_ r: CareRequest, sign: Int) {
        live.arrive(r.spec.profession, createdAt: r.createdAt.epochSeconds, sign: sign)
        guard liveBidPricesCount(at: r.createdAt.epochSeconds) else { return }
        live.share(liveArrival(for: MatchNeed(r), now: r.createdAt), sign: Double(sign))
    }

    /// The regular open slots a need could use now (§4.1, as `eligibleSlots` finds them, but
    /// neither priced nor sorted), as the live market counts them: practice by practice
    /// (`SlotIndex`'s), the distance once, then each slot's start, week (the weekly cap) and
    /// declines. The open index holds only slots with room of active professionals. A
    /// practice most of whose open slots are eligible is counted whole (its open places from
    /// the market, less those of the others); one with few, slot by slot.
    func liveArrival(for need: MatchNeed, now: Date) -> LiveMarket.Arrival {
        var arrival = LiveMarket.Arrival()
        let from = now.epochSeconds + Int64(policy.leadSeconds)
        let to = need.deadline.epochSeconds
        guard from <= to else { return arrival }
        var distances = SearchMemo(from: need.location)
        var eligible: [Bool] = []
        for mode in need.modes.modes {
            let radius = searchRadius(mode, for: need)
            for (bucket, _) in open.buckets(profession: need.profession, mode: mode, near: need.location, radiusKm: radius) {
                for k in bucket.heads.indices {
                    let head = bucket.heads[k]
                    guard max(head.firstStart, from) <= min(head.lastStart, to) else { continue }
                    let practice = bucket.practices[k]
                    let key = LiveMarket.PracticeKey(pro: practice.pro, mode: mode, location: practice.location)
                    guard let known = live.practices[key] else { continue }
                    let limit = distanceLimitKm(mode, for: need, homeRadiusKm: known.homeRadiusKm)
                    guard limit == .infinity || distances.km(to: practice.location) <= limit else { continue }
                    let entries = practice.entries
                    eligible.removeAll(keepingCapacity: true)
                    var count = 0
                    var week: Int32 = -1
                    var capped = false
                    for entry in entries {
                        if let cap = known.weeklyCap, entry.week != week {
                            week = entry.week
                            capped = load(ofNumber: practice.pro, week: week) >= cap
                        }
                        let ok =
                            entry.start >= from && entry.start <= to && !capped
                            && (need.declined.isEmpty || !need.declined.contains(.slot(entry.slot)))
                        eligible.append(ok)
                        if ok { count += 1 }
                    }
                    guard count > 0 else { continue }
                    if count * 2 <= entries.count {
                        for (i, entry) in entries.enumerated() where eligible[i] {
                            arrival.total += live.openPlaces(of: entry.slot)
                            arrival.slots.append(entry.slot)
                        }
                    } else {
                        // Slots of the index the market has dropped (starting within the lead
                        // since its last purge) are neither eligible nor among its places.
                        arrival.total += known.places
                        arrival.practices.append(key)
                        for (i, entry) in entries.enumerated() where !eligible[i] {
                            let places = live.openPlaces(of: entry.slot)
                            guard places > 0 else { continue }
                            arrival.total -= places
                            arrival.except.append(entry.slot)
                        }
                    }
                }
            }
        }
        return arrival
    }

    /// The history's bid price of one place of `slot`: from the last refresh, or for a slot
    /// published since, from the demand on it computed (from the same samples) when it was
    /// published.
    func historyBidPrice(_ slot: Slot) -> Double {
        let n = slot.id.number
        if let p = bidPrices.prices[n] { return p }
        guard bidPrices.refreshedAt != nil else { return 0 }
        let places = slot.capacity - taken(n)
        guard places > 0 else { return 0 }
        let demand = bidPrices.lateDemand[n] ?? lateDemand(on: slot) ?? 0
        return policy.scarcity.bidPriceWeight * demand / Double(places)
    }

    /// The demand the last refresh's samples put on a slot it did not price: the expected
    /// number of requests to come that could use it, each counted for its share. A request
    /// like sample `q` arrives at rate 1/span; it could use the slot if it arrives between
    /// the refresh and the slot's start minus the lead, and no longer than its `within`
    /// before the start. (The refresh computes the same for every open slot at once.)
    /// Reads the samples filed near the slot (`CellFiling`), in their order: `setSlot`
    /// keeps the result for each new slot, so that searches do not compute it again.
    func lateDemand(on slot: Slot) -> Double? {
        guard let t = bidPrices.refreshedAt, let samples = bidPrices.samples[slot.profession],
            let index = bidPrices.sampleIndex[slot.profession], let pro = professionals[slot.pro]
        else { return nil }
        var demand = 0.0
        let near = index.near(pro.location, reachKm: reachKm(of: slot, pro: pro))
        for i in near where reaches(samples[i], slot: slot, pro: pro) {
            let q = samples[i]
            demand += q.demand(
                onPlaceStarting: slot.start.epochSeconds, leadSeconds: Int64(policy.leadSeconds), after: t,
                spanHours: bidPrices.spanHours)
        }
        return demand
    }

    /// Profession aside (the caller sorts by profession), whether a request like `q` could
    /// use the slot: its mode, and the distance rule of §4.1.
    private func reaches(_ q: BidPriceBook.Sample, slot: Slot, pro: Professional) -> Bool {
        let place = OpenPlace(
            slot: slot.id.number, start: slot.start.epochSeconds, mode: slot.mode, places: 1,
            homeRadiusKm: pro.homeRadiusKm ?? policy.homeRadiusKm)
        return place.reachable(by: q, distanceKm: slot.mode == .tele ? 0 : q.location.distanceKm(to: pro.location))
    }

    private func sample(_ r: CareRequest) -> BidPriceBook.Sample {
        BidPriceBook.Sample(
            location: r.spec.location, modes: r.spec.modes, officeRadiusKm: r.spec.radiusKm ?? policy.officeRadiusKm,
            withinSeconds: Int64(r.spec.withinSeconds), share: 1)
    }

    /// Whether the `scarcity` strategy's bid prices are missing or older than `refreshSeconds`.
    func bidPricesDue(at t: Int64) -> Bool {
        guard let last = bidPrices.refreshedAt else { return true }
        return t >= last + Int64(policy.scarcity.refreshSeconds)
    }

    /// Recomputes the bid prices when they are older than `refreshSeconds` (called by `tick`).
    ///
    /// Only when every change so far has been taken from the journal: prices are derived from
    /// the records, and an `undo` must never meet prices computed from changes it takes back.
    mutating func refreshBidPrices(now: Date) {
        guard policy.strategy == .scarcity else {
            if bidPrices.refreshedAt != nil {
                bidPrices = BidPriceBook()
                version.widen()
            }
            return
        }
        let t = now.epochSeconds
        guard journal.isEmpty, bidPricesDue(at: t) else { return }
        var book = BidPriceBook()
        book.refreshedAt = t
        // Recent requests, newest first (ids grow with arrival).
        let since = t - Int64(policy.scarcity.historySeconds)
        var recent: [Profession: [CareRequest]] = [:]
        var oldest = t
        var n = lastRequestNumber
        while n > 0 {
            defer { n -= 1 }
            guard let r = requests[n] else { continue }
            if r.createdAt.epochSeconds < since { break }
            guard r.createdAt.epochSeconds <= t else { continue }
            recent[r.spec.profession, default: []].append(r)
            oldest = min(oldest, r.createdAt.epochSeconds)
        }
        // Less history than the window (a fresh start): it stands for what it covers.
        book.spanHours = max(6, Double(n > 0 ? t - since : t - oldest) / 3600)
        let lead = t + Int64(policy.leadSeconds)
        for profession in recent.keys.sorted() {
            let map = practiceMap(of: profession, startingFrom: lead)
            var samples: [BidPriceBook.Sample] = []
            var cells: [Int64] = []
            // Demand on each open place, in the map's layout (practice, then place).
            var demand = map.places.map { [Double](repeating: 0, count: $0.count) }
            let leadSeconds = Int64(policy.leadSeconds)
            // Sample by sample, in order: each place's demand adds up its samples in the same
            // order as summing place by place over all samples would, so the prices are the same
            // to the last bit; but only the practices near each sample are looked at.
            for r in recent[profession]! {
                var q = sample(r)
                let near = map.practices(near: q)
                let horizon = t + q.withinSeconds
                var options = 0
                for (k, distance) in near {
                    for o in map.places[k] where o.start <= horizon && o.reachable(by: q, distanceKm: distance) {
                        options += o.places
                    }
                }
                q.share = 1 / Double(max(1, options))
                samples.append(q)
                cells.append(RequestQueue.cell(for: r))
                for (k, distance) in near {
                    for (j, o) in map.places[k].enumerated() where o.reachable(by: q, distanceKm: distance) {
                        demand[k][j] += q.demand(
                            onPlaceStarting: o.start, leadSeconds: leadSeconds, after: t, spanHours: book.spanHours)
                    }
                }
            }
            book.samples[profession] = samples
            book.sampleIndex[profession] = CellFiling(cells: cells)
            for (k, places) in map.places.enumerated() {
                for (j, o) in places.enumerated() where o.places > 0 {
                    book.prices[o.slot] = policy.scarcity.bidPriceWeight * demand[k][j] / Double(o.places)
                }
            }
        }
        bidPrices = book
        version.widen()
    }

    /// The open places of `profession` starting at `from` or later, by practice.
    func practiceMap(of profession: Profession, startingFrom from: Int64) -> PracticeMap {
        var map = PracticeMap()
        var practiceOf: [RPPS: Int] = [:]
        open.forEach(profession: profession) { e in
            guard e.start >= from, let s = slots[e.slot], let p = professionals[s.pro] else { return }
            let home = p.homeRadiusKm ?? policy.homeRadiusKm
            let k: Int
            if let known = practiceOf[p.rpps] {
                k = known
            } else {
                k = map.locations.count
                practiceOf[p.rpps] = k
                map.locations.append(p.location)
                map.places.append([])
                map.byCell[SlotIndex.cell(of: p.location), default: []].append(k)
            }
            map.places[k].append(
                OpenPlace(slot: e.slot, start: e.start, mode: s.mode, places: s.capacity - taken(e.slot), homeRadiusKm: home))
            if s.mode == .home { map.maxHomeRadiusKm = max(map.maxHomeRadiusKm, home) }
            if s.mode == .tele { map.hasTele = true }
        }
        return map
    }

    /// The request a free place of `slot` goes to under the `scarcity` strategy.
    ///
    /// Each eligible waiting request is weighed by the places likely to come for it before
    /// its deadline (`expectedPlaces`; halved, by default, for priority 1). Those at risk
    /// (fewer than `riskPlaces`) come before the others; inside each group, the fewest
    /// likely places wins, and ties keep queue order (priority, deadline, arrival).
    /// The recent publications are read once for all of them, and not at all when only
    /// one request is eligible.
    func scarcityChoice(for slot: Slot, now: Date) -> (CareRequest, Candidate)? {
        let tuning = policy.scarcity
        var eligible: [(r: CareRequest, c: Candidate, priority: Int)] = []
        for key in waiting(for: slot) {
            guard key.deadline >= slot.start.epochSeconds, let r = requests[key.request],
                case .success(let c) = evaluate(slot, for: MatchNeed(r), now: now)
            else { continue }
            eligible.append((r, c, key.priority))
        }
        guard eligible.count > 1 else { return eligible.first.map { ($0.r, $0.c) } }
        let recent = recentPublications(of: slot.profession, now: now)
        var best: (r: CareRequest, c: Candidate, rank: (Int, Double))?
        for (r, c, priority) in eligible {
            var places = expectedPlaces(for: r, now: now, among: recent)
            if priority == 1 { places *= tuning.urgentPlacesFactor }
            let rank = (places < tuning.riskPlaces ? 0 : 1, places)
            if best == nil || rank < best!.rank { best = (r, c, rank) }
        }
        return best.map { ($0.r, $0.c) }
    }

    /// Places likely to be published for a waiting request before its deadline: each recent
    /// publication (within `historySeconds`, `recentPublications`) it could have used, at
    /// the rate they came, if one published as long before its start would start before
    /// the deadline.
    func expectedPlaces(for r: CareRequest, now: Date, among recent: RecentPublications) -> Double {
        let latest = r.deadline.epochSeconds
        let q = sample(r)
        var total = 0.0
        let reach = max(q.modes.contains(.office) ? q.officeRadiusKm : 0, q.modes.contains(.home) ? maxHomeRadiusKm : 0)
        for i in recent.near(q.location, reachKm: reach) {
            let p = recent.publications[i]
            let place = OpenPlace(slot: 0, start: p.start, mode: p.mode, places: 1, homeRadiusKm: p.homeRadiusKm)
            guard place.reachable(by: q, distanceKm: p.mode == .tele ? 0 : q.location.distanceKm(to: p.location)) else {
                continue
            }
            // Published `ahead` before its start: one published from now on that far ahead
            // starts before the deadline if it is published within `window`.
            let ahead = p.start - p.createdAt
            let window = latest - ahead - now.epochSeconds
            if window > 0 { total += Double(window) * Double(p.capacity) }
        }
        return total / Double(max(6 * 3600, recent.coveredSeconds))
    }

    /// The publications of `profession` within `historySeconds`, newest first (by number,
    /// down to the first older one), with how long a span they cover.
    func recentPublications(of profession: Profession, now: Date) -> RecentPublications {
        let t = now.epochSeconds
        let since = t - Int64(policy.scarcity.historySeconds)
        var recent = RecentPublications()
        var oldest = t
        var n = lastSlotNumber
        while n > 0 {
            defer { n -= 1 }
            guard let s = slots[n] else { continue }
            if s.createdAt.epochSeconds < since { break }
            oldest = min(oldest, s.createdAt.epochSeconds)
            guard s.profession == profession, !s.isExtra, let p = professionals[s.pro] else { continue }
            recent.add(s, at: p.location, homeRadiusKm: p.homeRadiusKm ?? policy.homeRadiusKm)
        }
        recent.coveredSeconds = n > 0 ? t - since : t - oldest
        return recent
    }
}

/// The recent publications of one profession, newest first, filed by the grid cell of
/// their practice (`tele` ones anywhere: `CellFiling`), so that weighing a waiting request
/// reads those near it (docs/PERFORMANCE.md, change 23).
struct RecentPublications {
    /// What weighing reads of a publication: plain values, so that reading one retains
    /// nothing (a `Slot` and a `Professional` hold strings).
    struct Publication {
        var mode: SlotMode
        var start: Int64
        var createdAt: Int64
        var capacity: Int
        /// The practice's.
        var location: GeoPoint
        var homeRadiusKm: Double
    }

    private(set) var publications: [Publication] = []
    private var filing = CellFiling()
    /// The span the publications cover, the denominator of a rate.
    var coveredSeconds: Int64 = 0

    mutating func add(_ slot: Slot, at practice: GeoPoint, homeRadiusKm: Double) {
        filing.file(slot.mode == .tele ? CellFiling.anywhereCell : SlotIndex.cell(of: practice))
        publications.append(
            Publication(
                mode: slot.mode, start: slot.start.epochSeconds, createdAt: slot.createdAt.epochSeconds,
                capacity: slot.capacity, location: practice, homeRadiusKm: homeRadiusKm))
    }

    /// The positions, ascending, of the `tele` publications and of those whose practice
    /// may lie within `reachKm` of `point`: a superset of those a request there could use.
    /// Beyond `RequestQueue.nearbyKm`, every position, rather than walking many cells.
    func near(_ point: GeoPoint, reachKm: Double) -> [Int] {
        guard reachKm <= RequestQueue.nearbyKm else { return Array(publications.indices) }
        return filing.near(point, reachKm: reachKm)
    }
}


/// What the live bid price reads once per search rather than once per slot evaluated: the
/// market's state for the profession (requests to come, how busy, how cold) and the prior
/// of each cell and mode met (`LiveMarket.prior`, a walk over some 35 cells).
struct LivePriceMemo {
    struct Market {
        /// Whether the live price counts (`MatchingEngine.liveBidPricesCount`).
        var counts = false
        var toCome = 0.0
        var busy = 0.0
        var cold = 0.0
        var arrived = 0
    }

    private var profession: Profession?
    private var at: Int64 = 0
    private var market = Market()
    private var priors: [(cell: Int64, mode: SlotMode, prior: Double)] = []

    /// The market of `profession` at `now`, computed on first use.
    mutating func market(of profession: Profession, at now: Int64, in engine: MatchingEngine) -> Market {
        if profession == self.profession && now == at { return market }
        self.profession = profession
        at = now
        priors.removeAll()
        market = Market()
        guard engine.liveBidPricesCount(at: now) else { return market }
        market.counts = true
        market.toCome = engine.requestsToCome(profession, at: now)
        let open = Double(engine.live.places[profession] ?? 0)
        market.busy = open > 0 ? min(1, market.toCome / open) : 0
        market.cold = 1 - min(1, engine.live.historyHours(at: now) / engine.policy.scarcity.warmHours)
        market.arrived = engine.live.arrivals[profession] ?? 0
        let tuning = engine.policy.scarcity
        if tuning.liveBurstArrivals > 0 || tuning.liveBurstFactor > 0 {
            let hours = max(1.0 / 60, engine.live.historyHours(at: now))
            let rate = Double(market.arrived) / hours * Double(engine.policy.windowSeconds) / 3600
            market.counts = market.arrived >= tuning.liveBurstArrivals && rate >= tuning.liveBurstFactor * open
        }
        return market
    }

    /// `live.prior(key, mode:)`, computed once per cell and mode (for the profession of the
    /// last `market(of:at:in:)`).
    mutating func prior(_ key: LiveMarket.Key, mode: SlotMode, in live: LiveMarket) -> Double {
        if let known = priors.first(where: { $0.cell == key.cell && $0.mode == mode }) { return known.prior }
        let prior = live.prior(key, mode: mode)
        priors.append((key.cell, mode, prior))
        return prior
    }
}
