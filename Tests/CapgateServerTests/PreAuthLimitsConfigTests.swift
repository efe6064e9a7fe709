import CapgateServer
import Testing

/// The pre-authentication limits are `[limits]` keys like every other `GatewayLimits` property.
@Suite struct PreAuthLimitsConfigTests {
    static let base = MinimalConfig.text()

    @Test func keysAreReadAndValidated() throws {
        let config = try ServerConfig.parse(Self.base + """
            [limits]
            maxPreAuthPerSource = 16
            maxPreAuthGlobal = 256
            preAuthIPv6PrefixLength = 56
            maxConnectionsPerIdentity = 32
            handshakeRatePerSource = { burst = 20, per_second = 5 }
            handshakeRateGlobal = { burst = 400, per_second = 100 }

            """, baseDirectory: "/etc/capgate")
        let l = config.limits
        #expect(l.maxPreAuthPerSource == 16 && l.maxPreAuthGlobal == 256)
        #expect(l.preAuthIPv6PrefixLength == 56 && l.maxConnectionsPerIdentity == 32)
        #expect(l.handshakeRatePerSource.burst == 20 && l.handshakeRatePerSource.perSecond == 5)
        #expect(l.handshakeRateGlobal.burst == 400 && l.handshakeRateGlobal.perSecond == 100)

        #expect {
            try ServerConfig.parse(Self.base + "[limits]\npreAuthIPv6PrefixLength = 200\n", baseDirectory: "/")
        } throws: { error in
            "\(error)".contains("limits.preAuthIPv6PrefixLength")
        }
    }
}
