/// When to tell the operator that client revocation checking is weakened or about to break
/// (issue 14 finding 11). Sans-IO: the gateway feeds it the clock and the current TLS state
/// and logs what it returns; tests drive it with any clock.
///
/// - CRL freshness: OpenSSL refuses every client once a CRL is past its nextUpdate ("CRL has
///   expired"). capgate keeps failing CLOSED then (a stale CRL may hide a revocation), so
///   the only remedy is a fresh CRL; this warns `window` seconds ahead and, once passed,
///   says loudly why handshakes fail. Repeated at most once an hour per state, and at once
///   when the state changes (fresh -> due soon -> stale), like the certificate expiry warning.
/// - Optional CRL missing (`tls.crl_optional`): revocation checking is OFF until the file
///   exists; said at start and at every reload (``revocationOffMessage``).
public struct RevocationWarnings: Sendable {
    public enum Freshness: Sendable, Equatable { case fresh, dueSoon, stale }

    /// Seconds before nextUpdate at which the warning starts (`crl_expiry_warning_hours`).
    public let window: Int64
    /// Minimum seconds between two repeats of the same state's message.
    public static let repeatInterval: Int64 = 3600

    private var lastState: Freshness = .fresh
    private var lastWarnedAt: Int64?

    public init(windowSeconds: Double) { window = Int64(windowSeconds) }

    /// The state for the earliest CRL nextUpdate (nil: no CRL or none states one).
    public func freshness(nextUpdate: Int64?, now: Int64) -> Freshness {
        guard let nextUpdate else { return .fresh }
        if now >= nextUpdate { return .stale }
        return nextUpdate - now <= window ? .dueSoon : .fresh
    }

    /// What to log now, if anything: `isError` true once handshakes are failing.
    public mutating func check(nextUpdate: Int64?, now: Int64) -> (isError: Bool, message: String)? {
        let state = freshness(nextUpdate: nextUpdate, now: now)
        defer { lastState = state }
        guard state != .fresh, let nextUpdate else { lastWarnedAt = nil; return nil }
        if state == lastState, let last = lastWarnedAt, now - last < Self.repeatInterval { return nil }
        lastWarnedAt = now
        if state == .stale {
            return (true, "the CRL is past its nextUpdate since \((now - nextUpdate) / 60) min: EVERY client "
                    + "handshake fails (revocation is fail-closed); publish a fresh CRL (capgate pki crl), "
                    + "it is picked up without restart")
        }
        return (false, "the CRL reaches its nextUpdate in \((nextUpdate - now) / 3600)h; after that every client "
                + "handshake fails: publish a fresh CRL (capgate pki crl)")
    }

    /// The warning for an optional CRL that does not exist (nil when checking is on or the
    /// CRL is not optional).
    public static func revocationOffMessage(crlOptional: Bool, crlPath: String?, checking: Bool) -> String? {
        guard crlOptional, let crlPath, !checking else { return nil }
        return "client revocation checking is OFF: \(crlPath) does not exist (tls.crl_optional); a revoked "
            + "certificate is accepted until it appears (capgate pki crl / pki revoke create it)"
    }
}
