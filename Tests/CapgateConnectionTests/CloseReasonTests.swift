import CapgateConnection
import CapgateHTTP2
import CapgateTLS
import Testing

/// The close-reason names are an operator interface (log greps, `closedByReason` keys):
/// pinned here so a rename fails a test instead of a dashboard.
@Suite("Close reasons")
struct CloseReasonTests {
    static let own: [(CloseReason, String, ordinary: Bool, timeout: Bool)] = [
        (.peerClosed, "peer_closed", true, false),
        (.completed, "completed", true, false),
        (.serverShutdown, "server_shutdown", true, false),
        (.serverStopped, "server_stopped", true, false),
        (.maxConnectionAge, "max_connection_age", true, false),
        (.certificateExpired, "certificate_expired", true, false),
        (.idleTimeout, "idle_timeout", true, true),
        (.streamLimitDrained, "stream_limit_drained", true, false),
        (.peerClosedInHandshake, "peer_closed_in_handshake", false, false),
        (.peerReset, "peer_reset", false, false),
        (.ioError, "io_error", false, false),
        (.internalError, "internal_error", false, false),
        (.handshakeTimeout, "handshake_timeout", false, true),
        (.firstRequestTimeout, "first_request_timeout", false, true),
        (.drainTimeout, "drain_timeout", false, true),
        (.certificateRevoked, "certificate_revoked", false, false),
        (.trustAnchorRemoved, "trust_anchor_removed", false, false),
        (.preAuthEvicted, "preauth_evicted", false, false),
        (.handshakeRateLimited, "handshake_rate_limited", false, false),
        (.perIdentityCap, "per_identity_cap", false, false),
        (.perIPCap, "per_ip_cap", false, false),
        (.globalCap, "global_cap", false, false),
    ]

    @Test func ownReasonsKeepTheirLoggedNames() {
        for (reason, code, ordinary, timeout) in Self.own {
            #expect(reason.code == code)
            #expect("\(reason)" == code)
            #expect(reason.isOrdinaryEnd == ordinary, "\(code)")
            #expect(reason.isTimeoutTrip == timeout, "\(code)")
        }
        #expect(Set(Self.own.map(\.1)).count == Self.own.count)
    }

    /// Only the refusals a flood produces by the thousand are kept out of the warning log.
    @Test func onlyFloodRefusalsAreQuiet() {
        let quiet = Self.own.filter { $0.0.isFloodRefusal }.map(\.1)
        #expect(quiet == ["preauth_evicted", "handshake_rate_limited"])
        #expect(!CloseReason.tls(.peerVerificationFailed).isFloodRefusal)
    }

    @Test func lowerLayerEndsPrintThatLayersCodeAndWarn() {
        let lower: [(CloseReason, String)] = [
            (.tls(.peerVerificationFailed), "tls_peer_verification_failed"),
            (.tls(.alpnMismatch), "tls_alpn_mismatch"),
            (.identity(.multipleURISANs), "identity_multiple_uri_sans"),
            (.protocolTrip(.resetFlood), "reset_flood"),
        ]
        for (reason, code) in lower {
            #expect(reason.code == code)
            #expect(!reason.isOrdinaryEnd)
            #expect(!reason.isTimeoutTrip)
        }
    }
}
