import Synchronization

/// A queue between a connection's reader and its writer, with backpressure.
///
/// Replies are pushed with `push`, which waits while `limit` items are queued: a client
/// that pipelines thousands of commands without reading its replies stops being read
/// (TCP then pushes back on it) instead of growing the server's memory. Events are pushed
/// with `offer`, which never waits (the commit path must not block on a slow watcher) and
/// reports when the queue is far over its limit, so that the connection can be closed.
final class ReplyQueue<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var finished = false
        var consumer: CheckedContinuation<[Element]?, Never>?
        var producers: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func push(_ item: Element) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow: Bool = state.withLock { s in
                if s.items.count >= limit && !s.finished {
                    s.producers.append(c)
                    return false
                }
                return true
            }
            if resumeNow { c.resume() }
        }
        append(item)
    }

    /// Adds without waiting; false when the queue holds far more than its limit.
    func offer(_ item: Element) -> Bool {
        let overflow = state.withLock { $0.items.count > limit * 8 }
        if overflow { return false }
        append(item)
        return true
    }

    private func append(_ item: Element) {
        let handoff: (CheckedContinuation<[Element]?, Never>, [Element])? = state.withLock { s in
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
    func next() async -> [Element]? {
        let result: [Element]? = await withCheckedContinuation { c in
            let ready: [Element]?? = state.withLock { s in
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
        for p in releaseProducers() { p.resume() }
        return result
    }

    private func releaseProducers() -> [CheckedContinuation<Void, Never>] {
        state.withLock { s in
            let p = s.producers
            s.producers = []
            return p
        }
    }

    func finish() {
        let (consumer, producers) = state.withLock { s -> (CheckedContinuation<[Element]?, Never>?, [CheckedContinuation<Void, Never>]) in
            s.finished = true
            let c = s.items.isEmpty ? s.consumer : nil
            if c != nil { s.consumer = nil }
            let p = s.producers
            s.producers = []
            return (c, p)
        }
        consumer?.resume(returning: nil)
        for p in producers { p.resume() }
    }
}
