import AgentKernel
import CapgateCore

extension ServerConfig {
    /// `[limits]`: any `GatewayLimits` property by its name (docs/limits.md), then
    /// `GatewayLimits.validate()`, so an unsafe combination fails at start-up.
    static func applyLimits(_ t: inout Table) throws(ConfigError) -> GatewayLimits {
        var l = GatewayLimits()
        func int(_ k: String, _ set: (inout GatewayLimits, Int) -> Void) throws(ConfigError) {
            if let v = try t.optionalInt(k) { set(&l, v) }
        }
        func seconds(_ k: String, _ set: (inout GatewayLimits, Double) -> Void) throws(ConfigError) {
            if let v = try t.optionalNumber(k) { set(&l, v) }
        }
        func bucket(_ k: String, _ set: (inout GatewayLimits, TokenBucket.Rate) -> Void) throws(ConfigError) {
            guard t.object[k] != nil else { return }
            var b = try t.optionalNested(k)
            guard let burst = try b.optionalInt("burst"), let rate = try b.optionalNumber("per_second") else {
                throw ConfigError(t.path(k), "needs burst and per_second")
            }
            try b.finish()
            set(&l, TokenBucket.Rate(burst: burst, perSecond: rate))
        }
        try int("maxConcurrentStreams") { $0.maxConcurrentStreams = $1 }
        try int("initialStreamWindow") { $0.initialStreamWindow = $1 }
        try int("connectionWindow") { $0.connectionWindow = $1 }
        try int("headerTableSize") { $0.headerTableSize = $1 }
        try int("maxHeaderListBytes") { $0.maxHeaderListBytes = $1 }
        try int("maxHeaderFields") { $0.maxHeaderFields = $1 }
        try int("maxContinuations") { $0.maxContinuations = $1 }
        try int("maxSettingsEntries") { $0.maxSettingsEntries = $1 }
        try int("maxOutboundAcks") { $0.maxOutboundAcks = $1 }
        try int("defaultMaxBodyBytes") { $0.defaultMaxBodyBytes = $1 }
        try int("hardMaxBodyBytes") { $0.hardMaxBodyBytes = $1 }
        try int("maxBufferedBodyBytesPerConnection") { $0.maxBufferedBodyBytesPerConnection = $1 }
        try int("maxBufferedBodyBytesGlobal") { $0.maxBufferedBodyBytesGlobal = $1 }
        try int("maxStreamsPerConnection") { $0.maxStreamsPerConnection = $1 }
        try int("smallDataFrameBytes") { $0.smallDataFrameBytes = $1 }
        try int("maxOutboundQueueFrames") { $0.maxOutboundQueueFrames = $1 }
        try int("writeHighWaterBytes") { $0.writeHighWaterBytes = $1 }
        try int("maxConnectionsPerIP") { $0.maxConnectionsPerIP = $1 }
        try int("maxConnectionsGlobal") { $0.maxConnectionsGlobal = $1 }
        try int("maxInFlightPerConnection") { $0.maxInFlightPerConnection = $1 }
        try int("maxInFlightGlobal") { $0.maxInFlightGlobal = $1 }
        try int("maxConnectionsPerIdentity") { $0.maxConnectionsPerIdentity = $1 }
        try int("maxPreAuthPerSource") { $0.maxPreAuthPerSource = $1 }
        try int("maxPreAuthGlobal") { $0.maxPreAuthGlobal = $1 }
        try int("preAuthIPv6PrefixLength") { $0.preAuthIPv6PrefixLength = $1 }
        try seconds("handshakeTimeout") { $0.handshakeTimeout = $1 }
        try seconds("firstRequestTimeout") { $0.firstRequestTimeout = $1 }
        try seconds("requestTimeout") { $0.requestTimeout = $1 }
        try seconds("responseStallTimeout") { $0.responseStallTimeout = $1 }
        try seconds("idleTimeout") { $0.idleTimeout = $1 }
        try seconds("maxConnectionAge") { $0.maxConnectionAge = $1 }
        try bucket("resetBudget") { $0.resetBudget = $1 }
        try bucket("glitchBudget") { $0.glitchBudget = $1 }
        try bucket("handshakeRatePerSource") { $0.handshakeRatePerSource = $1 }
        try bucket("handshakeRateGlobal") { $0.handshakeRateGlobal = $1 }
        if t.object["maxBodyBytesPerVerb"] != nil {
            var verbs = try t.optionalNested("maxBodyBytesPerVerb")
            for k in verbs.object.keys {
                guard let v = try verbs.optionalInt(k) else { continue }
                l.maxBodyBytesPerVerb[k] = v
            }
            try verbs.finish()
        }
        do throws(GatewayLimitsError) { try l.validate() } catch {
            throw ConfigError("limits.\(error.key)", error.reason)
        }
        return l
    }
}
