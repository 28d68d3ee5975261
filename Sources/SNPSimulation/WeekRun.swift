import Foundation
import SNPCore

/// Replays a `WeekPlan` against the real engine, in process, on a simulated clock: every
/// publication, withdrawal, request and cancellation at its planned instant, `tick` in
/// between, and a regulator who declines the proposals the plan says they decline.
public struct WeekRun {
    public let plan: WeekPlan
    public private(set) var engine: MatchingEngine

    private var slotIDs: [SlotID?]
    private var slotOfNumber: [Int64: Int] = [:]
    private var requestIDs: [RequestID?]
    private var requestOfNumber: [Int64: Int] = [:]
    private var cancelledHolding: [Int: Int] = [:]
    public private(set) var bookings = 0
    public private(set) var declines = 0
    public private(set) var engineSeconds = 0.0
    /// Bookings beyond the SAS weekly fee cap, and those of them another professional under
    /// the cap could have taken.
    public private(set) var beyondFeeCap = 0
    public private(set) var avoidableBeyondFeeCap = 0
    /// For diagnosis (`SNP_SIM_OPTIONS=1`): how many eligible slots each request had when it came.
    public private(set) var optionsAtArrival: [Int]
    private let recordOptions = ProcessInfo.processInfo.environment["SNP_SIM_OPTIONS"] == "1"

    public init(plan: WeekPlan, policy: MatchingPolicy) {
        self.plan = plan
        self.engine = MatchingEngine(policy: policy)
        self.slotIDs = Array(repeating: nil, count: plan.slots.count)
        self.requestIDs = Array(repeating: nil, count: plan.requests.count)
        self.optionsAtArrival = Array(repeating: -1, count: plan.requests.count)
    }

    enum Event {
        case withdraw(Int)
        case publish(Int)
        case cancel(Int)
        case request(Int)

        /// At the same instant: withdrawals, then publications, then the regulators.
        var order: Int {
            switch self {
            case .withdraw: 0
            case .publish: 1
            case .cancel: 2
            case .request: 3
            }
        }
    }

    /// Runs the whole week and says how it ended.
    public static func run(_ plan: WeekPlan, policy: MatchingPolicy) throws -> (Allocation, WeekRun) {
        var run = WeekRun(plan: plan, policy: policy)
        try run.play()
        return (run.allocation(), run)
    }

    mutating func play() throws {
        var events: [(at: Int64, event: Event, n: Int)] = []
        for (i, s) in plan.slots.enumerated() {
            events.append((s.publishedAt, .publish(i), i))
            if let w = s.withdrawnAt { events.append((w, .withdraw(i), i)) }
        }
        for (i, r) in plan.requests.enumerated() {
            events.append((r.createdAt, .request(i), i))
            if let c = r.cancelAt { events.append((c, .cancel(i), i)) }
        }
        events.sort { ($0.at, $0.event.order, $0.n) < ($1.at, $1.event.order, $1.n) }

        let clock = ContinuousClock()
        let started = clock.now
        for (i, pro) in plan.pros.enumerated() {
            _ = try engine.putProfessional(
                ProfessionalDraft(
                    rpps: pro.rpps, profession: pro.profession, name: "Volunteer \(i + 1) (\(pro.town))",
                    location: pro.location, homeRadiusKm: pro.homeRadiusKm, weeklyCap: pro.weeklyCap,
                    territory: plan.scenario.territory.code),
                now: Date(epochSeconds: plan.simulationStart))
        }
        _ = engine.takeJournal()
        var lastTick = plan.simulationStart
        for (at, event, _) in events {
            // Time passes in steps of at most 5 minutes, as the daemon's timer would tick.
            while lastTick + 300 < at {
                lastTick += 300
                tick(lastTick)
            }
            if at > lastTick {
                tick(at)
                lastTick = at
            }
            let now = Date(epochSeconds: at)
            switch event {
            case .publish(let i):
                let s = plan.slots[i]
                let (slot, _) = try engine.addSlot(
                    SlotDraft(
                        pro: plan.pros[s.pro].rpps, start: Date(epochSeconds: s.start), end: Date(epochSeconds: s.end),
                        mode: s.mode, capacity: s.capacity, kind: s.kind),
                    now: now)
                slotIDs[i] = slot.id
                slotOfNumber[slot.id.number] = i
            case .withdraw(let i):
                guard let id = slotIDs[i] else { continue }
                _ = try engine.withdrawSlot(id, now: now)
            case .request(let i):
                let r = plan.requests[i]
                let spec = RequestSpec(
                    ref: "SAS-\(plan.scenario.name)-\(i + 1)", profession: r.profession, priority: r.priority,
                    modes: r.modes, location: r.location, withinSeconds: r.withinSeconds, radiusKm: r.radiusKm)
                if recordOptions {
                    let need = MatchNeed(
                        profession: r.profession, modes: r.modes, location: r.location, radiusKm: r.radiusKm,
                        priority: r.priority, deadline: Date(epochSeconds: r.createdAt + Int64(r.withinSeconds)))
                    optionsAtArrival[i] = engine.candidates(for: need, now: now, limit: 1_000).count
                }
                let out = try engine.addRequest(spec, owner: "sas\(plan.scenario.territory.code)", now: now)
                requestIDs[i] = out.request.id
                requestOfNumber[out.request.id.number] = i
            case .cancel(let i):
                guard let id = requestIDs[i], let r = engine.request(id), !r.state.isFinal else { continue }
                if let held = r.occupiedSlot, let s = slotOfNumber[held.number] { cancelledHolding[i] = s }
                _ = try engine.cancel(id, reason: "patient_elsewhere", now: now)
            }
            try settle(now: now)
        }
        tick(plan.simulationEnd)
        // Outcomes, once every appointment has started.
        let end = Date(epochSeconds: plan.simulationEnd)
        for (i, id) in requestIDs.enumerated() {
            guard let id, let r = engine.request(id), r.state == .booked else { continue }
            _ = try engine.recordOutcome(id, plan.requests[i].noShow ? .noshow : .honored, now: end)
        }
        _ = engine.takeJournal()
        engineSeconds = (clock.now - started).seconds
    }

    private mutating func tick(_ at: Int64) {
        engine.tick(now: Date(epochSeconds: at))
        try? settle(now: Date(epochSeconds: at))
    }

    /// Reads what the last operation changed: every new booking is a proposal the regulator
    /// sees (in the reply or as an `EVENT`), and declines at once if the plan says so.
    private mutating func settle(now: Date) throws {
        while true {
            var refused: [(RequestID, SlotID)] = []
            for change in engine.takeJournal() {
                guard case .request(let old, let new) = change, new.state == .booked, let a = new.assignment,
                    old?.state != .booked || old?.assignment?.slot != a.slot
                else { continue }
                bookings += 1
                checkWeeklyFeeCap(new, now: now)
                guard let r = requestOfNumber[new.id.number], let s = slotOfNumber[a.slot.number]
                else { continue }
                if plan.declines(request: r, slot: s) { refused.append((new.id, a.slot)) }
            }
            if refused.isEmpty { return }
            for (id, slot) in refused {
                guard let r = engine.request(id), r.state == .booked, r.assignment?.slot == slot else { continue }
                declines += 1
                _ = try engine.decline(id, now: now)
            }
        }
    }

    /// The SAS pays at most `sasWeeklyFeeCap` bookings a week to a professional (§5): a
    /// booking beyond it is counted as avoidable when, at that moment, the request had an
    /// eligible slot of a professional still under it.
    private mutating func checkWeeklyFeeCap(_ r: CareRequest, now: Date) {
        guard let a = r.assignment else { return }
        let week = ParisTime.isoWeek(at: a.start)
        guard engine.load(of: a.pro, week: week) > WeekRun.sasWeeklyFeeCap else { return }
        beyondFeeCap += 1
        let others = engine.candidates(for: MatchNeed(r), now: now, limit: 200)
        if others.contains(where: {
            $0.slot.pro != a.pro && engine.load(of: $0.slot.pro, week: $0.slot.week) < WeekRun.sasWeeklyFeeCap
        }) {
            avoidableBeyondFeeCap += 1
        }
    }

    /// The weekly number of SAS bookings the fee is paid for (§5 `sas_week_counts`).
    public static let sasWeeklyFeeCap = 20

    /// The end of the week, request by request.
    public func allocation() -> Allocation {
        var fates: [Fate] = []
        var matchedAt: [Int64?] = []
        var firstBooked: [Int64?] = []
        var lastStart: [Int64?] = []
        for (i, id) in requestIDs.enumerated() {
            guard let id, let r = engine.request(id) else {
                fates.append(.unserved)
                matchedAt.append(nil)
                firstBooked.append(nil)
                lastStart.append(nil)
                continue
            }
            firstBooked.append(r.bookedAt?.epochSeconds)
            lastStart.append(r.lastAssignment?.start.epochSeconds)
            switch r.state {
            case .booked, .honored, .noshow:
                fates.append(.appointment(slot: slotOfNumber[r.assignment!.slot.number]!))
                matchedAt.append(r.assignment?.at.epochSeconds)
            case .cancelled:
                if let s = cancelledHolding[i] {
                    fates.append(.cancelledHolding(slot: s))
                    matchedAt.append(r.lastAssignment?.at.epochSeconds)
                } else {
                    fates.append(.cancelledWaiting)
                    matchedAt.append(nil)
                }
            case .queued, .held, .expired:
                fates.append(.unserved)
                matchedAt.append(nil)
            }
        }
        return Allocation(fates: fates, matchedAt: matchedAt, firstBookedAt: firstBooked, lastStart: lastStart)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
