import Synchronization

/// Live aggregate counters behind `Kernel.stats` (`stats.KernelStats`): totals only, never
/// principal or capability detail. Thread-safe; `snapshot()` is an immutable copy.
public final class KernelStats: Sendable {
    private struct State {
        var snap = StatsSnapshot()
        var reasonIndex: [CodePointKey: Int] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    /// A signed token was issued.
    public func onGrant() { state.withLock { $0.snap.grants += 1 } }

    /// A grant was denied by policy; a nil or empty code is bucketed as "unknown"
    /// (`reason_code or "unknown"`). Buckets keep first-seen order.
    public func onDenial(reasonCode: String?) {
        let key = (reasonCode?.isEmpty ?? true) ? "unknown" : reasonCode!
        state.withLock { s in
            s.snap.denials += 1
            let k = CodePointKey(key)
            if let i = s.reasonIndex[k] {
                s.snap.denialsByReason[i].1 += 1
            } else {
                s.reasonIndex[k] = s.snap.denialsByReason.count
                s.snap.denialsByReason.append((key, 1))
            }
        }
    }

    /// One invocation (or one stream) and its side effects.
    public func onInvocation(failed: Bool, fallback: Bool, redacted: Bool, downgraded: Bool) {
        state.withLock { s in
            s.snap.invocations += 1
            if failed { s.snap.invocationFailures += 1 }
            if fallback { s.snap.fallbackActivations += 1 }
            if redacted { s.snap.redactionEvents += 1 }
            if downgraded { s.snap.budgetDowngrades += 1 }
        }
    }

    /// A full-result handle was stored.
    public func onHandleStore() { state.withLock { $0.snap.handleStores += 1 } }

    /// A handle expansion was served.
    public func onExpansion() { state.withLock { $0.snap.expansions += 1 } }

    public func snapshot() -> StatsSnapshot { state.withLock { $0.snap } }

    /// Zeroes every counter and forgets the reason buckets.
    public func reset() { state.withLock { $0 = State() } }
}
