import Foundation

/// The open slots, indexed so that finding the best slot for a request looks only at slots
/// of the right profession and mode, near enough, inside the time window: never at every slot.
///
/// Slots are grouped in buckets by profession, mode and a grid cell of the practice's
/// position (0.1° × 0.1°, about 11 × 7.5 km in France); `tele` slots, which have no distance
/// limit, share one bucket per profession. Inside a bucket, slots are sorted by start, so a
/// time window is a binary search and a contiguous run, and the search can stop early once
/// the time part of the cost alone exceeds what it has already found.
public struct SlotIndex: Sendable {
    public struct Entry: Sendable, Comparable {
        public var start: Int64
        public var slot: Int64
        /// Where the slot's practice is, so that a search can bound a slot's distance term
        /// without looking the slot up.
        public var location: GeoPoint
        /// The slot's ISO week (`Slot.week`), computed once when it is filed; not part of
        /// comparisons, so a search bound can leave it 0.
        public var week: Int32

        public init(start: Int64, slot: Int64, location: GeoPoint, week: Int32 = 0) {
            self.start = start
            self.slot = slot
            self.location = location
            self.week = week
        }

        public static func < (a: Entry, b: Entry) -> Bool { (a.start, a.slot) < (b.start, b.slot) }
        public static func == (a: Entry, b: Entry) -> Bool { a.start == b.start && a.slot == b.slot }
    }

    /// A bucket's profession, mode and cell. The profession and mode are kept as one small
    /// number: an enum with `String` raw values hashes its string (perf showed it), and a
    /// search looks up some seventy buckets.
    struct BucketKey: Hashable, Sendable {
        private var kind: UInt16
        var cell: Int64

        init(profession: Profession, mode: SlotMode, cell: Int64) {
            kind = BucketKey.number(profession) << 2 | BucketKey.number(mode)
            self.cell = cell
        }

        func holds(_ profession: Profession) -> Bool { kind >> 2 == BucketKey.number(profession) }

        private static func number(_ p: Profession) -> UInt16 {
            switch p {
            case .gp: 0
            case .kine: 1
            case .nurse: 2
            case .midwife: 3
            case .dentist: 4
            case .pediatrician: 5
            }
        }

        private static func number(_ m: SlotMode) -> UInt16 {
            switch m {
            case .office: 0
            case .home: 1
            case .tele: 2
            }
        }
    }

    static let cellDegrees = 0.1
    /// The cell of `tele` buckets.
    static let anywhere = Int64.min

    private var buckets: [BucketKey: [Entry]] = [:]

    public init() {}

    static func cell(latIndex: Int, lonIndex: Int) -> Int64 { Int64(latIndex) << 32 | Int64(UInt32(bitPattern: Int32(lonIndex))) }

    static func cell(of point: GeoPoint) -> Int64 {
        cell(latIndex: Int((point.lat / cellDegrees).rounded(.down)), lonIndex: Int((point.lon / cellDegrees).rounded(.down)))
    }

    static func key(profession: Profession, mode: SlotMode, at point: GeoPoint) -> BucketKey {
        BucketKey(profession: profession, mode: mode, cell: mode == .tele ? anywhere : cell(of: point))
    }

    /// Where each indexed slot is filed, so that it can be removed or moved by id alone.
    private var placement: [Int64: (key: BucketKey, start: Int64, location: GeoPoint)] = [:]

    public var count: Int { placement.count }

    public func contains(_ slot: SlotID) -> Bool { placement[slot.number] != nil }

    /// Files the slot (or moves it, if its practice moved); a slot already filed there is left alone.
    public mutating func insert(slot: SlotID, start: Int64, profession: Profession, mode: SlotMode, at point: GeoPoint) {
        let key = SlotIndex.key(profession: profession, mode: mode, at: point)
        if let current = placement[slot.number] {
            if current.key == key && current.start == start && current.location == point { return }
            remove(slot: slot)
        }
        let entry = Entry(start: start, slot: slot.number, location: point, week: Int32(ParisTime.isoWeek(at: start)))
        let i = SlotIndex.lowerBound(buckets[key] ?? [], entry)
        buckets[key, default: []].insert(entry, at: i)
        placement[slot.number] = (key, start, point)
    }

    public mutating func remove(slot: SlotID) {
        guard let (key, start, location) = placement.removeValue(forKey: slot.number) else { return }
        let entry = Entry(start: start, slot: slot.number, location: location)
        guard let list = buckets[key] else { return }
        let i = SlotIndex.lowerBound(list, entry)
        guard i < list.count, list[i] == entry else { return }
        if list.count == 1 {
            buckets[key] = nil
        } else {
            buckets[key]!.remove(at: i)
        }
    }

    /// Visits every indexed slot of a profession, bucket by bucket (in no particular order):
    /// without gathering or sorting them, which with a million slots costs more than the visit.
    public func forEach(profession: Profession, _ body: (Entry) -> Void) {
        for (key, list) in buckets where key.holds(profession) {
            for entry in list { body(entry) }
        }
    }

    /// Drops every slot starting before `instant`: they can no longer be offered.
    public mutating func removeStarting(before instant: Int64) {
        for key in Array(buckets.keys) {
            let list = buckets[key]!
            let cut = SlotIndex.firstStarting(at: instant, in: list)
            guard cut > 0 else { continue }
            for entry in list[..<cut] { placement[entry.slot] = nil }
            if cut == list.count { buckets[key] = nil } else { buckets[key]!.removeFirst(cut) }
        }
    }

    /// The position of the first entry of a bucket's list starting at or after `instant`.
    static func firstStarting<List: RandomAccessCollection<Entry>>(at instant: Int64, in list: List) -> Int
    where List.Index == Int {
        lowerBound(list, Entry(start: instant, slot: Int64.min, location: GeoPoint(lat: 0, lon: 0)))
    }

    /// The buckets to search, nearest first, each with a lower bound of the distance from
    /// `point` to the cell (0 for `tele`).
    func lists(profession: Profession, mode: SlotMode, near point: GeoPoint, radiusKm: Double) -> [(list: [Entry], distance: Double)] {
        if mode == .tele {
            let key = BucketKey(profession: profession, mode: .tele, cell: SlotIndex.anywhere)
            return buckets[key].map { [($0, 0)] } ?? []
        }
        var found: [(list: [Entry], distance: Double)] = []
        SlotIndex.forEachCell(near: point, radiusKm: radiusKm) { cell in
            if let list = buckets[BucketKey(profession: profession, mode: mode, cell: cell)] {
                found.append((list, SlotIndex.minDistanceKm(from: point, toCell: cell)))
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
