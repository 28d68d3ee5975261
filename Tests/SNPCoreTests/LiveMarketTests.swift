import Foundation
import Testing

@testable import SNPCore

/// The live market of the `scarcity` strategy (issue 17): the open places and the requests
/// so far, kept event by event, and the bid prices a daemon with no history reads from them.
@Suite struct LiveMarketTests {
    static let here = SlotIndex.cell(of: Fixture.patient)
    static func key(_ point: GeoPoint = Fixture.patient) -> LiveMarket.Key {
        LiveMarket.Key(profession: .gp, cell: SlotIndex.cell(of: point))
    }

    static func market() -> LiveMarket { LiveMarket(reachKm: 20, priorExponent: 0.5) }

    @Test func placesReachTheCellsAroundAndLeaveWithTheirSlot() {
        var m = Self.market()
        m.setPlaces(slot: 1, key: Self.key(), mode: .office, places: 2, start: 1_000)
        m.setPlaces(slot: 2, key: Self.key(Fixture.north(60)), mode: .home, places: 1, start: 2_000)
        #expect(m.places[.gp] == 3)
        #expect(m.cells[Self.key()]?.places.office == 2)
        // 11 km north (the next cell) is within reach of the first slot, 60 km is not.
        #expect(m.cells[Self.key(Fixture.north(11))]?.reachable.office == 2)
        #expect(m.cells[Self.key(Fixture.north(60))]?.reachable.office ?? 0 == 0)
        #expect(m.cells[Self.key(Fixture.north(60))]?.reachable.home == 1)
        // A booking leaves one place; a full slot none.
        m.setPlaces(slot: 1, key: Self.key(), mode: .office, places: 1, start: 1_000)
        #expect(m.cells[Self.key(Fixture.north(11))]?.reachable.office == 1)
        m.setPlaces(slot: 1, key: nil, mode: .office, places: 0, start: 1_000)
        #expect(m.places[.gp] == 1)
        #expect(m.cells[Self.key(Fixture.north(11))]?.reachable.office == 0)
        // Started slots go, and are not counted again.
        m.removeStarting(before: 2_001)
        #expect(m.places[.gp] == 0)
        m.setPlaces(slot: 2, key: Self.key(Fixture.north(60)), mode: .home, places: 1, start: 2_000)
        #expect(m.places[.gp] == 0)
    }

    @Test func anArrivalSharesOneRequestOverItsPlacesAndItsUndoTakesItBack() {
        var m = Self.market()
        m.setPlaces(slot: 1, key: Self.key(), mode: .office, places: 1, start: 1_000)
        m.setPlaces(slot: 2, key: Self.key(), mode: .office, places: 3, start: 1_000)
        m.arrive(.gp, createdAt: 500, sign: 1)
        m.share([(slot: 1, places: 1), (slot: 2, places: 3)], sign: 1)
        #expect(isClose(m.shares(of: 1), 0.25))
        #expect(isClose(m.shares(of: 2), 0.25))
        m.share([(slot: 2, places: 1)], sign: 1)
        #expect(isClose(m.shares(of: 2), 1.25))
        m.share([(slot: 2, places: 1)], sign: -1)
        m.share([(slot: 1, places: 1), (slot: 2, places: 3)], sign: -1)
        #expect(isClose(m.shares(of: 1), 0) && isClose(m.shares(of: 2), 0))
        #expect(m.firstArrival == 500)
        #expect(m.historyHours(at: 500 + 7_200) == 2)
    }

    /// No request yet: demand is assumed where the places are, less than proportionally, so a
    /// place alone in its area is worth more than one of nine in a town.
    @Test func withNoHistoryThePriorPricesALonePlaceAboveATownsPlaces() {
        var m = Self.market()
        for n in 1...9 { m.setPlaces(slot: Int64(n), key: Self.key(), mode: .office, places: 1, start: 1_000) }
        let far = Self.key(Fixture.north(80))
        m.setPlaces(slot: 10, key: far, mode: .office, places: 1, start: 1_000)
        // Weights 9^0.5 = 3 and 1: the town's places share 3/4 of the prior, the lone one 1/4.
        #expect(isClose(m.prior(Self.key(), mode: .office), 0.75 / 9))
        #expect(isClose(m.prior(far, mode: .office), 0.25))
        // No history: the market is assumed in balance, as many requests to come as places.
        let v = m.requestsToCome(.gp, at: 0, windowHours: 48, priorRequests: 10, priorHours: 1)
        #expect(v == 10)
        let town = m.pressure(slot: 1, Self.key(), mode: .office, priorRequests: 10, toCome: v)
        let alone = m.pressure(slot: 10, far, mode: .office, priorRequests: 10, toCome: v)
        #expect(town > 0 && alone > town)
        // Ten requests to come, spread by the prior: claims per place = prior × 10.
        #expect(isClose(alone, 10 * 0.25))
        // `tele` places have no prior, and no arrivals means no counted shares.
        #expect(m.prior(Self.key(), mode: .tele) == 0)
        #expect(m.pressure(slot: 1, Self.key(), mode: .office, priorRequests: 0, toCome: v) == 0)
    }

    @Test func arrivalsOutweighThePriorAsTheyCome() {
        var m = Self.market()
        m.setPlaces(slot: 1, key: Self.key(), mode: .office, places: 1, start: 1_000)
        m.setPlaces(slot: 2, key: Self.key(Fixture.north(80)), mode: .office, places: 1, start: 1_000)
        for t in 0..<30 {
            m.arrive(.gp, createdAt: Int64(t), sign: 1)
            m.share([(slot: 1, places: 1)], sign: 1)
        }
        // 30 requests all for slot 1, against a prior of 10 that splits evenly: V = 2 places,
        // pressure(1) = 2 / 40 × (30 + 10 × 0.5), pressure(2) = 2 / 40 × 10 × 0.5.
        #expect(m.requestsToCome(.gp, at: 29, windowHours: 48, priorRequests: 10, priorHours: 1) == 2)
        #expect(isClose(m.pressure(slot: 1, Self.key(), mode: .office, priorRequests: 10, toCome: 2), 1.75))
        #expect(isClose(m.pressure(slot: 2, Self.key(Fixture.north(80)), mode: .office, priorRequests: 10, toCome: 2), 0.25))
    }

    /// Requests to come: the rate so far times the window, at most the open places.
    @Test func requestsToComeFollowTheRateSoFar() {
        var m = Self.market()
        for n in 1...1_000 { m.setPlaces(slot: Int64(n), key: Self.key(), mode: .office, places: 1, start: 1_000_000) }
        // Before any request: the prior's 10 requests in its hour, 480 in 48 h.
        #expect(isClose(m.requestsToCome(.gp, at: 0, windowHours: 48, priorRequests: 10, priorHours: 1), 480))
        // A quiet night: 2 requests in 5 hours, (2 + 10) / 6 an hour.
        m.arrive(.gp, createdAt: 0, sign: 1)
        m.arrive(.gp, createdAt: 3_600, sign: 1)
        #expect(isClose(m.requestsToCome(.gp, at: 5 * 3_600, windowHours: 48, priorRequests: 10, priorHours: 1), 96))
        // A burst on a fresh daemon: 200 in ten minutes claim every place.
        var burst = Self.market()
        for n in 1...1_000 { burst.setPlaces(slot: Int64(n), key: Self.key(), mode: .office, places: 1, start: 1_000_000) }
        for t in 0..<200 { burst.arrive(.gp, createdAt: Int64(3 * t), sign: 1) }
        #expect(burst.requestsToCome(.gp, at: 600, windowHours: 48, priorRequests: 10, priorHours: 1) == 1_000)
        #expect(burst.requestsToCome(.nurse, at: 600, windowHours: 48, priorRequests: 10, priorHours: 1) == 0)
    }

    /// Whatever the events, including shares taken back after their places changed, a
    /// pressure is never negative (another engineer's search bound relies on bid prices
    /// never being negative).
    @Test func pressureIsNeverNegative() {
        var m = Self.market()
        var seed: UInt64 = 17
        func next(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        let points = (0..<6).map { Fixture.north(Double($0) * 9) }
        for _ in 0..<500 {
            let slot = Int64(next(12))
            switch next(4) {
            case 0:
                m.setPlaces(
                    slot: slot, key: Self.key(points[next(6)]), mode: [.office, .home, .tele][next(3)],
                    places: next(3), start: 1_000)
            case 1:
                m.arrive(.gp, createdAt: 10, sign: next(3) == 0 ? -1 : 1)
            case 2:
                m.share([(slot: slot, places: next(3)), (slot: Int64(next(12)), places: 1)], sign: next(2) == 0 ? -1 : 1)
            default:
                break
            }
            for s in 0..<12 {
                for p in points {
                    for mode in SlotMode.allCases {
                        #expect(m.pressure(slot: Int64(s), Self.key(p), mode: mode, priorRequests: 10, toCome: 5) >= 0)
                    }
                }
            }
        }
    }

    // MARK: In the engine

    /// A fresh engine with slots and no request prices them from the prior; once it has
    /// `warmHours` of history, only the history's price is left.
    @Test func aFreshEnginePricesFromThePriorThenFromHistory() throws {
        // Without the burst condition (below), which keeps the prior from pricing alone.
        var noBurstCondition = MatchingPolicy()
        noBurstCondition.scarcity.liveBurstArrivals = 0
        noBurstCondition.scarcity.liveBurstFactor = 0
        var e = MatchingEngine(policy: noBurstCondition)
        let town = try e.addPro(1)
        let alone = try e.addPro(2, at: Fixture.north(80))
        for k in 0..<9 { try e.publish(town, at: Fixture.hours(30 + 0.5 * Double(k))) }
        let lone = try e.publish(alone, at: Fixture.hours(30))
        let inTown = try e.publish(town, at: Fixture.hours(35))
        let now = Fixture.now.epochSeconds
        #expect(e.bidPrice(lone, now: now) > e.bidPrice(inTown, now: now))
        #expect(e.bidPrice(inTown, now: now) > 0)
        try e.submit("first", at: Fixture.north(80))
        let later = now + Int64(e.policy.scarcity.warmHours * 3600)
        #expect(e.bidPrice(lone, now: later) == e.historyBidPrice(lone))
        var off = MatchingPolicy()
        off.scarcity.liveBidPriceWeight = 0
        var plain = MatchingEngine(policy: off)
        let p = try plain.addPro(1)
        let s = try plain.publish(p, at: Fixture.hours(30))
        #expect(plain.bidPrice(s, now: now) == 0)
    }

    /// Requests from the far north, who can use only the northern practice's places, make
    /// them dearer: a request in the middle, which the prior alone sends north (more places
    /// there, and an earlier start), then goes south.
    @Test func arrivalsSteerTheNextRequestAwayFromWhatTheyCouldUse() throws {
        var e = MatchingEngine()
        let a = try e.addPro(1, at: Fixture.north(-12))
        let b = try e.addPro(2, at: Fixture.north(12))
        let south = try e.publish(a, at: Fixture.hours(20))
        let north = try (0..<3).map { k in try e.publish(b, at: Fixture.hours(19 + 0.5 * Double(k))) }
        var fresh = e
        let first = try fresh.submit("middle")
        #expect(north.map(\.id).contains(first.request.assignment!.slot))
        for n in 0..<10 {
            // Booked at once in the north, then cancelled: the place is open again, the
            // request's share of the northern places stays counted.
            let r = try e.submit("far\(n)", at: Fixture.north(30))
            #expect(r.request.assignment != nil)
            _ = try e.cancel(r.request.id, reason: nil, now: Fixture.now)
        }
        let middle = try e.submit("middle")
        #expect(middle.request.assignment?.slot == south.id)
    }

    /// A first night: one request an hour ago, against 200 open places. The requests to come
    /// at that rate (with the prior's, (1 + 10) / 7 an hour) would not claim half of them in
    /// 48 hours: the prices are the history's alone, as before any request.
    @Test func aQuietFirstHourKeepsTheHistorysPrices() throws {
        var e = MatchingEngine()
        var slots: [Slot] = []
        for n in 1...20 {
            let pro = try e.addPro(n, at: Fixture.north(Double(n)))
            for k in 0..<10 { slots.append(try e.publish(pro, at: Fixture.hours(30 + 0.5 * Double(k)))) }
        }
        let now = Fixture.now.epochSeconds
        for s in slots { #expect(e.bidPrice(s, now: now) == e.historyBidPrice(s)) }
        try e.submit("night", at: Fixture.north(100), now: Fixture.hours(-1))
        for s in slots { #expect(e.bidPrice(s, now: now) == e.historyBidPrice(s)) }
    }

    /// The live price counts only while requests come as a burst: fewer than
    /// `liveBurstArrivals` requests, or a rate that would not bring `liveBurstFactor` times
    /// the open places within the window, keep the history's prices; a burst turns it on.
    @Test func theLivePriceWaitsForABurst() throws {
        var e = MatchingEngine()
        var slots: [Slot] = []
        for n in 1...10 {
            let pro = try e.addPro(n, at: Fixture.north(Double(n) * 2 - 10))
            for k in 0..<4 { slots.append(try e.publish(pro, at: Fixture.hours(20 + 0.5 * Double(k)))) }
        }
        let now = Fixture.now.epochSeconds
        // Nine requests in the same minute: still fewer than ten.
        for i in 0..<9 { try e.submit("q\(i)", at: Fixture.north(40), now: Fixture.hours(-0.01)) }
        for s in slots { #expect(e.bidPrice(s, now: now) == e.historyBidPrice(s)) }
        // A quiet start: ten requests in five hours would bring 96 in 48 h, against 40
        // places, not ten times as many.
        var quiet = e
        try quiet.submit("q9", at: Fixture.north(40), now: Fixture.hours(5))
        let later = Fixture.hours(5).epochSeconds
        for s in slots { #expect(quiet.bidPrice(s, now: later) == quiet.historyBidPrice(s)) }
        // A burst: the tenth within the minute.
        try e.submit("q9", at: Fixture.north(40), now: Fixture.hours(-0.01))
        #expect(slots.contains { e.bidPrice($0, now: now) > e.historyBidPrice($0) })
    }

    /// The live market is derived state: `undo` of a creation leaves it as it was.
    @Test func undoOfARequestLeavesTheLiveMarketAsItWas() throws {
        var e = MatchingEngine()
        let a = try e.addPro(1)
        let s = try e.publish(a, at: Fixture.hours(20), capacity: 2)
        _ = e.takeJournal()
        let price = e.bidPrice(s, now: Fixture.now.epochSeconds)
        try e.submit("r1")
        e.undo(e.takeJournal())
        #expect(e.live.arrivals[.gp] == 0)
        #expect(isClose(e.live.shares(of: s.id.number), 0))
        #expect(isClose(e.bidPrice(s, now: Fixture.now.epochSeconds), price))
    }
}

extension LiveMarket {
    /// A slot of its own practice (the professional numbered as the slot), for tests of
    /// the market alone.
    mutating func setPlaces(slot: Int64, key: Key?, mode: SlotMode, places: Int, start: Int64) {
        setPlaces(
            slot: slot,
            key.map {
                Opening(
                    key: $0, practice: PracticeKey(pro: Int32(slot), mode: mode, location: Fixture.patient), mode: mode,
                    places: places, start: start, homeRadiusKm: 10, weeklyCap: nil)
            })
    }

    /// A request's share of these slots, one by one, `1 / Σ places` each.
    mutating func share(_ options: [(slot: Int64, places: Int)], sign: Double) {
        var a = Arrival()
        for o in options where o.places > 0 {
            a.total += o.places
            a.slots.append(o.slot)
        }
        share(a, sign: sign)
    }
}
