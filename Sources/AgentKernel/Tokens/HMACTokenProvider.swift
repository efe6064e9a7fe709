import COpenSSLShims
#if canImport(Glibc)
import Glibc
#endif

/// Issues and verifies HMAC-SHA256 capability tokens, byte-compatible with the
/// reference's `HMACTokenProvider` (docs/reference-semantics.md §4): the same fields and secret give the same
/// signature, so tokens minted by either side verify on the other.
///
/// Secret handling: the gateway loads the secret from a file and passes it here. It is
/// handed to OpenSSL once and never stored in a Swift property, logged or described.
/// An empty secret falls back as the reference does: `WEAVER_KERNEL_SECRET` (read once,
/// at init), else a random per-process secret (tokens then die with the process, which
/// fails closed). There is no key rotation or key id, as in the reference.
public final class HMACTokenProvider: Sendable {
    private let signer: HMACSigner
    private let clock: any KernelClock
    private let ids: any IDGenerator
    private let revocations: any RevocationStore
    /// The store behind `revoke`, so the gateway can learn whether a revocation was persisted.
    public var revocationStore: any RevocationStore { revocations }

    public init(secret: String, clock: any KernelClock = SystemClock(), ids: any IDGenerator = RandomUUIDGenerator(),
                revocations: any RevocationStore = InMemoryRevocationStore()) {
        self.signer = HMACSigner(key: Array(Self.resolveSecret(secret).utf8))
        self.clock = clock
        self.ids = ids
        self.revocations = revocations
    }

    /// `_secrets.resolve_hmac_secret`: explicit, else env, else a random dev secret.
    private static func resolveSecret(_ explicit: String) -> String {
        if !explicit.isEmpty { return explicit }
        if let env = getenv("WEAVER_KERNEL_SECRET"), env.pointee != 0 { return String(cString: env) }
        var b = [UInt8](repeating: 0, count: 32)
        precondition(capgate_random_bytes(&b, 32) == 1, "CSPRNG failure")
        // `secrets.token_hex(32)`: 64 lowercase hex characters.
        return String(decoding: b.flatMap { [UUIDFormat.hex[Int($0 >> 4)], UUIDFormat.hex[Int($0 & 0xF)]] }, as: UTF8.self)
    }

    /// Mints a token: fresh id, `issued_at = now`, `expires_at = now + ttl`, signed, then
    /// tracked for `revokeAll` (in that order, as the reference).
    public func issue(capabilityID: String, principalID: String, constraints: JSONObject = [:],
                      ttlSeconds: Double = 3600, auditID: String = "") -> CapabilityToken {
        let now = clock.now()
        var token = CapabilityToken(tokenID: ids.next(), capabilityID: capabilityID, principalID: principalID,
                                    issuedAt: now, expiresAt: now.adding(seconds: ttlSeconds),
                                    constraints: constraints, auditID: auditID)
        token.signature = sign(token)
        revocations.track(principalID: principalID, tokenID: token.tokenID, expiresAt: token.expiresAt)
        return token
    }

    /// The signed message: canonical JSON (sorted keys, no spaces, ASCII-escaped) of the
    /// seven fields other than `signature`, datetimes as Python `isoformat()` (docs/reference-semantics.md §4).
    public static func signingPayload(_ token: CapabilityToken) -> [UInt8] {
        // The seven keys in canonical (sorted) order, written directly: this runs on every
        // grant and every invoke. Equal to serializing the 7-field object with `.canonical`
        // (pinned by TokenSignatureTests against the reference's bytes).
        var out: [UInt8] = []
        // Two UUIDs, two datetimes and the keys are ~220 bytes; a PII capability's pinned
        // `allowed_fields` easily pass 320, which cost a regrowth on every signature.
        out.reserveCapacity(512)
        func key(_ k: StaticString) {
            out.append(contentsOf: UnsafeBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount))
        }
        key(#"{"audit_id":"#)
        JSONWriter.writeString(token.auditID, ascii: true, into: &out)
        key(#","capability_id":"#)
        JSONWriter.writeString(token.capabilityID, ascii: true, into: &out)
        key(#","constraints":"#)
        SigningConstraints.write(token.constraints, into: &out)
        // A datetime's isoformat is digits and `-:T.+` only: nothing to escape.
        func datetime(_ t: Timestamp) {
            out.append(UInt8(ascii: "\""))
            t.withISOFormatBytes { out.append(contentsOf: $0) }
            out.append(UInt8(ascii: "\""))
        }
        key(#","expires_at":"#)
        datetime(token.expiresAt)
        key(#","issued_at":"#)
        datetime(token.issuedAt)
        key(#","principal_id":"#)
        JSONWriter.writeString(token.principalID, ascii: true, into: &out)
        key(#","token_id":"#)
        JSONWriter.writeString(token.tokenID, ascii: true, into: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Lowercase hex HMAC-SHA256 of `signingPayload(token)`.
    public func sign(_ token: CapabilityToken) -> String {
        signer.hexDigest(Self.signingPayload(token))
    }

    /// Checks, first failure wins (docs/reference-semantics.md §4 "Verifying"): revoked (before any crypto, so a
    /// forged token reusing a revoked id reports Revoked) → expired (`expires_at <= now`)
    /// → signature (constant time) → principal → capability. Messages are the reference's.
    public func verify(_ token: CapabilityToken, expectedPrincipalID: String,
                       expectedCapabilityID: String) throws(KernelError) {
        let tid = token.tokenID
        if revocations.isRevoked(tid) {
            throw KernelError(.tokenRevoked, "Token '\(tid)' has been revoked.")
        }
        if token.expiresAt <= clock.now() {
            throw KernelError(.tokenExpired, "Token '\(tid)' expired at \(token.expiresAt.isoformat).")
        }
        if !ConstantTime.equal(sign(token), token.signature) {
            throw KernelError(.tokenInvalid,
                              "Token '\(tid)' has an invalid signature. The token may have been tampered with.")
        }
        if !PyString.equal(token.principalID, expectedPrincipalID) {
            throw KernelError(.tokenScopeError,
                              "Token '\(tid)' was issued for principal '\(token.principalID)', not '\(expectedPrincipalID)'.",
                              site: .tokenPrincipalMismatch)
        }
        if !PyString.equal(token.capabilityID, expectedCapabilityID) {
            throw KernelError(.tokenScopeError,
                              "Token '\(tid)' was issued for capability '\(token.capabilityID)', not '\(expectedCapabilityID)'.",
                              site: .tokenCapabilityMismatch)
        }
    }

    /// Revokes one token. Idempotent; unknown ids are accepted.
    public func revoke(tokenID: String) { revocations.revoke(tokenID) }

    /// Revokes the tokens issued so far to `principalID`; returns how many were newly revoked.
    public func revokeAll(principalID: String) -> Int { revocations.revokeAll(principalID: principalID) }

    /// Drops revocation bookkeeping of already-expired tokens (reference #182).
    public func sweepRevocations(now: Timestamp? = nil) -> Int {
        revocations.sweep(now: now ?? clock.now())
    }
}
