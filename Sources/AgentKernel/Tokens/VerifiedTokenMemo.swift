import Synchronization

/// The last token whose signature checked out, so an agent invoking again with the same
/// token (the common case: one grant, many invokes) skips the signing payload and the
/// HMAC, two thirds of a token check and a sixth of a quickstart invoke.
///
/// Why the answer is the same: a signature is a pure function of the signed fields' bytes
/// and the provider's secret, which never changes. A token whose signed fields have the
/// same bytes as the remembered one has the remembered (verified) signature as its
/// expected signature, so comparing the presented signature with it, in constant time, is
/// the comparison the full check makes. Anything that is not provably the same bytes
/// (another spelling of a string, another offset of the same instant, `1` against `1.0`)
/// is a miss and takes the full check. Revocation and expiry are checked before the
/// signature on every call, as before; the memo answers only "is this signature valid".
///
/// The presented signature is compared first, in constant time, so the remembered token's
/// other fields are only read (with early-exit comparisons) for a caller who already
/// presents its valid signature.
final class VerifiedTokenMemo: Sendable {
    private let last = Mutex<CapabilityToken?>(nil)

    /// Whether `token`'s signature is valid, computing `sign(token)` only on a miss.
    func signatureIsValid(_ token: CapabilityToken, sign: (CapabilityToken) -> String) -> Bool {
        let hit = last.withLock { memo -> Bool in
            guard let memo else { return false }
            return ConstantTime.equal(memo.signature, token.signature) && Self.sameSignedBytes(memo, token)
        }
        if hit { return true }
        guard ConstantTime.equal(sign(token), token.signature) else { return false }
        last.withLock { $0 = token }
        return true
    }

    /// Whether the two tokens' signing payloads are provably byte for byte the same: the
    /// strings' code points, the instants with their UTC offsets (`isoformat` writes both),
    /// the constraints value for value in the same order (the payload sorts the keys, so
    /// the same order is sufficient, not necessary).
    static func sameSignedBytes(_ a: CapabilityToken, _ b: CapabilityToken) -> Bool {
        PyString.equal(a.tokenID, b.tokenID) && PyString.equal(a.capabilityID, b.capabilityID)
            && PyString.equal(a.principalID, b.principalID) && PyString.equal(a.auditID, b.auditID)
            && sameInstant(a.issuedAt, b.issuedAt) && sameInstant(a.expiresAt, b.expiresAt)
            && sameValue(a.constraints, b.constraints)
    }

    private static func sameInstant(_ a: Timestamp, _ b: Timestamp) -> Bool {
        a.microseconds == b.microseconds && a.utcOffsetSeconds == b.utcOffsetSeconds
    }

    /// Strict equality of JSON values (`JSONValue ==` follows Python, where `1 == 1.0` and
    /// `True == 1`, values the payload writes differently).
    static func sameValue(_ a: JSONObject, _ b: JSONObject) -> Bool {
        if sharesStorage(a.keys, b.keys) && sharesStorage(a.values, b.values) { return true }
        guard a.keys.count == b.keys.count else { return false }
        for i in a.keys.indices where !PyString.equal(a.keys[i], b.keys[i]) || !sameValue(a.values[i], b.values[i]) {
            return false
        }
        return true
    }

    static func sameValue(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x.bitPattern == y.bitPattern
        case let (.string(x), .string(y)): return PyString.equal(x, y)
        case let (.array(x), .array(y)):
            if sharesStorage(x, y) { return true }
            return x.count == y.count && zip(x, y).allSatisfy { sameValue($0, $1) }
        case let (.object(x), .object(y)): return sameValue(x, y)
        default: return false
        }
    }
}
