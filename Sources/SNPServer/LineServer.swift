import Foundation
import Logging
import NIOCore
import NIOPosix
import SNPCore
import SNPProtocol
import SNPStore
import ServiceLifecycle
import Synchronization

/// Listener settings (§3.1).
public struct ListenerSettings: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (tests).
    public var port = 7441
    public var unixPath: String?
    /// Beyond this, new connections get `ERR BUSY` and are closed.
    public var maxConnections = 1_024
    /// A connection that has not authenticated by then is closed.
    public var authTimeout: Duration = .seconds(30)
    /// Replies a connection may have waiting before its reader stops reading.
    public var replyQueueLimit = 256

    public init() {}
}

/// What every connection shares.
final class ServerContext: Sendable {
    let service: MatchingService
    let store: Store
    let events: EventHub
    let logger: Logger
    let version: String
    let connections = Atomic<Int>(0)

    init(service: MatchingService, store: Store, events: EventHub, logger: Logger, version: String) {
        self.service = service
        self.store = store
        self.events = events
        self.logger = logger
        self.version = version
    }

    func connectionCount() -> Int { connections.load(ordering: .relaxed) }
}

/// Where an outgoing item goes, in order.
enum Outgoing: Sendable {
    case reply(PendingReply)
    case event(String)
}

/// The line-protocol server: binds, accepts, and runs each connection in its own task.
///
/// Modelled on SwiftNIO's small servers: connections live in a discarding task group (a
/// normal group would keep every finished child), and each connection catches its own
/// errors, so one bad client cannot take the server down. On graceful shutdown it stops
/// accepting, lets every connection finish the commands it has read, then closes them.
public final class LineServer: Sendable {
    let settings: ListenerSettings
    let context: ServerContext
    let group: any EventLoopGroup
    private let nextID = Atomic<UInt64>(0)
    private let boundPort = Mutex<Int?>(nil)

    public init(
        settings: ListenerSettings, service: MatchingService, store: Store, events: EventHub, logger: Logger,
        version: String, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.settings = settings
        self.context = ServerContext(service: service, store: store, events: events, logger: logger, version: version)
        self.group = group
    }

    /// The TCP port actually bound, once listening.
    public var port: Int? { boundPort.withLock { $0 } }

    public func run() async throws {
        let tcp = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: settings.host, port: settings.port) { channel in self.initialize(channel) }
        boundPort.withLock { $0 = tcp.channel.localAddress?.port }
        context.logger.notice("listening", metadata: ["address": "\(settings.host):\(port ?? settings.port)"])
        let unix: NIOAsyncChannel<NIOAsyncChannel<InboundLine, ByteBuffer>, Never>?
        if let path = settings.unixPath {
            unix = try await ServerBootstrap(group: group)
                .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in self.initialize(channel) }
            context.logger.notice("listening", metadata: ["unix": "\(path)"])
        } else {
            unix = nil
        }
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.accept(on: tcp) }
                if let unix { group.addTask { try await self.accept(on: unix) } }
            }
            self.context.logger.debug("every connection closed")
        } onGracefulShutdown: {
            self.context.logger.notice("stopping: no new connections")
            tcp.channel.close(promise: nil)
            unix?.channel.close(promise: nil)
        }
    }

    private func initialize(_ channel: any Channel) -> EventLoopFuture<NIOAsyncChannel<InboundLine, ByteBuffer>> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder()))
            return try NIOAsyncChannel<InboundLine, ByteBuffer>(
                wrappingChannelSynchronously: channel,
                configuration: .init(backPressureStrategy: .init(lowWatermark: 8, highWatermark: 64)))
        }
    }

    private func accept(on server: NIOAsyncChannel<NIOAsyncChannel<InboundLine, ByteBuffer>, Never>) async throws {
        try await server.executeThenClose { inbound in
            try await withThrowingDiscardingTaskGroup { group in
                do {
                    for try await connection in inbound {
                        group.addTask { await self.serve(connection) }
                    }
                } catch {
                    // The listening socket was closed (shutdown): stop accepting, keep connections.
                }
            }
        }
    }

    /// One connection, from accept to close. Never throws: its errors are its own.
    private func serve(_ connection: NIOAsyncChannel<InboundLine, ByteBuffer>) async {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let count = context.connections.add(1, ordering: .relaxed).newValue
        defer { context.connections.subtract(1, ordering: .relaxed) }
        let logger = context.logger
        if count > settings.maxConnections {
            logger.warning("connection refused: too many connections", metadata: ["limit": "\(settings.maxConnections)"])
            try? await connection.executeThenClose { _, outbound in
                try await outbound.write(ByteBuffer(string: ReplyFormat.error(.busy("too many connections; retry later"))))
            }
            return
        }
        let queue = ReplyQueue<Outgoing>(limit: settings.replyQueueLimit)
        let channel = connection.channel
        let deliver: @Sendable (String) -> Void = { line in
            if !queue.offer(.event(line)) {
                logger.warning("closing a watcher that does not read its events", metadata: ["connection": "\(id)"])
                channel.close(promise: nil)
            }
        }
        let authenticated = Flag()
        let session = Session(id: id, server: context, authenticated: authenticated, deliverEvent: deliver)
        defer { session.close() }
        let timeout = settings.authTimeout
        let authTimer = Task {
            try await Task.sleep(for: timeout)
            if !authenticated.isSet {
                logger.info("closing a connection that did not authenticate in time", metadata: ["connection": "\(id)"])
                channel.close(promise: nil)
            }
        }
        defer { authTimer.cancel() }
        do {
            try await connection.executeThenClose { inbound, outbound in
                async let writing: Void = self.write(queue, to: outbound)
                do {
                    try await withGracefulShutdownHandler {
                        for try await line in inbound {
                            let (reply, action) = await session.handle(line)
                            if let reply { await queue.push(.reply(reply)) }
                            if case .close = action { break }
                        }
                    } onGracefulShutdown: {
                        // Stop reading; what was read is answered, then the connection closes.
                        channel.close(mode: .input, promise: nil)
                    }
                } catch {
                    logger.debug("read ended", metadata: ["connection": "\(id)", "error": "\(error)"])
                }
                queue.finish()
                try await writing
            }
        } catch {
            logger.debug("connection ended", metadata: ["connection": "\(id)", "error": "\(error)"])
        }
    }

    /// Writes replies in order, each once its commit is durable; events go in between
    /// replies, never inside a multi-line one (each item is written whole).
    private func write(_ queue: ReplyQueue<Outgoing>, to outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws {
        while let items = await queue.next() {
            var buffer = ByteBuffer()
            for item in items {
                switch item {
                case .event(let text):
                    buffer.writeString(text)
                case .reply(let reply):
                    if let seq = reply.commit, !(await context.service.waitDurable(seq)) {
                        buffer.writeString(ReplyFormat.error(.unavailable("the database is unavailable; nothing was changed, retry")))
                    } else {
                        buffer.writeString(reply.text)
                    }
                }
            }
            try await outbound.write(buffer)
        }
    }
}
