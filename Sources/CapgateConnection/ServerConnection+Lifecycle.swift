import CapgateHTTP2
import CapgateIO

// The shell around `ConnectionLifecycle`: ONE loop timer armed at the machine's next deadline
// (handshake, first request, idle, age, drain; all monotonic; docs/limits.md,
// docs/hardening.md),
// the machine's actions executed, plus the session's own stalled-stream timer.
extension ServerConnection {
    /// Executes the lifecycle's actions in order, then re-arms the timer.
    func perform(_ actions: [ConnectionLifecycle.Action]) {
        for action in actions {
            switch action {
            case .countTimeout(let reason):
                shared.counters.recordTrip(reason.code)
            case .sendGoAway:
                session?.beginGracefulShutdown()
                noteDrainingStarted(goAway: H2ErrorCode.noError)
                core.afterIO()
            case .close(let reason, let notifyPeer):
                close(reason: reason, notifyPeer: notifyPeer)
            }
        }
        rearmLifecycleTimer()
    }

    /// Keeps the loop timer at or before the machine's next deadline. WHY lazily: a deadline
    /// that moved later (the idle clock restarting after every request, the first-request
    /// deadline cleared) keeps the armed timer, which fires early, finds nothing due and
    /// re-arms; only a deadline that moved EARLIER costs a cancel and a schedule. That keeps
    /// timer-heap work off the per-request path.
    func rearmLifecycleTimer() {
        guard !core.isClosed, let loop, let due = lifecycle.nextDeadline else { return }
        if let armed = lifecycleTimerDue, lifecycleTimer != nil, armed <= due { return }
        if let timer = lifecycleTimer { loop.cancelTimer(timer) }
        lifecycleTimerDue = due
        lifecycleTimer = loop.scheduleTimer(at: due) { [weak self] in self?.lifecycleTimerFired() }
    }

    private func lifecycleTimerFired() {
        lifecycleTimer = nil
        lifecycleTimerDue = nil
        guard !core.isClosed else { return }
        perform(lifecycle.deadlinesReached(now: .now()))
    }

    func cancelAllTimers() {
        if let timer = lifecycleTimer { loop?.cancelTimer(timer) }
        lifecycleTimer = nil
        lifecycleTimerDue = nil
        if let timer = requestTimer { loop?.cancelTimer(timer) }
        requestTimer = nil
        if let timer = bodyBudgetTimer { loop?.cancelTimer(timer) }
        bodyBudgetTimer = nil
        if let timer = handshakeQueueTimer { loop?.cancelTimer(timer) }
        handshakeQueueTimer = nil
    }

    /// After IO: tell the lifecycle whether the session is idle (the clock is read only on the
    /// busy -> idle edge), and arm the request timer when new streams opened since the last
    /// scan (a later stream can never have an earlier deadline than an armed one).
    func updateTimers() {
        guard lifecycle.isEstablished, let session, let loop else { return }
        lifecycle.sessionObserved(idle: session.isIdle, anyStreamOpened: session.streamsOpened > 0, now: Deadline.now)
        rearmLifecycleTimer()
        if !session.waitsForSharedBodyBudget {
            bodyBudgetRetryDelay = Self.bodyBudgetRetryMin
        } else if bodyBudgetTimer == nil {
            bodyBudgetTimer = loop.scheduleTimer(after: bodyBudgetRetryDelay) { [weak self] in
                self?.bodyBudgetTimerFired()
            }
        }
        // Re-read the deadlines only when something could have set one (a stream opened or a
        // response queued): a response blocked by a window-0 peer must get its stall deadline
        // even when no stream opens after it (make attack's window0_stalled row).
        if requestTimer == nil, session.deadlineEvents != deadlineEventsSeenByRequestTimer {
            deadlineEventsSeenByRequestTimer = session.deadlineEvents
            if let due = session.nextRequestDeadline {
                requestTimer = loop.scheduleTimer(at: Self.deadline(fromSessionSeconds: due)) { [weak self] in
                    self?.requestTimerFired()
                }
            }
        }
    }

    /// Stalled streams (headers or body dribbled past `requestTimeout`) are reset by the session.
    private func requestTimerFired() {
        requestTimer = nil
        guard lifecycle.isEstablished, let session, let loop else { return }
        handle(session.expireStalledStreams())
        if let due = session.nextRequestDeadline {
            requestTimer = loop.scheduleTimer(at: Self.deadline(fromSessionSeconds: due)) { [weak self] in
                self?.requestTimerFired()
            }
        }
        core.afterIO()
    }

    /// A connection whose waiting stream needs room in the shared body budget retries after
    /// 10 ms, doubling up to 320 ms while it stays full (docs/hardening.md "Buffered request
    /// bodies"). Room freed on this connection admits at once, without the timer.
    static let bodyBudgetRetryMin: Duration = .milliseconds(10)
    static let bodyBudgetRetryMax: Duration = .milliseconds(320)

    private func bodyBudgetTimerFired() {
        bodyBudgetTimer = nil
        bodyBudgetRetryDelay = min(bodyBudgetRetryDelay * 2, Self.bodyBudgetRetryMax)
        guard lifecycle.isEstablished, let session else { return }
        handle(session.retryBodyAdmission())
        core.afterIO()  // flushes the credit; settled() re-arms while streams still wait
    }

    /// The session's clock is `ServerShared.monotonicSeconds` (same CLOCK_MONOTONIC).
    static func deadline(fromSessionSeconds seconds: Double) -> Deadline {
        Deadline(nanoseconds: UInt64(max(0, seconds) * 1_000_000_000))
    }
}
