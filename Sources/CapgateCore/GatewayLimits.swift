/// THE limits of the gateway: every resource bound of a connection, stream and request lives
/// here, with its unit, its default and the attack it bounds (see `docs/limits.md`, pinned to
/// `GatewayLimits.catalog` by a test). Every HTTP/2 limit is pushed into nghttp2 explicitly or
/// enforced in the session callbacks; nothing relies on library defaults (docs/hardening.md).
///
/// Defaults follow the "starting point for a five-verb RPC sidecar" of docs/hardening.md, checked
/// against Envoy edge best practice, nginx, nghttpx and h2o.
public struct GatewayLimits: Sendable, Equatable {
    // MARK: HTTP/2 SETTINGS and flow control

    /// SETTINGS_MAX_CONCURRENT_STREAMS (streams). nghttp2 advertises "unlimited" unless told;
    /// bounds per-connection memory and work (CVE-2019-9514 family, rapid reset fan-out).
    public var maxConcurrentStreams: Int = 100
    /// SETTINGS_INITIAL_WINDOW_SIZE (bytes): how much request body a peer may send per stream
    /// before we consume it. Bounds per-stream buffering.
    public var initialStreamWindow: Int = 65_536
    /// Connection-level receive window (bytes), set with `nghttp2_session_set_local_window_size`.
    public var connectionWindow: Int = 1_048_576
    /// SETTINGS_HEADER_TABLE_SIZE (bytes): HPACK dynamic table we let the peer use; bounds
    /// decoder memory (HPACK bomb amplification base, CVE-2016-6581).
    public var headerTableSize: Int = 4_096
    /// SETTINGS_MAX_HEADER_LIST_SIZE (bytes, sum of name + value + 32 per field), advertised AND
    /// enforced in `on_header` (nghttp2 1.52 never enforces it): HPACK bomb, CVE-2016-6581.
    public var maxHeaderListBytes: Int = 16_384
    /// Header fields per request (pseudo-headers and trailers included): CVE-2019-9516
    /// (0-length headers).
    public var maxHeaderFields: Int = 100
    /// CONTINUATION frames per header block (nghttp2 `max_continuations` + our own count):
    /// CONTINUATION flood, CVE-2024-28182.
    public var maxContinuations: Int = 8
    /// SETTINGS entries accepted in one frame (nghttp2 `max_settings`): CVE-2020-11080.
    public var maxSettingsEntries: Int = 32
    /// Queued PING/SETTINGS ACKs before the peer is cut off (nghttp2 `max_outbound_ack`):
    /// ping flood CVE-2019-9512, settings flood CVE-2019-9515.
    public var maxOutboundAcks: Int = 1_000

    // MARK: Request bodies

    /// Request body cap (bytes) for a verb with no entry in `maxBodyBytesPerVerb`.
    public var defaultMaxBodyBytes: Int = 65_536
    /// Per-verb body caps (bytes), keyed by the `<verb>` of `POST /v1/<verb>`. `invoke` carries
    /// tool arguments and gets more room. Bounds memory per stream.
    public var maxBodyBytesPerVerb: [String: Int] = ["invoke": 262_144, "invoke_stream": 262_144]
    /// Absolute body cap (bytes): no verb entry may exceed it (validated at start-up).
    public var hardMaxBodyBytes: Int = 1_048_576
    /// Request-body bytes one connection may hold before they reach the application (bytes
    /// reserved by its streams: a stream reserves min(declared content-length, its cap), or its
    /// cap when none is declared, before it gets flow-control credit). A stream that does not
    /// fit waits with no credit: the peer's windows stop it, nothing more is buffered. The first
    /// stream of a connection that holds nothing is always admitted (no connection starves).
    /// Unbounded buffered bodies, issue 14 finding 7.
    public var maxBufferedBodyBytesPerConnection: Int = 4_194_304
    /// The same, summed over every connection of the server (one shared `BodyBudget`).
    /// Only the always-admitted first stream of a connection may overdraw it.
    public var maxBufferedBodyBytesGlobal: Int = 67_108_864

    // MARK: Per-connection budgets

    /// Streams a connection may open in its lifetime; then GOAWAY(NO_ERROR) and drain
    /// (nginx `keepalive_requests`). Bounds rapid reset (CVE-2023-44487) and long-lived skew.
    public var maxStreamsPerConnection: Int = 1_000
    /// Token bucket on RST_STREAM frames received from the peer; exhausted means
    /// GOAWAY(ENHANCE_YOUR_CALM). Rapid Reset, CVE-2023-44487.
    public var resetBudget = TokenBucket.Rate(burst: 200, perSecond: 20)
    /// Token bucket on "glitches": invalid frames, server-sent resets, empty DATA/HEADERS/
    /// CONTINUATION frames without END_STREAM; exhausted means GOAWAY(ENHANCE_YOUR_CALM).
    /// MadeYouReset CVE-2025-8671, empty frames CVE-2019-9518.
    public var glitchBudget = TokenBucket.Rate(burst: 100, perSecond: 10)
    /// A DATA frame the server sends with fewer payload bytes than this while more of the same
    /// response is ready costs one glitch: only the peer's flow-control window can force such a
    /// frame, and 1-byte windows make the server frame, encrypt and write a response a byte at
    /// a time (data dribble, CVE-2019-9511). The last frame of a body never counts. 0 disables.
    public var smallDataFrameBytes: Int = 128
    /// nghttp2 outbound queue (frames, `nghttp2_session_get_outbound_queue_size`) above which
    /// the connection is terminated: reset flood CVE-2019-9514, data dribble CVE-2019-9511.
    public var maxOutboundQueueFrames: Int = 1_000
    /// Pending encrypted output (bytes) above which we stop producing and stop reading:
    /// internal data buffering, CVE-2019-9517.
    public var writeHighWaterBytes: Int = 32_768
    /// Handler tasks (requests handed to the application and not finished) one connection may
    /// have running; past it a request is answered 503 `overloaded`. Counted until the task
    /// ENDS, not until its stream closes: a peer resetting streams whose work is still running
    /// (a committed kernel call finishes) cannot stack unbounded work behind the stream cap.
    public var maxInFlightPerConnection: Int = 100
    /// Handler tasks running across all connections; past it a request is answered 503
    /// `overloaded`: many connections each within their own cap saturating the process.
    public var maxInFlightGlobal: Int = 4_096

    // MARK: Timeouts (seconds, monotonic clock)

    /// TLS handshake must finish within this: slowloris on the handshake.
    public var handshakeTimeout: Double = 10
    /// The first request's headers must arrive within this after the handshake: slowloris.
    public var firstRequestTimeout: Double = 10
    /// A request must be complete (END_STREAM) within this after its HEADERS: slow body
    /// dribble holding a stream slot.
    public var requestTimeout: Double = 15
    /// A queued response that makes no progress for this long (the peer keeps its flow-control
    /// window at 0) is reset: without it a window-0 client pins the stream, and its connection,
    /// until `maxConnectionAge`.
    public var responseStallTimeout: Double = 30
    /// A connection with no open stream is closed after this: idle connection hoarding.
    public var idleTimeout: Double = 120
    /// A connection is drained (GOAWAY NO_ERROR) after this age: certificate rotation picks up
    /// new identities, no connection lives forever.
    public var maxConnectionAge: Double = 3_600

    // MARK: Connection caps

    /// Concurrent AUTHENTICATED connections from one peer IP (exact address): one host
    /// exhausting the listener. Checked after the handshake, so unauthenticated sockets from
    /// the same address (`maxPreAuthPerSource`) can never use it up.
    public var maxConnectionsPerIP: Int = 128
    /// Concurrent AUTHENTICATED connections in total: file descriptors and memory of the
    /// process. Sockets still in their TLS handshake count against `maxPreAuthGlobal` instead.
    public var maxConnectionsGlobal: Int = 4_096
    /// Concurrent authenticated connections of one SPIFFE ID: one agent (or a stolen
    /// certificate) hoarding the authenticated budget of everyone else on its host. Half of
    /// `maxConnectionsPerIP`: at 128 (equal to it) one identity could fill its host's whole
    /// per-IP budget and lock out every other agent there (make attack, conn_flood_mtls).
    public var maxConnectionsPerIdentity: Int = 64

    // MARK: Pre-authentication budget (sockets whose TLS handshake has not completed)

    /// Unauthenticated sockets held at once by one source (an IPv4 address, or an IPv6
    /// prefix of `preAuthIPv6PrefixLength` bits). At the cap, the source's OLDEST
    /// unauthenticated socket is evicted to admit the new one: slowloris on TLS from the
    /// agent's own address cannot lock the agent out (docs/hardening.md).
    public var maxPreAuthPerSource: Int = 128
    /// Unauthenticated sockets held at once in total; at the cap the oldest one anywhere is
    /// evicted. Separate from `maxConnectionsGlobal`: a flood of silent sockets never takes an
    /// authenticated connection's slot.
    public var maxPreAuthGlobal: Int = 1_024
    /// IPv6 sources are grouped by this prefix (bits) for the pre-authentication budget: one
    /// host usually owns a whole /64 and could otherwise rotate addresses inside it.
    public var preAuthIPv6PrefixLength: Int = 64
    /// Token bucket per source, spent by an unauthenticated socket's first bytes (its
    /// ClientHello; silent sockets spend none); empty means the socket waits its turn in
    /// arrival order, its bytes held, or is closed before any TLS work when its turn is more
    /// than a quarter second away: handshake floods from one source. Sized for every agent of a host reconnecting over
    /// loopback (one source), not for one agent.
    public var handshakeRatePerSource = TokenBucket.Rate(burst: 512, perSecond: 256)
    /// The same bucket in total: handshake CPU from many sources (about one core of ECDSA P-256
    /// TLS 1.3 handshakes).
    public var handshakeRateGlobal = TokenBucket.Rate(burst: 2_048, perSecond: 1_024)

    /// Descriptors kept free beyond the connection caps when checking RLIMIT_NOFILE at start
    /// (listener, epoll and wake-up fds, logs, the files the gateway reads).
    public static let descriptorMargin = 64

    /// File descriptors the process needs at most: every authenticated connection, every
    /// unauthenticated socket, and the margin.
    public var requiredDescriptors: Int { maxConnectionsGlobal + maxPreAuthGlobal + Self.descriptorMargin }

    /// The documented defaults.
    public init() {}

    /// The body cap of a verb: its `maxBodyBytesPerVerb` entry, else `defaultMaxBodyBytes`;
    /// always clamped to `hardMaxBodyBytes` (fail closed on a bad table). The application
    /// turns these into per-route caps (`maxBodyBytes(forPath:routes:)`): the transport
    /// never parses a path into a verb.
    public func maxBodyBytes(forVerb verb: String) -> Int {
        min(maxBodyBytesPerVerb[verb] ?? defaultMaxBodyBytes, hardMaxBodyBytes)
    }

    /// The body cap of a request path: an exact `:path` match in the application's route
    /// table (query string included, so `/v1/invoke?x=1` is not `/v1/invoke`, as the router
    /// sees it), else `defaultMaxBodyBytes`; always clamped to `hardMaxBodyBytes`.
    public func maxBodyBytes(forPath path: String, routes: [String: Int]) -> Int {
        min(routes[path] ?? defaultMaxBodyBytes, hardMaxBodyBytes)
    }
}
