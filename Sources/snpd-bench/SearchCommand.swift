import ArgumentParser
import Foundation
import SNPCore
import SNPSimulation

/// `snpd-bench search`: the cost of the search alone (`MatchingEngine.candidates`), in
/// this process, on one thread, with no socket, no reply and no database: the same
/// territory and the same `SLOT FIND`s as the `find` phase. It is the part of a
/// `SLOT FIND` that grows with the number of slots, and, unlike the socket phases, it moves
/// by a few per cent at most from run to run on this machine, so a change to the search
/// can be measured on its own (docs/PERFORMANCE.md).
struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Time the engine's search alone, in process, on the find phase's territory.")

    @OptionGroup var territory: TerritoryOptions

    @Option(help: "Searches to time (after as many again to warm up).")
    var searches = 200_000

    @Option(
        help:
            "Matching strategy, as snp-sim's --strategy takes it: scarcity (the default), spec42, or e.g. scarcity:live=0 (no live bid price: the engine is cold, with no history, throughout this run)."
    )
    var strategy = "scarcity"

    @Option(help: "Then time this many REQ ADDs in process (the engine's part of the book phase), at the same points.")
    var bookings = 0

    func run() throws {
        guard let policy = Strategies.policy(named: strategy) else {
            throw ValidationError("strategy must be scarcity or spec42, with settings as snp-sim takes them; got \(strategy)")
        }
        guard searches > 0 else { throw ValidationError("searches must be more than 0") }
        let t = territory.make()
        let now = Date(epochSeconds: t.base - 3600)
        var engine = MatchingEngine(policy: policy)
        let loading = CPUClock.now()
        engine.restore(professionals: professionals(t, now: now), slots: slots(t, now: now), requests: [])
        engine.tick(now: now)
        print("search: \(t.slotCount) open slots restored and priced in \(CPUClock.format(CPUClock.now() - loading)) s of CPU")

        var rng = SeededRandom(seed: 0xF1D)
        let needs = (0..<1_000).map { _ in need(t, &rng, now: now, window: policy.windowSeconds) }
        var found = 0
        for i in 0..<searches { found += engine.candidates(for: needs[i % needs.count], now: now, limit: 10).count }
        let start = CPUClock.now()
        found = 0
        for i in 0..<searches { found += engine.candidates(for: needs[i % needs.count], now: now, limit: 10).count }
        let seconds = CPUClock.now() - start
        print(
            "search: \(searches) searches (limit=10, \(strategy)): \(CPUClock.format(seconds * 1e6 / Double(searches))) µs of CPU each, \(CPUClock.format(Double(found) / Double(searches))) slots found on average"
        )
        if bookings > 0 {
            book(&engine, at: needs, now: now)
            let start = CPUClock.now()
            for i in 0..<searches { found += engine.candidates(for: needs[i % needs.count], now: now, limit: 10).count }
            print(
                "search: after the bookings: \(CPUClock.format((CPUClock.now() - start) * 1e6 / Double(searches))) µs of CPU each"
            )
        }
    }

    /// `bookings` REQ ADDs (priorities as the book phase sends them), the journal taken after
    /// each as the server does: CPU time per REQ ADD by tenth of the run, since the load
    /// term grows as bookings accumulate, and how many were booked.
    private func book(_ engine: inout MatchingEngine, at needs: [MatchNeed], now: Date) {
        var rng = SeededRandom(seed: 0xB00C)
        var booked = 0
        var tenths: [Double] = []
        let tenth = max(1, bookings / 10)
        var start = CPUClock.now()
        let first = start
        for i in 0..<bookings {
            let need = needs[i % needs.count]
            let spec = RequestSpec(
                ref: "bench-\(i)", profession: need.profession, priority: [1, 2, 2, 2, 3][rng.below(5)],
                location: need.location)
            if let outcome = try? engine.addRequest(spec, owner: "bench", now: now), outcome.request.state == .booked {
                booked += 1
            }
            _ = engine.takeJournal()
            if (i + 1) % tenth == 0 {
                let end = CPUClock.now()
                tenths.append((end - start) * 1e6 / Double(tenth))
                start = end
            }
        }
        let total = (CPUClock.now() - first) * 1e6 / Double(bookings)
        print(
            "book: \(bookings) REQ ADDs, \(booked) booked: \(CPUClock.format(total)) µs of CPU each; by tenth: \(tenths.map(CPUClock.format).joined(separator: " "))"
        )
    }

    /// What `SLOT FIND prof=… lat=… lon=… limit=10` asks in the `find` phase: a point
    /// within about 3 km of a random professional, in person, priority 2, the whole window.
    private func need(_ t: Territory, _ rng: inout SeededRandom, now: Date, window: Int) -> MatchNeed {
        let pro = t.pros[rng.below(t.pros.count)]
        return MatchNeed(
            profession: pro.profession, modes: .inPerson,
            location: GeoPoint(lat: pro.lat + rng.uniform(-0.025...0.025), lon: pro.lon + rng.uniform(-0.035...0.035)),
            radiusKm: nil, priority: 2, deadline: now.addingTimeInterval(TimeInterval(window)))
    }

    private func professionals(_ t: Territory, now: Date) -> [Professional] {
        t.pros.map { p in
            Professional(
                rpps: RPPS(trusted: p.rpps), profession: p.profession, name: "Bench", location: GeoPoint(lat: p.lat, lon: p.lon),
                updatedAt: now)
        }
    }

    /// The preload's slots (`snpd-bench dataset`).
    private func slots(_ t: Territory, now: Date) -> [Slot] {
        var slots: [Slot] = []
        slots.reserveCapacity(t.slotCount)
        t.forEachPreloadedSlot(now: now.epochSeconds) { n, pro, k, start, created in
            slots.append(
                Slot(
                    id: .slot(Int64(n + 1)), pro: RPPS(trusted: pro.rpps), profession: pro.profession,
                    start: Date(epochSeconds: start), end: Date(epochSeconds: start + Territory.slotSeconds),
                    mode: Territory.mode(period: k), capacity: t.capacity, ref: nil, createdAt: Date(epochSeconds: created)))
        }
        return slots
    }
}

/// The process's CPU time, which other processes on the machine do not inflate.
enum CPUClock {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func format(_ x: Double) -> String { FixedDecimal.format(x, decimals: 2) }
}
