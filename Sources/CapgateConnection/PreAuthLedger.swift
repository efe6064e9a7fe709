import CapgateCore

/// The pre-authentication budget as a pure value: which unauthenticated sockets are held, by
/// which source, in what order, and the handshake-rate buckets. No lock, no clock (time comes
/// in as monotonic seconds), so every decision is unit-tested by hand (`PreAuthLedgerTests`);
/// `PreAuthBudget` wraps it in a lock for the loops.
///
/// Admission of a new socket from `source`:
/// 1. the source's rate bucket, then the global one: empty means REFUSED (the socket is closed
///    before any TLS work; nothing is evicted, so a flood cannot churn anyone out faster than
///    the rates allow);
/// 2. the source at `perSource`: its OLDEST socket is evicted; else the ledger at `global`: the
///    oldest socket anywhere is evicted; then the new socket is admitted.
///
/// WHY evict the oldest instead of refusing the newest: an attacker that holds its source's
/// budget with silent sockets (slowloris on TLS, from the agent's own address) would otherwise
/// lock the agent out for a whole handshake timeout. Evicting the oldest lets every newcomer
/// in, and a handshake is only ever pushed out after `perSource` (or `global`) newer sockets
/// were admitted while it ran. The rate buckets make that slow: past its burst, a flood from
/// one source needs `perSource / ratePerSource.perSecond` seconds (0.5 s at the defaults) to
/// push out a handshake, which takes milliseconds on a local link.
package struct PreAuthLedger<Payload> {
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

    /// The decision on one new socket.
    package enum Admission {
        /// Hold `ticket` until the handshake completes (`release`) or the socket closes.
        /// `evicted`: sockets pushed out to make room; close them (their tickets are gone).
        case admitted(ticket: UInt64, evicted: [(payload: Payload, scope: Scope)])
        /// Over the handshake rate of `scope`: close the new socket at once.
        case rateLimited(Scope)
    }

    private struct Source {
        /// Tickets held, oldest first (at most `perSource`).
        var tickets: [UInt64] = []
        var bucket: TokenBucket
        /// Last time the bucket was used (pruning: an untouched bucket refills completely).
        var lastUse: Double
    }

    package let limits: Limits
    private var entries: [UInt64: (source: String, payload: Payload)] = [:]
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
        guard state.bucket.take(now: now) else {
            sources[source] = state
            return .rateLimited(.source)
        }
        guard globalBucket.take(now: now) else {
            sources[source] = state
            return .rateLimited(.global)
        }
        sources[source] = state
        var evicted: [(payload: Payload, scope: Scope)] = []
        if state.tickets.count >= limits.perSource, let oldest = state.tickets.first,
           let victim = remove(ticket: oldest) {
            evicted.append((victim, .source))
        } else if entries.count >= limits.global, let oldest = oldestTicket(), let victim = remove(ticket: oldest) {
            evicted.append((victim, .global))
        }
        let ticket = nextTicket
        nextTicket += 1
        entries[ticket] = (source, payload)
        sources[source, default: Source(bucket: TokenBucket(limits.ratePerSource), lastUse: now)].tickets.append(ticket)
        order.append(ticket)
        prune(now: now)
        return .admitted(ticket: ticket, evicted: evicted)
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
            sources[entry.source] = s
        }
        compactOrder()
        return entry.payload
    }

    private mutating func oldestTicket() -> UInt64? {
        while orderHead < order.count {
            let t = order[orderHead]
            if entries[t] != nil { return t }
            orderHead += 1
        }
        return nil
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
