import Foundation
import Logging
import SNPCore
import SNPFHIR
import SNPProtocol
import SNPStore
import Synchronization

/// A reply computed by the engine, to be written once the change it rests on is durable.
public struct PendingReply: Sendable {
    public var text: String
    /// The commit this reply waits for: its own change, or for a read, the latest change it
    /// may have seen. `nil`: nothing uncommitted, write at once.
    public var commit: UInt64?
    /// For a read: every change up to this one was resolved when it read. If one it may
    /// have seen (after this, up to `commit`) is undone, the read is not answered as read.
    public var readSince: UInt64?

    public init(text: String, commit: UInt64? = nil, readSince: UInt64? = nil) {
        self.text = text
        self.commit = commit
        self.readSince = readSince
    }

    init(text: String, fence: ReadFence?) {
        self.init(text: text, commit: fence?.commit, readSince: fence?.since)
    }
}

/// What a read waits for: the latest change it may have seen, and how far changes were
/// resolved when it read (those after it it may have seen too).
struct ReadFence: Sendable {
    var commit: UInt64
    var since: UInt64
}

/// The engine, its store, and the group commit between them.
///
/// Commands that change state run one at a time on this actor, against memory, so each
/// sees the effects of the ones before. Read-only commands run in the caller's task
/// (`read`), in parallel with each other, under the engine cell's read lock. Changes are
/// queued and written by a single flush loop: while one transaction is in flight, new
/// changes accumulate and go together in the next one, so one WAL flush serves many
/// commands (group commit). A reply leaves only once its commit
/// is durable (§3.3). If a commit fails, every change not yet durable is undone in memory,
/// their commands answer `UNAVAILABLE`, changes are refused until the database answers
/// again, and the engine is then reloaded from the database, the source of truth.
public actor MatchingService {
    /// The engine: changed here only, read by `read` from any task.
    let cell: EngineCell
    let store: Store
    let logger: Logger
    let clock: @Sendable () -> Date
    let events: EventHub
    let startedAt: Date
    public let metrics: ServerMetrics

    private struct Batch {
        var seq: UInt64
        var changes: [Change]
        /// The connection whose command made the changes (it gets no event for them).
        var origin: ConnectionID?
        var audit: AuditEntry
        /// The SAS feed's messages reporting `changes` (SPEC §8): written by the same commit.
        var outbox: [FeedMessage] = []
        /// Bookings not reported: their request's token has no operator identity.
        var feedSkipped = 0
    }

    /// Whether `prepare` searches (`DaemonSettings.prepareSearches`).
    let preparesSearches: Bool

    /// The SAS appointment feed (SPEC §8), `nil` when off (`SNPD_SAS_FHIR_BASE` unset).
    let feed: AppointmentFeed?
    /// The operator identity of each token, by name: a booking is reported as made by the
    /// token that created its request. Read from the database at every load, and kept up
    /// to date by every command (its principal was read from the database at `AUTH`).
    private var operators: [String: OperatorIdentity] = [:]
    private let feedSkippedCount = Atomic<Int>(0)
    /// Bookings not reported to the SAS since start, for want of an operator identity.
    public nonisolated var feedSkipped: Int { feedSkippedCount.load(ordering: .relaxed) }

    private var pending: [Batch] = []
    private var inFlight: [Batch] = []
    private var flushing = false
    private var lastSeq: UInt64 = 0
    private var resolvedThrough: UInt64 = 0
    /// `resolvedThrough`, for readers outside the actor.
    private let resolvedForReaders = Atomic<UInt64>(0)
    /// Every change that did not land, as ranges of sequence numbers in increasing order,
    /// with the error its command answers. Kept whole, so that the answer for any sequence
    /// number is exact however many failures there were (one entry per failure: a few
    /// bytes each, and failures are rare).
    private var failures: [(seqs: ClosedRange<UInt64>, error: SNPError)] = []
    private var waiters: [UInt64: [CheckedContinuation<SNPError?, Never>]] = [:]
    /// Set after a failed commit until the database answers and the engine is reloaded.
    public private(set) var databaseDown = false {
        didSet { databaseAvailable.store(!databaseDown, ordering: .relaxed) }
    }
    private let databaseAvailable = Atomic<Bool>(true)
    /// Whether changes are accepted (the database answered the last commit), for `/ready`.
    public nonisolated var acceptsChanges: Bool { databaseAvailable.load(ordering: .relaxed) }
    private var recovering = false

    public init(
        policy: MatchingPolicy, store: Store, events: EventHub, logger: Logger,
        metrics: ServerMetrics = ServerMetrics(), feed: AppointmentFeed? = nil, prepareSearches: Bool = true,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.metrics = metrics
        self.preparesSearches = prepareSearches
        self.feed = feed
        self.cell = EngineCell(MatchingEngine(policy: policy))
        self.store = store
        self.events = events
        self.logger = logger
        self.clock = clock
        self.startedAt = clock()
    }

    /// Rebuilds the engine from the database, then applies what fell due meanwhile
    /// (holds and deadlines that lapsed while the daemon was down).
    public func load() async throws {
        let (pros, slots, requests, plans) = try await store.loadAll()
        if feed != nil {
            var known: [String: OperatorIdentity] = [:]
            for token in try await store.listTokens() {
                if let op = token.principal.operatorIdentity { known[token.principal.name] = op }
            }
            operators = known
        }
        let policy = cell.read { engine, _ in engine.policy }
        let numbers = cell.read { engine, _ in
            (engine.lastSlotNumber, engine.lastRequestNumber, engine.lastPlanNumber, engine.version)
        }
        var fresh = MatchingEngine(policy: policy)
        fresh.restore(professionals: pros, slots: slots, requests: requests, plans: plans)
        fresh.keepNumbering(after: numbers.0, request: numbers.1, plan: numbers.2, version: numbers.3)
        let (open, queued) = (fresh.openSlotCount, fresh.queuedCount)
        cell.write { engine, _ in engine = fresh }
        logger.info(
            "state loaded",
            metadata: [
                "professionals": "\(pros.count)", "slots": "\(slots.count)", "requests": "\(requests.count)",
                "open_slots": "\(open)", "queued": "\(queued)",
            ])
        tick()
    }

    // MARK: Commands

    /// Runs one command against the engine. Never suspends: each command is atomic.
    /// `prepared`: its search, made by `prepare` in the caller's task; applied if the
    /// engine has not changed in a way that could change its answer, else searched again.
    public func execute(
        _ spec: CommandSpec, _ args: Arguments, as principal: Principal, from origin: ConnectionID?, connections: Int,
        prepared: PreparedMatch? = nil
    ) -> PendingReply {
        let started = DispatchTime.now().uptimeNanoseconds
        let reply = run(spec, args, as: principal, from: origin, connections: connections, prepared: prepared)
        metrics.command(spec.words, reply: reply.text, nanoseconds: Int64(DispatchTime.now().uptimeNanoseconds - started))
        return reply
    }

    private func run(
        _ spec: CommandSpec, _ args: Arguments, as principal: Principal, from origin: ConnectionID?, connections: Int,
        prepared: PreparedMatch?
    ) -> PendingReply {
        if spec.changesState && databaseDown {
            return PendingReply(text: ReplyFormat.error(.unavailable("the database is unavailable; nothing was changed, retry")))
        }
        guard let handler = CommandHandlers.table[spec.name] else {
            return PendingReply(text: ReplyFormat.error(.internal("no handler for \(spec.words)")))
        }
        let now = clock()
        if feed != nil, operators[principal.name] != principal.operatorIdentity {
            operators[principal.name] = principal.operatorIdentity
        }
        tick(now: now)
        var context = self.context(principal, args, now: now, connections: connections)
        if CommandHandlers.prepares[spec.name] != nil {
            context.prepared = prepared
            context.metrics = metrics
        }
        return cell.write { engine, latestCommit in
            let text: String
            do throws(SNPError) {
                text = try handler(&engine, context)
            } catch {
                // A failed command changes nothing, even if it got halfway.
                engine.undo(engine.takeJournal())
                return PendingReply(text: ReplyFormat.error(error), fence: readFence(latestCommit))
            }
            let changes = engine.takeJournal()
            guard !changes.isEmpty else { return PendingReply(text: text, fence: readFence(latestCommit)) }
            let audit = AuditEntry(at: now, token: principal.name, command: spec.words, changes: changes)
            latestCommit = enqueue(changes, origin: origin, audit: audit)
            return PendingReply(text: text, commit: latestCommit)
        }
    }

    /// Runs a read-only command in the caller's task, in parallel with other reads and
    /// without waiting for the actor. `nil` when the command is not a read, or when time has
    /// made something due that a read must not miss (a lapsed hold, a passed deadline, bid
    /// prices to refresh): the caller then goes through `execute`, which applies it first.
    /// With `onlyIfDurable`, also `nil` (and nothing run) when the engine holds a change not
    /// yet durable, so that the reply needs no fence and can be written at once.
    public nonisolated func read(
        _ spec: CommandSpec, _ args: Arguments, as principal: Principal, connections: Int, onlyIfDurable: Bool = false
    ) -> PendingReply? {
        guard let handler = CommandHandlers.reads[spec.name] else { return nil }
        let started = DispatchTime.now().uptimeNanoseconds
        let now = clock()
        let context = self.context(principal, args, now: now, connections: connections)
        let reply = cell.read { engine, latestCommit -> PendingReply? in
            guard !engine.hasDueWork(at: now) else { return nil }
            let fence = readFence(latestCommit)
            if onlyIfDurable && fence != nil { return nil }
            do throws(SNPError) {
                return PendingReply(text: try handler(engine, context), fence: fence)
            } catch {
                return PendingReply(text: ReplyFormat.error(error), fence: fence)
            }
        }
        if let reply {
            metrics.command(spec.words, reply: reply.text, nanoseconds: Int64(DispatchTime.now().uptimeNanoseconds - started))
        }
        return reply
    }

    /// Makes the search of a change in the caller's task, under the cell's read lock, in
    /// parallel with other searches and reads (issue 18 target 3): for `execute` to apply
    /// on the actor, which then only checks it is still the answer. `nil` when the command
    /// searches nothing worth it (`CommandHandlers.prepares`), when time has made something
    /// due (the actor's tick would change what the search sees), or while any change could
    /// change the answer (the live bid price of a daemon just started: `preparedSearchesPay`).
    public nonisolated func prepare(
        _ spec: CommandSpec, _ args: Arguments, as principal: Principal, connections: Int
    ) -> PreparedMatch? {
        guard preparesSearches, let handler = CommandHandlers.prepares[spec.name], acceptsChanges else { return nil }
        let now = clock()
        let context = self.context(principal, args, now: now, connections: connections)
        return cell.read { engine, _ in
            engine.hasDueWork(at: now) || !engine.preparedSearchesPay(at: now) ? nil : handler(engine, context)
        }
    }

    /// Reads the engine for an interface other than the line protocol (the FHIR search of
    /// SPEC §7.2), by the rules of `read`: under the cell's read lock, in the caller's task;
    /// through the actor, after applying what time made due, when something is due; and
    /// once the latest change it may have seen is durable (read again if that change was
    /// undone).
    public nonisolated func inspect<T: Sendable>(_ body: @Sendable (MatchingEngine, Date) -> T) async -> T {
        while true {
            let now = clock()
            var seen = cell.read { engine, latestCommit -> (T, ReadFence?)? in
                guard !engine.hasDueWork(at: now) else { return nil }
                return (body(engine, now), readFence(latestCommit))
            }
            if seen == nil { seen = await readAfterTick(body) }
            guard let (value, fence) = seen else { continue }
            guard let fence, await waitDurable(fence.commit, readSince: fence.since) != nil else { return value }
        }
    }

    /// `inspect`'s way through the actor: what fell due is applied first, as `execute` does.
    private func readAfterTick<T: Sendable>(_ body: @Sendable (MatchingEngine, Date) -> T) -> (T, ReadFence?) {
        let now = clock()
        tick(now: now)
        return cell.read { engine, latestCommit in (body(engine, now), readFence(latestCommit)) }
    }

    private nonisolated func context(_ principal: Principal, _ args: Arguments, now: Date, connections: Int) -> CommandContext {
        CommandContext(
            principal: principal, args: args, now: now, connections: connections,
            uptimeSeconds: Int(now.timeIntervalSince(startedAt)), feedSkipped: feed == nil ? nil : feedSkipped)
    }

    /// Applies what time has made due; called before every command and once a second.
    public func tick() { tick(now: clock()) }

    private func tick(now: Date) {
        guard !databaseDown else { return }
        cell.write { engine, latestCommit in
            engine.tick(now: now)
            let changes = engine.takeJournal()
            if !changes.isEmpty {
                latestCommit = enqueue(
                    changes, origin: nil, audit: AuditEntry(at: now, token: "snpd", command: "TIME", changes: changes))
            }
        }
    }

    /// A read waits for the latest change it may have seen to be durable, and is not
    /// answered if any change it may have seen was undone, so that nobody reads a booking
    /// that a failed commit then takes back.
    private nonisolated func readFence(_ latestCommit: UInt64) -> ReadFence? {
        let resolved = resolvedForReaders.load(ordering: .acquiring)
        return latestCommit > resolved ? ReadFence(commit: latestCommit, since: resolved) : nil
    }

    // MARK: Group commit

    private func enqueue(_ changes: [Change], origin: ConnectionID?, audit: AuditEntry) -> UInt64 {
        lastSeq += 1
        var batch = Batch(seq: lastSeq, changes: changes, origin: origin, audit: audit)
        if let feed {
            (batch.outbox, batch.feedSkipped) = feed.messages(for: changes) { operators[$0] }
        }
        pending.append(batch)
        if !flushing {
            flushing = true
            Task { await self.flush() }
        }
        return lastSeq
    }

    /// The flush loop: one group commit in flight at a time, the changes queued meanwhile
    /// going together in the next.
    private func flush() async {
        while !pending.isEmpty {
            inFlight = pending
            pending = []
            switch await land(inFlight) {
            case nil:
                finish(inFlight, refused: [:])
            case .some(let failure) where failure.rowRefused:
                await landApart()
            case .some(let failure):
                failEverything(failure.error)
            }
        }
        flushing = false
    }

    /// Commits `batches` together; `nil` if they landed, else why not. A commit whose
    /// outcome is unknown (a timeout, a dropped connection) is settled before this returns
    /// (`Store.settle`): no command of it is answered before the daemon knows, and new
    /// changes are refused meanwhile (truthfully: they are not even tried).
    private func land(_ batches: [Batch]) async -> (error: SNPError, rowRefused: Bool)? {
        let started = DispatchTime.now().uptimeNanoseconds
        let failure = await landOrSettle(batches)
        metrics.commit(
            commands: batches.count, nanoseconds: Int64(DispatchTime.now().uptimeNanoseconds - started),
            landed: failure == nil)
        return failure
    }

    private func landOrSettle(_ batches: [Batch]) async -> (error: SNPError, rowRefused: Bool)? {
        do {
            try await store.commit(
                batches.flatMap(\.changes), audit: batches.map(\.audit), outbox: batches.flatMap(\.outbox))
            return nil
        } catch {
            switch error {
            case .refused(let why, let rowRefused):
                return (why, rowRefused)
            case .outcomeUnknown(let number, let why):
                let wasDown = databaseDown
                databaseDown = true
                logger.error(
                    "a commit's outcome is unknown; settling it before its commands are answered",
                    metadata: ["error": "\(why)", "commands": "\(batches.count)"])
                let landed = await store.settle(seq: number)
                databaseDown = wasDown
                return landed
                    ? nil : (.unavailable("the database did not answer in time; nothing was changed, retry"), false)
            }
        }
    }

    /// The database refused some rows of a group commit (a constraint): the commands are
    /// tried one at a time, in order, so that one bad row never takes other clients'
    /// commands down with it. A command refused, and every later one that touched the
    /// same records (it built on the refused change), is undone; the others land. New
    /// changes are refused until it is done.
    private func landApart() async {
        let all = inFlight + pending
        inFlight = all
        pending = []
        let wasDown = databaseDown
        databaseDown = true
        var tainted = Set<String>()
        var refused: [UInt64: SNPError] = [:]
        var outage: SNPError?
        for batch in all {
            let keys = Store.recordKeys(batch.changes)
            if let outage {
                refused[batch.seq] = outage
            } else if !keys.isDisjoint(with: tainted) {
                tainted.formUnion(keys)
                refused[batch.seq] = .unavailable("an earlier change this one built on was refused; nothing was changed, retry")
            } else if let failure = await land([batch]) {
                refused[batch.seq] = failure.error
                if failure.rowRefused { tainted.formUnion(keys) } else { outage = failure.error }
            }
        }
        logger.error(
            "the database refused rows of a group commit; its commands were committed one by one",
            metadata: ["commands": "\(all.count)", "refused": "\(refused.count)"])
        databaseDown = wasDown
        finish(all, refused: refused)
        if outage != nil { enterOutage() }
    }

    /// Every change not yet durable is undone and answers `error`; changes are refused
    /// until the database answers again.
    private func failEverything(_ error: SNPError) {
        let lost = inFlight + pending
        pending = []
        logger.error(
            "commit failed; changes refused until the database answers",
            metadata: ["error": "\(error.message)", "commands": "\(lost.count)"])
        var refused: [UInt64: SNPError] = [:]
        for batch in lost { refused[batch.seq] = error }
        finish(lost, refused: refused)
        enterOutage()
    }

    /// Resolves `batches` (in order, consecutive): the refused ones are undone in memory
    /// (most recent first) before any reader can see past them, the others are durable.
    private func finish(_ batches: [Batch], refused: [UInt64: SNPError]) {
        inFlight = []
        guard let last = batches.last?.seq else { return }
        if !refused.isEmpty {
            cell.write { engine, _ in
                for batch in batches.reversed() where refused[batch.seq] != nil { engine.undo(batch.changes) }
                // Before any reader sees the undone state: its reads need not wait.
                resolvedForReaders.store(last, ordering: .releasing)
            }
        }
        for batch in batches {
            let error = refused[batch.seq]
            if let error {
                if let previous = failures.last, previous.seqs.upperBound == batch.seq - 1,
                    previous.error.message == error.message
                {
                    failures[failures.count - 1].seqs = previous.seqs.lowerBound...batch.seq
                } else {
                    failures.append((batch.seq...batch.seq, error))
                }
            }
            // Counted before the replies go: a STATS sent after the OK sees the booking.
            if error == nil, batch.feedSkipped > 0 {
                feedSkippedCount.add(batch.feedSkipped, ordering: .relaxed)
                metrics.feedSkipped(batch.feedSkipped)
            }
            for w in waiters.removeValue(forKey: batch.seq) ?? [] { w.resume(returning: error) }
            if error == nil {
                events.publish(batch.changes, except: batch.origin)
                if !batch.outbox.isEmpty { feedWriteCount.add(1, ordering: .releasing) }
            }
        }
        resolvedThrough = max(resolvedThrough, last)
        resolvedForReaders.store(resolvedThrough, ordering: .releasing)
    }

    /// Waits until commit `seq` is resolved: `nil` if durable, else the error its command
    /// answers (nothing of it was changed).
    public func waitDurable(_ seq: UInt64) async -> SNPError? {
        if seq <= resolvedThrough { return failure(of: seq) }
        return await withCheckedContinuation { waiters[seq, default: []].append($0) }
    }

    /// For a read that may have seen the changes after `since` up to `seq`: waits until
    /// `seq` is resolved (commits resolve in order, so every earlier one is too), then
    /// `nil` if all of those are durable, else an error to answer instead of what was read.
    /// A change refused on its own (`landApart`) may be followed by one that lands: waiting
    /// for the latest alone would let the read show the refused one.
    public func waitDurable(_ seq: UInt64, readSince since: UInt64?) async -> SNPError? {
        let own = await waitDurable(seq)
        guard let since, own == nil, let first = firstFailure(after: since), first <= seq else { return own }
        return .unavailable("this answer rested on a change the database refused, now undone; try again")
    }

    /// The first change after `since` that did not land, if any.
    private func firstFailure(after since: UInt64) -> UInt64? {
        let i = firstFailureRange(endingAtOrAfter: since + 1)
        return i < failures.count ? max(failures[i].seqs.lowerBound, since + 1) : nil
    }

    private func failure(of seq: UInt64) -> SNPError? {
        let i = firstFailureRange(endingAtOrAfter: seq)
        return i < failures.count && failures[i].seqs.contains(seq) ? failures[i].error : nil
    }

    /// The position of the first failed range that ends at `seq` or later (`failures.count`
    /// if none): a binary search, the ranges being disjoint and in increasing order.
    private func firstFailureRange(endingAtOrAfter seq: UInt64) -> Int {
        var low = 0
        var high = failures.count
        while low < high {
            let mid = (low + high) / 2
            if failures[mid].seqs.upperBound < seq { low = mid + 1 } else { high = mid }
        }
        return low
    }

    private func enterOutage() {
        databaseDown = true
        startRecovery()
    }

    /// Probes the database once a second; when it answers, reloads the engine from it
    /// (a commit whose acknowledgement was lost may have landed) and accepts changes again.
    private func startRecovery() {
        guard !recovering else { return }
        recovering = true
        Task {
            while true {
                try? await Task.sleep(for: .seconds(1))
                if Task.isCancelled { return }
                guard await self.store.ping() else {
                    self.logger.warning("database still unavailable")
                    continue
                }
                do {
                    try await self.load()
                    self.recovered()
                    return
                } catch {
                    self.logger.warning("database still unavailable", metadata: ["error": "\(Store.classify(error).message)"])
                }
            }
        }
    }

    private func recovered() {
        databaseDown = false
        recovering = false
        logger.notice("database available again; state reloaded")
    }

    /// Waits for every change so far to be resolved (for a clean stop).
    public func drain() async {
        if lastSeq > resolvedThrough { _ = await waitDurable(lastSeq) }
    }

    /// Counts the commits that wrote messages of the SAS feed: the delivery worker watches it
    /// to send at once rather than at its next poll.
    private let feedWriteCount = Atomic<UInt64>(0)
    public nonisolated var feedWrites: UInt64 { feedWriteCount.load(ordering: .acquiring) }

    public nonisolated var stats: (open: Int, queued: Int, pending: Int) {
        cell.read { engine, _ in (engine.openSlotCount, engine.queuedCount, engine.pendingCount) }
    }
}
