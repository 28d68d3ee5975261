import Synchronization

/// Raised when a database operation took longer than its limit.
struct TimedOut: Error {}

/// Runs `operation` and gives up on it after `limit`.
///
/// PostgresNIO's pool keeps a query waiting for a connection as long as the server is away
/// (it retries connecting with backoff), and a query on a connection the server cut can
/// wait long too; a regulator on the phone needs an answer sooner, even `UNAVAILABLE`.
/// Not a task group: a group waits for every child, and such a query may not heed
/// cancellation. The abandoned operation is cancelled and left to finish on its own.
func withTimeout<T: Sendable>(_ limit: Duration, _ operation: @Sendable @escaping () async throws -> T) async throws -> T {
    let once = ResumeOnce<T>()
    return try await withCheckedThrowingContinuation { continuation in
        once.set(continuation)
        let work = Task {
            do { once.resume(.success(try await operation())) } catch { once.resume(.failure(error)) }
        }
        Task {
            try? await Task.sleep(for: limit)
            if once.resume(.failure(TimedOut())) { work.cancel() }
        }
    }
}

/// Resumes a continuation with the first result only.
final class ResumeOnce<T: Sendable>: Sendable {
    private let state = Mutex<(CheckedContinuation<T, any Error>?, Bool)>((nil, false))

    func set(_ c: CheckedContinuation<T, any Error>) { state.withLock { $0.0 = c } }

    @discardableResult
    func resume(_ result: Result<T, any Error>) -> Bool {
        let c: CheckedContinuation<T, any Error>? = state.withLock { s in
            guard !s.1, let c = s.0 else { return nil }
            s.1 = true
            return c
        }
        c?.resume(with: result)
        return c != nil
    }
}
