import CapgateIO
import Glibc

// Timeouts on loop timers, all monotonic (hardening.md "Slowloris"): handshake, first
// request, idle, request (the session's stalled streams), max age, drain.
extension ServerConnection {
    func cancelTimer(_ timer: inout TimerID?) {
        if let t = timer { loop?.cancelTimer(t) }
        timer = nil
    }

    func cancelAllTimers() {
        cancelTimer(&handshakeTimer)
        cancelTimer(&firstRequestTimer)
        cancelTimer(&idleTimer)
        cancelTimer(&requestTimer)
        cancelTimer(&ageTimer)
        cancelTimer(&drainTimer)
    }

    /// Re-arms the idle and request timers after IO. Cheap on the hot path: the idle clock is
    /// read only on the busy -> idle edge, and the session's request deadlines are scanned
    /// only when new streams opened since the last scan (a later stream can never have an
    /// earlier deadline than an armed one).
    func updateTimers() {
        guard phase == .serving, let session, let loop else { return }
        if session.isIdle {
            if idleSince == nil {
                idleSince = .now()
                if idleTimer == nil { armIdleTimer(at: idleSince! + .seconds(limits.idleTimeout)) }
            }
        } else {
            idleSince = nil
        }
        if session.streamsOpened > 0 { cancelTimer(&firstRequestTimer) }
        if requestTimer == nil, session.streamsOpened != streamsSeenByRequestTimer {
            streamsSeenByRequestTimer = session.streamsOpened
            if let due = session.nextRequestDeadline {
                requestTimer = loop.scheduleTimer(at: Self.deadline(fromSessionSeconds: due)) { [weak self] in
                    self?.requestTimerFired()
                }
            }
        }
    }

    private func armIdleTimer(at deadline: Deadline) {
        idleTimer = loop?.scheduleTimer(at: deadline) { [weak self] in self?.idleTimerFired() }
    }

    /// One timer per idle period: it re-arms itself if activity moved the idle start.
    private func idleTimerFired() {
        idleTimer = nil
        guard phase == .serving, let since = idleSince else { return }
        let due = since + .seconds(limits.idleTimeout)
        if Deadline.now() < due {
            armIdleTimer(at: due)
            return
        }
        shared.counters.recordTrip("idle_timeout")
        endReason = "idle_timeout"
        // GOAWAY(NO_ERROR) first: the peer learns why instead of seeing a bare reset.
        beginDrain(reason: "idle_timeout")
    }

    func handshakeTimedOut() {
        handshakeTimer = nil
        guard phase == .handshaking else { return }
        shared.counters.recordTrip("handshake_timeout")
        close(reason: "handshake_timeout", notifyPeer: false)
    }

    func firstRequestTimedOut() {
        firstRequestTimer = nil
        guard phase == .serving, let session, session.streamsOpened == 0 else { return }
        shared.counters.recordTrip("first_request_timeout")
        endReason = "first_request_timeout"
        beginDrain(reason: "first_request_timeout")
    }

    private func requestTimerFired() {
        requestTimer = nil
        guard phase == .serving, let session, let loop else { return }
        handle(session.expireStalledStreams())
        if let due = session.nextRequestDeadline {
            requestTimer = loop.scheduleTimer(at: Self.deadline(fromSessionSeconds: due)) { [weak self] in
                self?.requestTimerFired()
            }
        }
        afterIO()
    }

    /// A connection must not outlive the client certificate it was authenticated with
    /// (issue 4: a rotated or expiring identity cannot linger on a long-lived connection).
    /// When the leaf expires before `maxConnectionAge`, the age timer moves to its notAfter and
    /// the drain reason is `certificate_expired`. Wall clock on purpose: notAfter is wall time.
    func capAgeAtCertificateExpiry(notAfter: Int64, now: Int64 = Int64(time(nil))) {
        guard let loop else { return }
        let untilExpiry = Double(max(0, notAfter - now))
        let elapsed = Double(Deadline.now().nanoseconds - openedAt.nanoseconds) / 1_000_000_000
        guard untilExpiry < limits.maxConnectionAge - elapsed else { return }
        cancelTimer(&ageTimer)
        ageTimer = loop.scheduleTimer(after: .milliseconds(Int64(untilExpiry * 1000))) { [weak self] in
            self?.beginDrain(reason: "certificate_expired")
        }
    }

    /// Bounds a drain (GOAWAY sent): in-flight requests get `drainTimeout`, then the
    /// connection is closed hard.
    func armDrainTimer() {
        guard drainTimer == nil, let loop else { return }
        drainTimer = loop.scheduleTimer(after: .seconds(shared.drainTimeout)) { [weak self] in
            guard let self else { return }
            self.drainTimer = nil
            self.shared.counters.recordTrip("drain_timeout")
            self.close(reason: "drain_timeout", notifyPeer: true)
        }
    }

    /// The session's clock is `ServerShared.monotonicSeconds` (same CLOCK_MONOTONIC).
    static func deadline(fromSessionSeconds seconds: Double) -> Deadline {
        Deadline(nanoseconds: UInt64(max(0, seconds) * 1_000_000_000))
    }
}
