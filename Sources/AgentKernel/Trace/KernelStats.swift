import Synchronization

/// Live aggregate counters behind `Kernel.stats` (`stats.KernelStats`): totals only, never
/// principal or capability detail. Thread-safe; `snapshot()` is an immutable copy.
///
/// Events that touch one counter (a grant, a handle stored, an expansion) add to an atomic
/// counter instead of taking the lock: on the hot verbs the lock pair cost more than the
/// count (a quickstart expand took six lock pairs; this was one). Each event is still
/// counted whole, since it is one add. Events that touch several counters (an invocation,
/// a denial and its reason bucket) stay under the lock so a snapshot never sees half of
/// one. `snapshot()` and `reset()` read and zero the atomic counters while holding the
/// lock, so a snapshot sees all of a reset or none of it, as when every counter was locked.
public final class KernelStats: Sendable {
    private struct State {
        var snap = StatsSnapshot()
        var reasonIndex: [CodePointKey: Int] = [:]
    }
    private let state = Mutex(State())
    private let grants = Atomic<Int>(0)
    private let handleStores = Atomic<Int>(0)
    private let expansions = Atomic<Int>(0)

    public init() {}

    /// A signed token was issued.
    public func onGrant() { grants.add(1, ordering: .relaxed) }

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
    public func onHandleStore() { handleStores.add(1, ordering: .relaxed) }

    /// A handle expansion was served.
    public func onExpansion() { expansions.add(1, ordering: .relaxed) }

    public func snapshot() -> StatsSnapshot {
        state.withLock { s in
            var snap = s.snap
            snap.grants = grants.load(ordering: .relaxed)
            snap.handleStores = handleStores.load(ordering: .relaxed)
            snap.expansions = expansions.load(ordering: .relaxed)
            return snap
        }
    }

    /// Zeroes every counter and forgets the reason buckets.
    public func reset() {
        state.withLock { s in
            s = State()
            grants.store(0, ordering: .relaxed)
            handleStores.store(0, ordering: .relaxed)
            expansions.store(0, ordering: .relaxed)
        }
    }
}
