import CapgateCore
import Testing

/// The pre-authentication and authenticated-connection limits: defaults, the descriptor need,
/// and validation that names the key.
@Suite struct GatewayLimitsPreAuthTests {
    @Test func defaults() {
        let l = GatewayLimits()
        #expect(l.maxPreAuthPerSource == 128 && l.maxPreAuthGlobal == 1_024)
        #expect(l.preAuthIPv6PrefixLength == 64)
        #expect(l.maxConnectionsPerIdentity == 64)
        #expect(l.maxConnectionsPerIdentity < l.maxConnectionsPerIP, "one identity must not fill its host's per-IP budget")
        #expect(l.handshakeRatePerSource == TokenBucket.Rate(burst: 512, perSecond: 256))
        #expect(l.handshakeRateGlobal == TokenBucket.Rate(burst: 2_048, perSecond: 1_024))
        #expect(l.requiredDescriptors == 4_096 + 1_024 + 64)
    }

    @Test func validationNamesTheKey() {
        func key(_ change: (inout GatewayLimits) -> Void) -> String? {
            var l = GatewayLimits()
            change(&l)
            do { try l.validate() } catch { return error.key }
            return nil
        }
        #expect(key { $0.maxPreAuthPerSource = 0 } == "maxPreAuthPerSource")
        #expect(key { $0.maxPreAuthPerSource = 2_000 } == "maxPreAuthPerSource")  // > global
        #expect(key { $0.maxPreAuthGlobal = -1 } == "maxPreAuthGlobal")
        #expect(key { $0.preAuthIPv6PrefixLength = 0 } == "preAuthIPv6PrefixLength")
        #expect(key { $0.preAuthIPv6PrefixLength = 129 } == "preAuthIPv6PrefixLength")
        #expect(key { $0.maxConnectionsPerIdentity = 0 } == "maxConnectionsPerIdentity")
        #expect(key { $0.maxConnectionsPerIdentity = 5_000 } == "maxConnectionsPerIdentity")  // > global
        #expect(key { $0.handshakeRatePerSource = .init(burst: 0, perSecond: 1) } == "handshakeRatePerSource")
        // A zero refill would lock a source out for good after one burst.
        #expect(key { $0.handshakeRateGlobal = .init(burst: 10, perSecond: 0) } == "handshakeRateGlobal")
        #expect(key { $0.handshakeRateGlobal = .init(burst: 10, perSecond: .infinity) } == "handshakeRateGlobal")
        #expect(key { _ in } == nil)
    }
}
