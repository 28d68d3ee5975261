import Foundation

/// Demand and supply as they stand now, per profession: the open places (by grid cell, the
/// cells of `SlotIndex`, 0.1°) and the requests that have arrived, with the share of each
/// open place they could use. The `scarcity` strategy's *live* bid price reads it (issue 17):
/// a daemon just started has no history for the bid prices of `BidPriceBook`, but it knows
/// every open slot and every request that came.
///
/// Derived state, like the other indexes: the engine's setters keep it in step with every
/// publication, booking, release, withdrawal and arrival, and `undo` takes their changes
/// back the same way. A change of places costs a few dictionary updates (the cells within
/// reach of one cell); an arrival while the daemon is cold adds its share to the places it
/// could use (`MatchingEngine.countLiveShares`). Pure: no clock.
///
/// The pressure on one open place of slot `s` (mode `m`, in cell `c`) is the expected
/// number of requests to come that could use it, each counted for its share of what it
/// could use:
///
/// ```
/// pressure(s) = V / (n + n₀) × (shares(s) + n₀ × prior(m, c))
/// shares(s)   = Σ over the n requests so far that could use s when they came: 1 / their open places
/// prior(m, c) = Σ over cells c' within reach of c: weight(m, c') / places of mode m within reach of c'
/// weight(m, c') = places(m, c')^α / Σ over cells and in-person modes places^α
/// ```
///
/// `V`, the requests to come within the window, is the rate at which they have come so far
/// times the window, at most the open places of the profession (`requestsToCome`); where they
/// come from, and what they can use, is the mixture of the `n` requests so far and the
/// prior, worth `n₀` requests: demand where the places are, of their mode, less than
/// proportionally (`α` < 1: places gather in towns more than people do). `tele` places
/// have no prior (anyone may use them). Never negative.
struct LiveMarket: Sendable {
    struct Key: Hashable, Sendable {
        var profession: Profession
        var cell: Int64
    }

    struct Cell: Sendable {
        /// Open places of the regular slots of practices in the cell, `office` and `home`.
        var places: (office: Int, home: Int) = (0, 0)
        /// Open places, by mode, of the cells whose centres are within `reachKm` of this one's.
        var reachable: (office: Int, home: Int) = (0, 0)
    }

    /// How far a request reaches, for the cells' neighbourhoods: the default `radius_km`.
    let reachKm: Double
    let priorExponent: Double
    private(set) var cells: [Key: Cell] = [:]
    /// Per profession: requests arrived, open places (every mode), and the sum of
    /// `places^α` over cells and in-person modes.
    private(set) var arrivals: [Profession: Int] = [:]
    private(set) var places: [Profession: Int] = [:]
    private var priorMass: [Profession: Double] = [:]
    /// Per open slot, `shares(s)`: what the requests counted so far put on one of its places.
    private(set) var shares: [Int64: Double] = [:]
    /// What each slot adds to `places`: where, of which mode, how many, and when it starts.
    private var supplyOf: [Int64: (key: Key, mode: SlotMode, places: Int, start: Int64)] = [:]
    /// The earliest creation of the requests counted: how much history there is.
    private(set) var firstArrival: Int64?
    /// Slots starting before this were dropped by `removeStarting`: they are not counted again.
    private var droppedBefore = Int64.min

    init(reachKm: Double, priorExponent: Double) {
        self.reachKm = reachKm
        self.priorExponent = priorExponent
    }

    // MARK: Events

    /// Sets the open places a slot offers (`key` nil or 0 places: none, or no longer open).
    mutating func setPlaces(slot: Int64, key: Key?, mode: SlotMode, places n: Int, start: Int64) {
        if let old = supplyOf.removeValue(forKey: slot) { addPlaces(old.key, old.mode, -old.places) }
        guard let key, n > 0, start >= droppedBefore else { return }
        supplyOf[slot] = (key, mode, n, start)
        addPlaces(key, mode, n)
    }

    /// Drops the places of slots starting before `t`, and their shares: no request can use
    /// them any more.
    mutating func removeStarting(before t: Int64) {
        droppedBefore = max(droppedBefore, t)
        for (slot, s) in supplyOf where s.start < t {
            setPlaces(slot: slot, key: nil, mode: s.mode, places: 0, start: 0)
            shares[slot] = nil
        }
    }

    /// Counts (`sign` 1) or uncounts (-1, an undone creation) a request's arrival.
    mutating func arrive(_ profession: Profession, createdAt: Int64, sign: Int) {
        arrivals[profession, default: 0] += sign
        if sign > 0 { firstArrival = min(firstArrival ?? createdAt, createdAt) }
    }

    /// Adds a request's share to the places it could use: `places` open places of each
    /// slot in `options`, `1 / Σ places` each (`sign` -1 takes it back).
    mutating func share(_ options: [(slot: Int64, places: Int)], sign: Double) {
        let total = options.reduce(0) { $0 + max(0, $1.places) }
        guard total > 0 else { return }
        for o in options where o.places > 0 { shares[o.slot, default: 0] += sign / Double(total) }
    }

    private mutating func addPlaces(_ key: Key, _ mode: SlotMode, _ n: Int) {
        places[key.profession, default: 0] += n
        guard mode != .tele else { return }
        var cell = cells[key] ?? Cell()
        let before = mode == .office ? cell.places.office : cell.places.home
        priorMass[key.profession, default: 0] += weight(before + n) - weight(before)
        if mode == .office { cell.places.office += n } else { cell.places.home += n }
        cells[key] = cell
        forEachCell(near: key.cell) { c in
            let k = Key(profession: key.profession, cell: c)
            if mode == .office {
                cells[k, default: Cell()].reachable.office += n
            } else {
                cells[k, default: Cell()].reachable.home += n
            }
        }
    }

    private func weight(_ places: Int) -> Double { places > 0 ? pow(Double(places), priorExponent) : 0 }

    // MARK: Reading

    /// The expected claims on one open place of `slot` (see the type's comment), the prior
    /// worth `priorRequests` requests, `toCome` requests to come (`requestsToCome`).
    func pressure(slot: Int64, _ key: Key, mode: SlotMode, priorRequests n0: Double, toCome v: Double) -> Double {
        let n = Double(max(0, arrivals[key.profession] ?? 0))
        guard v > 0, n + n0 > 0 else { return 0 }
        let counted = max(0, shares[slot] ?? 0)
        let prior = n0 > 0 ? prior(key, mode: mode) : 0
        return max(0, v / (n + n0) * (counted + n0 * prior))
    }

    /// `V`, the requests of a profession to come within `windowHours`: at the rate they
    /// have come so far, the prior's `priorRequests` counted as come over `priorHours`
    /// before the first, and at most the open places (past that, every place is claimed,
    /// and where the requests come from is what matters). A quiet night prices little; a
    /// burst, or a daemon's first request, prices the market in balance.
    func requestsToCome(
        _ profession: Profession, at t: Int64, windowHours: Double, priorRequests n0: Double, priorHours: Double
    ) -> Double {
        let n = Double(max(0, arrivals[profession] ?? 0))
        let open = Double(max(0, places[profession] ?? 0))
        let hours = historyHours(at: t) + max(0, priorHours)
        guard hours > 0 else { return open }
        return min(open, (n + n0) / hours * windowHours)
    }

    /// `prior(m, c)`: the share of one place of mode `mode` in `key`'s cell under the prior
    /// alone (0 for `tele`).
    func prior(_ key: Key, mode: SlotMode) -> Double {
        guard mode != .tele, let mass = priorMass[key.profession], mass > 0 else { return 0 }
        var sum = 0.0
        forEachCell(near: key.cell) { c in
            guard let cell = cells[Key(profession: key.profession, cell: c)] else { return }
            let reach = mode == .office ? cell.reachable.office : cell.reachable.home
            if reach > 0 { sum += weight(mode == .office ? cell.places.office : cell.places.home) / mass / Double(reach) }
        }
        return sum
    }

    /// Hours of history: from the first request counted to `t` (0 with none).
    func historyHours(at t: Int64) -> Double {
        guard let first = firstArrival else { return 0 }
        return max(0, Double(t - first) / 3600)
    }

    /// Visits the cells whose centres lie within `reachKm` of `cell`'s centre (itself
    /// included), on a flat approximation good to a fraction of a cell over a few tens of km.
    func forEachCell(near cell: Int64, _ body: (Int64) -> Void) {
        let latIndex = Int(cell >> 32)
        let lonIndex = Int(Int32(truncatingIfNeeded: cell))
        let kmPerCell = GeoPoint.earthRadiusKm * Double.pi / 180 * SlotIndex.cellDegrees
        let lonKmPerCell = kmPerCell * cos((Double(latIndex) + 0.5) * SlotIndex.cellDegrees * Double.pi / 180)
        let dLat = Int((reachKm / kmPerCell).rounded(.down))
        let dLon = Int((reachKm / max(lonKmPerCell, 0.01)).rounded(.down))
        for a in -dLat...dLat {
            let y = Double(a) * kmPerCell
            for o in -dLon...dLon {
                let x = Double(o) * lonKmPerCell
                guard x * x + y * y <= reachKm * reachKm else { continue }
                body(SlotIndex.cell(latIndex: latIndex + a, lonIndex: lonIndex + o))
            }
        }
    }
}
