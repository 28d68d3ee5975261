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

/// Whether a statement given a deadline was handed to the server before the deadline
/// passed: the first of `markSent` (the statement goes) and `abandon` (the deadline won)
/// decides. After `abandon`, `markSent` refuses, so a statement is never sent late.
final class SendPhase: Sendable {
    private let state = Mutex<(sent: Bool, abandoned: Bool)>((false, false))

    /// True if the statement may go now; false if it was given up already.
    func markSent() -> Bool {
        state.withLock { s in
            guard !s.abandoned else { return false }
            s.sent = true
            return true
        }
    }

    /// Gives up; returns whether the statement had been sent.
    func abandon() -> Bool {
        state.withLock { s in
            s.abandoned = true
            return s.sent
        }
    }
}
