import CapgateCore

/// The pre-authentication budget as a pure value: which unauthenticated sockets are held, by
/// which source, in what order, which of them have started their handshake, and the
/// handshake-rate buckets. No lock, no clock (time comes in as monotonic seconds), so every
/// decision is unit-tested by hand (`PreAuthLedgerTests`); `PreAuthBudget` wraps it in a lock
/// for the loops.
///
/// Admission of a new socket from `source` (at accept, no token taken):
/// - the source at `perSource`: its oldest SILENT socket (no byte received yet) is evicted, or
///   its oldest socket when all of them started a handshake; else the ledger at `global`: the
///   oldest silent socket anywhere, or the oldest; then the new socket is admitted.
///
/// Activation, when the socket's first bytes (its ClientHello) arrive: the source's rate
/// bucket, then the global one. The socket is then no longer silent (protected from the
/// silent-first eviction). An empty source bucket QUEUES it: the source's handshakes take its
/// tokens in arrival order, a waiting socket is told when to ask again (`wait`), and only a
/// socket whose turn would come later than `maxHandshakeWait` is refused (closed before any
/// TLS work). An empty global bucket refuses.
///
/// WHY evict instead of refusing the newest: an attacker that holds its source's budget with
/// silent sockets (slowloris on TLS, from the agent's own address) would otherwise lock the
/// agent out for a whole handshake timeout. WHY silent first and tokens at the first bytes
/// (make attack, slowloris_tls): sockets that never speak cost an accept and a slot, not
/// handshake work, so they must neither spend the source's handshake tokens nor push out a
/// handshake in progress; the agent's socket sends its ClientHello at once and is then only
/// evicted when `perSource` handshakes from its own address are in progress at once.
/// WHY a queue rather than refusing over the rate (make attack, conn_flood_mtls): a refused
/// client retries at once, so a flooder from the agent's address (a certificate holder doing
/// full handshakes) raced the agent for every token and won nearly all of them; nothing before
/// TLS tells the two apart. In arrival order, each of the flooder's connections waits its turn
/// like the agent's, so a flooder with N connections in flight is ahead of the agent by at most
/// N handshakes, and its rate is still the source's rate.
package struct PreAuthLedger<Payload> {
    /// Longest a first flight waits for its source's handshake token (seconds). Past it the
    /// socket is refused at once: a longer queue means the source is flooding far beyond its
    /// rate, and a client waiting longer than this would rather retry. At the default rate
    /// (256/s) a quarter second is 64 handshakes queued ahead.
    package static var maxHandshakeWait: Double { 0.25 }

    package struct Limits: Sendable, Equatable {
        package var perSource: Int
        package var global: Int
        package var ratePerSource: TokenBucket.Rate
        package var rateGlobal: TokenBucket.Rate

        package init(perSource: Int, global: Int, ratePerSource: TokenBucket.Rate, rateGlobal: TokenBucket.Rate) {
            self.perSource = perSource
            self.global = global
            self.ratePerSource = ratePerSource
            self.rateGlobal = rateGlobal
        }

        package init(_ l: GatewayLimits) {
            self.init(perSource: l.maxPreAuthPerSource, global: l.maxPreAuthGlobal,
                      ratePerSource: l.handshakeRatePerSource, rateGlobal: l.handshakeRateGlobal)
        }
    }

    /// Which budget made room for a newcomer.
    package enum Scope: Sendable, Equatable { case source, global }

    /// The decision on one new socket: hold `ticket` until the handshake completes (`release`)
    /// or the socket closes. `evicted`: sockets pushed out to make room; close them (their
    /// tickets are gone).
    package struct Admission {
        package let ticket: UInt64
        package let evicted: [(payload: Payload, scope: Scope)]
    }

    /// The decision when a socket's first bytes arrive.
    package enum Activation: Equatable {
        /// A handshake token was taken: go on with TLS.
        case active
        /// Queued behind the source's earlier handshakes (or for the next token): keep the
        /// bytes, call `activate` again after `seconds`. The slot is kept meanwhile.
        case wait(seconds: Double)
        /// Over the handshake rate of `scope`: its ticket is released; close the socket now.
        case rateLimited(Scope)
        /// The ticket is gone (evicted meanwhile): its eviction closes it.
        case unknown
    }

    private struct Source {
        /// Tickets held, oldest first (at most `perSource`).
        var tickets: [UInt64] = []
        /// Tickets waiting for a handshake token, in arrival order (a subset of `tickets`).
        var waiters: [UInt64] = []
        var bucket: TokenBucket
        /// Last time the bucket was used (pruning: an untouched bucket refills completely).
        var lastUse: Double
    }

    package let limits: Limits
    /// `active`: the socket has spoken (not silent); `granted`: it holds its handshake token.
    private var entries: [UInt64: (source: String, payload: Payload, active: Bool, granted: Bool)] = [:]
    private var sources: [String: Source] = [:]
    /// Tickets in admission order; entries already released are skipped lazily.
    private var order: [UInt64] = []
    private var orderHead = 0
    private var nextTicket: UInt64 = 1
    private var globalBucket: TokenBucket
    private var pruneAbove: Int

    package init(limits: Limits) {
        self.limits = limits
        self.globalBucket = TokenBucket(limits.rateGlobal)
        self.pruneAbove = limits.global + limits.rateGlobal.burst
    }

    /// Unauthenticated sockets held now.
    package var count: Int { entries.count }
    /// Held by `source`.
    package func count(source: String) -> Int { sources[source]?.tickets.count ?? 0 }
    /// Sources with a bucket or a socket (bounded, see `prune`).
    package var trackedSources: Int { sources.count }

    package mutating func admit(source: String, payload: Payload, now: Double) -> Admission {
        var state = sources[source] ?? Source(bucket: TokenBucket(limits.ratePerSource), lastUse: now)
        state.lastUse = max(state.lastUse, now)
        sources[source] = state
        var evicted: [(payload: Payload, scope: Scope)] = []
        if state.tickets.count >= limits.perSource,
           let victim = state.tickets.first(where: { entries[$0]?.active == false }) ?? state.tickets.first,
           let payload = remove(ticket: victim) {
            evicted.append((payload, .source))
        } else if entries.count >= limits.global, let victim = oldestTicket(silentFirst: true),
                  let payload = remove(ticket: victim) {
            evicted.append((payload, .global))
        }
        let ticket = nextTicket
        nextTicket += 1
        entries[ticket] = (source, payload, false, false)
        sources[source, default: Source(bucket: TokenBucket(limits.ratePerSource), lastUse: now)].tickets.append(ticket)
        order.append(ticket)
        prune(now: now)
        return Admission(ticket: ticket, evicted: evicted)
    }

    /// The socket's first bytes arrived (or its `wait` is over): take a handshake token
    /// (source, in arrival order, then global). `wait` keeps the ticket queued; a refusal
    /// releases it and the caller closes the socket.
    package mutating func activate(ticket: UInt64, now: Double) -> Activation {
        guard let entry = entries[ticket] else { return .unknown }
        if entry.granted { return .active }
        guard var state = sources[entry.source] else { return .unknown }
        entries[ticket]?.active = true
        state.lastUse = max(state.lastUse, now)
        let queued = state.waiters.firstIndex(of: ticket)
        let ahead = queued ?? state.waiters.count
        if ahead == 0, state.bucket.take(now: now) {
            if queued != nil { state.waiters.removeFirst() }
            sources[entry.source] = state
            guard globalBucket.take(now: now) else {
                _ = remove(ticket: ticket)
                return .rateLimited(.global)
            }
            entries[ticket]?.granted = true
            return .active
        }
        // Its token comes after the `ahead` earlier waiters have theirs.
        let rate = limits.ratePerSource.perSecond
        let wait = rate > 0 ? (Double(ahead + 1) - state.bucket.tokens(at: now)) / rate : .infinity
        if queued == nil {
            guard wait <= Self.maxHandshakeWait else {
                sources[entry.source] = state
                _ = remove(ticket: ticket)
                return .rateLimited(.source)
            }
            state.waiters.append(ticket)
        }
        sources[entry.source] = state
        return .wait(seconds: max(wait, 0.001))
    }

    /// The socket authenticated or closed: give its slot back. False when it was evicted
    /// already (an authenticated socket then must close: its slot went to someone else).
    @discardableResult
    package mutating func release(ticket: UInt64) -> Bool {
        remove(ticket: ticket) != nil
    }

    private mutating func remove(ticket: UInt64) -> Payload? {
        guard let entry = entries.removeValue(forKey: ticket) else { return nil }
        if var s = sources[entry.source], let i = s.tickets.firstIndex(of: ticket) {
            s.tickets.remove(at: i)
            if let w = s.waiters.firstIndex(of: ticket) { s.waiters.remove(at: w) }
            sources[entry.source] = s
        }
        compactOrder()
        return entry.payload
    }

    /// The oldest live ticket, or with `silentFirst` the oldest that has not started its
    /// handshake when there is one (a scan, only when the global budget is full).
    private mutating func oldestTicket(silentFirst: Bool) -> UInt64? {
        while orderHead < order.count, entries[order[orderHead]] == nil { orderHead += 1 }
        guard orderHead < order.count else { return nil }
        if silentFirst, let silent = order[orderHead...].first(where: { entries[$0]?.active == false }) {
            return silent
        }
        return order[orderHead]
    }

    /// Keeps `order` proportional to the live entries (released tickets leave holes).
    private mutating func compactOrder() {
        guard order.count > 2 * entries.count + 64 else { return }
        order = order[orderHead...].filter { entries[$0] != nil }
        orderHead = 0
    }

    /// Drops sources that hold no socket and whose bucket has refilled completely (forgetting
    /// them changes nothing). The rest is bounded: every source with a non-full bucket took a
    /// global token within its refill time.
    private mutating func prune(now: Double) {
        guard sources.count > pruneAbove else { return }
        let refill = Double(limits.ratePerSource.burst) / limits.ratePerSource.perSecond
        sources = sources.filter { !$0.value.tickets.isEmpty || now - $0.value.lastUse < refill }
        pruneAbove = max(limits.global + limits.rateGlobal.burst, 2 * sources.count)
    }
}
