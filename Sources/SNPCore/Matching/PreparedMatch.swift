import Foundation

/// How many changes an engine has had, and how many of them may have made some slot score
/// better for some need (issue 18 target 3, docs/ARCHITECTURE.md).
///
/// A *widening* is anything that may lower a score or add an eligible slot: a place freed
/// (its professional's load falls, the slot has room again), a slot or a professional
/// changed, bid prices refreshed, the policy changed. Everything else the engine does
/// between two widenings either changes no score (a request queued, confirmed, expired) or
/// only raises scores and removes eligible slots: a place taken raises its professional's
/// load term in that week, and the bid price of a slot priced at publication
/// (`historyBidPrice`, demand over places left); a full slot, or a professional at their
/// weekly cap, drops out. Never a score lowered, with non-negative load and bid-price
/// weights (`PreparedMatch.bookingsOnlyRaiseScores`). The live bid price of a daemon just
/// started (issue 17) moves with every arrival and every place, both ways: while it counts,
/// every change counts (`changes`).
public struct EngineVersion: Sendable, Equatable {
    /// Every record set, price refresh and purge.
    public var changes: UInt64 = 0
    /// The changes that may have lowered a score or added an eligible slot.
    public var widenings: UInt64 = 0

    public init() {}

    mutating func widen() {
        changes &+= 1
        widenings &+= 1
    }
}

/// The search of a `REQ ADD`, made outside the server's actor on a copy of the engine read
/// under its read lock, so that searches run in parallel with each other and the actor only
/// applies them (`MatchingEngine.addRequest(_:owner:now:prepared:)`).
///
/// Applied as found when a search on the engine as it is then, at that second, would find
/// the same: the same spec, the same second (`evaluate` reads `now` in whole seconds), no
/// widening since (every other slot scores the same or worse, or is no longer eligible), and
/// the slot chosen still eligible with the very same score (its professional took no place
/// that week, the slot none that moves its price). Ties keep their order: `Candidate.better`
/// breaks them by start and id, which do not change. Otherwise the actor searches again.
public struct PreparedMatch: Sendable {
    let spec: RequestSpec
    let second: Int64
    let version: EngineVersion
    /// Whether only `version.changes` may be trusted (the live bid price counted).
    let exact: Bool
    /// The best candidate found, `nil` if none: the request waits in the queue.
    let best: Candidate?
}

/// What became of a `PreparedMatch` (for the server's metrics).
public enum PreparedUse: Sendable, Equatable {
    /// No search was prepared, or the command did not search (a known `ref`, `slot=`, `decide=`).
    case none
    /// The prepared choice was applied as found.
    case applied
    /// Something changed since that could change the answer: the actor searched again.
    case searchedAgain
}

extension MatchingEngine {
    /// The search `addRequest(spec, owner:, now:)` would make, made now for the actor to
    /// apply later; `nil` when that command would not search (its `ref` is known, it names a
    /// slot, it asks `decide=`, or it is refused).
    public func prepareMatch(_ spec: RequestSpec, owner: String, now: Date) -> PreparedMatch? {
        guard requestRefs[RequestRefKey(owner: owner, ref: spec.ref)] == nil, spec.slot == nil,
            spec.decideSeconds == nil, (1...3).contains(spec.priority),
            spec.withinSeconds > 0, spec.withinSeconds <= policy.windowSeconds
        else { return nil }
        let second = now.epochSeconds
        return PreparedMatch(
            spec: spec, second: second, version: version, exact: !bookingsOnlyRaiseScores(at: second),
            best: matchCandidates(for: need(of: spec, now: now), now: now, limit: 1).first)
    }

    /// The choice of `prepared` if a search for `spec` now would make it again (`.some(nil)`:
    /// none, the request waits); `nil` if the engine changed in a way that could change the
    /// answer, and the caller must search again.
    func reuse(_ prepared: PreparedMatch, for spec: RequestSpec, now: Date) -> Candidate?? {
        let second = now.epochSeconds
        guard prepared.spec == spec, prepared.second == second else { return nil }
        if prepared.exact || !bookingsOnlyRaiseScores(at: second) {
            guard prepared.version.changes == version.changes else { return nil }
        } else {
            guard prepared.version.widenings == version.widenings else { return nil }
        }
        guard let chosen = prepared.best else { return .some(nil) }
        guard let slot = slots[chosen.slot.id.number],
            case .success(let again) = evaluate(slot, for: need(of: spec, now: now), now: now), again == chosen
        else { return nil }
        return .some(again)
    }

    /// Whether a search made outside the actor is worth making at `now`: only when bookings
    /// elsewhere leave it right. While the live bid price counts (a daemon started less than
    /// `warmHours` ago) every change moves prices, so under load nearly every such search
    /// would be made twice; the server then searches on the actor alone.
    public func preparedSearchesPay(at now: Date) -> Bool { bookingsOnlyRaiseScores(at: now.epochSeconds) }

    /// Whether a place taken can only raise scores: the load and bid-price weights are not
    /// negative, and the live bid price (which moves both ways) does not count at `t`.
    func bookingsOnlyRaiseScores(at t: Int64) -> Bool {
        policy.loadWeight >= 0 && policy.scarcity.bidPriceWeight >= 0 && !liveBidPricesCount(at: t)
    }

    /// What a new request with `spec`, created `now`, asks of a slot (as `MatchNeed(request)`).
    func need(of spec: RequestSpec, now: Date) -> MatchNeed {
        MatchNeed(
            profession: spec.profession, modes: spec.modes, location: spec.location, radiusKm: spec.radiusKm,
            priority: spec.priority, deadline: Date(epochSeconds: now.epochSeconds + Int64(spec.withinSeconds)))
    }
}
