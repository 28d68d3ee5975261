#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SNPCore

/// The engine, shared by the `MatchingService` actor, which alone changes it, and the
/// connections' tasks, which run read-only commands on it (`SLOT FIND`, `REQ GET`…) in
/// parallel, under a read lock, without waiting for the actor (docs/PERFORMANCE.md).
///
/// Neither side ever suspends while holding the lock: a write is one command against
/// memory, a read one search and its reply.
final class EngineCell: @unchecked Sendable {
    private let lock = ReadWriteLock()
    private var engine: MatchingEngine
    /// The group commit that the engine's latest change belongs to (0: none yet). A read
    /// that may have seen that change waits for it to be durable before it is answered.
    private var latestCommit: UInt64 = 0

    init(_ engine: MatchingEngine) { self.engine = engine }

    func read<T>(_ body: (_ engine: MatchingEngine, _ latestCommit: UInt64) -> T) -> T {
        lock.lockForReading()
        defer { lock.unlock() }
        return body(engine, latestCommit)
    }

    func write<T>(_ body: (_ engine: inout MatchingEngine, _ latestCommit: inout UInt64) -> T) -> T {
        lock.lockForWriting()
        defer { lock.unlock() }
        return body(&engine, &latestCommit)
    }
}

/// A POSIX readers-writer lock that prefers writers: a stream of readers never starves the
/// actor's changes.
final class ReadWriteLock: @unchecked Sendable {
    private let rwlock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)

    init() {
        #if canImport(Glibc)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        precondition(pthread_rwlock_init(rwlock, &attributes) == 0, "pthread_rwlock_init failed")
        pthread_rwlockattr_destroy(&attributes)
        #else
        precondition(pthread_rwlock_init(rwlock, nil) == 0, "pthread_rwlock_init failed")
        #endif
    }

    deinit {
        pthread_rwlock_destroy(rwlock)
        rwlock.deallocate()
    }

    func lockForReading() { precondition(pthread_rwlock_rdlock(rwlock) == 0, "pthread_rwlock_rdlock failed") }
    func lockForWriting() { precondition(pthread_rwlock_wrlock(rwlock) == 0, "pthread_rwlock_wrlock failed") }
    func unlock() { precondition(pthread_rwlock_unlock(rwlock) == 0, "pthread_rwlock_unlock failed") }
}
