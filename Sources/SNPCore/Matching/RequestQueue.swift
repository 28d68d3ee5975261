/// The waiting requests (§4.3), one ordered list per profession, in the order capacity is
/// offered to them: priority, then deadline, then arrival.
///
/// A new place only ever interests requests of its own profession that can reach it, so
/// besides the ordered list each request is filed by where it is: in its grid cell
/// (`SlotIndex`'s cells), or, if it reaches further than `nearbyKm` (a larger `radius_km`
/// for `office`, or `tele` accepted), on its profession's wide list. A place then looks
/// only at the cells around it and the wide list (`waiting(_:near:reachKm:)`), not at
/// the whole queue.
public struct RequestQueue: Sendable {
    public struct Key: Comparable, Sendable, Hashable {
        public var priority: Int
        public var deadline: Int64
        /// Arrival order: request ids grow with arrival.
        public var request: Int64

        public static func < (a: Key, b: Key) -> Bool {
            (a.priority, a.deadline, a.request) < (b.priority, b.deadline, b.request)
        }
    }

    private var lists: [Profession: [Key]] = [:]
    public private(set) var count = 0

    /// Requests whose own `radius_km` is at most this are filed by cell; the cells searched
    /// for an `office` place reach this far (or the policy's default radius, if larger).
    public static let nearbyKm = 30.0
    /// The cell each waiting request is filed in (`wide`: the wide list).
    private var filed: [Int64: Int64] = [:]
    private var byCell: [Profession: [Int64: Set<Key>]] = [:]
    private var wide: [Profession: Set<Key>] = [:]
    static let wideCell = Int64.min

    public init() {}

    public static func key(for request: CareRequest) -> Key {
        Key(priority: request.spec.priority, deadline: request.deadline.epochSeconds, request: request.id.number)
    }

    public mutating func insert(_ request: CareRequest) {
        let key = RequestQueue.key(for: request)
        let i = RequestQueue.lowerBound(lists[request.spec.profession] ?? [], key)
        if let list = lists[request.spec.profession], i < list.count, list[i] == key { return }
        lists[request.spec.profession, default: []].insert(key, at: i)
        count += 1
        file(request, key)
    }

    /// Where a request is filed: its cell, unless it reaches further than `nearbyKm`.
    static func cell(for request: CareRequest) -> Int64 {
        let spec = request.spec
        if spec.modes.contains(.tele) { return wideCell }
        if spec.modes.contains(.office), let radius = spec.radiusKm, radius > nearbyKm { return wideCell }
        return SlotIndex.cell(of: spec.location)
    }

    private mutating func file(_ request: CareRequest, _ key: Key) {
        let cell = RequestQueue.cell(for: request)
        filed[key.request] = cell
        if cell == RequestQueue.wideCell {
            wide[request.spec.profession, default: []].insert(key)
        } else {
            byCell[request.spec.profession, default: [:]][cell, default: []].insert(key)
        }
    }

    private mutating func unfile(_ request: CareRequest, _ key: Key) {
        guard let cell = filed.removeValue(forKey: key.request) else { return }
        let profession = request.spec.profession
        if cell == RequestQueue.wideCell {
            wide[profession]?.remove(key)
        } else {
            byCell[profession]?[cell]?.remove(key)
            if byCell[profession]?[cell]?.isEmpty == true { byCell[profession]![cell] = nil }
        }
    }

    /// The waiting requests of `profession` a place at `point` may go to, in queue order:
    /// those filed in the cells within `reachKm` of it (none if `nil`, for a `tele` place)
    /// and those on the wide list. A superset of the eligible ones; eligibility is the caller's.
    public func waiting(_ profession: Profession, near point: GeoPoint, reachKm: Double?) -> [Key] {
        var found = Array(wide[profession] ?? [])
        if let reachKm, let cells = byCell[profession] {
            SlotIndex.forEachCell(near: point, radiusKm: reachKm) { cell in
                if let keys = cells[cell] { found.append(contentsOf: keys) }
            }
        }
        found.sort()
        return found
    }

    /// Adds a request without keeping the order, for a bulk load: inserting a hundred
    /// thousand requests one by one in order moves gigabytes; `restoreOrder()` sorts once.
    mutating func append(_ request: CareRequest) {
        let key = RequestQueue.key(for: request)
        lists[request.spec.profession, default: []].append(key)
        count += 1
        file(request, key)
    }

    /// Sorts every list after `append`s (and drops duplicates, as `insert` would have).
    mutating func restoreOrder() {
        count = 0
        for profession in Array(lists.keys) {
            var list = lists[profession]!
            list.sort()
            var unique: [Key] = []
            unique.reserveCapacity(list.count)
            for key in list where unique.last != key { unique.append(key) }
            lists[profession] = unique
            count += unique.count
        }
    }

    public mutating func remove(_ request: CareRequest) {
        let key = RequestQueue.key(for: request)
        guard let list = lists[request.spec.profession] else { return }
        let i = RequestQueue.lowerBound(list, key)
        guard i < list.count, list[i] == key else { return }
        lists[request.spec.profession]!.remove(at: i)
        count -= 1
        unfile(request, key)
    }

    /// 1-based position of a queued request among the requests of its profession.
    public func rank(of request: CareRequest) -> Int? {
        let key = RequestQueue.key(for: request)
        guard let list = lists[request.spec.profession] else { return nil }
        let i = RequestQueue.lowerBound(list, key)
        return i < list.count && list[i] == key ? i + 1 : nil
    }

    static func lowerBound(_ list: [Key], _ key: Key) -> Int {
        var lo = 0
        var hi = list.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if list[mid] < key { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

/// A min-heap of (instant, id) with lazy deletion: the engine pops due entries and checks
/// that the request still is in the state the entry was pushed for.
struct DueHeap: Sendable {
    struct Item: Comparable, Sendable {
        var at: Int64
        var id: Int64
        static func < (a: Item, b: Item) -> Bool { (a.at, a.id) < (b.at, b.id) }
    }

    private var heap = BinaryHeap<Item>()

    var items: [Item] { heap.items }
    var next: Item? { heap.next }
    mutating func push(_ item: Item) { heap.push(item) }
    mutating func pop() -> Item? { heap.pop() }
}

/// A binary min-heap: the due times of the engine (`DueHeap`) and the searches of
/// `BatchAssignment`.
struct BinaryHeap<Element: Comparable & Sendable>: Sendable {
    private(set) var items: [Element] = []

    var next: Element? { items.first }

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ item: Element) {
        items.append(item)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i] < items[parent] else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < items.count, items[l] < items[m] { m = l }
            if r < items.count, items[r] < items[m] { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return top
    }
}
