import Foundation
import SNPCore
import SNPStore
import Synchronization
import Testing

/// The HTTP side's cache of bearer tokens (SPEC §7.1, docs/PERFORMANCE.md): a matched token
/// is looked up again once its `lifetime` is over, an unknown one every time. A clock the
/// test moves by hand: nothing here depends on how long anything takes.
@Suite struct TokenCacheTests {
    final class Fake: Sendable {
        let now = Mutex(ContinuousClock.now)
        let lookups = Mutex(0)
        let principal = Mutex<Principal?>(Principal(name: "samu56", role: .regulator))

        func lookup() -> Principal? {
            lookups.withLock { $0 += 1 }
            return principal.withLock { $0 }
        }

        func advance(_ d: Duration) { now.withLock { $0 = $0.advanced(by: d) } }
    }

    @Test func aMatchedTokenIsLookedUpAgainOnceItsLifetimeIsOver() async throws {
        let fake = Fake()
        let cache = TokenCache(lifetime: .seconds(1), clock: { fake.now.withLock { $0 } })
        func ask(_ secret: String = "snp_a") async throws -> Principal? {
            try await cache.authenticate(secret: secret) { () throws(SNPError) in fake.lookup() }
        }
        #expect(try await ask()?.name == "samu56")
        fake.advance(.milliseconds(999))
        #expect(try await ask()?.name == "samu56")
        #expect(fake.lookups.withLock { $0 } == 1)
        // Revoked meanwhile: seen at the first lookup after the lifetime.
        fake.principal.withLock { $0 = nil }
        fake.advance(.milliseconds(1))
        #expect(try await ask() == nil)
        #expect(try await ask() == nil)
        #expect(fake.lookups.withLock { $0 } == 3)
        // Another secret is another entry.
        fake.principal.withLock { $0 = Principal(name: "cpts", role: .coordinator) }
        #expect(try await ask("snp_b")?.name == "cpts")
        #expect(fake.lookups.withLock { $0 } == 4)
    }

    @Test func anUnknownTokenIsLookedUpEveryTime() async throws {
        let fake = Fake()
        fake.principal.withLock { $0 = nil }
        let cache = TokenCache(clock: { fake.now.withLock { $0 } })
        for _ in 0..<3 { #expect(try await cache.authenticate(secret: "snp_x") { () throws(SNPError) in fake.lookup() } == nil) }
        #expect(fake.lookups.withLock { $0 } == 3)
        // Created a moment later: it works at once.
        fake.principal.withLock { $0 = Principal(name: "new", role: .admin) }
        #expect(try await cache.authenticate(secret: "snp_x") { () throws(SNPError) in fake.lookup() }?.name == "new")
    }

    @Test func aFailedLookupIsNotKept() async throws {
        let fake = Fake()
        let cache = TokenCache(clock: { fake.now.withLock { $0 } })
        await #expect(throws: SNPError.self) {
            try await cache.authenticate(secret: "snp_a") { () throws(SNPError) in throw SNPError.unavailable("down") }
        }
        #expect(try await cache.authenticate(secret: "snp_a") { () throws(SNPError) in fake.lookup() }?.name == "samu56")
    }
}
