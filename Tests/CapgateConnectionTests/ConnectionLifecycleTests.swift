import CapgateConnection
import CapgateIO
import Testing

/// A hand-moved monotonic clock: the lifecycle never reads time itself.
struct ManualClock {
    private(set) var now = Deadline(nanoseconds: 1_000_000_000_000)
    /// How often the machine asked for the time (the hot path must not).
    private(set) var reads = 0

    mutating func advance(_ duration: Duration) { now = now + duration }
    mutating func read() -> Deadline {
        reads += 1
        return now
    }
}

/// Timeouts far apart so each deadline is reached alone.
private let timeouts = ConnectionLifecycle.Timeouts(handshake: .seconds(10), firstRequest: .seconds(20),
                                                     idle: .seconds(120), maxAge: .seconds(3_600),
                                                     drain: .seconds(30))
/// Wall clock (Unix seconds) at the handshake; certificate notAfter values are relative to it.
private let wallNow: Int64 = 1_800_000_000
/// A certificate that outlives `maxAge` (the age deadline stays `maxConnectionAge`).
private let farNotAfter = wallNow + 86_400

/// Every transition and every deadline of `ConnectionLifecycle`, driven without sockets.
@Suite("Connection lifecycle state machine")
struct ConnectionLifecycleTests {
    var clock = ManualClock()

    func fresh() -> ConnectionLifecycle { ConnectionLifecycle(timeouts: timeouts, now: clock.now) }

    /// Accepted at the clock's start, handshake done 1 s later; `withRequest`: a stream
    /// opened, so the first-request deadline is out of the way.
    mutating func established(withRequest: Bool = true) -> ConnectionLifecycle {
        var l = fresh()
        clock.advance(.seconds(1))
        l.handshakeCompleted(now: clock.now, certificateNotAfter: farNotAfter, wallClockNow: wallNow)
        if withRequest { l.sessionObserved(idle: false, anyStreamOpened: true, now: { clock.now }) }
        return l
    }

    // MARK: Handshaking

    @Test func startsHandshakingWithTheHandshakeDeadlineFirst() {
        let l = fresh()
        #expect(l.phase == .handshaking)
        #expect(!l.isEstablished)
        #expect(l.endReason == nil)
        #expect(l.nextDeadline == clock.now + .seconds(10))
    }

    @Test mutating func handshakeDeadlineClosesWithoutNotifyAndCountsATrip() {
        var l = fresh()
        clock.advance(.milliseconds(9_999))
        #expect(l.deadlinesReached(now: clock.now).isEmpty)  // a timer firing early does nothing
        #expect(l.phase == .handshaking)
        clock.advance(.milliseconds(1))
        #expect(l.deadlinesReached(now: clock.now)
                == [.countTimeout(.handshakeTimeout), .close(.handshakeTimeout, notifyPeer: false)])
        #expect(l.phase == .closed)
        #expect(l.nextDeadline == nil)
    }

    @Test mutating func maxAgeDuringHandshakeClosesAtOnce() {
        var l = ConnectionLifecycle(timeouts: .init(handshake: .seconds(10), firstRequest: .seconds(20), idle: .seconds(120),
                                                    maxAge: .seconds(5), drain: .seconds(30)),
                                    now: clock.now)
        #expect(l.nextDeadline == clock.now + .seconds(5))
        clock.advance(.seconds(5))
        #expect(l.deadlinesReached(now: clock.now) == [.close(.maxConnectionAge, notifyPeer: false)])
        #expect(l.phase == .closed)
    }

    @Test mutating func drainDuringHandshakeClosesAtOnce() {
        var l = fresh()
        #expect(l.drain(.serverShutdown, now: clock.now) == [.close(.serverShutdown, notifyPeer: false)])
        #expect(l.phase == .closed)
        #expect(l.nextDeadline == nil)
    }

    @Test func sessionEventsBeforeTheHandshakeAreIgnored() {
        var l = fresh()
        var reads = 0
        l.sessionObserved(idle: true, anyStreamOpened: false, now: { reads += 1; return clock.now })
        l.sessionSentGoAway(.streamLimitDrained, overrides: true, now: clock.now)
        l.peerSentGoAway()
        #expect(reads == 0)
        #expect(l.phase == .handshaking)
        #expect(l.endReason == nil)
        #expect(l.nextDeadline == clock.now + .seconds(10))
    }

    // MARK: Active

    @Test mutating func handshakeCompletedStartsTheFirstRequestDeadline() {
        let l = established(withRequest: false)
        #expect(l.phase == .active)
        #expect(l.isEstablished)
        #expect(l.nextDeadline == clock.now + .seconds(20))
    }

    @Test mutating func firstRequestDeadlineDrainsAndCountsATrip() {
        var l = established(withRequest: false)
        clock.advance(.seconds(20))
        #expect(l.deadlinesReached(now: clock.now) == [.countTimeout(.firstRequestTimeout), .sendGoAway])
        #expect(l.phase == .draining)
        #expect(l.endReason == .firstRequestTimeout)
        #expect(l.nextDeadline == clock.now + .seconds(30))  // the drain deadline
    }

    @Test mutating func aStreamClearsTheFirstRequestDeadline() {
        var l = established(withRequest: false)
        let start = clock.now
        l.sessionObserved(idle: false, anyStreamOpened: true, now: { clock.now })
        #expect(l.nextDeadline == start + .seconds(3_599))  // only the age deadline is left
        clock.advance(.seconds(20))
        #expect(l.deadlinesReached(now: clock.now).isEmpty)
        #expect(l.phase == .active)
    }

    @Test mutating func idleDeadlineDrainsAndReadsTheClockOnlyOnTheIdleEdge() {
        var l = established()
        l.sessionObserved(idle: false, anyStreamOpened: true, now: { clock.read() })
        l.sessionObserved(idle: false, anyStreamOpened: true, now: { clock.read() })
        #expect(clock.reads == 0)  // busy: no clock read
        clock.advance(.seconds(5))
        l.sessionObserved(idle: true, anyStreamOpened: true, now: { clock.read() })
        l.sessionObserved(idle: true, anyStreamOpened: true, now: { clock.read() })
        #expect(clock.reads == 1)  // the busy -> idle edge only
        let idleAt = clock.now
        #expect(l.nextDeadline == idleAt + .seconds(120))
        clock.advance(.milliseconds(119_999))
        #expect(l.deadlinesReached(now: clock.now).isEmpty)
        clock.advance(.milliseconds(1))
        #expect(l.deadlinesReached(now: clock.now) == [.countTimeout(.idleTimeout), .sendGoAway])
        #expect(l.endReason == .idleTimeout)
        #expect(l.phase == .draining)
    }

    @Test mutating func activityRestartsTheIdleClock() {
        var l = established()
        l.sessionObserved(idle: true, anyStreamOpened: true, now: { clock.now })
        clock.advance(.seconds(100))
        l.sessionObserved(idle: false, anyStreamOpened: true, now: { clock.now })  // a request
        clock.advance(.seconds(1))
        l.sessionObserved(idle: true, anyStreamOpened: true, now: { clock.now })
        let restarted = clock.now
        clock.advance(.seconds(20))  // 121 s after the first idle start: not due any more
        #expect(l.deadlinesReached(now: clock.now).isEmpty)
        #expect(l.nextDeadline == restarted + .seconds(120))
    }

    @Test mutating func idleFiresOncePerIdlePeriod() {
        var l = established()
        l.sessionObserved(idle: true, anyStreamOpened: true, now: { clock.now })
        clock.advance(.seconds(120))
        #expect(l.deadlinesReached(now: clock.now) == [.countTimeout(.idleTimeout), .sendGoAway])
        // Still idle after the GOAWAY: the same period does not fire again.
        l.sessionObserved(idle: true, anyStreamOpened: true, now: { clock.now })
        clock.advance(.seconds(29))
        #expect(l.deadlinesReached(now: clock.now).isEmpty)
        #expect(l.nextDeadline == clock.now + .seconds(1))  // the drain deadline
    }

    @Test mutating func maxAgeDrainsAServingConnection() {
        var l = established()
        clock.advance(.seconds(3_599))  // 3600 s after accept
        #expect(l.deadlinesReached(now: clock.now) == [.sendGoAway])
        #expect(l.endReason == .maxConnectionAge)
        #expect(l.phase == .draining)
    }

    // MARK: Client certificate expiry

    @Test mutating func certificateExpiringBeforeMaxAgeDrainsAtNotAfter() {
        var l = fresh()
        clock.advance(.seconds(1))
        l.handshakeCompleted(now: clock.now, certificateNotAfter: wallNow + 300, wallClockNow: wallNow)
        l.sessionObserved(idle: false, anyStreamOpened: true, now: { clock.now })
        #expect(l.nextDeadline == clock.now + .seconds(300))
        clock.advance(.seconds(300))
        #expect(l.deadlinesReached(now: clock.now) == [.sendGoAway])
        #expect(l.endReason == .certificateExpired)
    }

    @Test mutating func certificateOutlivingMaxAgeKeepsTheAgeReason() {
        var l = fresh()
        clock.advance(.seconds(600))  // a slow handshake: the age budget left is 3000 s
        l.handshakeCompleted(now: clock.now, certificateNotAfter: wallNow + 3_100, wallClockNow: wallNow)
        l.sessionObserved(idle: false, anyStreamOpened: true, now: { clock.now })
        #expect(l.nextDeadline == clock.now + .seconds(3_000))
        clock.advance(.seconds(3_000))
        #expect(l.deadlinesReached(now: clock.now) == [.sendGoAway])
        #expect(l.endReason == .maxConnectionAge)
    }

    @Test mutating func alreadyExpiredCertificateIsDueAtOnce() {
        var l = fresh()
        l.handshakeCompleted(now: clock.now, certificateNotAfter: wallNow - 10, wallClockNow: wallNow)
        #expect(l.nextDeadline == clock.now)
        #expect(l.deadlinesReached(now: clock.now) == [.sendGoAway])
        #expect(l.endReason == .certificateExpired)
    }

    // MARK: Draining

    @Test mutating func revocationDrainIsBoundedByTheDrainDeadline() {
        var l = established()
        #expect(l.drain(.certificateRevoked, now: clock.now) == [.sendGoAway])
        #expect(l.phase == .draining)
        #expect(l.endReason == .certificateRevoked)
        let drainDue = clock.now + .seconds(30)
        #expect(l.nextDeadline == drainDue)
        clock.advance(.seconds(30))
        #expect(l.deadlinesReached(now: clock.now)
                == [.countTimeout(.drainTimeout), .close(.drainTimeout, notifyPeer: true)])
        #expect(l.phase == .closed)
        #expect(l.nextDeadline == nil)
    }

    @Test mutating func aSecondDrainKeepsTheFirstReasonAndDeadline() {
        var l = established()
        _ = l.drain(.certificateRevoked, now: clock.now)
        let drainDue = clock.now + .seconds(30)
        clock.advance(.seconds(10))
        #expect(l.drain(.serverShutdown, now: clock.now) == [.sendGoAway])  // GOAWAY is idempotent
        #expect(l.endReason == .certificateRevoked)
        #expect(l.nextDeadline == drainDue)
    }

    @Test mutating func drainedSessionFinishesWithTheDrainReason() {
        var l = established()
        _ = l.drain(.serverShutdown, now: clock.now)
        #expect(l.sessionFinished() == [.close(.serverShutdown, notifyPeer: true)])
        #expect(l.phase == .closed)
    }

    @Test mutating func sessionGoAwayFromATripOverridesAndStartsTheDrainDeadline() {
        var l = established()
        _ = l.drain(.serverShutdown, now: clock.now)
        l.sessionSentGoAway(.idleTimeout, overrides: true, now: clock.now)
        #expect(l.endReason == .idleTimeout)
        var m = established()
        m.sessionSentGoAway(.streamLimitDrained, overrides: false, now: clock.now)
        #expect(m.phase == .draining)
        #expect(m.endReason == .streamLimitDrained)
        #expect(m.nextDeadline == clock.now + .seconds(30))
        m.sessionSentGoAway(.completed, overrides: false, now: clock.now)
        #expect(m.endReason == .streamLimitDrained)  // the first reason stays
    }

    @Test mutating func peerGoAwayRecordsPeerClosedUnlessAReasonExists() {
        var l = established()
        l.peerSentGoAway()
        #expect(l.phase == .active)  // the peer drains itself: no deadline of ours
        #expect(l.sessionFinished() == [.close(.peerClosed, notifyPeer: true)])
        var m = established()
        _ = m.drain(.maxConnectionAge, now: clock.now)
        m.peerSentGoAway()
        #expect(m.endReason == .maxConnectionAge)
    }

    @Test mutating func finishedWithoutAReasonIsCompleted() {
        var l = established()
        #expect(l.sessionFinished() == [.close(.completed, notifyPeer: true)])
        #expect(l.sessionFinished().isEmpty)
    }

    // MARK: Closed

    @Test mutating func closedIgnoresEveryEvent() {
        var l = established()
        l.sessionObserved(idle: true, anyStreamOpened: false, now: { clock.now })
        l.markClosed()
        #expect(l.phase == .closed)
        #expect(l.nextDeadline == nil)
        clock.advance(.seconds(10_000))
        #expect(l.deadlinesReached(now: clock.now).isEmpty)
        #expect(l.drain(.serverShutdown, now: clock.now).isEmpty)
        #expect(l.sessionFinished().isEmpty)
        l.handshakeCompleted(now: clock.now, certificateNotAfter: farNotAfter, wallClockNow: wallNow)
        l.sessionSentGoAway(.streamLimitDrained, overrides: true, now: clock.now)
        #expect(l.phase == .closed)
        #expect(l.nextDeadline == nil)
    }
}
