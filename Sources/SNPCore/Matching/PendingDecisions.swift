import Foundation

/// Requests asked with `decide=` (SPEC §3.8, issue 17): the regulator will call the patient
/// back, so the engine may wait and choose for several requests together.
///
/// - A pending request holds no place: slots stay open to everyone meanwhile.
/// - When the earliest `decideBy` comes (`tick`), the engine solves one batch: every pending
///   request, with the places open at that moment, as an assignment problem
///   (`BatchAssignment`): the most due requests served, then the most requests served, then
///   the lowest total score (the default strategy's ranking: §4.2 cost, load and bid price).
///   The due requests get their place of that optimum (booked, with an `EVENT`), or the best
///   place left if something made it ineligible meanwhile (a weekly cap reached inside the
///   batch), else they are queued (§4.3). A request not yet due whose place in the optimum
///   is its own best place is booked too: waiting could only lose it (to a request answered
///   at once, or to time), and no pending request needs it more. The other requests not yet
///   due stay pending: they weigh in the choice, so that a due request leaves a place to a
///   pending one that needs it more.
/// - Nothing announced is ever moved: bookings and holds are not in the batch; only open
///   places are.
/// - The queue is not in the batch: every place that appears is offered to it at once
///   (§4.3, `offer`), so a queued request never has an eligible open place when a batch runs.
///
/// docs/MATCHING.md ("Deferred decisions") gives the measurements behind that rule, and the
/// limits of the model.
extension MatchingEngine {
    /// Checks `decide=` against the request (§3.8): not with `hold=` or `slot=` (both take a
    /// place now), between the policy's bounds (1 min and 12 h), and less than `within` minus
    /// the lead, so that a slot starting after the decision can still be in the window.
    func checkDecide(_ decide: Int, spec: RequestSpec) throws(SNPError) {
        guard spec.holdSeconds == nil else {
            throw .badRequest("decide= and hold= exclude each other: a pending request holds no place")
        }
        guard spec.slot == nil else {
            throw .badRequest("decide= and slot= exclude each other: slot= books that slot now")
        }
        guard decide >= policy.minDecideSeconds, decide <= policy.maxDecideSeconds else {
            throw .badRequest(
                "decide must be between \(DurationText.format(seconds: policy.minDecideSeconds)) and \(DurationText.format(seconds: policy.maxDecideSeconds)), got \(DurationText.format(seconds: decide))"
            )
        }
        let latest = spec.withinSeconds - policy.leadSeconds
        guard decide < latest else {
            throw .badRequest(
                "decide must be less than within minus the lead (\(DurationText.format(seconds: max(0, latest)))), got \(DurationText.format(seconds: decide))"
            )
        }
    }

    /// Requests waiting for their decision.
    public var pendingCount: Int { pendingRequests.count }

    private func isLive(_ due: DueHeap.Item) -> Bool {
        guard let r = requests[due.id] else { return false }
        return r.state == .pending && r.decideBy?.epochSeconds == due.at
    }

    private mutating func dropStaleDecisions() {
        while let top = decisionDues.next, !isLive(top) { _ = decisionDues.pop() }
    }

    /// Decides the pending requests that are due (`decideBy` ≤ now), in one batch with all
    /// the pending ones, and those not yet due that get their best place. Called by `tick`,
    /// so also at start for decisions that fell due while the daemon was down: they are
    /// taken then, with the places open then.
    mutating func decidePending(now: Date) {
        let t = now.epochSeconds
        dropStaleDecisions()
        guard let top = decisionDues.next, top.at <= t else { return }
        let batch = pendingRequests.sorted().compactMap { requests[$0] }
        let due = batch.map { ($0.decideBy?.epochSeconds ?? t) <= t }
        let (plan, best) = batchSolution(batch, servedFirst: due, now: now)
        let early = batch.indices.map { i in
            !due[i] && plan[i] != nil && plan[i]?.slot.id == best[i]?.slot.id
        }
        // In queue order (priority, deadline, arrival): if a place of the plan fails its
        // check, the most urgent request gets the best place left first.
        let order = batch.indices.filter { due[$0] || early[$0] }.sorted {
            RequestQueue.key(for: batch[$0]) < RequestQueue.key(for: batch[$1])
        }
        for i in order {
            let r = batch[i]
            if let chosen = plan[i], let slot = slots[chosen.slot.id.number],
                case .success(let c) = evaluate(slot, for: MatchNeed(r), now: now)
            {
                assign(r, to: c, hold: false, now: now)
            } else if due[i] {
                rematch(r.id.number, now: now)  // the best place now, else the queue
            }  // a request not yet due whose place failed its check stays pending
        }
        dropStaleDecisions()
    }

    /// The optimal places for a batch of requests (see the type's comment), one per request
    /// (`nil`: none), over the places open now. Each request brings its `batch.count` best
    /// eligible slots by score (regular slots; extra windows only when it has no regular
    /// one, §4.1): the other requests can take at most `batch.count − 1` of them, so some
    /// optimum uses only those (if it put a request on a slot further down its list, one of
    /// its kept slots is free and no dearer). Weekly caps are checked per pair, not across
    /// the batch: two requests of one batch may be planned on a professional with one
    /// booking left before the cap; the second then gets the best place left (`decidePending`).
    public func batchPlan(_ batch: [CareRequest], servedFirst: [Bool], now: Date) -> [Candidate?] {
        batchSolution(batch, servedFirst: servedFirst, now: now).plan
    }

    /// `batchPlan`, with each request's best eligible place (its first by score).
    func batchSolution(
        _ batch: [CareRequest], servedFirst: [Bool], now: Date
    ) -> (plan: [Candidate?], best: [Candidate?]) {
        let keep = batch.count
        var column: [Int64: Int] = [:]
        var capacities: [Int] = []
        var options: [[Candidate]] = []
        var rows: [[BatchAssignment.Edge]] = []
        options.reserveCapacity(batch.count)
        rows.reserveCapacity(batch.count)
        for r in batch {
            let need = MatchNeed(r)
            var list = eligibleSlots(for: need, now: now, keep: keep)
            if list.isEmpty { list = extraCandidates(for: need, now: now, limit: keep) }
            var edges: [BatchAssignment.Edge] = []
            edges.reserveCapacity(list.count)
            for c in list {
                let n = c.slot.id.number
                let j: Int
                if let known = column[n] {
                    j = known
                } else {
                    j = capacities.count
                    column[n] = j
                    capacities.append(max(0, c.slot.capacity - taken(n)))
                }
                edges.append(.init(column: j, cost: c.score))
            }
            options.append(list)
            rows.append(edges)
        }
        let answer = BatchAssignment.solve(rows: rows, capacities: capacities, servedFirst: servedFirst)
        let plan = answer.enumerated().map { i, j in
            j.flatMap { j in options[i].first { column[$0.slot.id.number] == j } }
        }
        return (plan, options.map(\.first))
    }

    /// The `keep` best eligible regular slots for a need, best first (`Candidate.better`):
    /// every open slot of its profession and modes near it, from now + lead to its deadline,
    /// checked by `evaluate`. Unlike `candidates`, built for a handful, it sorts once at the
    /// end, so that keeping a thousand costs no more than keeping ten.
    func eligibleSlots(for need: MatchNeed, now: Date, keep: Int) -> [Candidate] {
        let from = now.epochSeconds + Int64(policy.leadSeconds)
        let to = need.deadline.epochSeconds
        guard keep > 0, from <= to else { return [] }
        var distances = SearchMemo(from: need.location)
        var found: [Candidate] = []
        for mode in need.modes.modes {
            let radius = searchRadius(mode, for: need)
            for (bucket, _) in open.buckets(profession: need.profession, mode: mode, near: need.location, radiusKm: radius) {
                for practice in bucket.practices {
                    let list = practice.entries
                    var i = SlotIndex.firstStarting(at: from, in: list)
                    while i < list.count, list[i].start <= to {
                        let entry = list[i]
                        i += 1
                        guard let slot = slots[entry.slot],
                            case .success(let c) = evaluate(
                                slot, week: Int(entry.week), for: need, now: now, distances: &distances)
                        else { continue }
                        found.append(c)
                    }
                }
            }
        }
        // Sorted by a small key rather than moving the candidates themselves (each carries
        // its slot): the same order as `Candidate.better`.
        struct Key {
            var score: Double
            var start: Int64
            var slot: Int64
            var index: Int
        }
        var keys = found.indices.map { i in
            Key(score: found[i].score, start: found[i].start.epochSeconds, slot: found[i].slot.id.number, index: i)
        }
        keys.sort { a, b in
            if a.score != b.score { return a.score < b.score }
            if a.start != b.start { return a.start < b.start }
            return a.slot < b.slot
        }
        return keys.prefix(keep).map { found[$0.index] }
    }
}

extension MatchingEngine {
    /// How many pairs a request brings to a batch of `keep` (for `snp-sim batch-bench`).
    public func eligibleSlotCount(for r: CareRequest, now: Date, keep: Int) -> Int {
        eligibleSlots(for: MatchNeed(r), now: now, keep: keep).count
    }
}
