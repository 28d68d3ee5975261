import Crypto
import Foundation
import PostgresNIO
import SNPCore
import Synchronization

/// Who a token speaks for, once its secret matched.
public struct Principal: Sendable, Equatable {
    public var name: String
    public var role: Role
    /// For `pro` tokens: the professional they act for.
    public var pro: RPPS?
    /// For regulator (and admin) tokens: who books, for the SAS appointment feed (SPEC §8).
    public var operatorIdentity: OperatorIdentity?

    public init(name: String, role: Role, pro: RPPS? = nil, operatorIdentity: OperatorIdentity? = nil) {
        self.name = name
        self.role = role
        self.pro = pro
        self.operatorIdentity = operatorIdentity
    }
}

/// A row of `snpd token list`: never the secret, which is not stored.
public struct TokenInfo: Sendable {
    public var principal: Principal
    public var createdAt: Date
    public var revokedAt: Date?
}

/// Access tokens (§3.5). Secrets are 192 random bits written in base64url (letters,
/// digits, `-`, `_`, so they travel as bare words); only their SHA-256 is stored. A fast
/// hash is enough because the secret is random, not a password: there is nothing to guess.
extension Store {
    /// The name of the token that `SNPD_ADMIN_TOKEN` defines.
    public static let environmentAdminName = "admin"

    public static func newSecret() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<24).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return "snp_" + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func hash(_ secret: String) -> [UInt8] { Array(SHA256.hash(data: Data(secret.utf8))) }

    /// Creates a token and returns its secret (shown once).
    public func addToken(_ p: Principal) async throws -> String {
        guard !p.name.isEmpty, p.name.count <= 100,
            p.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.@".contains($0)) })
        else { throw SettingsError("a token name is 1 to 100 letters, digits, '-', '_', '.', '@'") }
        guard (p.role == .pro) == (p.pro != nil) else {
            throw SettingsError(p.role == .pro ? "a pro token needs --pro RPPS" : "--pro goes only with --role pro")
        }
        guard p.operatorIdentity == nil || p.role == .regulator || p.role == .admin else {
            throw SettingsError("--operator goes only with --role regulator or admin")
        }
        let secret = Store.newSecret()
        let digest = ByteBuffer(bytes: Store.hash(secret))
        do {
            try await client.query(
                """
                INSERT INTO tokens (name, role, pro, secret_sha256, operator_id)
                VALUES (\(p.name), \(p.role.rawValue), \(p.pro?.value), \(digest), \(p.operatorIdentity?.description))
                """, logger: logger)
        } catch let e as PSQLError where e.serverInfo?[.sqlState] == "23505" {
            throw SettingsError("a token named \(p.name) already exists (revoke it first, or pick another name)")
        }
        return secret
    }

    /// Makes `secret` the admin token's secret (`SNPD_ADMIN_TOKEN`), replacing any former one.
    public func ensureAdminToken(secret: String) async throws {
        let digest = ByteBuffer(bytes: Store.hash(secret))
        try await client.query(
            """
            INSERT INTO tokens (name, role, pro, secret_sha256) VALUES (\(Store.environmentAdminName), 'admin', NULL, \(digest))
            ON CONFLICT (name) DO UPDATE SET role = 'admin', pro = NULL, secret_sha256 = EXCLUDED.secret_sha256, revoked_at = NULL
            """, logger: logger)
    }

    public func listTokens() async throws -> [TokenInfo] {
        var out: [TokenInfo] = []
        let rows = try await client.query(
            "SELECT name, role, pro, created_at, revoked_at, operator_id FROM tokens ORDER BY name", logger: logger)
        for try await (name, role, pro, created, revoked, op) in rows.decode(
            (String, String, String?, Date, Date?, String?).self)
        {
            out.append(
                TokenInfo(
                    principal: Principal(
                        name: name, role: try Store.enumValue(role), pro: pro.map(RPPS.init(trusted:)),
                        operatorIdentity: op.flatMap { try? OperatorIdentity(validating: $0) }),
                    createdAt: created, revokedAt: revoked))
        }
        return out
    }

    /// Revokes a token; returns false if no active token has that name.
    public func revokeToken(name: String) async throws -> Bool {
        var found = false
        let rows = try await client.query(
            "UPDATE tokens SET revoked_at = now() WHERE name = \(name) AND revoked_at IS NULL RETURNING name", logger: logger)
        for try await _ in rows { found = true }
        return found
    }

    /// The principal of an active token whose secret is `secret`, or `nil`. Read from the
    /// database at every `AUTH`, so that a revocation holds for the very next session.
    public func authenticate(secret: String) async throws(SNPError) -> Principal? {
        guard !secret.isEmpty, secret.count <= 200 else { return nil }
        let digest = ByteBuffer(bytes: Store.hash(secret))
        do {
            return try await withTimeout(.seconds(3)) {
                let rows = try await self.client.query(
                    """
                    SELECT name, role, pro, secret_sha256, operator_id FROM tokens
                    WHERE secret_sha256 = \(digest) AND revoked_at IS NULL
                    """,
                    logger: self.logger)
                for try await (name, role, pro, stored, op) in rows.decode((String, String, String?, ByteBuffer, String?).self) {
                    // The index found the row by hash; compare again in constant time anyway.
                    guard Store.constantTimeEqual(Array(buffer: stored), Store.hash(secret)) else { continue }
                    return Principal(
                        name: name, role: try Store.enumValue(role), pro: pro.map(RPPS.init(trusted:)),
                        operatorIdentity: op.flatMap { try? OperatorIdentity(validating: $0) })
                }
                return nil
            }
        } catch {
            throw Store.classify(error)
        }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}

/// The principals of bearer tokens checked in the last `lifetime`, for the HTTP side
/// (SPEC §7.1), where every request carries its token: the SAS platform searches many times
/// a second with the same one, and a database round trip per search cost more than the
/// search (docs/PERFORMANCE.md, issue 15).
///
/// Only tokens that matched are kept (an unknown secret is looked up every time, so a
/// token made a moment ago works at once), by the SHA-256 of their secret, never the
/// secret. A token revoked with `snpd token revoke` (another process, which the daemon does
/// not hear) stops working on `/fhir` within `lifetime`, 1 s by default; line sessions
/// check at every `AUTH` and are not affected.
public final class TokenCache: Sendable {
    public let lifetime: Duration
    /// At most this many tokens: past it, the cache starts again empty (a deployment has a
    /// handful of tokens; many distinct ones are a client that cycles them).
    public let capacity: Int
    private let clock: @Sendable () -> ContinuousClock.Instant
    private let entries = Mutex<[[UInt8]: (principal: Principal, until: ContinuousClock.Instant)]>([:])

    public init(
        lifetime: Duration = .seconds(1), capacity: Int = 1_024,
        clock: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        self.lifetime = lifetime
        self.capacity = capacity
        self.clock = clock
    }

    /// `store.authenticate(secret:)`, or what it answered less than `lifetime` ago.
    public func authenticate(secret: String, store: Store) async throws(SNPError) -> Principal? {
        try await authenticate(secret: secret) { () throws(SNPError) in try await store.authenticate(secret: secret) }
    }

    /// The same with the database's answer from `lookup` (tests).
    public func authenticate(
        secret: String, lookup: () async throws(SNPError) -> Principal?
    ) async throws(SNPError) -> Principal? {
        let key = Store.hash(secret)
        let now = clock()
        if let hit = entries.withLock({ $0[key] }), now < hit.until { return hit.principal }
        guard let principal = try await lookup() else {
            entries.withLock { _ = $0.removeValue(forKey: key) }
            return nil
        }
        let until = now.advanced(by: lifetime)
        entries.withLock {
            if $0.count >= capacity { $0.removeAll() }
            $0[key] = (principal, until)
        }
        return principal
    }
}
