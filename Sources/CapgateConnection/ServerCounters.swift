import Synchronization

/// A point-in-time copy of the server's counters (metrics, tests).
public struct ServerStats: Sendable, Equatable {
    /// Connections handed to a loop by the acceptor (under the global cap).
    public var accepted: Int
    /// Connections currently open (handshaking, serving or draining).
    public var active: Int
    /// Refused at accept because every descriptor slot (`maxConnectionsGlobal` +
    /// `maxPreAuthGlobal`) was taken, or closed after the handshake because
    /// `maxConnectionsGlobal` authenticated connections were open (`global_cap`).
    public var rejectedGlobal: Int
    /// Closed after the handshake because the peer IP was at `maxConnectionsPerIP` (`per_ip_cap`).
    public var rejectedPerIP: Int
    /// Closed after the handshake because the SPIFFE ID was at `maxConnectionsPerIdentity`
    /// (`per_identity_cap`).
    public var rejectedPerIdentity: Int = 0
    /// Unauthenticated sockets held now (the pre-authentication budget in use).
    public var preAuthActive: Int = 0
    /// Unauthenticated sockets evicted to make room for a newer one from the same source
    /// (`preauth_evicted_source`) or, the global pre-auth budget being full, from anywhere
    /// (`preauth_evicted_global`).
    public var preAuthEvictedSource: Int = 0
    public var preAuthEvictedGlobal: Int = 0
    /// Sockets closed when their first bytes arrived, before any TLS work, over
    /// `handshakeRatePerSource` (`handshake_rate_limited_source`: the wait for their turn would
    /// pass `PreAuthLedger.maxHandshakeWait`, or the first read is too large to hold) or
    /// `handshakeRateGlobal` (`handshake_rate_limited_global`); close reason
    /// `handshake_rate_limited`.
    public var handshakeRateLimitedSource: Int = 0
    public var handshakeRateLimitedGlobal: Int = 0
    /// First flights told to wait their turn for their source's handshake token (each turn
    /// counts); not a refusal (docs/hardening.md "Pre-authentication exhaustion").
    public var handshakesQueuedSource: Int = 0
    /// Handler tasks running now, reset streams whose work is finishing included
    /// (bounded by `maxInFlightGlobal`; a request past a cap trips `in_flight_cap_connection`
    /// or `in_flight_cap_global` and is answered 503 `overloaded`).
    public var inFlightHandlers: Int = 0
    /// Request-body bytes reserved now across every connection (gauge `body_bytes_reserved`,
    /// bounded by `maxBufferedBodyBytesGlobal` plus one always-admitted stream per connection).
    public var bodyBytesReserved: Int = 0
    /// Streams that had to wait for room in a body budget before getting flow-control credit
    /// (`body_admissions_deferred`); refused ones are the trip `body_budget`.
    public var bodyAdmissionsDeferred: Int = 0
    /// Connections whose TLS handshake completed and whose identity passed the SVID rules.
    public var established: Int
    /// Requests handed to the handler.
    public var requests: Int
    /// Connection ends by reason code (`peer_closed`, `idle_timeout`, `handshake_timeout`,
    /// `tls_peer_verification_failed`, `identity_multiple_uri_sans`, ...).
    public var closedByReason: [String: Int]
    /// Stream- and connection-scoped trips by code (`body_too_large`, `reset_flood`, ...).
    public var trips: [String: Int]
    /// Connections draining now (GOAWAY sent, in-flight streams finishing).
    public var draining: Int = 0
    /// Connections that ended before a verified, admitted identity, by close reason code
    /// (TLS and SVID failures, handshake timeouts, evictions, the authenticated caps).
    public var handshakeFailures: [String: Int] = [:]
    /// GOAWAY frames sent, by HTTP/2 error code name (`NO_ERROR`, `ENHANCE_YOUR_CALM`, ...).
    public var goAwaysSent: [String: Int] = [:]

    /// All rejected connections.
    public var rejected: Int {
        rejectedGlobal + rejectedPerIP + rejectedPerIdentity + handshakeRateLimitedSource + handshakeRateLimitedGlobal
    }
}

/// The live counters, shared by every loop: atomics for the hot ones, one lock for the
/// by-reason tables (touched once per connection end or trip, never per request).
final class ServerCounters: Sendable {
    let active = Atomic<Int>(0)
    let rejectedPerIP = Atomic<Int>(0)
    let established = Atomic<Int>(0)
    let requests = Atomic<Int>(0)
    let draining = Atomic<Int>(0)
    private let tables = Mutex<(closed: [String: Int], trips: [String: Int])>(([:], [:]))
    /// Handshake failures and GOAWAYs by code (once per connection end or GOAWAY).
    private let metricTables = Mutex<(handshakes: [String: Int], goAways: [String: Int])>(([:], [:]))

    func recordHandshakeFailure(_ reason: String) {
        metricTables.withLock { $0.handshakes[reason, default: 0] += 1 }
    }

    func recordGoAway(_ code: String) {
        metricTables.withLock { $0.goAways[code, default: 0] += 1 }
    }

    func recordClose(_ reason: String) {
        tables.withLock { $0.closed[reason, default: 0] += 1 }
    }

    func recordTrip(_ code: String) {
        tables.withLock { $0.trips[code, default: 0] += 1 }
    }

    func snapshot(accepted: Int, rejectedGlobal: Int) -> ServerStats {
        let t = tables.withLock { $0 }
        let m = metricTables.withLock { $0 }
        var s = ServerStats(accepted: accepted, active: active.load(ordering: .relaxed),
                            rejectedGlobal: rejectedGlobal,
                            rejectedPerIP: rejectedPerIP.load(ordering: .relaxed),
                            established: established.load(ordering: .relaxed),
                            requests: requests.load(ordering: .relaxed),
                            closedByReason: t.closed, trips: t.trips)
        s.draining = draining.load(ordering: .relaxed)
        s.handshakeFailures = m.handshakes
        s.goAwaysSent = m.goAways
        return s
    }
}
