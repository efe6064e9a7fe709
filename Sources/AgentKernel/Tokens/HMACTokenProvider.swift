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
    /// The last verified token (`VerifiedTokenMemo`): a repeated token skips the HMAC.
    private let verified = VerifiedTokenMemo()
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
        return b.withUnsafeBufferPointer(LowerHex.string)
    }

    /// Mints a token: fresh id, `issued_at = now`, `expires_at = now + ttl`, signed, then
    /// tracked for `revokeAll` (in that order, as the reference).
    public func issue(capabilityID: String, principalID: String, constraints: JSONObject = [:],
                      ttlSeconds: Double = 3600, auditID: String = "") -> CapabilityToken {
        let now = clock.now()
        let tokenID = ids.next(), expiresAt = now.adding(seconds: ttlSeconds)
        // Signed from its fields, then built once with its signature: an unsigned token
        // built first and then given its signature was copied whole (seven references
        // retained and released) on every grant.
        let signature = Self.withSigningPayload(
            tokenID: tokenID, capabilityID: capabilityID, principalID: principalID, issuedAt: now, expiresAt: expiresAt,
            constraints: constraints, auditID: auditID) { signer.hexDigest($0) }
        revocations.track(principalID: principalID, tokenID: tokenID, expiresAt: expiresAt)
        return CapabilityToken(tokenID: tokenID, capabilityID: capabilityID, principalID: principalID, issuedAt: now,
                               expiresAt: expiresAt, constraints: constraints, auditID: auditID, signature: signature)
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
        Self.withSigningPayload(token) { signer.hexDigest($0) }
    }

    /// `signingPayload(token)`'s bytes, lent to `body`.
    ///
    /// Why: every grant and invoke signs. When the four strings need no escaping (ids and
    /// capability names in practice) the payload is copied into a stack buffer, with the
    /// constraints' canonical bytes from `SigningConstraints.bytes` (memoized for the
    /// policy's shared objects): no payload array to allocate, grow-check and free, no key
    /// sort. Any other token takes `signingPayload`, which escapes; both write the same
    /// bytes (tested on clean and escaped fields, memo hits and misses).
    static func withSigningPayload<R>(_ token: CapabilityToken, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        withSigningPayload(tokenID: token.tokenID, capabilityID: token.capabilityID, principalID: token.principalID,
                           issuedAt: token.issuedAt, expiresAt: token.expiresAt, constraints: token.constraints,
                           auditID: token.auditID, body)
    }

    /// The same, from the token's fields.
    static func withSigningPayload<R>(tokenID: String, capabilityID: String, principalID: String, issuedAt: Timestamp,
                                      expiresAt: Timestamp, constraints: JSONObject, auditID: String,
                                      _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let audit = auditID.utf8, cap = capabilityID.utf8, principal = principalID.utf8, tid = tokenID.utf8
        guard isVerbatim(audit), isVerbatim(cap), isVerbatim(principal), isVerbatim(tid) else {
            let token = CapabilityToken(tokenID: tokenID, capabilityID: capabilityID, principalID: principalID,
                                        issuedAt: issuedAt, expiresAt: expiresAt, constraints: constraints,
                                        auditID: auditID)
            return signingPayload(token).withUnsafeBytes(body)
        }
        let constraints = SigningConstraints.bytes(constraints)
        // Keys and quotes are 102 bytes; a datetime's isoformat is at most 48 (its buffer).
        let capacity = 128 + 2 * 48 + audit.count + cap.count + principal.count + tid.count + constraints.count
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buf in
            // A cursor passed along, never a variable captured by nested functions (each
            // access to a captured variable was a dynamic exclusivity check).
            var w = PayloadCursor(base: buf.baseAddress!)
            w.key(#"{"audit_id":"#)
            w.string(audit)
            w.key(#","capability_id":"#)
            w.string(cap)
            w.key(#","constraints":"#)
            w.bytes(constraints)
            w.key(#","expires_at":"#)
            w.datetime(expiresAt)
            w.key(#","issued_at":"#)
            w.datetime(issuedAt)
            w.key(#","principal_id":"#)
            w.string(principal)
            w.key(#","token_id":"#)
            w.string(tid)
            w.key("}")
            precondition(w.count <= capacity)
            return body(UnsafeRawBufferPointer(start: buf.baseAddress, count: w.count))
        }
    }

    /// Appends to the signing payload's stack buffer (sized by the caller).
    private struct PayloadCursor {
        let base: UnsafeMutablePointer<UInt8>
        var count = 0

        mutating func key(_ k: StaticString) {
            (base + count).update(from: k.utf8Start, count: k.utf8CodeUnitCount)
            count += k.utf8CodeUnitCount
        }

        mutating func bytes(_ b: [UInt8]) {
            let dst = base + count
            b.withUnsafeBufferPointer { dst.update(from: $0.baseAddress!, count: $0.count) }
            count += b.count
        }

        /// A string `isVerbatim` accepted, in quotes.
        mutating func string(_ s: String.UTF8View) {
            let dst = base + count
            dst[0] = UInt8(ascii: "\"")
            let n = s.withContiguousStorageIfAvailable { src -> Int in
                if let p = src.baseAddress { (dst + 1).update(from: p, count: src.count) }
                return src.count
            }!
            dst[n + 1] = UInt8(ascii: "\"")
            count += n + 2
        }

        /// A datetime's isoformat (digits and `-:T.+` only: nothing to escape), in quotes.
        mutating func datetime(_ t: Timestamp) {
            let dst = base + count
            dst[0] = UInt8(ascii: "\"")
            let n = t.withISOFormatBytes { src -> Int in
                (dst + 1).update(from: src.baseAddress!, count: src.count)
                return src.count
            }
            dst[n + 1] = UInt8(ascii: "\"")
            count += n + 2
        }
    }

    /// Whether JSON writes `s` as it is in every dialect: contiguous UTF-8 bytes, each
    /// printable ASCII other than `"` and `\` (DEL is escaped by the ASCII dialect).
    private static func isVerbatim(_ s: String.UTF8View) -> Bool {
        s.withContiguousStorageIfAvailable { JSONWriter.isPlainASCII($0) } ?? false
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
        if !verified.signatureIsValid(token, sign: sign) {
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
