/// Start-up validation: a bad limit fails fast with the name of its key (docs/design.md habit
/// 9) instead of silently weakening a defence at run time.
public struct GatewayLimitsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The offending key, as in `GatewayLimits.catalog`.
    public let key: String
    public let reason: String
    public var description: String { "invalid limit '\(key)': \(reason)" }
}

extension GatewayLimits {
    /// RFC 9113 §6.5.2 / §6.9.1: windows are 31-bit; SETTINGS values are 32-bit.
    static let maxWindow = 2_147_483_647

    /// Checks every limit; throws the first violation, naming its key.
    public func validate() throws(GatewayLimitsError) {
        func positive(_ v: Int, _ key: String) throws(GatewayLimitsError) {
            if v <= 0 { throw GatewayLimitsError(key: key, reason: "must be > 0, got \(v)") }
        }
        func positive(_ v: Double, _ key: String) throws(GatewayLimitsError) {
            if !(v > 0) || !v.isFinite {
                throw GatewayLimitsError(key: key, reason: "must be a finite number > 0, got \(v)")
            }
        }
        try positive(maxConcurrentStreams, "maxConcurrentStreams")
        try positive(initialStreamWindow, "initialStreamWindow")
        try positive(connectionWindow, "connectionWindow")
        if initialStreamWindow > Self.maxWindow {
            throw GatewayLimitsError(key: "initialStreamWindow", reason: "exceeds 2^31-1 (RFC 9113 §6.9.2)")
        }
        if connectionWindow > Self.maxWindow {
            throw GatewayLimitsError(key: "connectionWindow", reason: "exceeds 2^31-1 (RFC 9113 §6.9.1)")
        }
        if connectionWindow < 65_535 {
            // RFC 9113 §6.9.2: the connection window starts at 65535; shrinking it below the
            // initial value would need the peer to overrun it first.
            throw GatewayLimitsError(key: "connectionWindow", reason: "must be >= 65535")
        }
        if headerTableSize < 0 || headerTableSize > Int(UInt32.max) {
            throw GatewayLimitsError(key: "headerTableSize", reason: "must be in 0...2^32-1")
        }
        try positive(maxHeaderListBytes, "maxHeaderListBytes")
        try positive(maxHeaderFields, "maxHeaderFields")
        if maxHeaderFields < 4 {
            throw GatewayLimitsError(key: "maxHeaderFields", reason: "must allow the 4 request pseudo-headers")
        }
        try positive(maxContinuations, "maxContinuations")
        try positive(maxSettingsEntries, "maxSettingsEntries")
        try positive(maxOutboundAcks, "maxOutboundAcks")
        try positive(hardMaxBodyBytes, "hardMaxBodyBytes")
        try positive(defaultMaxBodyBytes, "defaultMaxBodyBytes")
        if defaultMaxBodyBytes > hardMaxBodyBytes {
            throw GatewayLimitsError(key: "defaultMaxBodyBytes", reason: "exceeds hardMaxBodyBytes \(hardMaxBodyBytes)")
        }
        for (verb, cap) in maxBodyBytesPerVerb.sorted(by: { $0.key < $1.key }) {
            if cap <= 0 || cap > hardMaxBodyBytes {
                throw GatewayLimitsError(key: "maxBodyBytesPerVerb.\(verb)",
                                         reason: "must be in 1...hardMaxBodyBytes (\(hardMaxBodyBytes)), got \(cap)")
            }
        }
        try positive(maxBufferedBodyBytesPerConnection, "maxBufferedBodyBytesPerConnection")
        try positive(maxBufferedBodyBytesGlobal, "maxBufferedBodyBytesGlobal")
        if maxBufferedBodyBytesPerConnection > maxBufferedBodyBytesGlobal {
            throw GatewayLimitsError(key: "maxBufferedBodyBytesPerConnection",
                                     reason: "exceeds maxBufferedBodyBytesGlobal")
        }
        try positive(maxStreamsPerConnection, "maxStreamsPerConnection")
        for (rate, key) in [(resetBudget, "resetBudget"), (glitchBudget, "glitchBudget")] {
            if rate.burst <= 0 || !(rate.perSecond >= 0) || !rate.perSecond.isFinite {
                throw GatewayLimitsError(key: key, reason: "burst must be > 0 and rate a finite number >= 0")
            }
        }
        if smallDataFrameBytes < 0 || smallDataFrameBytes > 16_384 {
            throw GatewayLimitsError(key: "smallDataFrameBytes",
                                     reason: "must be 0 (off) to 16384 (the smallest frame size), got \(smallDataFrameBytes)")
        }
        try positive(maxOutboundQueueFrames, "maxOutboundQueueFrames")
        try positive(writeHighWaterBytes, "writeHighWaterBytes")
        try positive(handshakeTimeout, "handshakeTimeout")
        try positive(firstRequestTimeout, "firstRequestTimeout")
        try positive(requestTimeout, "requestTimeout")
        try positive(responseStallTimeout, "responseStallTimeout")
        try positive(idleTimeout, "idleTimeout")
        try positive(maxConnectionAge, "maxConnectionAge")
        try positive(maxConnectionsPerIP, "maxConnectionsPerIP")
        try positive(maxConnectionsGlobal, "maxConnectionsGlobal")
        try positive(maxInFlightPerConnection, "maxInFlightPerConnection")
        try positive(maxInFlightGlobal, "maxInFlightGlobal")
        if maxConnectionsPerIP > maxConnectionsGlobal {
            throw GatewayLimitsError(key: "maxConnectionsPerIP", reason: "exceeds maxConnectionsGlobal")
        }
        try positive(maxConnectionsPerIdentity, "maxConnectionsPerIdentity")
        if maxConnectionsPerIdentity > maxConnectionsGlobal {
            throw GatewayLimitsError(key: "maxConnectionsPerIdentity", reason: "exceeds maxConnectionsGlobal")
        }
        try positive(maxPreAuthPerSource, "maxPreAuthPerSource")
        try positive(maxPreAuthGlobal, "maxPreAuthGlobal")
        if maxPreAuthPerSource > maxPreAuthGlobal {
            throw GatewayLimitsError(key: "maxPreAuthPerSource", reason: "exceeds maxPreAuthGlobal")
        }
        if preAuthIPv6PrefixLength < 1 || preAuthIPv6PrefixLength > 128 {
            throw GatewayLimitsError(key: "preAuthIPv6PrefixLength",
                                     reason: "must be in 1...128, got \(preAuthIPv6PrefixLength)")
        }
        for (rate, key) in [(handshakeRatePerSource, "handshakeRatePerSource"),
                            (handshakeRateGlobal, "handshakeRateGlobal")] {
            // A zero refill would let a burst lock a source out for good.
            if rate.burst <= 0 || !(rate.perSecond > 0) || !rate.perSecond.isFinite {
                throw GatewayLimitsError(key: key, reason: "burst must be > 0 and rate a finite number > 0")
            }
        }
    }
}
