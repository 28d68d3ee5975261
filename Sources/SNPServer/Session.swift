import Foundation
import Logging
import NIOCore
import SNPCore
import SNPProtocol
import SNPStore
import Synchronization

/// What a session wants done after a reply.
enum SessionAction {
    case keepOpen
    /// `QUIT`, or too many failed `AUTH`s: write the reply, then close.
    case close
}

/// One client's conversation: authentication, `WATCH`, and the commands it sends, in order.
/// Used by its connection's reader task only.
final class Session {
    let id: ConnectionID
    let server: ServerContext
    let events: EventHub
    private var failedAuths = 0
    /// Who authenticated on this connection, shared with its `FastPath` and its
    /// authentication timer.
    let shared: SharedPrincipal
    var principal: Principal? { shared.value }
    private var watching = false

    /// How many failed `AUTH`s a connection gets before it is closed.
    static let maxFailedAuths = 5

    /// Puts an `EVENT` line on this connection's outgoing queue.
    let deliverEvent: @Sendable (String) -> Void

    init(id: ConnectionID, server: ServerContext, shared: SharedPrincipal, deliverEvent: @escaping @Sendable (String) -> Void) {
        self.id = id
        self.shared = shared
        self.deliverEvent = deliverEvent
        self.server = server
        self.events = server.events
    }

    /// Handles one inbound line; `nil` reply for a blank line (ignored, as Redis does).
    func handle(_ inbound: InboundLine) async -> (PendingReply?, SessionAction) {
        let line: ByteBuffer
        switch inbound {
        case .tooLong:
            return (PendingReply(text: ReplyFormat.error(.tooLong("line longer than \(LineParser.maxLineBytes) bytes; it was discarded"))), .keepOpen)
        case .line(let l):
            line = l
        }
        do {
            guard let parsed = try LineParser.parse(line.readableBytesView) else { return (nil, .keepOpen) }
            let (spec, args) = try CommandTable.resolve(parsed)
            if spec.roles == nil { return try await sessionCommand(spec, args) }
            guard let principal else { throw SNPError.noAuth("authenticate first: AUTH <token>") }
            guard spec.roles!.contains(principal.role) else {
                throw SNPError.forbidden("role \(principal.role.rawValue) may not run \(spec.words)")
            }
            if spec.name == .watch {
                watching = true
                events.watch(id, as: principal, deliver: deliverEvent)
                return (PendingReply(text: "OK watching\n"), .keepOpen)
            }
            // Reads run here, in parallel; changes (and reads that find time-due work) on the actor.
            if let reply = server.service.read(spec, args, as: principal, connections: server.connectionCount()) {
                return (reply, .keepOpen)
            }
            // A change's search, if it has one, here too; the actor only applies it.
            let prepared = server.service.prepare(spec, args, as: principal, connections: server.connectionCount())
            let reply = await server.service.execute(
                spec, args, as: principal, from: id, connections: server.connectionCount(), prepared: prepared)
            return (reply, .keepOpen)
        } catch let e as SNPError {
            let close = failedAuths >= Session.maxFailedAuths
            return (PendingReply(text: ReplyFormat.error(e)), close ? .close : .keepOpen)
        } catch {
            return (PendingReply(text: ReplyFormat.error(.internal("unexpected error"))), .keepOpen)
        }
    }

    private func sessionCommand(_ spec: CommandSpec, _ args: Arguments) async throws(SNPError) -> (PendingReply?, SessionAction) {
        switch spec.name {
        case .hello:
            return (PendingReply(text: ReplyFormat.ok(Fields([("server", "snpd"), ("version", server.version), ("proto", "1")]))), .keepOpen)
        case .ping:
            return (PendingReply(text: "OK pong\n"), .keepOpen)
        case .quit:
            return (PendingReply(text: "OK bye\n"), .close)
        case .help:
            let items = CommandTable.all.map { c in
                Fields([
                    ("name", c.words), ("usage", c.usage),
                    ("roles", c.roles.map { r in Role.allCases.filter { r.contains($0) }.map(\.rawValue).joined(separator: ",") } ?? "any"),
                    ("summary", c.summary),
                ])
            }
            return (PendingReply(text: ReplyFormat.list(kind: "cmd", items)), .keepOpen)
        case .auth:
            let secret = args.positional[0]
            guard let p = try await server.store.authenticate(secret: secret) else {
                failedAuths += 1
                // Slow down guessing: each failure costs the client a little more time.
                try? await Task.sleep(for: .milliseconds(100 * min(failedAuths, 10)))
                server.logger.notice("failed AUTH", metadata: ["connection": "\(id)", "failures": "\(failedAuths)"])
                if failedAuths >= Session.maxFailedAuths {
                    throw .noAuth("invalid or revoked token; too many failures, closing")
                }
                throw .noAuth("invalid or revoked token")
            }
            shared.set(p)
            if watching { events.watch(id, as: p, deliver: deliverEvent) }
            server.logger.info("authenticated", metadata: ["connection": "\(id)", "token": "\(p.name)", "role": "\(p.role.rawValue)"])
            return (PendingReply(text: ReplyFormat.ok(Fields([("role", p.role.rawValue), ("name", p.name)]))), .keepOpen)
        default:
            throw .internal("\(spec.words) is not a session command")
        }
    }

    func close() {
        if watching { events.unwatch(id) }
    }
}
