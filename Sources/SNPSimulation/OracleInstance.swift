import Foundation
import SNPCore

/// The whole week seen in advance, as the offline oracle needs it: every (request, slot)
/// pair that §4.1 allows at some instant, with its §4.2 cost, computed by the engine's own
/// `evaluate` so that the oracle plays by exactly the engine's rules.
///
/// A pair is in when there is an instant `t` at which the engine could book it:
/// `t ≥` the request's creation, `t ≥` the slot's publication, `t ≤` the slot's start minus
/// the lead, the slot never withdrawn, and the regulator does not decline it. `evaluate` at
/// the request's creation checks the rest (profession, mode, radius, lead, deadline); at
/// that instant no place is taken, and weekly caps are left to the oracle's capacity
/// constraints. The cost is the §4.2 cost with the hours counted from the request's creation
/// (the patient's wait); the load term, which depends on the whole assignment, is the
/// oracle's: the k-th booking of a professional in a week costs `W_LOAD × (k − 1)`.
public struct OracleInstance: Sendable {
    public struct Pair: Sendable {
        public var request: Int
        public var slot: Int
        public var cost: Double
        public var distanceKm: Double
    }

    public let plan: WeekPlan
    public let policy: MatchingPolicy
    public private(set) var pairs: [Pair] = []
    /// (professional, ISO week) of each slot, as an index into `proWeeks`.
    public private(set) var slotProWeek: [Int] = []
    public private(set) var proWeeks: [(pro: Int, week: Int)] = []
    private var pairIndex: [Int64: Int] = [:]

    public init(plan: WeekPlan, policy: MatchingPolicy) throws {
        self.plan = plan
        self.policy = policy
        var p = policy
        p.horizonSeconds = Int(plan.simulationEnd - plan.simulationStart)
        // Only `evaluate`'s eligibility and §4.2 cost are used, which no strategy changes.
        p.strategy = .spec42
        var engine = MatchingEngine(policy: p)
        let origin = Date(epochSeconds: plan.simulationStart)
        for pro in plan.pros {
            _ = try engine.putProfessional(
                ProfessionalDraft(
                    rpps: pro.rpps, profession: pro.profession, name: pro.town, location: pro.location,
                    homeRadiusKm: pro.homeRadiusKm),
                now: origin)
        }
        var slots: [Slot?] = Array(repeating: nil, count: plan.slots.count)
        var weekIndex: [Int64: Int] = [:]
        for (i, s) in plan.slots.enumerated() {
            let week = ParisTime.isoWeek(at: s.start)
            let key = Int64(s.pro) << 32 | Int64(week)
            if weekIndex[key] == nil {
                weekIndex[key] = proWeeks.count
                proWeeks.append((s.pro, week))
            }
            slotProWeek.append(weekIndex[key]!)
            guard s.withdrawnAt == nil else { continue }
            slots[i] = try engine.addSlot(
                SlotDraft(
                    pro: plan.pros[s.pro].rpps, start: Date(epochSeconds: s.start), end: Date(epochSeconds: s.end),
                    mode: s.mode, capacity: s.capacity, kind: s.kind),
                now: origin
            ).slot
        }
        _ = engine.takeJournal()
        // Slots of each profession by start, so that a request looks only at its window.
        var byProfession: [Profession: [Int]] = [:]
        // Extra-capacity windows apart: a patient may come any time in them from the
        // request's creation plus the lead (`evaluate` says when), not at their start.
        var extraByProfession: [Profession: [Int]] = [:]
        for i in plan.slots.indices where slots[i] != nil {
            if plan.slots[i].kind == .extra {
                extraByProfession[plan.slots[i].profession(in: plan), default: []].append(i)
            } else {
                byProfession[plan.slots[i].profession(in: plan), default: []].append(i)
            }
        }
        for k in byProfession.keys { byProfession[k]!.sort { (plan.slots[$0].start, $0) < (plan.slots[$1].start, $1) } }
        let lead = Int64(policy.leadSeconds)
        for (r, req) in plan.requests.enumerated() {
            let list = byProfession[req.profession] ?? []
            let from = req.createdAt + lead
            let deadline = req.createdAt + Int64(req.withinSeconds)
            var lo = 0
            var hi = list.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if plan.slots[list[mid]].start < from { lo = mid + 1 } else { hi = mid }
            }
            let need = MatchNeed(
                profession: req.profession, modes: req.modes, location: req.location, radiusKm: req.radiusKm,
                priority: req.priority, deadline: Date(epochSeconds: deadline))
            let created = Date(epochSeconds: req.createdAt)
            var j = lo
            while j < list.count, plan.slots[list[j]].start <= deadline {
                let s = list[j]
                j += 1
                let planned = plan.slots[s]
                guard planned.publishedAt <= planned.start - lead, !plan.declines(request: r, slot: s),
                    case .success(let c) = engine.evaluate(slots[s]!, for: need, now: created)
                else { continue }
                pairIndex[Int64(r) << 32 | Int64(s)] = pairs.count
                pairs.append(Pair(request: r, slot: s, cost: c.cost, distanceKm: c.distanceKm))
            }
            // The oracle may use a window whatever the regular slots (it is the best
            // possible assignment, not the engine's rule of last resort).
            for s in extraByProfession[req.profession] ?? [] {
                guard !plan.declines(request: r, slot: s), case .success(let c) = engine.evaluate(slots[s]!, for: need, now: created)
                else { continue }
                pairIndex[Int64(r) << 32 | Int64(s)] = pairs.count
                pairs.append(Pair(request: r, slot: s, cost: c.cost, distanceKm: c.distanceKm))
            }
        }
    }

    /// The pair (request, slot), if the rules allow it.
    public func pair(request: Int, slot: Int) -> Pair? {
        pairIndex[Int64(request) << 32 | Int64(slot)].map { pairs[$0] }
    }

    // MARK: Export

    /// The instance as the oracle tool reads it (see `tools/oracle/README.md`).
    public struct Document: Codable {
        public var scenario: String
        public var arrival: String
        public var seed: UInt64
        public var lead_s: Int
        public var w_load: Double
        public var requests: Requests
        public var slots: Slots
        public var pro_weeks: ProWeeks
        public var pairs: Pairs

        public struct Requests: Codable {
            public var created: [Int64]
            /// For reading results: the oracle itself needs only the pairs.
            public var profession: [String]
            public var priority: [Int]
            public var deadline: [Int64]
            /// -1 when the regulator never cancels it.
            public var cancel_at: [Int64]
        }

        public struct Slots: Codable {
            public var start: [Int64]
            public var pro: [Int]
            public var published: [Int64]
            public var capacity: [Int]
            /// -1 when withdrawn: no pair uses it.
            public var pro_week: [Int]
        }

        public struct ProWeeks: Codable {
            public var pro: [Int]
            public var week: [Int]
            /// -1 when the professional set no weekly cap.
            public var cap: [Int]
        }

        public struct Pairs: Codable {
            public var r: [Int]
            public var s: [Int]
            public var cost: [Double]
        }
    }

    public var document: Document {
        Document(
            scenario: plan.scenario.name, arrival: plan.arrival.rawValue, seed: plan.seed, lead_s: policy.leadSeconds,
            w_load: policy.loadWeight,
            requests: .init(
                created: plan.requests.map(\.createdAt), profession: plan.requests.map(\.profession.rawValue),
                priority: plan.requests.map(\.priority),
                deadline: plan.requests.map { $0.createdAt + Int64($0.withinSeconds) },
                cancel_at: plan.requests.map { $0.cancelAt ?? -1 }),
            slots: .init(
                start: plan.slots.map(\.start), pro: plan.slots.map(\.pro), published: plan.slots.map(\.publishedAt),
                capacity: plan.slots.map(\.capacity),
                pro_week: plan.slots.indices.map { plan.slots[$0].withdrawnAt == nil ? slotProWeek[$0] : -1 }),
            pro_weeks: .init(
                pro: proWeeks.map(\.pro), week: proWeeks.map(\.week),
                cap: proWeeks.map { plan.pros[$0.pro].weeklyCap ?? -1 }),
            pairs: .init(
                r: pairs.map(\.request), s: pairs.map(\.slot), cost: pairs.map { ($0.cost * 1e6).rounded() / 1e6 }))
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(document)
    }

    public func write(to url: URL) throws { try encoded().write(to: url) }
}

extension WeekPlan.PlannedSlot {
    func profession(in plan: WeekPlan) -> Profession { plan.pros[pro].profession }
}
