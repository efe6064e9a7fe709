import CapgateCore

extension GatewayLimits {
    /// Tests open a client early and may use it only after other calls; under a loaded
    /// machine (the whole suite runs in parallel on 2 cores) the 10 s first-request and
    /// handshake timeouts can pass in between. The timeouts have their own tests, which
    /// do not call this.
    public mutating func relaxTimeoutsForTests() {
        handshakeTimeout = 120
        firstRequestTimeout = 120
        idleTimeout = 300
    }

    /// `relaxTimeoutsForTests()` for the timeouts a test left at their defaults: a test that
    /// sets one (to test it) keeps its value.
    public func relaxingDefaultTimeoutsForTests() -> GatewayLimits {
        let defaults = GatewayLimits()
        var relaxed = self
        if handshakeTimeout == defaults.handshakeTimeout { relaxed.handshakeTimeout = 120 }
        if firstRequestTimeout == defaults.firstRequestTimeout { relaxed.firstRequestTimeout = 120 }
        if idleTimeout == defaults.idleTimeout { relaxed.idleTimeout = 300 }
        return relaxed
    }
}
