/// The limits as a table: one row per limit with its unit, current value, the attack it bounds
/// and the layer that enforces it. `docs/limits.md` carries the same table for the defaults and
/// a test compares the two, so the documentation cannot drift from the code.
extension GatewayLimits {
    /// One documented limit.
    public struct Entry: Sendable, Equatable {
        /// Stable key (the Swift property name; the config key uses the same name).
        public let key: String
        public let unit: String
        /// The value rendered as in the docs (whole numbers without a fraction).
        public let value: String
        public let attack: String
        public let enforcedBy: String
    }

    /// Every limit of this instance, in documentation order.
    public var catalog: [Entry] {
        func n(_ v: Int) -> String { String(v) }
        // Whole numbers print without ".0" (no libm: compare with the truncated value).
        func num(_ v: Double) -> String {
            v.isFinite && abs(v) < 1e15 && v == Double(Int(v)) ? String(Int(v)) : String(v)
        }
        func s(_ v: Double) -> String { num(v) }
        func bucket(_ r: TokenBucket.Rate) -> String { "\(r.burst) burst, \(num(r.perSecond))/s" }
        let verbs = maxBodyBytesPerVerb.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        let h2 = "H2ServerSession (SETTINGS)"
        return [
            Entry(key: "maxConcurrentStreams", unit: "streams", value: n(maxConcurrentStreams),
                  attack: "stream fan-out, CVE-2019-9514", enforcedBy: h2),
            Entry(key: "initialStreamWindow", unit: "bytes", value: n(initialStreamWindow),
                  attack: "per-stream buffering", enforcedBy: h2),
            Entry(key: "connectionWindow", unit: "bytes", value: n(connectionWindow),
                  attack: "per-connection buffering", enforcedBy: "H2ServerSession (set_local_window_size)"),
            Entry(key: "headerTableSize", unit: "bytes", value: n(headerTableSize),
                  attack: "HPACK decoder memory, CVE-2016-6581", enforcedBy: h2),
            Entry(key: "maxHeaderListBytes", unit: "bytes (name+value+32 per field)",
                  value: n(maxHeaderListBytes), attack: "HPACK bomb, CVE-2016-6581",
                  enforcedBy: "H2ServerSession on_header (431)"),
            Entry(key: "maxHeaderFields", unit: "fields", value: n(maxHeaderFields),
                  attack: "0-length headers, CVE-2019-9516", enforcedBy: "H2ServerSession on_header (431)"),
            Entry(key: "maxContinuations", unit: "frames per header block", value: n(maxContinuations),
                  attack: "CONTINUATION flood, CVE-2024-28182",
                  enforcedBy: "nghttp2 max_continuations + H2ServerSession"),
            Entry(key: "maxSettingsEntries", unit: "entries per SETTINGS", value: n(maxSettingsEntries),
                  attack: "large SETTINGS, CVE-2020-11080", enforcedBy: "nghttp2 max_settings"),
            Entry(key: "maxOutboundAcks", unit: "queued ACK frames", value: n(maxOutboundAcks),
                  attack: "ping/settings flood, CVE-2019-9512/9515", enforcedBy: "nghttp2 max_outbound_ack"),
            Entry(key: "defaultMaxBodyBytes", unit: "bytes", value: n(defaultMaxBodyBytes),
                  attack: "request body memory", enforcedBy: "H2ServerSession on_data (413)"),
            Entry(key: "maxBodyBytesPerVerb", unit: "bytes per verb", value: verbs,
                  attack: "request body memory", enforcedBy: "H2ServerSession on_data (413)"),
            Entry(key: "hardMaxBodyBytes", unit: "bytes", value: n(hardMaxBodyBytes),
                  attack: "misconfigured verb table", enforcedBy: "GatewayLimits.validate + clamp"),
            Entry(key: "maxBufferedBodyBytesPerConnection", unit: "reserved body bytes per connection",
                  value: n(maxBufferedBodyBytesPerConnection),
                  attack: "request bodies buffered across many streams",
                  enforcedBy: "H2ServerSession (no flow-control credit until admitted)"),
            Entry(key: "maxBufferedBodyBytesGlobal", unit: "reserved body bytes", value: n(maxBufferedBodyBytesGlobal),
                  attack: "request bodies buffered across many connections",
                  enforcedBy: "BodyBudget shared by every session (no credit until admitted)"),
            Entry(key: "maxStreamsPerConnection", unit: "streams per connection", value: n(maxStreamsPerConnection),
                  attack: "rapid reset, CVE-2023-44487", enforcedBy: "H2ServerSession (GOAWAY NO_ERROR, drain)"),
            Entry(key: "resetBudget", unit: "peer RST_STREAM token bucket", value: bucket(resetBudget),
                  attack: "rapid reset, CVE-2023-44487",
                  enforcedBy: "H2ServerSession + nghttp2 stream_reset_rate_limit (GOAWAY ENHANCE_YOUR_CALM)"),
            Entry(key: "glitchBudget", unit: "glitch token bucket", value: bucket(glitchBudget),
                  attack: "MadeYouReset CVE-2025-8671, empty frames CVE-2019-9518",
                  enforcedBy: "H2ServerSession (GOAWAY ENHANCE_YOUR_CALM)"),
            Entry(key: "smallDataFrameBytes", unit: "bytes (a smaller non-final DATA frame is a glitch)",
                  value: n(smallDataFrameBytes), attack: "data dribble, CVE-2019-9511",
                  enforcedBy: "H2ServerSession on_frame_send (glitch budget)"),
            Entry(key: "maxOutboundQueueFrames", unit: "frames", value: n(maxOutboundQueueFrames),
                  attack: "reset flood CVE-2019-9514, data dribble CVE-2019-9511",
                  enforcedBy: "H2ServerSession (terminate)"),
            Entry(key: "writeHighWaterBytes", unit: "bytes", value: n(writeHighWaterBytes),
                  attack: "internal data buffering, CVE-2019-9517",
                  enforcedBy: "connection layer via H2ServerSession.produce(max:)"),
            Entry(key: "maxInFlightPerConnection", unit: "running handler tasks per connection",
                  value: n(maxInFlightPerConnection),
                  attack: "reset streams whose work keeps running, handler fan-out",
                  enforcedBy: "connection layer (503 overloaded)"),
            Entry(key: "maxInFlightGlobal", unit: "running handler tasks", value: n(maxInFlightGlobal),
                  attack: "handler work across many connections",
                  enforcedBy: "connection layer (503 overloaded)"),
            Entry(key: "handshakeTimeout", unit: "seconds", value: s(handshakeTimeout),
                  attack: "slow TLS handshake (slowloris)", enforcedBy: "connection layer"),
            Entry(key: "firstRequestTimeout", unit: "seconds", value: s(firstRequestTimeout),
                  attack: "connection that never sends a request", enforcedBy: "connection layer"),
            Entry(key: "requestTimeout", unit: "seconds", value: s(requestTimeout),
                  attack: "slow headers/body dribble", enforcedBy: "H2ServerSession.expireStalledStreams"),
            Entry(key: "responseStallTimeout", unit: "seconds", value: s(responseStallTimeout),
                  attack: "window-0 client pinning a response", enforcedBy: "H2ServerSession.expireStalledStreams"),
            Entry(key: "idleTimeout", unit: "seconds", value: s(idleTimeout),
                  attack: "idle connection hoarding", enforcedBy: "connection layer"),
            Entry(key: "maxConnectionAge", unit: "seconds", value: s(maxConnectionAge),
                  attack: "immortal connections, stale identities", enforcedBy: "connection layer (graceful GOAWAY)"),
            Entry(key: "maxConnectionsPerIP", unit: "authenticated connections", value: n(maxConnectionsPerIP),
                  attack: "one host exhausting the listener", enforcedBy: "connection layer after the handshake"),
            Entry(key: "maxConnectionsGlobal", unit: "authenticated connections", value: n(maxConnectionsGlobal),
                  attack: "fd and memory exhaustion", enforcedBy: "connection layer after the handshake"),
            Entry(key: "maxConnectionsPerIdentity", unit: "authenticated connections per SPIFFE ID",
                  value: n(maxConnectionsPerIdentity),
                  attack: "one identity hoarding the authenticated budget",
                  enforcedBy: "connection layer after the handshake"),
            Entry(key: "maxPreAuthPerSource", unit: "unauthenticated sockets per source",
                  value: n(maxPreAuthPerSource),
                  attack: "slowloris on TLS / connection flood from the agent's own address",
                  enforcedBy: "PreAuthBudget (evicts the source's oldest)"),
            Entry(key: "maxPreAuthGlobal", unit: "unauthenticated sockets", value: n(maxPreAuthGlobal),
                  attack: "pre-authentication exhaustion from many sources",
                  enforcedBy: "PreAuthBudget (evicts the oldest)"),
            Entry(key: "preAuthIPv6PrefixLength", unit: "bits", value: n(preAuthIPv6PrefixLength),
                  attack: "address rotation inside one IPv6 prefix", enforcedBy: "SourceAddress.key"),
            Entry(key: "handshakeRatePerSource", unit: "handshake token bucket per source (spent by a socket's first bytes)",
                  value: bucket(handshakeRatePerSource),
                  attack: "handshake flood, eviction churn from one source",
                  enforcedBy: "PreAuthBudget (queued in arrival order up to 0.25 s, else closed before TLS work)"),
            Entry(key: "handshakeRateGlobal", unit: "handshake token bucket (spent by a socket's first bytes)", value: bucket(handshakeRateGlobal),
                  attack: "handshake CPU, eviction churn from many sources",
                  enforcedBy: "PreAuthBudget (closed before TLS work)"),
        ]
    }

    /// The catalog as the markdown table of `docs/limits.md`.
    public var markdownTable: String {
        var lines = ["| Key | Unit | Default | Attack bounded | Enforced by |",
                     "|---|---|---|---|---|"]
        for e in catalog {
            lines.append("| `\(e.key)` | \(e.unit) | \(e.value) | \(e.attack) | \(e.enforcedBy) |")
        }
        return lines.joined(separator: "\n")
    }
}
