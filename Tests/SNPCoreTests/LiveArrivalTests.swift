import Foundation
import SNPSimulation
import Testing

@testable import SNPCore

/// While the daemon is cold, each arrival adds its share to every open slot it could use
/// (issue 17). The live market keeps those shares by practice (`LiveMarket.Arrival`,
/// `MatchingEngine.liveArrival`) rather than slot by slot; these tests check it against the
/// plain definition, the slots `eligibleSlots` finds, each given `1 / their open places`,
/// through bookings that fill slots, declines, cancellations, withdrawals, moves, weekly
/// caps reached and changed, and requests of short deadlines.
@Suite struct LiveArrivalTests {
    /// The slots an arrival's share goes to, as the market will add it: its practices' open
    /// slots but the exceptions, and the slots listed one by one.
    static func slotsShared(_ a: LiveMarket.Arrival, in live: LiveMarket) -> Set<Int64> {
        let practices = Set(a.practices)
        var slots = Set(a.slots)
        for (n, s) in live.supply where s.places > 0 && practices.contains(s.practice) { slots.insert(n) }
        return slots.subtracting(a.except)
    }

    @Test(arguments: [3, 11])
    func sharesByPracticeAreTheSharesOfEveryEligibleSlot(seed: UInt64) throws {
        var e = try SearchBoundTests.city(pros: 14, strategy: .scarcity, seed: seed)
        var g = SeededRandom(seed: seed, stream: "live arrivals")
        // The plain definition, kept beside the engine: each arrival's `1 / total` added to
        // each slot `eligibleSlots` finds for it just before it is created.
        var expected: [Int64: Double] = [:]
        var requests: [RequestID] = []
        var arrivals = 0
        var byPractice = 0
        for step in 0..<300 {
            let now = Fixture.minutes(step / 10)
            switch Int.random(in: 0..<12, using: &g) {
            case 0..<6:
                let at = GeoPoint(
                    lat: Fixture.patient.lat + Double.random(in: -0.03...0.03, using: &g),
                    lon: Fixture.patient.lon + Double.random(in: -0.04...0.04, using: &g))
                let modes: ModeSet = [.inPerson, .office, .home, [.office, .tele]][Int.random(in: 0..<4, using: &g)]
                // Some deadlines cut through the practices' slots (over 40 hours).
                let within = [48, 30, 12][Int.random(in: 0..<3, using: &g)] * 3600
                let need = MatchNeed(
                    profession: .gp, modes: modes, location: at, radiusKm: nil, priority: 2,
                    deadline: Date(epochSeconds: now.epochSeconds + Int64(within)))
                let options = e.eligibleSlots(for: need, now: now, keep: Int.max)
                let arrival = e.liveArrival(for: need, now: now)
                #expect(arrival.total == options.reduce(0) { $0 + $1.slot.capacity - e.taken($1.slot.id.number) })
                #expect(Self.slotsShared(arrival, in: e.live) == Set(options.map(\.slot.id.number)))
                if !arrival.practices.isEmpty { byPractice += 1 }
                if arrival.total > 0 {
                    for o in options { expected[o.slot.id.number, default: 0] += 1 / Double(arrival.total) }
                }
                arrivals += 1
                let outcome = try e.submit(
                    "r\(step)", prio: 2, modes: modes, at: at, within: within, now: now)
                requests.append(outcome.request.id)
            case 6, 7:
                guard !requests.isEmpty else { break }
                let id = requests.remove(at: Int.random(in: 0..<requests.count, using: &g))
                if let r = e.request(id), r.state == .booked || r.state == .held {
                    if Bool.random(using: &g) {
                        _ = try e.decline(id, now: now)
                        requests.append(id)
                    } else {
                        _ = try e.cancel(id, reason: nil, now: now)
                    }
                }
            case 8:
                let open = e.slots.values.filter { !$0.isWithdrawn }.map(\.id).sorted()
                if !open.isEmpty { _ = try e.withdrawSlot(open[Int.random(in: 0..<open.count, using: &g)], now: now) }
            case 9:
                // A professional moves, changes their home radius or weekly cap.
                let pro = e.professionals[Fixture.rpps(Int.random(in: 1...14, using: &g))]!
                let moved = Bool.random(using: &g)
                _ = try e.putProfessional(
                    ProfessionalDraft(
                        rpps: pro.rpps, profession: .gp, name: pro.name,
                        location: moved ? Fixture.north(Double.random(in: -2...2, using: &g)) : pro.location,
                        homeRadiusKm: moved ? pro.homeRadiusKm : [nil, 2.0, 30.0][Int.random(in: 0..<3, using: &g)],
                        weeklyCap: moved ? pro.weeklyCap : [nil, 1, 3][Int.random(in: 0..<3, using: &g)]),
                    now: now)
            default:
                let pro = Fixture.rpps(Int.random(in: 1...14, using: &g))
                _ = try? e.publish(
                    pro, at: Fixture.minutes(Int.random(in: 30...2_400, using: &g)), minutes: 20,
                    capacity: [1, 3, 100][Int.random(in: 0..<3, using: &g)], now: now)
            }
            _ = e.takeJournal()
            if step % 10 == 0 { e.tick(now: now) }
            // Every slot a request could still use carries the shares of the definition.
            let lead = now.epochSeconds + Int64(e.policy.leadSeconds)
            for (n, s) in e.live.supply where s.places > 0 && s.start >= lead {
                #expect(isClose(e.live.shares(of: n), expected[n] ?? 0), "slot \(n) at step \(step)")
            }
        }
        #expect(e.liveBidPricesCount(at: Fixture.minutes(30).epochSeconds))
        #expect(arrivals > 100 && byPractice > 20)
    }

    /// The search's memo of the live price's inputs changes no price: every slot priced
    /// through a memo shared by a whole search is priced as alone.
    @Test func aSearchPricesEachSlotAsAlone() throws {
        var e = MatchingEngine()
        for n in 1...10 {
            let pro = try e.addPro(n, at: Fixture.north(Double(n) * 3 - 15))
            for k in 0..<6 { try e.publish(pro, at: Fixture.hours(2 + 5 * Double(k)), mode: k % 2 == 0 ? .office : .home) }
        }
        // 20 requests at once, against 60 places: the requests to come would claim them all.
        for i in 0..<20 { try e.submit("r\(i)", at: Fixture.north(Double(i % 5) * 4 - 8)) }
        let now = Fixture.now.epochSeconds
        var memo = LivePriceMemo()
        var priced = 0
        for s in e.slots.values.sorted(by: { $0.id < $1.id }) where e.isOpen(s) {
            let pro = e.professionals[s.pro]!
            let alone = e.bidPrice(s, now: now)
            #expect(e.bidPrice(s, at: pro.location, now: now, memo: &memo) == alone)
            if alone > e.historyBidPrice(s) { priced += 1 }
        }
        #expect(priced > 10)
    }

    /// While the live price counts, the search's bound adds each practice's least price
    /// (`livePriceFloor`); the answers stay those of every slot evaluated and sorted, as
    /// the shares pile up, unevenly, and slots fill.
    @Test func theLivePriceFloorKeepsEverySearchExact() throws {
        var e = MatchingEngine()
        var g = SeededRandom(seed: 17, stream: "live floor")
        for n in 1...12 {
            let at = GeoPoint(
                lat: Fixture.patient.lat + Double.random(in: -0.03...0.03, using: &g),
                lon: Fixture.patient.lon + Double.random(in: -0.04...0.04, using: &g))
            let pro = try e.addPro(n, at: at, weeklyCap: n % 5 == 0 ? 4 : nil)
            for k in 0..<10 {
                try e.publish(
                    pro, at: Fixture.minutes(40 + 150 * k + n), minutes: 20, mode: k % 3 == 2 ? .home : .office,
                    capacity: 1 + (n + k) % 3)
            }
        }
        var checked = 0
        var floors = 0
        for i in 0..<180 {
            let now = Fixture.minutes(i / 6)
            // Demand from the west half, more than from the east: uneven shares.
            let at = GeoPoint(
                lat: Fixture.patient.lat + Double.random(in: -0.03...0.03, using: &g),
                lon: Fixture.patient.lon + Double.random(in: -0.05...(i % 3 == 0 ? 0.05 : 0.0), using: &g))
            if i % 4 == 0 {
                for modes: ModeSet in [.inPerson, .office] {
                    let need = Fixture.need(
                        .gp, prio: 1 + i % 3, modes: modes, at: at, deadline: Fixture.hours([30, 12][i % 2], after: now))
                    SearchBoundTests.expectExact(e, need, now: now)
                    checked += 1
                }
                var memo = LivePriceMemo()
                for s in e.slots.values where e.isOpen(s) {
                    let pro = e.professionals[s.pro]!
                    let practice = SlotIndex.Practice(pro: e.proNumber[s.pro]!, location: pro.location, entries: [])
                    let floor = e.livePriceFloor(
                        practice, mode: s.mode, profession: .gp, now: now.epochSeconds, memo: &memo)
                    #expect(floor <= e.bidPrice(s, at: pro.location, now: now.epochSeconds, memo: &memo))
                    if floor > 0 { floors += 1 }
                }
            }
            try e.submit("r\(i)", prio: 1 + i % 3, at: at, within: [48, 24][i % 2] * 3600, now: now)
            _ = e.takeJournal()
        }
        #expect(checked == 90 && floors > 100)
    }
}
