import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
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
    /// Beyond this many from one IP address, its new connections get `ERR BUSY`: half of
    /// all places, so that one host (a local proxy, a looping client) never takes them all.
    public var maxConnectionsPerAddress = 512
    /// A connection that has not authenticated by then is closed.
    public var authTimeout: Duration = .seconds(30)
    /// Bytes a connection may have produced and not yet written (replies, events) before
    /// it stops being read; it is read again once a quarter of this is left
    /// (`UnwrittenBytes`).
    public var maxUnwrittenBytes = 256 * 1024
    /// A line begun must end within this, or the connection is closed (slowloris).
    public var lineTimeout: Duration = .seconds(30)
    /// A connection whose replies cannot be written for this long is closed.
    public var writeTimeout: Duration = .seconds(60)
    /// An optional second listener speaking TLS.
    public var tls: TLSListenerSettings?

    public init() {}
}

/// The TLS listener: a certificate chain and its key (PEM files), and optionally the CA
/// that client certificates must chain to (mutual TLS, as the national SAS platform uses).
/// Clients still `AUTH` with a token: the certificate says which system connects, the
/// token which role it acts in.
public struct TLSListenerSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 7442
    public var certificatePath: String
    public var keyPath: String
    /// When set, a client must present a certificate signed by this CA.
    public var clientCAPath: String?

    public init(certificatePath: String, keyPath: String, clientCAPath: String? = nil) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.clientCAPath = clientCAPath
    }

    /// Reads the files once, at start: a missing or bad file stops the daemon with a
    /// message rather than failing every handshake.
    public func makeContext() throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw SettingsError("cannot read the TLS certificate \(certificatePath): \(error)")
        }
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw SettingsError("cannot read the TLS key \(keyPath): \(error)")
        }
        guard !chain.isEmpty else { throw SettingsError("no certificate in \(certificatePath)") }
        var config = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        config.minimumTLSVersion = .tlsv12
        if let ca = clientCAPath {
            guard FileManager.default.isReadableFile(atPath: ca) else {
                throw SettingsError("cannot read the client CA file \(ca)")
            }
            // Required and checked against this CA; clients have no host name to match.
            config.certificateVerification = .noHostnameVerification
            config.trustRoots = .file(ca)
        }
        do {
            return try NIOSSLContext(configuration: config)
        } catch {
            throw SettingsError("the TLS certificate and key do not make a usable configuration: \(error)")
        }
    }
}

/// What every connection shares.
final class ServerContext: Sendable {
    let service: MatchingService
    let store: Store
    let events: EventHub
    let logger: Logger
    let version: String
    let limits: ConnectionLimits

    init(service: MatchingService, store: Store, events: EventHub, logger: Logger, version: String, limits: ConnectionLimits) {
        self.service = service
        self.store = store
        self.events = events
        self.logger = logger
        self.version = version
        self.limits = limits
    }

    func connectionCount() -> Int { limits.open }
}

/// The line-protocol server: binds, accepts, and runs each connection in its own task.
///
/// Modelled on SwiftNIO's small servers: connections live in a discarding task group (a
/// normal group would keep every finished child), and each connection catches its own
/// errors, so one bad client cannot take the server down. On graceful shutdown it stops
/// accepting, lets every connection finish the commands it has read, then closes them.
public final class LineServer: Sendable {
    /// Connections open now (for the metrics).
    public var openConnections: Int { context.connectionCount() }
    let settings: ListenerSettings
    let context: ServerContext
    let group: any EventLoopGroup
    private let nextID = Atomic<UInt64>(0)
    private let boundPort = Mutex<Int?>(nil)
    private let boundTLSPort = Mutex<Int?>(nil)
    /// The listening channels, once bound (for `stopListening`).
    private let listening = Mutex<[any Channel]>([])

    public init(
        settings: ListenerSettings, service: MatchingService, store: Store, events: EventHub, logger: Logger,
        version: String, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.settings = settings
        let limits = ConnectionLimits(
            maxTotal: settings.maxConnections, maxPerAddress: settings.maxConnectionsPerAddress, logger: logger)
        self.context = ServerContext(
            service: service, store: store, events: events, logger: logger, version: version, limits: limits)
        self.group = group
    }

    /// The TCP port actually bound, once listening.
    public var port: Int? { boundPort.withLock { $0 } }

    /// The TLS listener's port, once listening (when TLS is configured).
    public var tlsPort: Int? { boundTLSPort.withLock { $0 } }

    /// An accepted connection: its channel, what its `FastPath` reads (the lines in flight,
    /// the principal), and what it has not yet written.
    struct Accepted: Sendable {
        let channel: NIOAsyncChannel<InboundLine, ByteBuffer>
        let inFlight: LinesInFlight
        let principal: SharedPrincipal
        let unwritten: UnwrittenBytes
    }

    /// A listening socket, and the connections it accepted that nobody serves yet.
    struct Listener: Sendable {
        let channel: NIOAsyncChannel<Accepted, Never>
        let unclaimed: Unclaimed
    }

    public func run() async throws {
        let tlsContext = try settings.tls?.makeContext()
        var listeners: [Listener] = []
        let tcpUnclaimed = Unclaimed()
        let tcp = try await tcpBootstrap()
            .bind(host: settings.host, port: settings.port) { channel in
                self.initialize(channel, tls: nil, keepingIn: tcpUnclaimed)
            }
        listeners.append(Listener(channel: tcp, unclaimed: tcpUnclaimed))
        let tcpPort = tcp.channel.localAddress?.port
        context.logger.notice("listening", metadata: ["address": "\(settings.host):\(tcpPort ?? settings.port)"])
        if let tls = settings.tls, let tlsContext {
            let tlsUnclaimed = Unclaimed()
            let secure = try await tcpBootstrap()
                .bind(host: tls.host, port: tls.port) { channel in
                    self.initialize(channel, tls: tlsContext, keepingIn: tlsUnclaimed)
                }
            listeners.append(Listener(channel: secure, unclaimed: tlsUnclaimed))
            boundTLSPort.withLock { $0 = secure.channel.localAddress?.port }
            context.logger.notice(
                "listening",
                metadata: [
                    "tls": "\(tls.host):\(tlsPort ?? tls.port)",
                    "client_certificates": "\(tls.clientCAPath == nil ? "not asked" : "required")",
                ])
        }
        if let path = settings.unixPath {
            let unixUnclaimed = Unclaimed()
            let unix = try await ServerBootstrap(group: group)
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                    self.initialize(channel, tls: nil, keepingIn: unixUnclaimed)
                }
            listeners.append(Listener(channel: unix, unclaimed: unixUnclaimed))
            context.logger.notice("listening", metadata: ["unix": "\(path)"])
        }
        // Published once every listener is bound: whoever waits for the port (tests, the
        // systemd readiness) then finds them all.
        boundPort.withLock { $0 = tcpPort }
        let all = listeners
        listening.withLock { $0 = all.map(\.channel.channel) }
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                for listener in all { group.addTask { try await self.accept(on: listener) } }
            }
            self.context.logger.debug("every connection closed")
        } onGracefulShutdown: {
            self.context.logger.notice("stopping: no new connections")
            for listener in all { listener.channel.channel.close(promise: nil) }
        }
    }

    /// Closes the listening sockets and waits until they are closed: no connection is
    /// accepted after it returns. For a stop that is not graceful (the leadership lost):
    /// the caller then cancels `run`, which ends every connection. (Cancelling `run` while
    /// a listener still accepts would drop a connection accepted meanwhile without closing
    /// it, which NIO treats as a programming error.)
    public func stopListening() async {
        for channel in listening.withLock({ $0 }) {
            try? await channel.close()
        }
    }

    /// The options of both TCP listeners, plain and TLS.
    private func tcpBootstrap() -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // A client that sends its commands then shuts down its side (`nc -N`, a script's
            // shutdown(SHUT_WR)) still gets every reply before the connection closes.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
    }

    private func initialize(_ channel: any Channel, tls: NIOSSLContext?, keepingIn unclaimed: Unclaimed)
        -> EventLoopFuture<Accepted>
    {
        channel.eventLoop.makeCompletedFuture {
            let handlers = channel.pipeline.syncOperations
            if let tls {
                try handlers.addHandler(NIOSSLServerHandler(context: tls))
            }
            let unwritten = UnwrittenBytes(channel: channel, high: settings.maxUnwrittenBytes)
            try handlers.addHandler(
                ConnectionGuard(
                    lineTimeout: settings.lineTimeout, writeTimeout: settings.writeTimeout, unwritten: unwritten,
                    logger: context.logger))
            try handlers.addHandler(ByteToMessageHandler(LineFrameDecoder()))
            try handlers.addHandler(ReadGate(unwritten: unwritten))
            let inFlight = LinesInFlight()
            let principal = SharedPrincipal()
            try handlers.addHandler(FastPath(inFlight: inFlight, principal: principal, server: context, unwritten: unwritten))
            let wrapped = try NIOAsyncChannel<InboundLine, ByteBuffer>(
                wrappingChannelSynchronously: channel,
                configuration: .init(backPressureStrategy: .init(lowWatermark: 8, highWatermark: 64)))
            let accepted = Accepted(channel: wrapped, inFlight: inFlight, principal: principal, unwritten: unwritten)
            if !unclaimed.keep(accepted) {
                // The accept loop has ended: nobody will take it from the listener.
                Task { await Self.close(accepted) }
            }
            return accepted
        }
    }

    /// Closes a connection nobody serves, as NIO wants it: through `executeThenClose`.
    static func close(_ accepted: Accepted) async {
        try? await accepted.channel.executeThenClose { _, _ in }
    }

    /// Accepts connections until the listener closes. The loop runs in a task of its own,
    /// out of reach of `run`'s cancellation: a cancelled iteration would drop connections the
    /// listener had already accepted, unclosed, which NIO treats as a programming error (a
    /// crash, seen when the leadership is lost as a client connects). Cancellation closes the
    /// listener instead; the loop then ends by itself and ends the connections it serves. A
    /// graceful stop closes the listener too, and lets the connections finish.
    ///
    /// Whatever ends the loop, a connection accepted as the listener closed may never come
    /// out of its stream (NIO drops it there, unclosed: a crash too). `Unclaimed` keeps each
    /// one from its initializer on; the loop claims what it serves and closes the rest.
    private func accept(on listener: Listener) async throws {
        let server = listener.channel
        let unclaimed = listener.unclaimed
        let stopping = StopFlag()
        let ended = StopFlag()
        let loop = Task {
            try await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    do {
                        for try await connection in inbound {
                            guard unclaimed.claim(connection) else { continue }
                            if stopping.isSet {
                                group.addTask { await Self.close(connection) }
                            } else {
                                group.addTask { await self.serve(connection) }
                            }
                        }
                    } catch {
                        // The listening socket was closed: stop accepting.
                    }
                    for leftover in unclaimed.drain() {
                        group.addTask { await Self.close(leftover) }
                    }
                    // Whichever of this and the cancellation comes second ends the connections.
                    ended.set()
                    if stopping.isSet { group.cancelAll() }
                }
            }
        }
        try await withTaskCancellationHandler {
            try await loop.value
        } onCancel: {
            stopping.set()
            server.channel.close(promise: nil)
            if ended.isSet { loop.cancel() }
        }
    }

    /// The connections a listener has accepted that the accept loop has not taken yet.
    final class Unclaimed: Sendable {
        private struct State {
            var drained = false
            var waiting: [ObjectIdentifier: Accepted] = [:]
        }
        private let state = Mutex(State())

        /// Keeps `accepted` until it is claimed; false once the loop has ended (nobody
        /// will claim it: the caller closes it).
        func keep(_ accepted: Accepted) -> Bool {
            state.withLock { state in
                guard !state.drained else { return false }
                state.waiting[ObjectIdentifier(accepted.channel.channel)] = accepted
                return true
            }
        }

        /// Takes `accepted` for the loop; false if it was already closed as a leftover.
        func claim(_ accepted: Accepted) -> Bool {
            state.withLock { $0.waiting.removeValue(forKey: ObjectIdentifier(accepted.channel.channel)) != nil }
        }

        /// Everything never claimed; from now on `keep` refuses.
        func drain() -> [Accepted] {
            state.withLock { state in
                state.drained = true
                defer { state.waiting = [:] }
                return Array(state.waiting.values)
            }
        }
    }

    /// Set once, read from any task.
    final class StopFlag: Sendable {
        private let value = Atomic<Bool>(false)
        var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
        func set() { value.store(true, ordering: .sequentiallyConsistent) }
    }

    /// One connection, from accept to close. Never throws: its errors are its own.
    private func serve(_ accepted: Accepted) async {
        let connection = accepted.channel
        let inFlight = accepted.inFlight
        let id = nextID.add(1, ordering: .relaxed).newValue
        let address = connection.channel.remoteAddress?.ipAddress
        if case .refused(let reason) = context.limits.admit(address: address) {
            try? await connection.executeThenClose { _, outbound in
                try await outbound.write(ByteBuffer(string: ReplyFormat.error(.busy("\(reason); retry later"))))
            }
            return
        }
        defer { context.limits.release(address: address) }
        let logger = context.logger
        let queue = ReplyQueue(unwritten: accepted.unwritten)
        let channel = connection.channel
        let deliver: @Sendable (String) -> Void = { line in
            if !queue.offer(.event(line)) {
                logger.warning("closing a watcher that does not read its events", metadata: ["connection": "\(id)"])
                channel.close(promise: nil)
            }
        }
        let principal = accepted.principal
        let session = Session(id: id, server: context, shared: principal, deliverEvent: deliver)
        defer { session.close() }
        let timeout = settings.authTimeout
        let authTimer = Task {
            try await Task.sleep(for: timeout)
            if !principal.isSet && channel.isActive {
                logger.info("closing a connection that did not authenticate in time", metadata: ["connection": "\(id)"])
                channel.close(promise: nil)
            }
        }
        defer { authTimer.cancel() }
        do {
            try await connection.executeThenClose { inbound, _ in
                async let writing: Void = self.write(queue, to: channel, inFlight: inFlight)
                do {
                    try await withGracefulShutdownHandler {
                        for try await line in inbound {
                            // Closed under us (a limit, a reset): lines still buffered have
                            // nobody to answer to; do not run them.
                            guard channel.isActive else { break }
                            let (reply, action) = await session.handle(line)
                            if let reply { await queue.push(.reply(reply)) } else { inFlight.done() }
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
    /// replies, never inside a multi-line one (each item is written whole). What it writes
    /// is counted down from the connection's `UnwrittenBytes` once the kernel has it; it
    /// does not wait for that (the bound stops the reader, not the writer), except for the
    /// last write, so that the connection closes after it.
    private func write(_ queue: ReplyQueue, to channel: any Channel, inFlight: LinesInFlight) async throws {
        // Once the writer stops (the connection was closed under it, say), nothing more
        // will be taken off the queue: release a reader waiting for room, or it waits forever.
        defer { queue.finish() }
        let unwritten = queue.unwritten
        var lastWrite: EventLoopFuture<Void>?
        while let items = await queue.next() {
            var buffer = ByteBuffer()
            var replies = 0
            var cost = 0
            for item in items {
                cost += item.cost
                switch item {
                case .event(let text):
                    buffer.writeString(text)
                case .reply(let reply):
                    replies += 1
                    if let seq = reply.commit,
                        let error = await context.service.waitDurable(seq, readSince: reply.readSince)
                    {
                        buffer.writeString(ReplyFormat.error(error))
                    } else {
                        buffer.writeString(reply.text)
                    }
                }
            }
            let written = channel.eventLoop.makePromise(of: Void.self)
            channel.writeAndFlush(buffer, promise: written)
            written.futureResult.whenComplete { [cost] _ in unwritten.remove(cost) }
            lastWrite = written.futureResult
            // Counted down on the event loop, behind the write just handed to it: the
            // fast path never answers ahead of these replies.
            if replies > 0 { channel.eventLoop.execute { [replies] in inFlight.done(replies) } }
        }
        try await lastWrite?.get()
    }
}
