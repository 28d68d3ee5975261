import Foundation

/// What `PLAN ADD` answers: the plan, and what its first publication did.
public struct PlanOutcome: Sendable, Equatable {
    public var plan: Plan
    public var published: Int
    public var skipped: Int
}

extension MatchingEngine {
    /// The longest extra-capacity window (§3.7).
    public static let maxExtraWindowSeconds = 12 * 3600

    // MARK: Commands

    /// `PLAN ADD` (§3.10): stores the plan and publishes at once what is already within the
    /// horizon, today's occurrences included (those already past are skipped and counted).
    public mutating func addPlan(_ d: PlanDraft, now: Date) throws(SNPError) -> PlanOutcome {
        guard let pro = professionals[d.pro] else { throw .notFound("no professional \(d.pro)") }
        guard pro.active else { throw .conflict("professional \(d.pro) is not active") }
        guard d.from < d.to else { throw .badRequest("from \(Plan.clock(d.from)) must be before to \(Plan.clock(d.to))") }
        let span = (d.to - d.from) * 60
        if let length = d.lengthSeconds {
            guard length > 0, length % 60 == 0 else { throw .badRequest("length must be a positive number of minutes") }
            guard length <= span else {
                throw .badRequest(
                    "length \(DurationText.format(seconds: length)) is longer than the span \(Plan.clock(d.from))–\(Plan.clock(d.to))")
            }
        }
        // Extra capacity is one window a day: a `length` (checked as above) does not cut it.
        if d.kind == .extra, span > Self.maxExtraWindowSeconds {
            throw .badRequest("an extra-capacity window lasts 12 hours at most")
        }
        guard (1...100).contains(d.capacity) else { throw .badRequest("capacity must be between 1 and 100") }
        let today = ParisTime.dayNumber(at: now.epochSeconds)
        if let until = d.until, until < today {
            throw .badRequest("until \(ParisTime.dayString(until)) is in the past")
        }
        let plan = Plan(id: nextPlanID(), draft: d, createdAt: now, cursor: today * 1440 - 1, updatedAt: now)
        put(plan)
        publish(plan: plan.id.number, now: now)
        let stored = plans[plan.id.number]!
        return PlanOutcome(plan: stored, published: stored.published, skipped: stored.skipped)
    }

    /// `PLAN DEL`: stops a plan; with `withdraw`, also withdraws its future slots that hold
    /// no booking or hold. Returns the plan and the slots withdrawn.
    public mutating func deletePlan(_ id: PlanID, withdraw: Bool, now: Date) throws(SNPError) -> (plan: Plan, withdrawn: [SlotID]) {
        guard var plan = plans[id.number] else { throw .notFound("no plan \(id)") }
        guard plan.isRunning else { throw .conflict("plan \(id) is already stopped") }
        plan.deletedAt = now
        plan.updatedAt = now
        put(plan)
        var withdrawn: [SlotID] = []
        if withdraw {
            let prefix = "plan-\(id)-"
            for number in (slotsByPro[plan.pro] ?? []).sorted() {
                guard var s = slots[number], !s.isWithdrawn, s.start > now, s.ref?.hasPrefix(prefix) == true,
                    taken(number) == 0
                else { continue }
                s.withdrawnAt = now
                put(s)
                withdrawn.append(s.id)
            }
        }
        return (plans[id.number]!, withdrawn)
    }

    public func plan(_ id: PlanID) -> Plan? { plans[id.number] }

    /// Running plans, of one professional or all, by id.
    public func listPlans(pro: RPPS?) -> [Plan] {
        plans.values.filter { plan in plan.isRunning && (pro.map { plan.pro == $0 } ?? true) }.sorted { $0.id < $1.id }
    }

    // MARK: Publication (the timer is `tick`)

    /// When the plan's next occurrence comes within the horizon (its start minus the horizon).
    func nextDue(of plan: Plan) -> Int64? {
        plan.nextOccurrence().map { Plan.startInstant($0) - Int64(policy.horizonSeconds) }
    }

    /// Publishes every plan occurrence whose start has come within the horizon.
    mutating func publishDuePlans(now: Date) {
        // `planDues` holds each plan's next start minus the horizon: due once `now` reaches it.
        while let due = planDues.next, due.at <= now.epochSeconds {
            _ = planDues.pop()
            guard planDue[due.id] == due.at else { continue }
            publish(plan: due.id, now: now)
        }
    }

    /// Publishes, in order, the occurrences of a plan after its cursor whose start is within
    /// the horizon, as `SLOT ADD` would: a slot that would overlap one published, start in
    /// the past or at a local time that does not exist, or that `SLOT ADD` refuses for any
    /// other reason (the professional inactive), is skipped and counted. A slot already
    /// published with the occurrence's ref is left as it is and not counted again.
    mutating func publish(plan number: Int64, now: Date) {
        guard var plan = plans[number], plan.isRunning else { return }
        let horizon = now.epochSeconds + Int64(policy.horizonSeconds)
        let before = plan
        while let o = plan.nextOccurrence(), Plan.startInstant(o) <= horizon {
            plan.cursor = o.position
            let ref = plan.ref(of: o)
            if slotRefs[SlotRefKey(pro: plan.pro, ref: ref)] != nil { continue }
            // A start that does not exist (spring change) skips the slot; an end that does
            // not exist is read as winter time, so that the slot keeps its length.
            let end = Plan.wallInstant(day: o.day, minute: o.to)
            guard let start = ParisTime.instant(day: o.day, minute: o.from), start >= now.epochSeconds else {
                plan.skipped += 1
                continue
            }
            let d = plan.draft
            let draft = SlotDraft(
                pro: d.pro, start: Date(epochSeconds: start), end: Date(epochSeconds: end), mode: d.mode,
                capacity: d.capacity, ref: ref, kind: d.kind)
            do {
                _ = try addSlot(draft, now: now)
                plan.published += 1
            } catch {
                plan.skipped += 1
            }
        }
        if plan != before {
            plan.updatedAt = now
            put(plan)
        } else if let due = nextDue(of: plan), planDue[number] != due {
            planDue[number] = due
            planDues.push(.init(at: due, id: number))
        }
    }
}
