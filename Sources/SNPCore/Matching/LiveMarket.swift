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
///
/// `shares(s)` is kept by practice (a professional at a place, in one mode, as `SlotIndex`
/// files them): an arrival that could use most of a practice's open slots adds its share
/// to the practice once, and takes it back from the few it could not use (started too
/// soon, after its deadline, a week the professional is at their cap, declined); one that
/// could use few adds it to those slot by slot. So an arrival costs a few operations per
/// practice in reach, not one dictionary update per slot (issue 17's cold start, in a
/// city of 2 000 slots: docs/PERFORMANCE.md).
struct LiveMarket: Sendable {
    struct Key: Hashable, Sendable {
        var profession: Profession
        var cell: Int64

        // The profession by its position, not its `String` raw value (which the default
        // `Hashable` of a `RawRepresentable` enum hashes).
        func hash(into hasher: inout Hasher) {
            hasher.combine(cell)
            hasher.combine(profession.number)
        }

        static func == (a: Key, b: Key) -> Bool { a.cell == b.cell && a.profession == b.profession }
    }

    /// A professional (by the engine's number) at a place, in one mode: `SlotIndex`'s practice.
    struct PracticeKey: Hashable, Sendable {
        var pro: Int32
        var mode: UInt8
        var location: GeoPoint

        init(pro: Int32, mode: SlotMode, location: GeoPoint) {
            self.pro = pro
            self.mode = mode.number
            self.location = location
        }
    }

    /// What an open slot offers the live market, with what its practice's eligibility reads.
    struct Opening: Sendable {
        var key: Key
        var practice: PracticeKey
        var mode: SlotMode
        var places: Int
        var start: Int64
        /// The professional's (or the policy's) home radius, and their weekly cap.
        var homeRadiusKm: Double
        var weeklyCap: Int?
    }

    struct Cell: Sendable {
        /// Open places of the regular slots of practices in the cell, `office` and `home`.
        var places: (office: Int, home: Int) = (0, 0)
        /// Open places, by mode, of the cells whose centres are within `reachKm` of this one's.
        var reachable: (office: Int, home: Int) = (0, 0)
    }

    /// The open places of a practice, and the shares added to all of its open slots at once.
    struct Practice: Sendable {
        var places = 0
        var common = 0.0
        /// At most `own − joined` of any of its open slots: `common + floor` bounds their
        /// shares from below, for the search's bound (`MatchingEngine.livePriceFloor`). Lowered
        /// as slots join or lose a share, never raised (a bound, not always the least).
        var floor = Double.infinity
        var homeRadiusKm = 0.0
        var weeklyCap: Int?
    }

    /// A slot the market knows: open (`places` > 0, in `practice`) or not any more, but
    /// with the shares it had (a place freed again keeps what was counted on it).
    struct Supply: Sendable {
        var key: Key
        var mode: SlotMode
        var places = 0
        var start: Int64
        var practice: PracticeKey
        /// Shares added to it alone, and those of its practice while it was open.
        var own = 0.0
        /// Its practice's `common` when it joined: what was added before is not its own.
        var joined = 0.0
    }

    /// One arrival's share, as `MatchingEngine.liveArrival` finds it: the open places it
    /// could use (`total`); the practices all of whose open slots it could use but
    /// `except`; and `slots`, the slots it could use elsewhere, one by one.
    struct Arrival: Sendable {
        var total = 0
        var practices: [PracticeKey] = []
        var except: [Int64] = []
        var slots: [Int64] = []
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
    private(set) var practices: [PracticeKey: Practice] = [:]
    private(set) var supply: [Int64: Supply] = [:]
    /// The earliest creation of the requests counted: how much history there is.
    private(set) var firstArrival: Int64?
    /// Slots starting before this were dropped by `removeStarting`: they are not counted again.
    private(set) var droppedBefore = Int64.min

    init(reachKm: Double, priorExponent: Double) {
        self.reachKm = reachKm
        self.priorExponent = priorExponent
    }

    // MARK: Events

    /// Sets the open places a slot offers (nil or 0 places: none, or no longer open).
    mutating func setPlaces(slot: Int64, _ opening: Opening?) {
        if var s = supply[slot], s.places > 0 {
            // It leaves its practice, with the shares the practice had since it joined.
            addPlaces(s.key, s.mode, -s.places)
            var p = practices[s.practice]!
            p.places -= s.places
            s.own += p.common - s.joined
            s.places = 0
            practices[s.practice] = p.places > 0 ? p : nil
            supply[slot] = s
        }
        guard let o = opening, o.places > 0, o.start >= droppedBefore else { return }
        var p = practices[o.practice] ?? Practice()
        p.places += o.places
        p.homeRadiusKm = o.homeRadiusKm
        p.weeklyCap = o.weeklyCap
        practices[o.practice] = p
        var s = supply[slot] ?? Supply(key: o.key, mode: o.mode, start: o.start, practice: o.practice)
        (s.key, s.mode, s.places, s.start, s.practice, s.joined) = (o.key, o.mode, o.places, o.start, o.practice, p.common)
        supply[slot] = s
        practices[o.practice]!.floor = min(p.floor, s.own - s.joined)
        addPlaces(o.key, o.mode, o.places)
    }

    /// Drops the places of slots starting before `t`, and their shares: no request can use
    /// them any more.
    mutating func removeStarting(before t: Int64) {
        droppedBefore = max(droppedBefore, t)
        // The slots first, then the changes: changing `supply` while iterating it would copy
        // the whole dictionary (a million entries) at the first change, under the write lock.
        let gone = supply.compactMap { $0.value.start < t ? $0.key : nil }
        for slot in gone {
            setPlaces(slot: slot, nil)
            supply[slot] = nil
        }
    }

    /// Counts (`sign` 1) or uncounts (-1, an undone creation) a request's arrival.
    mutating func arrive(_ profession: Profession, createdAt: Int64, sign: Int) {
        arrivals[profession, default: 0] += sign
        if sign > 0 { firstArrival = min(firstArrival ?? createdAt, createdAt) }
    }

    /// Adds a request's share, `1 / total`, to each open slot it could use (`sign` -1 takes it back).
    mutating func share(_ a: Arrival, sign: Double) {
        guard a.total > 0 else { return }
        let v = sign / Double(a.total)
        for p in a.practices { practices[p]?.common += v }
        for slot in a.except {
            guard var s = supply[slot] else { continue }
            s.own -= v
            supply[slot] = s
            if s.places > 0, var p = practices[s.practice] {
                p.floor = min(p.floor, s.own - s.joined)
                practices[s.practice] = p
            }
        }
        for slot in a.slots { supply[slot]?.own += v }
    }

    /// `shares(s)`: what the requests counted so far put on one place of `slot`.
    func shares(of slot: Int64) -> Double {
        guard let s = supply[slot] else { return 0 }
        guard s.places > 0, let p = practices[s.practice] else { return s.own }
        return s.own + (p.common - s.joined)
    }

    /// At most `shares(of:)` of any open slot of `practice` (0 without one). A hair below
    /// `common + floor`: the shares are summed in another order, `own + (common − joined)`.
    func sharesFloor(of practice: PracticeKey) -> Double {
        guard let p = practices[practice], p.floor.isFinite else { return 0 }
        let floor = p.common + p.floor
        return max(0, floor - 1e-9 * (abs(p.common) + abs(p.floor) + 1))
    }

    /// The open places of `slot` (0 if not open).
    func openPlaces(of slot: Int64) -> Int { supply[slot]?.places ?? 0 }

    private mutating func addPlaces(_ key: Key, _ mode: SlotMode, _ n: Int) {
        places[key.profession, default: 0] += n
        guard mode != .tele else { return }
        var cell = cells[key] ?? Cell()
        let before = mode == .office ? cell.places.office : cell.places.home
        priorMass[key.profession, default: 0] += weight(before + n) - weight(before)
        if mode == .office { cell.places.office += n } else { cell.places.home += n }
        cells[key] = cell
        // A static walk: a method of `self` called here would hold a second reference to
        // `cells` while the closure writes it, and every write would copy the whole
        // dictionary (a restart of 1 000 000 slots took 31-48 s instead of 8).
        Self.forEachCell(near: key.cell, reachKm: reachKm) { c in
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

    /// The expected claims on one open place of a slot with `shares` (`shares(of:)`) and
    /// `prior` (`prior(_:mode:)`), with `arrived` requests so far, the prior worth
    /// `priorRequests` requests, and `toCome` requests to come (`requestsToCome`).
    static func pressure(shares: Double, prior: Double, arrived: Int, priorRequests n0: Double, toCome v: Double) -> Double {
        let n = Double(max(0, arrived))
        guard v > 0, n + n0 > 0 else { return 0 }
        return max(0, v / (n + n0) * (max(0, shares) + n0 * prior))
    }

    /// `pressure(shares:prior:arrived:priorRequests:toCome:)` of `slot`, in `key`'s cell.
    func pressure(slot: Int64, _ key: Key, mode: SlotMode, priorRequests n0: Double, toCome v: Double) -> Double {
        Self.pressure(
            shares: shares(of: slot), prior: n0 > 0 ? prior(key, mode: mode) : 0, arrived: arrivals[key.profession] ?? 0,
            priorRequests: n0, toCome: v)
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
        Self.forEachCell(near: key.cell, reachKm: reachKm) { c in
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
    static func forEachCell(near cell: Int64, reachKm: Double, _ body: (Int64) -> Void) {
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
