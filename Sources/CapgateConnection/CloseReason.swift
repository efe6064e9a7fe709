import CapgateHTTP2
import CapgateTLS

/// Why a server connection ended: the one list of connection ends.
///
/// WHY an enum and not strings: every end is logged once (`connection closed ... reason=`),
/// counted by name in `ServerStats.closedByReason`, and split into ordinary ends (info) and
/// refusals/timeouts (warning). A typo in a string literal would silently create a new metric
/// and log at the wrong level; an enum makes the list closed and both decisions exhaustive
/// switches. The ends that come from a lower layer (TLS, the SVID rules, an HTTP/2 flood
/// detector) carry that layer's typed error, and print that layer's stable code.
///
/// `code` is what gets logged and counted: the case name in snake_case for the transport's own
/// ends (`idleTimeout` -> `idle_timeout`), the lower layer's stable code otherwise
/// (`tls_peer_verification_failed`, `identity_multiple_uri_sans`, `reset_flood`). These strings
/// are an operator interface (log greps, dashboards): never rename one.
public enum CloseReason: Sendable, Equatable, CustomStringConvertible {
    // Ordinary ends.
    /// The peer closed: TCP EOF or close_notify, or its GOAWAY and all streams done.
    case peerClosed
    /// The HTTP/2 session finished (both sides done) with no other reason recorded.
    case completed
    /// Graceful shutdown of the server (GOAWAY, in-flight streams finished).
    case serverShutdown
    /// The loops were stopped (hard stop, or the last step of a shutdown) with this connection open.
    case serverStopped
    /// `maxConnectionAge` passed: drained so the peer reconnects (rebalancing, rotation).
    case maxConnectionAge
    /// The client certificate's notAfter came before `maxConnectionAge`: drained at expiry.
    case certificateExpired
    /// The connection sat idle for `idleTimeout`: drained.
    case idleTimeout
    /// The streams-per-connection cap was reached: drained.
    case streamLimitDrained

    // Refusals, timeouts, failures.
    /// EOF before the TLS handshake completed.
    case peerClosedInHandshake
    /// The peer reset the TCP connection (ECONNRESET, EPIPE) or hung up.
    case peerReset
    /// Any other socket error.
    case ioError
    /// Our failure (the HTTP/2 session could not be created).
    case internalError
    /// The TLS handshake did not finish within `handshakeTimeout` (slowloris).
    case handshakeTimeout
    /// No request within `firstRequestTimeout` of the handshake.
    case firstRequestTimeout
    /// A drain (GOAWAY) did not finish within the drain timeout: closed hard.
    case drainTimeout
    /// The client certificate is listed by the newest CRL (at handshake, or after a reload).
    case certificateRevoked
    /// The client chain's trust anchor is no longer in the trust bundle (at handshake, or
    /// drained after a reload that removed the CA).
    case trustAnchorRemoved
    /// Still unauthenticated when the pre-authentication budget (its source's, or the global
    /// one) needed room for a newer socket: the oldest goes (docs/hardening.md).
    case preAuthEvicted
    /// Its first bytes arrived while its source (or the server) was over its handshake rate
    /// (`handshakeRatePerSource`, `handshakeRateGlobal`): closed before any TLS work.
    case handshakeRateLimited
    /// Authenticated, but its SPIFFE ID already holds `maxConnectionsPerIdentity` connections.
    case perIdentityCap
    /// Authenticated, but its IP already holds `maxConnectionsPerIP` authenticated connections.
    case perIPCap
    /// Authenticated, but `maxConnectionsGlobal` authenticated connections are open.
    case globalCap
    /// The TLS layer failed or refused the peer (handshake, verification, ALPN, a fatal alert).
    case tls(TLSError.Kind)
    /// The verified certificate breaks the X509-SVID rules (no HTTP/2 session was created).
    case identity(PeerIdentityError)
    /// The HTTP/2 session tripped a connection-scoped limit or error (GOAWAY sent).
    case protocolTrip(H2ConnectionTrip)

    /// The stable name that is logged and counted (see the type's comment).
    public var code: String {
        switch self {
        case .peerClosed: "peer_closed"
        case .completed: "completed"
        case .serverShutdown: "server_shutdown"
        case .serverStopped: "server_stopped"
        case .maxConnectionAge: "max_connection_age"
        case .certificateExpired: "certificate_expired"
        case .idleTimeout: "idle_timeout"
        case .streamLimitDrained: "stream_limit_drained"
        case .peerClosedInHandshake: "peer_closed_in_handshake"
        case .peerReset: "peer_reset"
        case .ioError: "io_error"
        case .internalError: "internal_error"
        case .handshakeTimeout: "handshake_timeout"
        case .firstRequestTimeout: "first_request_timeout"
        case .drainTimeout: "drain_timeout"
        case .certificateRevoked: "certificate_revoked"
        case .trustAnchorRemoved: "trust_anchor_removed"
        case .preAuthEvicted: "preauth_evicted"
        case .handshakeRateLimited: "handshake_rate_limited"
        case .perIdentityCap: "per_identity_cap"
        case .perIPCap: "per_ip_cap"
        case .globalCap: "global_cap"
        case .tls(let kind): kind.rawValue
        case .identity(let error): error.code
        case .protocolTrip(let trip): trip.code
        }
    }

    public var description: String { code }

    /// An ordinary end of a connection (logged at info). Anything else is a refusal, a timeout
    /// or a failure (warning: operators want to see them).
    public var isOrdinaryEnd: Bool {
        switch self {
        case .peerClosed, .completed, .serverShutdown, .maxConnectionAge, .idleTimeout, .serverStopped,
             .streamLimitDrained, .certificateExpired:
            true
        case .peerClosedInHandshake, .peerReset, .ioError, .internalError, .handshakeTimeout,
             .firstRequestTimeout, .drainTimeout, .certificateRevoked, .trustAnchorRemoved, .tls, .identity, .protocolTrip,
             .preAuthEvicted, .handshakeRateLimited, .perIdentityCap, .perIPCap, .globalCap:
            false
        }
    }

    /// A socket refused before any TLS work because a flood filled its pre-authentication
    /// budget or handshake rate: counted, logged at debug only (a log line per socket would let
    /// the flood write the log).
    public var isFloodRefusal: Bool {
        switch self {
        case .preAuthEvicted, .handshakeRateLimited: true
        default: false
        }
    }

    /// A timeout the peer caused, also counted in `ServerStats.trips` when it fires (slowloris
    /// and stuck drains show up next to the HTTP/2 flood trips).
    public var isTimeoutTrip: Bool {
        switch self {
        case .handshakeTimeout, .firstRequestTimeout, .idleTimeout, .drainTimeout: true
        default: false
        }
    }
}
