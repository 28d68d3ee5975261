/// The waiting requests (§4.3), one ordered list per profession, in the order capacity is
/// offered to them: priority, then deadline, then arrival.
///
/// A new slot only ever interests requests of its own profession, so each profession's
/// queue is walked alone.
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
    }

    /// Adds a request without keeping the order, for a bulk load: inserting a hundred
    /// thousand requests one by one in order moves gigabytes; `restoreOrder()` sorts once.
    mutating func append(_ request: CareRequest) {
        lists[request.spec.profession, default: []].append(RequestQueue.key(for: request))
        count += 1
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
    }

    /// The queue of one profession, in offer order.
    public func waiting(_ profession: Profession) -> [Key] { lists[profession] ?? [] }

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

    private(set) var items: [Item] = []

    var next: Item? { items.first }

    mutating func push(_ item: Item) {
        items.append(item)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i] < items[parent] else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Item? {
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
