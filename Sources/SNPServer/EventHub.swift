import Foundation
import Synchronization
import SNPCore
import SNPProtocol
import SNPStore

/// A connection, as the server numbers them.
public typealias ConnectionID = UInt64

/// Delivers `EVENT` lines (§3.9) to connections that sent `WATCH`, after the change is
/// committed, to those allowed to see the request, and never to the connection whose own
/// command made the change.
public final class EventHub: Sendable {
    struct Watcher {
        var principal: Principal
        var deliver: @Sendable (String) -> Void
    }

    private let watchers = Mutex<[ConnectionID: Watcher]>([:])

    public init() {}

    public func watch(_ id: ConnectionID, as principal: Principal, deliver: @escaping @Sendable (String) -> Void) {
        watchers.withLock { $0[id] = Watcher(principal: principal, deliver: deliver) }
    }

    public func unwatch(_ id: ConnectionID) {
        _ = watchers.withLock { $0.removeValue(forKey: id) }
    }

    func publish(_ changes: [Change], except origin: ConnectionID?) {
        let current = watchers.withLock { $0 }
        guard !current.isEmpty else { return }
        for change in changes {
            guard case .request(let old, let new) = change,
                old?.state != new.state || old?.assignment?.slot != new.assignment?.slot
                    || old?.holdUntil != new.holdUntil
            else { continue }
            let line = ReplyFormat.event(RecordFields.event(new))
            for (id, w) in current where id != origin {
                let p = w.principal
                let visible =
                    CommandHandlers.canSee(new, p) || (p.role == .pro && old?.assignment?.pro == p.pro && p.pro != nil)
                if visible { w.deliver(line) }
            }
        }
    }
}
