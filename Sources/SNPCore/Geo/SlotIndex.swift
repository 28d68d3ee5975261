import Foundation

/// The open slots, indexed so that finding the best slot for a request looks only at slots
/// of the right profession and mode, near enough, inside the time window: never at every slot.
///
/// Slots are grouped in buckets by profession, mode and a grid cell of the practice's
/// position (0.1° × 0.1°, about 11 × 7.5 km in France); `tele` slots, which have no distance
/// limit, share one bucket per profession. Inside a bucket, slots are grouped by practice
/// (a professional at a place: one distance from the patient for all its slots), and a
/// practice's slots are sorted by start, so a time window is a binary search and a
/// contiguous run, and the search can leave a practice as soon as its start alone makes a
/// slot too dear: its earliest slot bounds all the others (issue 18).
public struct SlotIndex: Sendable {
    public struct Entry: Sendable, Comparable {
        public var start: Int64
        public var slot: Int64
        /// The slot's ISO week (`Slot.week`), computed once when it is filed; not part of
        /// comparisons, so a search bound can leave it 0.
        public var week: Int32

        public init(start: Int64, slot: Int64, week: Int32 = 0) {
            self.start = start
            self.slot = slot
            self.week = week
        }

        public static func < (a: Entry, b: Entry) -> Bool { (a.start, a.slot) < (b.start, b.slot) }
        public static func == (a: Entry, b: Entry) -> Bool { a.start == b.start && a.slot == b.slot }
    }

    /// The open slots of one professional at one place, in one bucket, by start.
    struct Practice: Sendable {
        /// The engine's number for the professional (`MatchingEngine.proNumber`): where the
        /// search reads their weekly loads without hashing.
        var pro: Int32
        var location: GeoPoint
        var entries: [Entry]
    }

    /// A professional at a place: a professional who moves has, for a moment, slots filed
    /// at both places.
    struct PracticeKey: Hashable, Sendable {
        var pro: Int32
        var location: GeoPoint
    }

    /// What a search reads of a practice before its slots, in a compact array.
    struct Head: Sendable {
        /// The starts of the practice's first and last slots.
        var firstStart: Int64
        var lastStart: Int64
        var pro: Int32
        /// The practice's place as a point of the unit sphere (`GeoPoint.unitVector`): the
        /// chord to the patient, a lower bound of the distance, takes no sine or cosine.
        var unit: SIMD3<Double>
    }

    /// A bucket's practices, in no particular order, and where each one is.
    struct Bucket: Sendable {
        var practices: [Practice] = []
        /// Same order as `practices`: a search that rules a practice out from its first
        /// start, load and chord reads only this.
        var heads: [Head] = []
        var position: [PracticeKey: Int] = [:]
    }

    /// A bucket's profession, mode and cell. The profession and mode are kept as one small
    /// number: an enum with `String` raw values hashes its string (perf showed it), and a
    /// search looks up some seventy buckets.
    struct BucketKey: Hashable, Sendable {
        private var kind: UInt16
        var cell: Int64

        init(profession: Profession, mode: SlotMode, cell: Int64) {
            kind = UInt16(profession.number) << 2 | UInt16(mode.number)
            self.cell = cell
        }

        func holds(_ profession: Profession) -> Bool { kind >> 2 == UInt16(profession.number) }
    }

    static let cellDegrees = 0.1
    /// The cell of `tele` buckets.
    static let anywhere = Int64.min

    private var buckets: [BucketKey: Bucket] = [:]

    public init() {}

    static func cell(latIndex: Int, lonIndex: Int) -> Int64 { Int64(latIndex) << 32 | Int64(UInt32(bitPattern: Int32(lonIndex))) }

    static func cell(of point: GeoPoint) -> Int64 {
        cell(latIndex: Int((point.lat / cellDegrees).rounded(.down)), lonIndex: Int((point.lon / cellDegrees).rounded(.down)))
    }

    static func key(profession: Profession, mode: SlotMode, at point: GeoPoint) -> BucketKey {
        BucketKey(profession: profession, mode: mode, cell: mode == .tele ? anywhere : cell(of: point))
    }

    /// Where each indexed slot is filed, so that it can be removed or moved by id alone.
    private var placement: [Int64: (key: BucketKey, start: Int64, practice: PracticeKey)] = [:]

    public var count: Int { placement.count }

    public func contains(_ slot: SlotID) -> Bool { placement[slot.number] != nil }

    /// Files the slot of professional number `pro` (or moves it, if its practice moved); a
    /// slot already filed there is left alone.
    mutating func insert(
        slot: SlotID, start: Int64, profession: Profession, mode: SlotMode, pro: Int32, at point: GeoPoint
    ) {
        let key = SlotIndex.key(profession: profession, mode: mode, at: point)
        let practice = PracticeKey(pro: pro, location: point)
        if let current = placement[slot.number] {
            if current.key == key && current.start == start && current.practice == practice { return }
            remove(slot: slot)
        }
        let entry = Entry(start: start, slot: slot.number, week: Int32(ParisTime.isoWeek(at: start)))
        buckets[key, default: Bucket()].insert(entry, of: practice, location: point)
        placement[slot.number] = (key, start, practice)
    }

    public mutating func remove(slot: SlotID) {
        guard let (key, start, practice) = placement.removeValue(forKey: slot.number) else { return }
        buckets[key]?.remove(Entry(start: start, slot: slot.number), of: practice)
        if buckets[key]?.practices.isEmpty == true { buckets[key] = nil }
    }

    /// Visits every indexed slot of a profession, bucket by bucket (in no particular order):
    /// without gathering or sorting them, which with a million slots costs more than the visit.
    public func forEach(profession: Profession, _ body: (Entry) -> Void) {
        for (key, bucket) in buckets where key.holds(profession) {
            for practice in bucket.practices {
                for entry in practice.entries { body(entry) }
            }
        }
    }

    /// Drops every slot starting before `instant`: they can no longer be offered.
    public mutating func removeStarting(before instant: Int64) {
        for key in Array(buckets.keys) {
            var bucket = buckets.removeValue(forKey: key)!
            var k = 0
            while k < bucket.practices.count {
                let cut = SlotIndex.firstStarting(at: instant, in: bucket.practices[k].entries)
                for entry in bucket.practices[k].entries[..<cut] { placement[entry.slot] = nil }
                if cut == bucket.practices[k].entries.count {
                    bucket.removePractice(at: k)  // the last one comes to `k`
                } else {
                    bucket.practices[k].entries.removeFirst(cut)
                    bucket.heads[k].firstStart = bucket.practices[k].entries[0].start
                    k += 1
                }
            }
            if !bucket.practices.isEmpty { buckets[key] = bucket }
        }
    }

    /// The position of the first entry of a practice's list starting at or after `instant`.
    static func firstStarting<List: RandomAccessCollection<Entry>>(at instant: Int64, in list: List) -> Int
    where List.Index == Int {
        lowerBound(list, Entry(start: instant, slot: Int64.min))
    }

    /// The position of the first entry of a practice's list (from `from`) in a later ISO
    /// week than `week`: weeks grow with starts.
    static func firstAfter(week: Int32, in list: [Entry], from: Int) -> Int {
        var lo = from
        var hi = list.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if list[mid].week <= week { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The buckets to search, nearest first, each with a lower bound of the distance from
    /// `point` to the cell (0 for `tele`).
    func buckets(profession: Profession, mode: SlotMode, near point: GeoPoint, radiusKm: Double) -> [(
        bucket: Bucket, distance: Double
    )] {
        if mode == .tele {
            let key = BucketKey(profession: profession, mode: .tele, cell: SlotIndex.anywhere)
            return buckets[key].map { [($0, 0)] } ?? []
        }
        var found: [(bucket: Bucket, distance: Double)] = []
        SlotIndex.forEachCell(near: point, radiusKm: radiusKm) { cell in
            if let bucket = buckets[BucketKey(profession: profession, mode: mode, cell: cell)] {
                found.append((bucket, SlotIndex.minDistanceKm(from: point, toCell: cell)))
            }
        }
        found.sort { $0.distance < $1.distance }
        return found
    }

    /// A lower bound of the great-circle distance from `point` to any point of a grid cell:
    /// the distance to the nearest point of the cell's latitude-longitude rectangle, less
    /// 1 % and a metre (on a sphere the nearest point of a meridian edge is not quite at the point's own
    /// latitude; within a few hundred kilometres the difference is under 0.1 %).
    static func minDistanceKm(from point: GeoPoint, toCell cell: Int64) -> Double {
        let latIndex = Int(cell >> 32)
        let lonIndex = Int(Int32(truncatingIfNeeded: cell))
        let lat0 = Double(latIndex) * cellDegrees
        let lon0 = Double(lonIndex) * cellDegrees
        let nearest = GeoPoint(
            lat: min(max(point.lat, lat0), lat0 + cellDegrees), lon: min(max(point.lon, lon0), lon0 + cellDegrees))
        if nearest == point { return 0 }
        // Less a metre besides: a practice on the cell's edge may lie a rounding error outside it.
        return max(0, point.distanceKm(to: nearest) * 0.99 - 0.001)
    }

    /// Visits the grid cells that may hold a point within `radiusKm` of `point` (a bounding
    /// box in degrees, a superset of the disc).
    static func forEachCell(near point: GeoPoint, radiusKm: Double, _ body: (_ cell: Int64) -> Void) {
        let kmPerDegree = GeoPoint.earthRadiusKm * Double.pi / 180
        let dLat = radiusKm / kmPerDegree
        let maxLat = min(89.9, abs(point.lat) + dLat)
        let dLon = min(180, radiusKm / (kmPerDegree * cos(maxLat * Double.pi / 180)))
        let lat0 = Int(((point.lat - dLat) / SlotIndex.cellDegrees).rounded(.down))
        let lat1 = Int(((point.lat + dLat) / SlotIndex.cellDegrees).rounded(.down))
        let lon0 = Int(((point.lon - dLon) / SlotIndex.cellDegrees).rounded(.down))
        let lon1 = Int(((point.lon + dLon) / SlotIndex.cellDegrees).rounded(.down))
        for la in lat0...lat1 {
            for lo in lon0...lon1 {
                // Longitudes wrap; France does not reach the antimeridian, but keep keys canonical.
                var wrapped = lo % 3600
                if wrapped < -1800 { wrapped += 3600 } else if wrapped >= 1800 { wrapped -= 3600 }
                body(SlotIndex.cell(latIndex: la, lonIndex: wrapped))
            }
        }
    }

    static func lowerBound<List: RandomAccessCollection<Entry>>(_ list: List, _ entry: Entry) -> Int where List.Index == Int {
        var lo = list.startIndex
        var hi = list.endIndex
        while lo < hi {
            let mid = (lo + hi) / 2
            if list[mid] < entry { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

extension SlotIndex.Bucket {
    mutating func insert(_ entry: SlotIndex.Entry, of practice: SlotIndex.PracticeKey, location: GeoPoint) {
        if let k = position[practice] {
            practices[k].entries.insert(entry, at: SlotIndex.lowerBound(practices[k].entries, entry))
            heads[k].firstStart = practices[k].entries[0].start
            heads[k].lastStart = practices[k].entries[practices[k].entries.count - 1].start
        } else {
            position[practice] = practices.count
            practices.append(SlotIndex.Practice(pro: practice.pro, location: location, entries: [entry]))
            heads.append(
                SlotIndex.Head(firstStart: entry.start, lastStart: entry.start, pro: practice.pro, unit: location.unitVector))
        }
    }

    mutating func remove(_ entry: SlotIndex.Entry, of practice: SlotIndex.PracticeKey) {
        guard let k = position[practice] else { return }
        let i = SlotIndex.lowerBound(practices[k].entries, entry)
        guard i < practices[k].entries.count, practices[k].entries[i] == entry else { return }
        practices[k].entries.remove(at: i)
        if practices[k].entries.isEmpty {
            removePractice(at: k)
        } else {
            heads[k].firstStart = practices[k].entries[0].start
            heads[k].lastStart = practices[k].entries[practices[k].entries.count - 1].start
        }
    }

    /// Removes practice `k` by moving the last one into its place.
    mutating func removePractice(at k: Int) {
        position[SlotIndex.PracticeKey(pro: practices[k].pro, location: practices[k].location)] = nil
        let last = practices.removeLast()
        let lastHead = heads.removeLast()
        guard k < practices.count else { return }
        practices[k] = last
        heads[k] = lastHead
        position[SlotIndex.PracticeKey(pro: last.pro, location: last.location)] = k
    }
}
