import Foundation

/// Forecast matching, an experimental rule of the `scarcity` strategy, off by default
/// (`ScarcityTuning.resolveCandidates` = 0; docs/MATCHING.md, "Third round"): when a request
/// has several eligible slots, it gets one whose place the requests likely to come can do
/// without.
///
/// A forecast is the bid prices' samples (the requests of the profession created in the last
/// `historySeconds`) each arriving again `shift` later: the span of history they cover
/// (`BidPriceBook.spanHours`, 72 h once the engine has run that long, so that the hour of day
/// is kept), and for further forecasts (`resolveForecasts`) whole days less. Its requests are
/// matched, as many as possible, to the open places of the profession they could use (mode
/// and distance as §4.1; a start at least the lead after their arrival and before their
/// deadline) and, with `resolveFutureSlots`, to the recent publications published again
/// `shift` later. A slot is *essential* when every such maximum matching uses all its places:
/// taking one leaves one forecast request without a place. Among the best
/// `resolveCandidates` candidates by score, the request gets the one of lowest score plus
/// `resolvePenalty` times the fraction of forecasts in which it is essential (by default,
/// infinite: the best candidate essential in the fewest forecasts).
extension MatchingEngine {
    /// The candidate a request gets among `found` (best first, by score).
    func forecastChoice(among found: [Candidate], profession: Profession, now: Date) -> Candidate? {
        guard found.count > 1, let span = bidPrices.refreshedAt.map({ _ in Int64(bidPrices.spanHours * 3600) })
        else { return found.first }
        let tuning = policy.scarcity
        // Forecasts: the history again one span later, and, for the other forecasts, whole
        // days sooner (the last days again, keeping the hour of day).
        var essentialIn: [Int64: Int] = [:]
        var forecasts = 0
        for i in 0..<max(1, tuning.resolveForecasts) {
            let shift = span - Int64(i) * 86_400
            guard shift > 0 else { break }
            forecasts += 1
            for n in essentialSlots(of: profession, now: now, shift: shift) { essentialIn[n, default: 0] += 1 }
        }
        let penalty = tuning.resolvePenalty
        func value(_ c: Candidate) -> (Double, Double) {
            let f = Double(essentialIn[c.slot.id.number] ?? 0) / Double(forecasts)
            let score = tuning.resolveKeepsBidPrice ? c.score : c.score - bidPrice(c.slot)
            return penalty.isInfinite ? (f, score) : (0, score + penalty * f)
        }
        var best = found[0]
        var bestValue = value(best)
        for c in found.dropFirst() {
            let v = value(c)
            if v < bestValue {
                best = c
                bestValue = v
            }
        }
        return best
    }

    /// The open slots of `profession` whose every place the forecast requests need: those
    /// matched in every maximum matching of forecast requests to open places.
    func essentialSlots(of profession: Profession, now: Date, shift: Int64) -> Set<Int64> {
        guard let graph = forecastGraph(of: profession, now: now, shift: shift) else { return [] }
        let spare = graph.matching.spareOrReplaceable()
        // Places of one slot are interchangeable: the slot is essential when none is spare.
        var essential = Set<Int64>()
        var free = Set<Int64>()
        for (node, slot) in graph.slotOfNode.enumerated() {
            if spare[node] { free.insert(slot) } else { essential.insert(slot) }
        }
        return essential.subtracting(free)
    }

    /// Among waiting requests `waiting` that one place of `slot` could go to, those the
    /// forecast cannot serve otherwise: left out of some maximum matching of the waiting and
    /// forecast requests to the open places (and, with `resolveFutureSlots`, the places
    /// likely to be published) without that place. Giving it to one of them costs the
    /// forecast nothing; giving it to another leaves one request fewer served.
    func waitingInNeed(_ waiting: [CareRequest], of slot: Slot, now: Date, shift: Int64) -> Set<Int64> {
        let extra = waiting.map { r in
            var q = sample(r)
            q.arrival = now.epochSeconds
            q.withinSeconds = r.deadline.epochSeconds - now.epochSeconds
            return q
        }
        guard
            let graph = forecastGraph(
                of: slot.profession, now: now, shift: shift, extra: extra, without: slot.id.number)
        else { return Set(waiting.map(\.id.number)) }
        let spare = graph.matching.spareRequests()
        return Set(waiting.indices.filter { spare[$0] }.map { waiting[$0].id.number })
    }

    /// The forecast's requests (`extra` first, as they are, then the samples re-timed by
    /// `shift`) and the open places of `profession` (less one place of slot `without`),
    /// matched as many as possible.
    func forecastGraph(
        of profession: Profession, now: Date, shift: Int64, extra: [BidPriceBook.Sample] = [], without: Int64? = nil
    ) -> (matching: PlaceMatching, slotOfNode: [Int64])? {
        guard bidPrices.refreshedAt != nil, let samples = bidPrices.samples[profession] else { return nil }
        let t = now.epochSeconds
        let lead = Int64(policy.leadSeconds)
        let tuning = policy.scarcity
        let lastArrival = t + Int64(tuning.resolveHorizonSeconds)
        var map = practiceMap(of: profession, startingFrom: t + lead)
        if tuning.resolveFutureSlots {
            // The slots likely to be published: those of the same history, published again
            // one span later, as long before their start as they were.
            let since = t - shift
            var n = lastSlotNumber
            while n > 0 {
                defer { n -= 1 }
                guard let s = slots[n] else { continue }
                if s.createdAt.epochSeconds < since { break }
                let start = s.start.epochSeconds + shift
                guard s.profession == profession, s.createdAt.epochSeconds + shift >= t,
                    start <= lastArrival + Int64(policy.windowSeconds), let p = professionals[s.pro], p.active
                else { continue }
                map.add(
                    OpenPlace(
                        slot: -n, start: start, mode: s.mode, places: s.capacity,
                        homeRadiusKm: p.homeRadiusKm ?? policy.homeRadiusKm), of: p)
            }
        }
        // One node per place: the places of slot `map.places[k][j]` are `first[k][j]`,
        // `first[k][j] + 1`, …
        var first: [[Int]] = []
        var placeCount = 0
        var slotOfNode: [Int64] = []
        for k in map.places.indices {
            var firsts: [Int] = []
            for j in map.places[k].indices {
                if map.places[k][j].slot == without { map.places[k][j].places -= 1 }
                let o = map.places[k][j]
                firsts.append(placeCount)
                placeCount += o.places
                slotOfNode += Array(repeating: o.slot, count: o.places)
            }
            first.append(firsts)
        }
        var edges: [[Int32]] = []
        for (i, q) in (extra + samples).enumerated() {
            let arrival = i < extra.count ? q.arrival : q.arrival + shift
            if i >= extra.count { guard arrival >= t, arrival <= lastArrival else { continue } }
            var reach: [Int32] = []
            for (k, distance) in map.practices(near: q) {
                for (j, o) in map.places[k].enumerated()
                where o.start >= arrival + lead && o.start <= arrival + q.withinSeconds
                    && o.reachable(by: q, distanceKm: distance)
                {
                    for c in 0..<o.places { reach.append(Int32(first[k][j] + c)) }
                }
            }
            if !reach.isEmpty || i < extra.count { edges.append(reach) }
        }
        var matching = PlaceMatching(edges: edges, placeCount: placeCount)
        matching.solve()
        return (matching, slotOfNode)
    }
}

/// A maximum matching of forecast requests (left) to unit places (right), by Hopcroft–Karp.
struct PlaceMatching {
    /// The places each request could use.
    let edges: [[Int32]]
    let placeCount: Int
    private(set) var placeOf: [Int32]
    private(set) var requestOf: [Int32]

    init(edges: [[Int32]], placeCount: Int) {
        self.edges = edges
        self.placeCount = placeCount
        placeOf = Array(repeating: -1, count: edges.count)
        requestOf = Array(repeating: -1, count: placeCount)
    }

    /// Makes the matching maximum.
    mutating func solve() {
        // A greedy start: most requests are matched by it, the phases only finish the work.
        for u in edges.indices {
            if let v = edges[u].first(where: { requestOf[Int($0)] < 0 }) {
                placeOf[u] = v
                requestOf[Int(v)] = Int32(u)
            }
        }
        var layer = [Int32](repeating: -1, count: edges.count)
        var next = [Int](repeating: 0, count: edges.count)
        var queue: [Int] = []
        while true {
            // Layers of an alternating breadth-first search from the unmatched requests.
            queue.removeAll(keepingCapacity: true)
            for u in edges.indices {
                if placeOf[u] < 0 {
                    layer[u] = 0
                    queue.append(u)
                } else {
                    layer[u] = -1
                }
            }
            var augmentable = false
            var head = 0
            while head < queue.count {
                let u = queue[head]
                head += 1
                for v in edges[u] {
                    let w = Int(requestOf[Int(v)])
                    if w < 0 {
                        augmentable = true
                    } else if layer[w] < 0 {
                        layer[w] = layer[u] + 1
                        queue.append(w)
                    }
                }
            }
            guard augmentable else { return }
            for u in edges.indices { next[u] = 0 }
            for u in edges.indices where placeOf[u] < 0 {
                _ = augment(from: u, layer: &layer, next: &next)
            }
        }
    }

    /// Depth-first search for an augmenting path along the layers; flips it when found.
    private mutating func augment(from u: Int, layer: inout [Int32], next: inout [Int]) -> Bool {
        while next[u] < edges[u].count {
            let v = edges[u][next[u]]
            next[u] += 1
            let w = Int(requestOf[Int(v)])
            if w < 0 || (layer[w] == layer[u] + 1 && augment(from: w, layer: &layer, next: &next)) {
                placeOf[u] = v
                requestOf[Int(v)] = Int32(u)
                return true
            }
        }
        layer[u] = -1
        return false
    }

    /// For each place, whether some maximum matching leaves it unused: it is unmatched, or
    /// an alternating path leads to it from an unmatched place (the request it serves can
    /// move to that place instead, and so on along the path). The others are essential.
    func spareOrReplaceable() -> [Bool] {
        var requestsOf = [[Int32]](repeating: [], count: placeCount)
        for (u, places) in edges.enumerated() {
            for v in places { requestsOf[Int(v)].append(Int32(u)) }
        }
        return PlaceMatching.leftOut(adjacent: requestsOf, mates: requestOf, otherMates: placeOf)
    }

    /// For each request, whether some maximum matching leaves it out: it is unmatched, or
    /// an alternating path leads to it from an unmatched request (which can take its place).
    func spareRequests() -> [Bool] {
        PlaceMatching.leftOut(adjacent: edges, mates: placeOf, otherMates: requestOf)
    }

    /// The nodes of one side that some maximum matching leaves out: a breadth-first search
    /// from its unmatched nodes, along an edge to the other side, then back along a matched
    /// edge. `adjacent` and `mates` are that side's; `otherMates` the other side's. (In a
    /// maximum matching, a node next to an unmatched node of the other side is matched.)
    private static func leftOut(adjacent: [[Int32]], mates: [Int32], otherMates: [Int32]) -> [Bool] {
        var spare = mates.map { $0 < 0 }
        var queue = mates.indices.filter { mates[$0] < 0 }
        var head = 0
        while head < queue.count {
            let x = queue[head]
            head += 1
            for y in adjacent[x] {
                let w = Int(otherMates[Int(y)])
                guard w >= 0, w != x, !spare[w] else { continue }
                spare[w] = true
                queue.append(w)
            }
        }
        return spare
    }
}
