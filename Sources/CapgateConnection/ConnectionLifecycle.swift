import CapgateIO

/// The lifetime of one server connection as a pure state machine: events (with the current
/// monotonic time) in, actions out. No socket, no timer, no clock of its own.
///
/// WHY a value type apart from the connection: phases and deadlines are where the transport's
/// denial-of-service defences live (slowloris handshakes, silent or idle peers, connections that
/// outlive their certificate or a revocation, drains that never end). Kept pure, every
/// transition and every deadline is unit-tested with a hand-moved clock
/// (`ConnectionLifecycleTests`), and the shell (`ServerConnection`) only executes actions and
/// keeps ONE loop timer armed at `nextDeadline`.
///
/// Phases:
/// ```
/// handshaking --handshakeCompleted--> active --drain / session GOAWAY--> draining
///      |                                |                                   |
///      +-- handshake deadline, a drain, +---------- any close ---------------+--> closed
///          or any close ------------------------------------------------------^
/// ```
/// Deadlines (all monotonic): handshake (handshaking only), first request (until a stream
/// opens), idle (while the session is idle), age (`maxConnectionAge`, moved earlier to the
/// client certificate's notAfter), drain (armed once when draining begins).
package struct ConnectionLifecycle: Sendable {
    /// Where the connection is in its life.
    package enum Phase: Sendable, Equatable {
        /// TCP accepted, TLS handshake (and identity check) not done: no HTTP/2 session yet.
        case handshaking
        /// Serving requests.
        case active
        /// GOAWAY sent (by a drain request, a deadline, or the session itself): in-flight
        /// streams finish, bounded by the drain deadline.
        case draining
        /// Ended; every later event is ignored.
        case closed
    }

    /// What the shell must do, in order.
    package enum Action: Sendable, Equatable {
        /// A peer-caused timeout fired: count it as a trip (then the next action ends or drains).
        case countTimeout(CloseReason)
        /// Start a graceful shutdown of the HTTP/2 session (GOAWAY(NO_ERROR)), then flush.
        case sendGoAway
        /// Close now. `notifyPeer`: send close_notify (and flush what is queued) first.
        case close(CloseReason, notifyPeer: Bool)
    }

    /// The timeouts this machine enforces (from `GatewayLimits` and the server's drain timeout).
    package struct Timeouts: Sendable, Equatable {
        package var handshake: Duration
        package var firstRequest: Duration
        package var idle: Duration
        package var maxAge: Duration
        package var drain: Duration

        package init(handshake: Duration, firstRequest: Duration, idle: Duration, maxAge: Duration,
                    drain: Duration) {
            self.handshake = handshake
            self.firstRequest = firstRequest
            self.idle = idle
            self.maxAge = maxAge
            self.drain = drain
        }
    }

    package let timeouts: Timeouts
    /// When the connection was accepted.
    package let openedAt: Deadline
    package private(set) var phase = Phase.handshaking
    /// The reason logged when the session finishes by itself (after a GOAWAY either way);
    /// nil means `completed`.
    package private(set) var endReason: CloseReason?

    private var handshakeDeadline: Deadline?
    private var firstRequestDeadline: Deadline?
    /// Start of the current idle period (nil while streams are open or output is queued).
    private var idleSince: Deadline?
    /// The idle deadline of the current idle period already fired: once per period.
    private var idleSpent = false
    private var ageDeadline: Deadline?
    /// `maxConnectionAge`, or `certificateExpired` once the leaf expires first.
    private var ageReason = CloseReason.maxConnectionAge
    private var drainDeadline: Deadline?

    /// A connection accepted at `now`: the handshake and age deadlines start running.
    package init(timeouts: Timeouts, now: Deadline) {
        self.timeouts = timeouts
        self.openedAt = now
        handshakeDeadline = now + timeouts.handshake
        ageDeadline = now + timeouts.maxAge
    }

    /// True while an HTTP/2 session exists and may serve (active or draining).
    package var isEstablished: Bool { phase == .active || phase == .draining }

    /// The earliest pending deadline: arm one timer there and call `deadlinesReached(now:)`.
    /// A timer armed earlier than this may simply fire early (nothing happens, re-arm).
    /// Read after every IO batch, so no array: five optionals folded by hand.
    package var nextDeadline: Deadline? {
        Self.earlier(Self.earlier(Self.earlier(handshakeDeadline, firstRequestDeadline),
                                  Self.earlier(idleDeadline, ageDeadline)), drainDeadline)
    }

    private static func earlier(_ a: Deadline?, _ b: Deadline?) -> Deadline? {
        guard let a else { return b }
        guard let b else { return a }
        return min(a, b)
    }

    private var idleDeadline: Deadline? { idleSpent ? nil : idleSince.map { $0 + timeouts.idle } }

    // MARK: - Events

    /// TLS done and the identity accepted: start serving. The age deadline moves to the client
    /// certificate's expiry when that comes first, so a connection never outlives the
    /// certificate it was authenticated with. `certificateNotAfter` and `wallClockNow` are Unix
    /// seconds: notAfter is wall time, so the distance to it is measured on the wall clock.
    package mutating func handshakeCompleted(now: Deadline, certificateNotAfter: Int64, wallClockNow: Int64) {
        guard phase == .handshaking else { return }
        phase = .active
        handshakeDeadline = nil
        firstRequestDeadline = now + timeouts.firstRequest
        let untilExpiry = Double(max(0, certificateNotAfter - wallClockNow))
        let elapsed = Double(now.nanoseconds &- openedAt.nanoseconds) / 1_000_000_000
        if .seconds(untilExpiry) < timeouts.maxAge - .seconds(elapsed) {
            ageDeadline = now + .milliseconds(Int64(untilExpiry * 1000))
            ageReason = .certificateExpired
        }
    }

    /// The session's state after a batch of IO. `now` is read only when an idle period starts
    /// (the hot path stays free of clock reads).
    package mutating func sessionObserved(idle: Bool, anyStreamOpened: Bool, now: () -> Deadline) {
        guard isEstablished else { return }
        if anyStreamOpened { firstRequestDeadline = nil }
        if idle {
            if idleSince == nil { idleSince = now() }
        } else {
            idleSince = nil
            idleSpent = false
        }
    }

    /// Ask for a graceful end (server shutdown, a revoked certificate, a deadline): a
    /// connection still in its handshake has nothing in flight and closes at once; a serving
    /// one sends GOAWAY and gets the drain deadline. The first reason given is the one logged.
    package mutating func drain(_ reason: CloseReason, now: Deadline) -> [Action] {
        switch phase {
        case .closed:
            return []
        case .handshaking:
            markClosed()
            return [.close(reason, notifyPeer: false)]
        case .active, .draining:
            if endReason == nil { endReason = reason }
            startDraining(now: now)
            return [.sendGoAway]
        }
    }

    /// The session queued a GOAWAY by itself: a connection-scoped trip (`overrides`: the trip
    /// is the reason, whatever was recorded) or the streams-per-connection cap. Either way the
    /// remaining streams are bounded by the drain deadline: a peer that trips and then never
    /// reads would otherwise keep the connection forever.
    package mutating func sessionSentGoAway(_ reason: CloseReason, overrides: Bool, now: Deadline) {
        guard isEstablished else { return }
        if overrides || endReason == nil { endReason = reason }
        startDraining(now: now)
    }

    /// The peer sent GOAWAY: it is leaving, the session closes once its streams are done.
    package mutating func peerSentGoAway() {
        guard isEstablished, endReason == nil else { return }
        endReason = .peerClosed
    }

    /// The session finished and everything was flushed: close with the recorded reason.
    package mutating func sessionFinished() -> [Action] {
        guard phase != .closed else { return [] }
        let reason = endReason ?? .completed
        markClosed()
        return [.close(reason, notifyPeer: true)]
    }

    /// The shell's timer fired at `now`: act on every deadline that passed.
    package mutating func deadlinesReached(now: Deadline) -> [Action] {
        if phase == .handshaking, let d = handshakeDeadline, d <= now {
            markClosed()
            return [.countTimeout(.handshakeTimeout), .close(.handshakeTimeout, notifyPeer: false)]
        }
        if let d = drainDeadline, d <= now {
            markClosed()
            return [.countTimeout(.drainTimeout), .close(.drainTimeout, notifyPeer: true)]
        }
        var actions: [Action] = []
        if let d = ageDeadline, d <= now {
            ageDeadline = nil
            actions += drain(ageReason, now: now)
        }
        if let d = firstRequestDeadline, d <= now {
            firstRequestDeadline = nil
            if isEstablished {
                // The timeout is the reason even if something else asked for a drain first.
                endReason = .firstRequestTimeout
                actions += [.countTimeout(.firstRequestTimeout)] + drain(.firstRequestTimeout, now: now)
            }
        }
        if let d = idleDeadline, d <= now {
            idleSpent = true
            if isEstablished {
                // GOAWAY(NO_ERROR) first: the peer learns why instead of seeing a bare reset.
                endReason = .idleTimeout
                actions += [.countTimeout(.idleTimeout)] + drain(.idleTimeout, now: now)
            }
        }
        return actions
    }

    /// The connection was closed by the shell (IO or TLS error, identity refused, hangup):
    /// nothing more may happen. Idempotent.
    package mutating func markClosed() {
        phase = .closed
        handshakeDeadline = nil
        firstRequestDeadline = nil
        idleSince = nil
        ageDeadline = nil
        drainDeadline = nil
    }

    private mutating func startDraining(now: Deadline) {
        phase = .draining
        if drainDeadline == nil { drainDeadline = now + timeouts.drain }
    }
}
