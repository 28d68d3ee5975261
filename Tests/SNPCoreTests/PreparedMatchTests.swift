import Foundation
import SNPSimulation
import Testing

@testable import SNPCore

/// A `REQ ADD`'s search can be made before the change is applied, outside the server's
/// actor (`prepareMatch`), and applied later (`addRequest(…, prepared:)`) if nothing that
/// could change its answer happened meanwhile; else the engine searches again (issue 18
/// target 3). Either way the decision must be the one a search at the time of the apply
/// makes: each test compares an engine given prepared searches with one that searches
/// itself, through the interleavings the server allows (other changes applied between a
/// search and its apply), injected here one by one rather than left to timing.
@Suite struct PreparedMatchTests {
    /// The engines compared: SPEC.md's strategy, the default one on history prices alone
    /// (`scarcity:live=0`), and the default one while its live prices count (every change
    /// then makes a prepared search stale).
    enum Setup: String, CaseIterable, Sendable {
        case spec42
        case scarcityHistory
        case scarcityLive

        func city(seed: UInt64) throws -> MatchingEngine {
            var e = try SearchBoundTests.city(pros: 30, strategy: self == .spec42 ? .spec42 : .scarcity, seed: seed)
            if self == .scarcityHistory { e.policy.scarcity.liveBidPriceWeight = 0 }
            _ = e.takeJournal()
            return e
        }
    }

    static func randomSpec(_ ref: String, using g: inout SeededRandom) -> RequestSpec {
        let modeSets: [ModeSet] = [.inPerson, .office, [.office, .tele], [.office, .home, .tele]]
        return Fixture.spec(
            ref, prio: Int.random(in: 1...3, using: &g), modes: modeSets[Int.random(in: 0..<modeSets.count, using: &g)],
            at: GeoPoint(
                lat: Fixture.patient.lat + Double.random(in: -0.03...0.03, using: &g),
                lon: Fixture.patient.lon + Double.random(in: -0.04...0.04, using: &g)),
            within: [48 * 3600, 12 * 3600, 4 * 3600][Int.random(in: 0..<3, using: &g)],
            hold: Int.random(in: 0..<8, using: &g) == 0 ? 600 : nil)
    }

    /// Batches of requests searched together on one state, then applied one by one (each
    /// seeing the ones before), with cancellations, declines, new slots and a second
    /// passing slipped in between: every decision, and the final state, as if each request
    /// had searched when applied. Both ways of applying happen often enough to be tested.
    @Test(arguments: Setup.allCases)
    func preparedSearchesDecideAsSearchesAtTheApply(setup: Setup) throws {
        var plain = try setup.city(seed: 31)
        var fast = plain
        var g = SeededRandom(seed: 31, stream: "prepared")
        var now = Fixture.now
        var applied = 0
        var searchedAgain = 0
        var serial = 0
        for round in 0..<160 {
            if round % 20 == 0 {
                now = Fixture.minutes(round, after: Fixture.now)
                plain.tick(now: now)
                fast.tick(now: now)
                _ = (plain.takeJournal(), fast.takeJournal())
            }
            let specs = (0..<Int.random(in: 1...6, using: &g)).map { _ -> RequestSpec in
                serial += 1
                return Self.randomSpec("r\(serial)", using: &g)
            }
            let prepared = specs.map { fast.prepareMatch($0, owner: Fixture.owner, now: now) }
            #expect(prepared.allSatisfy { $0 != nil })
            for (spec, search) in zip(specs, prepared) {
                switch Int.random(in: 0..<24, using: &g) {
                case 0, 1:
                    // Another regulator's cancellation: a place freed.
                    let n = Int64.random(in: 1...max(1, plain.lastRequestNumber), using: &g)
                    if let r = plain.request(.request(n)), !r.state.isFinal {
                        _ = try plain.cancel(r.id, reason: nil, now: now)
                        _ = try fast.cancel(r.id, reason: nil, now: now)
                    }
                case 2:
                    let n = Int64.random(in: 1...max(1, plain.lastRequestNumber), using: &g)
                    if let r = plain.request(.request(n)), r.state == .booked || r.state == .held {
                        #expect(try plain.decline(r.id, now: now) == fast.decline(r.id, now: now))
                    }
                case 3:
                    let pro = Fixture.rpps(Int.random(in: 1...30, using: &g))
                    let start = Fixture.minutes(Int.random(in: 30...2_000, using: &g), after: now)
                    let a = try? plain.publish(pro, at: start, minutes: 5, capacity: 3, now: now)
                    let b = try? fast.publish(pro, at: start, minutes: 5, capacity: 3, now: now)
                    #expect(a == b)
                case 4:
                    // The apply falls in the next second: the search is stale whatever changed.
                    now = Fixture.seconds(1, after: now)
                default:
                    break
                }
                let a = try plain.addRequest(spec, owner: Fixture.owner, now: now)
                let b = try fast.addRequest(spec, owner: Fixture.owner, now: now, prepared: search)
                #expect(a.request == b.request, "\(spec.ref)")
                #expect(a.rank == b.rank, "\(spec.ref)")
                #expect(a.prepared == .none)
                switch b.prepared {
                case .applied: applied += 1
                case .searchedAgain: searchedAgain += 1
                case .none: Issue.record("a prepared search was neither applied nor redone")
                }
            }
            _ = (plain.takeJournal(), fast.takeJournal())
        }
        #expect(plain.requests == fast.requests)
        #expect(plain.version == fast.version)
        #expect(searchedAgain > 20, "\(searchedAgain) searched again")
        if setup == .scarcityLive {
            // Every change moves live prices: only a search applied before any other change is kept.
            #expect(applied > 50, "\(applied) applied")
        } else {
            // Bookings elsewhere leave a search right: many are applied after other bookings.
            // (In a city the searches of one batch mostly choose the same least-loaded
            // professional, and the first booking there makes the others stale.)
            #expect(applied > 150, "\(applied) applied, \(searchedAgain) searched again")
        }
    }

    /// Two GPs at the same place, each with one slot; the earlier one is the best.
    static func twoSlots(strategy: MatchingStrategy, capacity: Int) throws -> (MatchingEngine, best: Slot, next: Slot) {
        var e = SearchBoundTests.engine(strategy)
        let a = try e.addPro(1, at: Fixture.north(1))
        let b = try e.addPro(2, at: Fixture.north(1))
        let best = try e.publish(a, at: Fixture.hours(2), capacity: capacity)
        let next = try e.publish(b, at: Fixture.hours(3), capacity: capacity)
        e.tick(now: Fixture.now)
        _ = e.takeJournal()
        return (e, best, next)
    }

    /// The place found is taken by another request between the search and the apply: the
    /// apply searches again and books the next slot, as a search then would.
    @Test(arguments: MatchingStrategy.allCases)
    func aPlaceTakenMeanwhileIsSearchedForAgain(strategy: MatchingStrategy) throws {
        var (e, best, next) = try Self.twoSlots(strategy: strategy, capacity: 1)
        let late = Fixture.spec("late")
        let search = try #require(e.prepareMatch(late, owner: Fixture.owner, now: Fixture.now))
        #expect(search.best?.slot.id == best.id)
        let first = try e.submit("first")
        #expect(first.request.assignment?.slot == best.id)
        let outcome = try e.addRequest(late, owner: Fixture.owner, now: Fixture.now, prepared: search)
        #expect(outcome.prepared == .searchedAgain)
        #expect(outcome.request.assignment?.slot == next.id)
    }

    /// Nothing changed since the search: applied as found, no second search.
    @Test(arguments: MatchingStrategy.allCases)
    func anUnchangedEngineAppliesTheSearchAsFound(strategy: MatchingStrategy) throws {
        var (e, best, _) = try Self.twoSlots(strategy: strategy, capacity: 1)
        let spec = Fixture.spec("one")
        let search = try #require(e.prepareMatch(spec, owner: Fixture.owner, now: Fixture.now))
        let outcome = try e.addRequest(spec, owner: Fixture.owner, now: Fixture.now, prepared: search)
        #expect(outcome.prepared == .applied)
        #expect(outcome.request.assignment?.slot == best.id)
    }

    /// A booking at another professional only makes their slots dearer: the search found
    /// before it still holds, and is applied. A booking at the professional found raises
    /// the score of the slot found: searched again (and here the other slot wins).
    @Test(arguments: MatchingStrategy.allCases)
    func onlyABookingThatTouchesTheChoiceMakesItStale(strategy: MatchingStrategy) throws {
        var (e, best, next) = try Self.twoSlots(strategy: strategy, capacity: 100)
        // Under `scarcity` from a fresh start the live price would count: history prices only.
        e.policy.scarcity.liveBidPriceWeight = 0
        let kept = Fixture.spec("kept")
        let search = try #require(e.prepareMatch(kept, owner: Fixture.owner, now: Fixture.now))
        try e.submit("elsewhere", slot: next.id)
        let outcome = try e.addRequest(kept, owner: Fixture.owner, now: Fixture.now, prepared: search)
        #expect(outcome.prepared == .applied)
        #expect(outcome.request.assignment?.slot == best.id)

        // The professional of `best` now has one booking; a search for a priority-3 request
        // (little weight on time) is prepared, then `best` takes more.
        let moved = Fixture.spec("moved", prio: 3)
        let stale = try #require(e.prepareMatch(moved, owner: Fixture.owner, now: Fixture.now))
        #expect(stale.best?.slot.id == best.id)
        for i in 0..<4 { try e.submit("more\(i)", slot: best.id) }
        var plain = e
        let expected = try plain.addRequest(moved, owner: Fixture.owner, now: Fixture.now)
        let outcome2 = try e.addRequest(moved, owner: Fixture.owner, now: Fixture.now, prepared: stale)
        #expect(outcome2.prepared == .searchedAgain)
        #expect(outcome2.request == expected.request)
        #expect(outcome2.request.assignment?.slot == next.id)
    }

    /// A place freed after the search (a cancellation) may be better than the one found:
    /// searched again, and the freed place is booked.
    @Test(arguments: MatchingStrategy.allCases)
    func aPlaceFreedMeanwhileIsSeen(strategy: MatchingStrategy) throws {
        var (e, best, next) = try Self.twoSlots(strategy: strategy, capacity: 1)
        let first = try e.submit("first")
        #expect(first.request.assignment?.slot == best.id)
        let spec = Fixture.spec("second")
        let search = try #require(e.prepareMatch(spec, owner: Fixture.owner, now: Fixture.now))
        #expect(search.best?.slot.id == next.id)
        _ = try e.cancel(first.request.id, reason: nil, now: Fixture.now)
        let outcome = try e.addRequest(spec, owner: Fixture.owner, now: Fixture.now, prepared: search)
        #expect(outcome.prepared == .searchedAgain)
        #expect(outcome.request.assignment?.slot == best.id)
    }

    /// A search found no slot; a slot published meanwhile is found by the apply.
    @Test func aSlotPublishedMeanwhileIsSeen() throws {
        var e = MatchingEngine(policy: .spec42)
        let pro = try e.addPro(1, at: Fixture.north(1))
        let spec = Fixture.spec("waiting")
        let search = try #require(e.prepareMatch(spec, owner: Fixture.owner, now: Fixture.now))
        #expect(search.best == nil)
        let slot = try e.publish(pro, at: Fixture.hours(2))
        let outcome = try e.addRequest(spec, owner: Fixture.owner, now: Fixture.now, prepared: search)
        #expect(outcome.prepared == .searchedAgain)
        #expect(outcome.request.assignment?.slot == slot.id)
    }

    /// A search is for its spec and its second: another request's, or one a second old, is
    /// not used.
    @Test func aSearchServesOnlyItsSpecAndItsSecond() throws {
        var (e, _, _) = try Self.twoSlots(strategy: .spec42, capacity: 100)
        let search = try #require(e.prepareMatch(Fixture.spec("a"), owner: Fixture.owner, now: Fixture.now))
        let other = try e.addRequest(Fixture.spec("b", prio: 1), owner: Fixture.owner, now: Fixture.now, prepared: search)
        #expect(other.prepared == .searchedAgain)
        let later = try e.addRequest(
            Fixture.spec("a"), owner: Fixture.owner, now: Fixture.seconds(1), prepared: search)
        #expect(later.prepared == .searchedAgain)
    }

    /// No search is prepared for a request that will not search: a known ref, `slot=`,
    /// `decide=`, or one the engine refuses.
    @Test func noSearchIsPreparedForARequestThatMakesNone() throws {
        var (e, best, _) = try Self.twoSlots(strategy: .spec42, capacity: 100)
        try e.submit("known")
        #expect(e.prepareMatch(Fixture.spec("known"), owner: Fixture.owner, now: Fixture.now) == nil)
        #expect(e.prepareMatch(Fixture.spec("named", slot: best.id), owner: Fixture.owner, now: Fixture.now) == nil)
        var deferred = Fixture.spec("deferred")
        deferred.decideSeconds = 600
        #expect(e.prepareMatch(deferred, owner: Fixture.owner, now: Fixture.now) == nil)
        #expect(e.prepareMatch(Fixture.spec("bad", prio: 4), owner: Fixture.owner, now: Fixture.now) == nil)
        #expect(e.prepareMatch(Fixture.spec("known"), owner: "another", now: Fixture.now) != nil)
    }

    /// An engine rebuilt from the database (after an outage) never takes a search prepared
    /// on the one it replaces: its version counts on from the old one's.
    @Test func aRebuiltEngineRefusesTheOldEnginesSearches() throws {
        let (e, _, _) = try Self.twoSlots(strategy: .spec42, capacity: 100)
        let spec = Fixture.spec("across")
        let search = try #require(e.prepareMatch(spec, owner: Fixture.owner, now: Fixture.now))
        var fresh = MatchingEngine(policy: .spec42)
        fresh.restore(
            professionals: Array(e.professionals.values), slots: Array(e.slots.values), requests: Array(e.requests.values))
        fresh.keepNumbering(after: e.lastSlotNumber, request: e.lastRequestNumber, version: e.version)
        let outcome = try fresh.addRequest(spec, owner: Fixture.owner, now: Fixture.now, prepared: search)
        #expect(outcome.prepared == .searchedAgain)
    }
}
