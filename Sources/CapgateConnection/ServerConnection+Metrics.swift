import CapgateHTTP2

// The few numbers the transport keeps only for metrics (docs/operations.md, "Metrics"): how
// many connections are draining now, and the GOAWAYs sent by error code. Counted on the
// connection's own loop at the phase change, so the scrape reads totals and never walks
// connections.
extension ServerConnection {
    /// Once the lifecycle entered draining: count the connection as draining (until it closes)
    /// and the NO_ERROR GOAWAY that began the drain (`goAway`; nil when the GOAWAY was counted
    /// already, as a trip's).
    func noteDrainingStarted(goAway: H2ErrorCode?) {
        guard !countedDraining, lifecycle.phase == .draining else { return }
        countedDraining = true
        shared.counters.draining.add(1, ordering: .relaxed)
        if let goAway { shared.counters.recordGoAway(goAway.description) }
    }

    /// On close: leave the draining count.
    func noteClosedForMetrics() {
        guard countedDraining else { return }
        countedDraining = false
        shared.counters.draining.subtract(1, ordering: .relaxed)
    }
}

extension H2ConnectionTrip {
    /// The error code of the GOAWAY the session sent for this trip; nil when it terminated
    /// without one (an outbound queue overflow is not flushed).
    public var goAwayCode: H2ErrorCode? {
        switch self {
        case .resetFlood, .glitchFlood, .continuationFlood, .headerFlood: .enhanceYourCalm
        case .outboundQueueOverflow: nil
        case .protocolError(let code): code
        case .internalError: .internalError
        }
    }
}
