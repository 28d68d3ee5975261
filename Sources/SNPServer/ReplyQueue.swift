import Synchronization

/// Where an outgoing item goes, in order.
enum Outgoing: Sendable {
    case reply(PendingReply)
    case event(String)

    /// What it counts for in its connection's `UnwrittenBytes`, from its production until
    /// the kernel has taken it.
    var cost: Int {
        switch self {
        case .reply(let reply): UnwrittenBytes.cost(ofBytes: reply.text.utf8.count)
        case .event(let text): UnwrittenBytes.cost(ofBytes: text.utf8.count)
        }
    }
}

/// A queue between a connection's reader and its writer, with backpressure in bytes.
///
/// Every item is counted in the connection's `UnwrittenBytes` as it is queued; the writer
/// counts it down once written. Replies are pushed with `push`, which then waits while the
/// connection is over its bound: a client that pipelines without reading its replies stops
/// being read (TCP then pushes back on it) instead of growing the server's memory. Events
/// are pushed with `offer`, which never waits (the commit path must not block on a slow
/// watcher) and refuses an event when the connection holds far more than its bound, so
/// that the connection can be closed.
final class ReplyQueue: Sendable {
    private struct State {
        var items: [Outgoing] = []
        var finished = false
        var consumer: CheckedContinuation<[Outgoing]?, Never>?
    }

    private let state = Mutex(State())
    let unwritten: UnwrittenBytes

    init(unwritten: UnwrittenBytes) { self.unwritten = unwritten }

    /// Queues `item`, then waits until the connection may be read again.
    func push(_ item: Outgoing) async {
        append(item)
        await unwritten.waitForRoom()
    }

    /// Queues without waiting; false (and nothing queued) when the connection already holds
    /// more than `UnwrittenBytes.eventLimit`.
    func offer(_ item: Outgoing) -> Bool {
        guard unwritten.bytes <= unwritten.eventLimit else { return false }
        append(item)
        return true
    }

    private func append(_ item: Outgoing) {
        // Counted before the writer can see it, so that its count-down never comes first.
        // (Once finished, nothing is written and nobody reads the count any more.)
        unwritten.add(item.cost)
        let handoff: (CheckedContinuation<[Outgoing]?, Never>, [Outgoing])? = state.withLock { s in
            guard !s.finished else { return nil }
            s.items.append(item)
            guard let c = s.consumer else { return nil }
            s.consumer = nil
            let items = s.items
            s.items = []
            return (c, items)
        }
        if let (c, items) = handoff { c.resume(returning: items) }
    }

    /// Everything queued, waiting if there is nothing; `nil` once finished and empty.
    func next() async -> [Outgoing]? {
        await withCheckedContinuation { c in
            let ready: [Outgoing]?? = state.withLock { s in
                if !s.items.isEmpty {
                    let items = s.items
                    s.items = []
                    return .some(items)
                }
                if s.finished { return .some(nil) }
                s.consumer = c
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
    }

    /// No more items: the writer ends once the queue is empty, and a reader waiting for
    /// room is released (nobody will write what it waits for).
    func finish() {
        let consumer = state.withLock { s -> CheckedContinuation<[Outgoing]?, Never>? in
            s.finished = true
            let c = s.items.isEmpty ? s.consumer : nil
            if c != nil { s.consumer = nil }
            return c
        }
        consumer?.resume(returning: nil)
        unwritten.finish()
    }
}
