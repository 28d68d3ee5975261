import Foundation
import SNPCore
import SNPSimulation
import Testing

/// `decide=` (SPEC §3.8, issue 17): pending requests, decided together by their `decide_by`.
@Suite struct PendingTests {
    /// A request `decide` seconds from now, as `REQ ADD … decide=` would.
    static func deferred(
        _ ref: String, at location: GeoPoint = Fixture.patient, prio: Int = 2, within: Int = 48 * 3600,
        decide: Int = 3600, hold: Int? = nil, slot: SlotID? = nil
    ) -> RequestSpec {
        var spec = Fixture.spec(ref, prio: prio, at: location, within: within, hold: hold, slot: slot)
        spec.decideSeconds = decide
        return spec
    }

    @Test func aDeferredRequestIsPendingAndTakesNoPlaceUntilItsDecideBy() throws {
        var e = MatchingEngine(policy: .spec42)
        let pro = try e.addPro(1)
        let slot = try e.publish(pro, at: Fixture.hours(3))
        let added = try e.addRequest(Self.deferred("a"), owner: Fixture.owner, now: Fixture.now)
        #expect(added.request.state == .pending)
        #expect(added.request.decideBy == Fixture.hours(1))
        #expect(e.isOpen(slot))
        #expect(e.pendingCount == 1)
        // A retry with the same ref returns it unchanged.
        #expect(try e.addRequest(Self.deferred("a"), owner: Fixture.owner, now: Fixture.minutes(5)).existing)
        e.tick(now: Fixture.minutes(59))
        #expect(e.current(added).state == .pending)
        _ = e.takeJournal()
        e.tick(now: Fixture.hours(1))
        let decided = e.current(added)
        #expect(decided.state == .booked)
        #expect(decided.assignment?.slot == slot.id)
        #expect(decided.bookedAt == Fixture.hours(1))
        #expect(e.pendingCount == 0)
        // The decision is journaled, so the server commits it and sends its EVENT.
        #expect(e.takeJournal().contains { if case .request(_, let new) = $0 { new.id == added.request.id } else { false } })
    }

    /// Two requests and two slots: `a` prefers `x`, which is `b`'s only option. Answered at
    /// once, `a` takes `x` and `b` waits; decided together, both are served.
    @Test func decidingTogetherServesARequestThatAnsweringAtOnceLeavesOut() throws {
        func setUp() throws -> (MatchingEngine, Slot, Slot) {
            var e = MatchingEngine(policy: .spec42)
            let p1 = try e.addPro(1, at: Fixture.north(10))
            let p2 = try e.addPro(2, at: Fixture.north(-12))
            let x = try e.publish(p1, at: Fixture.hours(2))
            let y = try e.publish(p2, at: Fixture.hours(2))
            return (e, x, y)
        }
        let b = Fixture.north(15)  // 5 km from p1, 27 km from p2: beyond the 20 km radius
        var online = try setUp().0
        let a1 = try online.submit("a")
        let b1 = try online.submit("b", at: b)
        #expect(online.current(a1).state == .booked)
        #expect(online.current(b1).state == .queued)

        var (e, x, y) = try setUp()
        let a2 = try e.addRequest(Self.deferred("a"), owner: Fixture.owner, now: Fixture.now)
        let b2 = try e.addRequest(Self.deferred("b", at: b), owner: Fixture.owner, now: Fixture.now)
        e.tick(now: Fixture.hours(1))
        #expect(e.current(a2).assignment?.slot == y.id)
        #expect(e.current(b2).assignment?.slot == x.id)
        #expect([a2, b2].map { e.current($0).state } == [.booked, .booked])
    }

    /// A due request is decided with the pending ones not yet due: one whose place in the
    /// optimum is not its best stays pending; one that gets its best place is booked then.
    @Test func aRequestNotYetDueWeighsInTheBatchAndStaysPendingUnlessItGetsItsBestPlace() throws {
        var e = MatchingEngine(policy: .spec42)
        // a at the patient's point, b 15 km north. x: 8 km from a, 7 from b; y: 12 km south
        // of a (27 from b: beyond its radius); z: 23 km north of a (beyond), 8 from b.
        let p1 = try e.addPro(1, at: Fixture.north(8))
        let p2 = try e.addPro(2, at: Fixture.north(-12))
        let p3 = try e.addPro(3, at: Fixture.north(23))
        let x = try e.publish(p1, at: Fixture.hours(4))
        let y = try e.publish(p2, at: Fixture.hours(4))
        let z = try e.publish(p3, at: Fixture.hours(4))
        let a = try e.addRequest(Self.deferred("a", decide: 3600), owner: Fixture.owner, now: Fixture.now)
        let b = try e.addRequest(Self.deferred("b", at: Fixture.north(15), decide: 7200), owner: Fixture.owner, now: Fixture.now)
        // The optimum: a on x (8), b on z (8), rather than a on y (12), b on x (7). b's best
        // place is x: it is not booked early, and waits.
        e.tick(now: Fixture.hours(1))
        #expect(e.current(a).assignment?.slot == x.id)
        #expect(e.current(b).state == .pending)
        #expect(e.isOpen(z) && e.isOpen(y))
        e.tick(now: Fixture.hours(2))
        #expect(e.current(b).assignment?.slot == z.id)

    }

    @Test func aRequestNotYetDueThatGetsItsBestPlaceIsBookedWithTheBatch() throws {
        var e = MatchingEngine(policy: .spec42)
        let near = try e.addPro(1)
        let far = try e.addPro(2, at: Fixture.north(60))
        let x = try e.publish(near, at: Fixture.hours(4))
        let w = try e.publish(far, at: Fixture.hours(4))
        let a = try e.addRequest(Self.deferred("a", decide: 3600), owner: Fixture.owner, now: Fixture.now)
        let b = try e.addRequest(Self.deferred("b", at: Fixture.north(60), decide: 6 * 3600), owner: Fixture.owner, now: Fixture.now)
        e.tick(now: Fixture.hours(1))
        #expect(e.current(a).assignment?.slot == x.id)
        // b is not due, but its best place is its place in the optimum: waiting could only lose it.
        #expect(e.current(b).assignment?.slot == w.id)
        #expect(e.current(b).bookedAt == Fixture.hours(1))
        #expect(e.pendingCount == 0)
    }

    @Test func aDueRequestWithNothingEligibleIsQueuedAndAnnouncedBookingsStay() throws {
        var e = MatchingEngine(policy: .spec42)
        let pro = try e.addPro(1)
        let x = try e.publish(pro, at: Fixture.hours(2))
        let booked = try e.submit("c")
        #expect(booked.request.assignment?.slot == x.id)
        let before = e.current(booked)
        let pending = try e.addRequest(Self.deferred("p"), owner: Fixture.owner, now: Fixture.now)
        e.tick(now: Fixture.hours(1))
        #expect(e.current(pending).state == .queued)
        #expect(e.rank(pending) == 1)
        #expect(e.current(booked) == before)
    }

    @Test func aPendingRequestCanBeCancelled() throws {
        var e = MatchingEngine(policy: .spec42)
        let pro = try e.addPro(1)
        let slot = try e.publish(pro, at: Fixture.hours(3))
        let p = try e.addRequest(Self.deferred("a"), owner: Fixture.owner, now: Fixture.now)
        let cancelled = try e.cancel(p.request.id, reason: nil, now: Fixture.minutes(10))
        #expect(cancelled.state == .cancelled)
        #expect(e.pendingCount == 0)
        e.tick(now: Fixture.hours(2))
        #expect(e.current(p).state == .cancelled)
        #expect(e.isOpen(slot))
    }

    @Test func decideValuesOutOfBoundsAreBadRequests() throws {
        var e = MatchingEngine()
        let pro = try e.addPro(1)
        let slot = try e.publish(pro, at: Fixture.hours(3))
        let bad: [RequestSpec] = [
            Self.deferred("short", decide: 30),  // under a minute
            Self.deferred("long", decide: 13 * 3600),  // over 12 h
            Self.deferred("window", within: 3600, decide: 46 * 60),  // not less than within − lead (45 min)
            Self.deferred("hold", hold: 300),
            Self.deferred("slot", slot: slot.id),
        ]
        for spec in bad {
            #expect(throws: SNPError.self, "\(spec.ref)") { try e.addRequest(spec, owner: Fixture.owner, now: Fixture.now) }
            #expect(e.request(ref: spec.ref) == nil)
        }
        #expect(try e.addRequest(Self.deferred("ok", within: 3600, decide: 44 * 60), owner: Fixture.owner, now: Fixture.now)
            .request.state == .pending)
    }

    /// Random territories, requests deferred or not, slots published and withdrawn over a day,
    /// ticks at random moments: no request is still pending after its `decide_by`, and no
    /// request held or booked ever changes slot except when its slot is withdrawn.
    @Test func decideByIsAlwaysHonouredAndNothingAnnouncedMoves() throws {
        var g = SeededRandom(seed: 42)
        for round in 0..<30 {
            var e = MatchingEngine(policy: round % 2 == 0 ? MatchingPolicy() : .spec42)
            var pros: [RPPS] = []
            for n in 1...6 {
                pros.append(try e.addPro(n, at: Fixture.north(Double(g.below(30)) - 15), weeklyCap: g.below(3) == 0 ? 3 : nil))
            }
            var now = Fixture.now
            var slots: [SlotID] = []
            var k = 0
            for _ in 0..<80 {
                now = Fixture.seconds(60 * (1 + g.below(20)), after: now)
                let before = e.requests
                e.tick(now: now)
                switch g.below(10) {
                case 0..<4:
                    k += 1
                    var spec = Self.deferred(
                        "r\(k)", at: Fixture.north(Double(g.below(30)) - 15), prio: 1 + g.below(3),
                        within: 3600 * (2 + g.below(46)), decide: 60 * (1 + g.below(120)))
                    if g.below(3) == 0 { spec.decideSeconds = nil }
                    if let d = spec.decideSeconds, d >= spec.withinSeconds - 900 { spec.decideSeconds = nil }
                    _ = try e.addRequest(spec, owner: Fixture.owner, now: now)
                case 4..<7:
                    let pro = pros[g.below(pros.count)]
                    let start = Fixture.seconds(60 * (20 + g.below(36 * 60)), after: now)
                    if let s = try? e.addSlot(e.draft(pro, at: start, capacity: 1 + g.below(2)), now: now).slot {
                        slots.append(s.id)
                    }
                case 7:
                    if !slots.isEmpty { _ = try? e.withdrawSlot(slots[g.below(slots.count)], now: now) }
                default:
                    break
                }
                for r in e.requests.values {
                    if r.state == .pending { #expect(r.decideBy! > now, "round \(round): \(r.id) still pending") }
                    // Announced: held or booked before this step. It keeps its slot unless withdrawn.
                    guard let old = before[r.id.number], old.state == .held || old.state == .booked,
                        let oldSlot = old.assignment?.slot, r.assignment?.slot != oldSlot
                    else { continue }
                    #expect(
                        e.slot(oldSlot)?.isWithdrawn == true || r.state == .cancelled,
                        "round \(round): \(r.id) moved from \(oldSlot)")
                }
                _ = e.takeJournal()
            }
        }
    }
}
