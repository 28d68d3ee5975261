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
        public static func < (a: Entry, b: Entry) -> Bool { (a.start, a.slot) < (b.start, b.slot) }
    }

    struct BucketKey: Hashable, Sendable {
        var profession: Profession
        var mode: SlotMode
        var cell: Int64
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
    private var placement: [Int64: (key: BucketKey, start: Int64)] = [:]

    public var count: Int { placement.count }

    public func contains(_ slot: SlotID) -> Bool { placement[slot.number] != nil }

    /// Files the slot (or moves it, if its practice moved); a slot already filed there is left alone.
    public mutating func insert(slot: SlotID, start: Int64, profession: Profession, mode: SlotMode, at point: GeoPoint) {
        let key = SlotIndex.key(profession: profession, mode: mode, at: point)
        if let current = placement[slot.number] {
            if current.key == key && current.start == start { return }
            remove(slot: slot)
        }
        let entry = Entry(start: start, slot: slot.number)
        let i = SlotIndex.lowerBound(buckets[key] ?? [], entry)
        buckets[key, default: []].insert(entry, at: i)
        placement[slot.number] = (key, start)
    }

    public mutating func remove(slot: SlotID) {
        guard let (key, start) = placement.removeValue(forKey: slot.number) else { return }
        let entry = Entry(start: start, slot: slot.number)
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
        for (key, list) in buckets where key.profession == profession {
            for entry in list { body(entry) }
        }
    }

    /// Drops every slot starting before `instant`: they can no longer be offered.
    public mutating func removeStarting(before instant: Int64) {
        for key in Array(buckets.keys) {
            let list = buckets[key]!
            let cut = SlotIndex.lowerBound(list, Entry(start: instant, slot: Int64.min))
            guard cut > 0 else { continue }
            for entry in list[..<cut] { placement[entry.slot] = nil }
            if cut == list.count { buckets[key] = nil } else { buckets[key]!.removeFirst(cut) }
        }
    }

    /// Visits, bucket by bucket, the slots of `profession` in `mode` starting in
    /// `[from, to]` whose practice may lie within `radiusKm` of `point` (every `tele` slot
    /// for `tele`). Buckets nearer the point come first. `visit` gets the entry and returns
    /// `false` to stop the current bucket (its later slots cannot do better).
    public func visit(
        profession: Profession, mode: SlotMode, near point: GeoPoint, radiusKm: Double, from: Int64, to: Int64,
        _ visit: (Entry) -> Bool
    ) {
        for key in bucketKeys(profession: profession, mode: mode, near: point, radiusKm: radiusKm) {
            guard let list = buckets[key] else { continue }
            var i = SlotIndex.lowerBound(list, Entry(start: from, slot: Int64.min))
            while i < list.count, list[i].start <= to {
                if !visit(list[i]) { break }
                i += 1
            }
        }
    }

    func bucketKeys(profession: Profession, mode: SlotMode, near point: GeoPoint, radiusKm: Double) -> [BucketKey] {
        if mode == .tele { return [BucketKey(profession: profession, mode: .tele, cell: SlotIndex.anywhere)] }
        var cells: [(rank: Int, key: BucketKey)] = []
        SlotIndex.forEachCell(near: point, radiusKm: radiusKm) { cell, rank in
            let key = BucketKey(profession: profession, mode: mode, cell: cell)
            if buckets[key] != nil { cells.append((rank: rank, key: key)) }
        }
        return cells.sorted { $0.rank < $1.rank }.map(\.key)
    }

    /// Visits the grid cells that may hold a point within `radiusKm` of `point` (a bounding
    /// box in degrees, a superset of the disc), with each cell's squared distance in cells
    /// from the point's own.
    static func forEachCell(near point: GeoPoint, radiusKm: Double, _ body: (_ cell: Int64, _ rank: Int) -> Void) {
        let kmPerDegree = GeoPoint.earthRadiusKm * Double.pi / 180
        let dLat = radiusKm / kmPerDegree
        let maxLat = min(89.9, abs(point.lat) + dLat)
        let dLon = min(180, radiusKm / (kmPerDegree * cos(maxLat * Double.pi / 180)))
        let lat0 = Int(((point.lat - dLat) / SlotIndex.cellDegrees).rounded(.down))
        let lat1 = Int(((point.lat + dLat) / SlotIndex.cellDegrees).rounded(.down))
        let lon0 = Int(((point.lon - dLon) / SlotIndex.cellDegrees).rounded(.down))
        let lon1 = Int(((point.lon + dLon) / SlotIndex.cellDegrees).rounded(.down))
        let cLat = Int((point.lat / SlotIndex.cellDegrees).rounded(.down))
        let cLon = Int((point.lon / SlotIndex.cellDegrees).rounded(.down))
        for la in lat0...lat1 {
            for lo in lon0...lon1 {
                // Longitudes wrap; France does not reach the antimeridian, but keep keys canonical.
                var wrapped = lo % 3600
                if wrapped < -1800 { wrapped += 3600 } else if wrapped >= 1800 { wrapped -= 3600 }
                let dy = la - cLat
                let dx = lo - cLon
                body(SlotIndex.cell(latIndex: la, lonIndex: wrapped), dy * dy + dx * dx)
            }
        }
    }

    static func lowerBound(_ list: [Entry], _ entry: Entry) -> Int {
        var lo = 0
        var hi = list.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if list[mid] < entry { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
