import Foundation
import SNPSimulation
import Testing

@testable import SNPCore

/// The search leaves a practice (a professional at a place) as soon as a lower bound of the
/// score of its next slot is above the last candidate kept: its earliest slot of a week
/// bounds all its others (issue 18, docs/PERFORMANCE.md). The bound must never change an
/// answer; each test compares `candidates` with the plain definition, every slot evaluated
/// and sorted, where the bound could go wrong: ties, equal costs, loads that differ from
/// week to week, slots of capacity 100, remote slots, and the index kept in step through
/// declines, cancellations, re-offers, withdrawals and moves.
@Suite struct SearchBoundTests {
    /// The plain definition: every slot of the engine evaluated, best first.
    static func everySlot(_ e: MatchingEngine, _ need: MatchNeed, now: Date) -> [Candidate] {
        e.slots.values.compactMap { e.evaluate($0, for: need, now: now).candidate }.sorted { Candidate.better($0, than: $1) }
    }

    static func expectExact(
        _ e: MatchingEngine, _ need: MatchNeed, now: Date, limits: [Int] = [1, 2, 10],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let every = everySlot(e, need, now: now)
        for limit in limits {
            #expect(
                e.candidates(for: need, now: now, limit: limit) == Array(every.prefix(limit)), "limit \(limit)",
                sourceLocation: sourceLocation)
        }
    }

    static func engine(_ strategy: MatchingStrategy) -> MatchingEngine {
        var policy = MatchingPolicy()
        policy.strategy = strategy
        return MatchingEngine(policy: policy)
    }

    /// A city: `pros` GPs within about 2 km of the patient, each with 20 slots over 40 hours
    /// (office, some home, a few remote), of capacity 1 or 100.
    static func city(pros: Int, strategy: MatchingStrategy, seed: UInt64) throws -> MatchingEngine {
        var g = SeededRandom(seed: seed, stream: "city")
        var e = SearchBoundTests.engine(strategy)
        for n in 1...pros {
            let at = GeoPoint(
                lat: Fixture.patient.lat + Double.random(in: -0.02...0.02, using: &g),
                lon: Fixture.patient.lon + Double.random(in: -0.03...0.03, using: &g))
            let pro = try e.addPro(n, .gp, at: at, weeklyCap: n % 9 == 0 ? 25 : nil)
            // Some practices share their starts with others: equal time terms.
            let offset = n % 4 == 0 ? 30 : Int.random(in: 20...100, using: &g)
            for k in 0..<20 {
                let mode: SlotMode = k % 7 == 6 ? .tele : k % 3 == 2 ? .home : .office
                try e.publish(
                    pro, at: Fixture.minutes(offset + k * 120), minutes: 20, mode: mode,
                    capacity: (n + k) % 2 == 0 ? 100 : 1)
            }
        }
        return e
    }

    /// Bookings pile up on a city until the load term outweighs the time term (the case
    /// where the time bound alone stops pruning); at every step the search is exact.
    @Test(arguments: MatchingStrategy.allCases)
    func theBoundPerPracticeKeepsEveryAnswerAsBookingsPileUp(strategy: MatchingStrategy) throws {
        var e = try SearchBoundTests.city(pros: 40, strategy: strategy, seed: 18)
        var g = SeededRandom(seed: 18, stream: "bookings")
        var now = Fixture.now
        let modeSets: [ModeSet] = [.inPerson, .office, .tele, [.office, .tele], [.office, .home, .tele]]
        for i in 0..<1_200 {
            if i % 40 == 0 {
                now = Fixture.minutes(i / 40, after: Fixture.now)
                _ = e.takeJournal()
                e.tick(now: now)  // bid prices from the requests so far, under `scarcity`
            }
            let at = GeoPoint(
                lat: Fixture.patient.lat + Double.random(in: -0.03...0.03, using: &g),
                lon: Fixture.patient.lon + Double.random(in: -0.04...0.04, using: &g))
            let prio = Int.random(in: 1...3, using: &g)
            let modes = modeSets[i % modeSets.count]
            if i % 10 == 0 {
                SearchBoundTests.expectExact(
                    e, Fixture.need(.gp, prio: prio, modes: modes, at: at, deadline: Fixture.hours(48, after: now)),
                    now: now)
            }
            try e.submit("r\(i)", .gp, prio: prio, modes: modes, at: at, now: now)
            _ = e.takeJournal()
        }
        let loads = e.professionals.keys.map { e.load(of: $0, week: ParisTime.isoWeek(at: Fixture.now.epochSeconds)) }
        #expect(loads.min()! >= 10, "the load term outweighs the time term: the case the bound is for")
    }

    /// Three professionals at the same place with slots at the same starts: the scores tie,
    /// and the earlier start, then the smaller slot id, decide, whatever the order the
    /// search meets the practices in (the second published first here).
    @Test(arguments: MatchingStrategy.allCases)
    func equalScoresGoToTheSmallerSlotID(strategy: MatchingStrategy) throws {
        var e = SearchBoundTests.engine(strategy)
        let place = Fixture.north(3)
        let b = try e.addPro(2, at: place)
        let a = try e.addPro(1, at: place)
        let c = try e.addPro(3, at: place)
        var ids: [SlotID] = []
        for h in [2.0, 5.0] {
            for pro in [b, a, c] { ids.append(try e.publish(pro, at: Fixture.hours(h), capacity: 100).id) }
        }
        e.tick(now: Fixture.now)
        let need = Fixture.need(.gp, prio: 2)
        SearchBoundTests.expectExact(e, need, now: Fixture.now, limits: [1, 2, 3, 4, 6])
        #expect(e.candidates(for: need, now: Fixture.now, limit: 4).map(\.slot.id) == Array(ids.prefix(4)))
        #expect(Set(e.candidates(for: need, now: Fixture.now, limit: 3).map(\.cost)).count == 1, "a tie")
        // Load on one of them: still exact, and the other one's slots come first.
        try e.submit("first", at: place)
        SearchBoundTests.expectExact(e, need, now: Fixture.now, limits: [1, 2, 3, 4, 6])
    }

    /// A load counts against its ISO week only: a professional loaded on Saturday is still
    /// cheap on Monday, so the search must not leave the practice with the week.
    @Test(arguments: MatchingStrategy.allCases)
    func aLoadedWeekDoesNotHideTheNextOne(strategy: MatchingStrategy) throws {
        var e = SearchBoundTests.engine(strategy)
        // Saturday 28 November 2026, 09:00 in Paris: the window reaches Monday (week 49).
        let saturday = Fixture.hours(120)
        let busy = try e.addPro(1, at: Fixture.north(1), weeklyCap: 60)
        let other = try e.addPro(2, at: Fixture.north(2))
        let early = try e.publish(busy, at: Fixture.hours(1, after: saturday), capacity: 100, now: saturday)
        let later = try e.publish(busy, at: Fixture.hours(2, after: saturday), capacity: 100, now: saturday)
        let monday = try e.publish(busy, at: Fixture.hours(48, after: saturday), capacity: 100, now: saturday)
        try e.publish(other, at: Fixture.hours(47, after: saturday), capacity: 100, now: saturday)
        let need = Fixture.need(.gp, prio: 3, at: Fixture.north(1), deadline: Fixture.hours(48, after: saturday))
        for i in 0..<40 {
            SearchBoundTests.expectExact(e, need, now: saturday)
            try e.submit("sat\(i)", prio: 3, at: Fixture.north(1), slot: i % 2 == 0 ? early.id : later.id, now: saturday)
        }
        #expect(e.load(of: busy, week: ParisTime.isoWeek(at: saturday.epochSeconds)) == 40)
        SearchBoundTests.expectExact(e, need, now: saturday)
        #expect(e.candidates(for: need, now: saturday, limit: 1).first?.slot.id == monday.id)
    }

    /// Remote slots have no distance term and no distance limit: practices far away tie with
    /// near ones, and a remote-only request 500 km away is served like one next door.
    @Test(arguments: MatchingStrategy.allCases)
    func remoteSlotsTieWhateverTheDistance(strategy: MatchingStrategy) throws {
        var e = SearchBoundTests.engine(strategy)
        for n in 1...6 {
            let pro = try e.addPro(n, at: Fixture.north(Double(n * 40)), weeklyCap: n == 3 ? 1 : nil)
            try e.publish(pro, at: Fixture.hours(3), mode: .tele, capacity: n % 2 == 0 ? 100 : 1)
            try e.publish(pro, at: Fixture.hours(5), mode: .office, capacity: 1)
            try e.publish(pro, at: Fixture.hours(9), mode: .tele, capacity: 1)
        }
        e.tick(now: Fixture.now)
        for (i, at) in [Fixture.patient, Fixture.north(500), Fixture.north(120)].enumerated() {
            for modes: ModeSet in [.tele, [.office, .tele]] {
                SearchBoundTests.expectExact(e, Fixture.need(.gp, modes: modes, at: at), now: Fixture.now, limits: [1, 3, 20])
            }
            try e.submit("tele\(i)", modes: .tele, at: at)
        }
        SearchBoundTests.expectExact(e, Fixture.need(.gp, modes: .tele, at: Fixture.north(500)), now: Fixture.now)
    }

    /// The index is kept in step through every change that moves a slot in or out of it:
    /// bookings that fill a slot, declines and cancellations that free a place (offered to
    /// the queue again), withdrawals, a professional who moves or stops. After each, the
    /// search answers as every slot evaluated does.
    @Test(arguments: MatchingStrategy.allCases)
    func theIndexFollowsDeclinesCancellationsReOffersAndMoves(strategy: MatchingStrategy) throws {
        var e = try SearchBoundTests.city(pros: 12, strategy: strategy, seed: 5)
        var g = SeededRandom(seed: 5, stream: "changes")
        // Requests that wait somewhere nothing reaches yet: freed places are offered to them.
        let far = Fixture.north(60)
        for i in 0..<30 { try e.submit("wait\(i)", prio: 1 + i % 3, at: far, within: 40 * 3600) }
        var live: [RequestID] = []
        for step in 0..<400 {
            let now = Fixture.minutes(step / 20)
            switch Int.random(in: 0..<10, using: &g) {
            case 0..<5:
                let at = GeoPoint(
                    lat: Fixture.patient.lat + Double.random(in: -0.03...0.03, using: &g),
                    lon: Fixture.patient.lon + Double.random(in: -0.04...0.04, using: &g))
                let outcome = try e.submit("s\(step)", prio: Int.random(in: 1...3, using: &g), at: at, now: now)
                live.append(outcome.request.id)
            case 5, 6:
                guard !live.isEmpty else { break }
                let id = live.remove(at: Int.random(in: 0..<live.count, using: &g))
                if let r = e.request(id), r.state == .booked || r.state == .held {
                    if Bool.random(using: &g) {
                        _ = try e.decline(id, now: now)
                        live.append(id)
                    } else {
                        _ = try e.cancel(id, reason: nil, now: now)
                    }
                }
            case 7:
                let open = e.slots.values.filter { !$0.isWithdrawn }.map(\.id).sorted()
                if !open.isEmpty { _ = try e.withdrawSlot(open[Int.random(in: 0..<open.count, using: &g)], now: now) }
            case 8:
                // A professional moves next to the waiting requests, or back.
                let n = Int.random(in: 1...12, using: &g)
                let pro = e.professionals[Fixture.rpps(n)]!
                let to = pro.location == far ? Fixture.north(Double.random(in: 0...2, using: &g)) : far
                _ = try e.putProfessional(
                    ProfessionalDraft(
                        rpps: pro.rpps, profession: .gp, name: pro.name, location: to, homeRadiusKm: pro.homeRadiusKm,
                        weeklyCap: pro.weeklyCap),
                    now: now)
            default:
                let pro = Fixture.rpps(Int.random(in: 1...12, using: &g))
                // A place that overlaps one of theirs is refused: nothing changes then.
                _ = try? e.publish(
                    pro, at: Fixture.minutes(Int.random(in: 30...2_400, using: &g)), minutes: 20, capacity: 100, now: now)
            }
            _ = e.takeJournal()
            if step % 8 == 0 {
                e.tick(now: now)
                for modes: ModeSet in [.inPerson, [.office, .tele]] {
                    for at in [Fixture.patient, far] {
                        let need = Fixture.need(.gp, prio: 1 + step % 3, modes: modes, at: at, deadline: Fixture.hours(40, after: now))
                        SearchBoundTests.expectExact(e, need, now: now)
                    }
                }
            }
        }
    }
}
