import Foundation
import SNPCore

/// `snp-sim batch-bench`: how long one batch decision of pending requests (`decide=`, issue
/// 17) takes the engine, on a synthetic territory: `slots` open GP office slots of 20 min,
/// spread over `pros` practices in a 60 × 60 km square and over 40 hours from 2 hours on, and
/// `requests` pending GP requests at random points of the square, all due at the same
/// instant (the worst case: one batch decides them all). Prints the figures of
/// docs/PERFORMANCE.md ("Batch decisions").
public enum BatchBench {
    public struct Result: Sendable {
        public var requests: Int
        public var slots: Int
        public var booked: Int
        public var queued: Int
        /// Eligible pairs kept for the solver (each request's best `requests` slots).
        public var pairs: Int
        /// Seconds of finding the pairs alone, of `batchPlan` (pairs and solver), then of the
        /// whole decision (plan, checks, bookings), each as CPU time of the process (the
        /// machine may be shared: wall time would count other processes' turns).
        public var pairsSeconds: Double
        public var planSeconds: Double
        public var decisionSeconds: Double
    }

    /// CPU time of this process, in seconds.
    static func cpuSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    static func measure(_ body: () -> Void) -> Double {
        let start = cpuSeconds()
        body()
        return cpuSeconds() - start
    }

    public static func run(requests requestCount: Int, slots slotCount: Int, pros proCount: Int = 500, seed: UInt64 = 1)
        throws -> Result
    {
        var random = SeededRandom(seed: seed, stream: "batch-bench")
        // Monday 11 January 2027, 07:00 UTC: a week with no clock change.
        let now = Date(epochSeconds: 1_799_650_800)
        let origin = GeoPoint(lat: 48.07, lon: -0.77)  // Laval
        func point() -> GeoPoint {
            let north = Double.random(in: -30...30, using: &random)
            let east = Double.random(in: -30...30, using: &random)
            let kmPerDegree = GeoPoint.earthRadiusKm * Double.pi / 180
            return GeoPoint(
                lat: origin.lat + north / kmPerDegree,
                lon: origin.lon + east / (kmPerDegree * cos(origin.lat * Double.pi / 180)))
        }
        var engine = MatchingEngine()
        var pros: [RPPS] = []
        for n in 0..<proCount {
            let prefix = String(format: "2000%06d", n)
            let rpps = RPPS(trusted: prefix + String(RPPS.luhnCheckDigit(for: prefix.map { Int(String($0))! })))
            _ = try engine.putProfessional(
                ProfessionalDraft(rpps: rpps, profession: .gp, name: "Dr Bench \(n)", location: point()), now: now)
            pros.append(rpps)
        }
        let perPro = (slotCount + proCount - 1) / proCount
        var published = 0
        for (p, rpps) in pros.enumerated() {
            for i in 0..<perPro where published < slotCount {
                // Slots of one professional never overlap: 40 h / perPro apart, from two hours
                // on (the decision comes an hour from now: every slot is still eligible then).
                let gap = max(1_200, 40 * 3_600 / perPro)
                let start = now.epochSeconds + 7_200 + Int64(i * gap + (p % 6) * 60)
                _ = try engine.addSlot(
                    SlotDraft(
                        pro: rpps, start: Date(epochSeconds: start), end: Date(epochSeconds: start + 1_200)),
                    now: now)
                published += 1
            }
        }
        let decideSeconds = 3_600
        for k in 0..<requestCount {
            let spec = RequestSpec(
                ref: "bench-\(k)", profession: .gp, priority: 1 + Int(random.next() % 3), modes: .inPerson,
                location: point(), decideSeconds: decideSeconds)
            _ = try engine.addRequest(spec, owner: "bench", now: now)
        }
        _ = engine.takeJournal()
        let due = Date(epochSeconds: now.epochSeconds + Int64(decideSeconds))
        // Bid prices refreshed beforehand, as a running daemon would have them.
        engine.tick(now: Date(epochSeconds: due.epochSeconds - 1))
        let batch = engine.requests.values.filter { $0.state == .pending }.sorted { $0.id < $1.id }
        var pairs = 0
        let pairsTime = measure {
            pairs = batch.reduce(0) { sum, r in sum + engine.eligibleSlotCount(for: r, now: due, keep: batch.count) }
        }
        var plan: [Candidate?] = []
        let planTime = measure { plan = engine.batchPlan(batch, servedFirst: batch.map { _ in true }, now: due) }
        let decisionTime = measure { engine.tick(now: due) }
        let states = batch.map { engine.request($0.id)!.state }
        precondition(plan.count == batch.count)
        return Result(
            requests: requestCount, slots: published, booked: states.filter { $0 == .booked }.count,
            queued: states.filter { $0 == .queued }.count, pairs: pairs, pairsSeconds: pairsTime,
            planSeconds: planTime, decisionSeconds: decisionTime)
    }
}
