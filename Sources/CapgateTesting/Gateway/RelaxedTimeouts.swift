import CapgateCore

extension GatewayLimits {
    /// The relaxed values: long enough for a client opened early on a loaded 2-core machine.
    static let relaxedHandshakeTimeout: Double = 120
    static let relaxedFirstRequestTimeout: Double = 120
    static let relaxedIdleTimeout: Double = 300

    /// Tests open a client early and may use it only after other calls; under a loaded
    /// machine the 10 s first-request and handshake timeouts can pass in between. The
    /// timeouts have their own tests, which do not call this.
    public mutating func relaxTimeoutsForTests() {
        handshakeTimeout = Self.relaxedHandshakeTimeout
        firstRequestTimeout = Self.relaxedFirstRequestTimeout
        idleTimeout = Self.relaxedIdleTimeout
    }

    /// `relaxTimeoutsForTests()` for the timeouts a test left at their defaults: a test that
    /// sets one (to test it) keeps its value.
    public func relaxingDefaultTimeoutsForTests() -> GatewayLimits {
        let defaults = GatewayLimits()
        var relaxed = self
        if handshakeTimeout == defaults.handshakeTimeout { relaxed.handshakeTimeout = Self.relaxedHandshakeTimeout }
        if firstRequestTimeout == defaults.firstRequestTimeout {
            relaxed.firstRequestTimeout = Self.relaxedFirstRequestTimeout
        }
        if idleTimeout == defaults.idleTimeout { relaxed.idleTimeout = Self.relaxedIdleTimeout }
        return relaxed
    }
}
