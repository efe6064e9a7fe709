import Synchronization

/// Budgets keyed by a session id (docs/reference-semantics.md §12.3 item 4).
///
/// The reference has one BudgetManager per Kernel, i.e. one "session"; shared as is in
/// a sidecar, every agent would drain one budget. Here each session gets its own
/// manager, created on first use with the configured total/default. The number of
/// sessions is capped (least recently used evicted) so a client minting session ids
/// cannot grow memory without bound. With the default `InMemoryBudgetStore` an evicted
/// session simply starts afresh; with a persistent `BudgetStoring` its manager is recreated
/// from the stored spend, so neither eviction nor a restart refunds anything.
public final class SessionBudgets: Sendable {
    public let totalBudget: Int
    public let defaultRequest: Int
    public let maxSessions: Int
    /// Where spends persist (docs/audit.md); the in-memory default persists nothing.
    public let store: any BudgetStoring

    private struct Slot {
        let manager: BudgetManager
        var stamp: UInt64
    }

    /// LRU with lazy deletion: every touch appends `(id, stamp)` to `order`; the
    /// oldest live pair (stamp still current) is the least recently used. Amortised
    /// O(1): `order` is compacted when stale pairs dominate.
    private struct State {
        var slots: [CodePointKey: Slot] = [:]
        var order: [(CodePointKey, UInt64)] = []
        var head = 0
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Validates the configuration up front (the same BudgetConfigError a manager would raise).
    public init(totalBudget: Int = 100_000, defaultRequest: Int = 4000, maxSessions: Int = 10_000,
                store: any BudgetStoring = InMemoryBudgetStore()) throws(KernelError) {
        _ = try BudgetManager(totalBudget: totalBudget, defaultRequest: defaultRequest)
        if maxSessions <= 0 { throw KernelError(.budgetConfigError, "max_sessions must be positive") }
        self.totalBudget = totalBudget
        self.defaultRequest = defaultRequest
        self.maxSessions = maxSessions
        self.store = store
    }

    /// Number of sessions currently tracked.
    public var count: Int { state.withLock { $0.slots.count } }

    /// The session's manager, created on first use (resuming the store's spend, read outside
    /// the lock). Session ids compare by code point (Python `str` identity), never by Unicode
    /// canonical equivalence. Throws when the store cannot say what the session spent.
    public func manager(for sessionID: String) throws(KernelError) -> BudgetManager {
        let key = CodePointKey(sessionID)
        if let live = touchOrInsert(key, sessionID, spent: nil) { return live }
        let spent = try store.spent(session: sessionID)
        // Someone may have created it meanwhile: theirs wins, so a session has one live manager.
        return touchOrInsert(key, sessionID, spent: spent)!
    }

    /// The live manager (touched), else a new one resuming `spent`; nil when absent and
    /// `spent` is not known yet.
    private func touchOrInsert(_ key: CodePointKey, _ sessionID: String, spent: Int?) -> BudgetManager? {
        let total = totalBudget, request = defaultRequest, cap = maxSessions, store = self.store
        return state.withLock { s -> BudgetManager? in
            guard s.slots[key] != nil || spent != nil else { return nil }
            s.clock += 1
            let stamp = s.clock
            s.order.append((key, stamp))
            if var slot = s.slots[key] {
                slot.stamp = stamp
                s.slots[key] = slot
                Self.compactIfNeeded(&s)
                return slot.manager
            }
            // Validated in init, so construction cannot fail here.
            let manager = try! BudgetManager(totalBudget: total, defaultRequest: request, spent: spent ?? 0,
                                             store: store, session: sessionID)
            s.slots[key] = Slot(manager: manager, stamp: stamp)
            while s.slots.count > cap && s.head < s.order.count {
                let (oldKey, oldStamp) = s.order[s.head]
                s.head += 1
                if s.slots[oldKey]?.stamp == oldStamp { s.slots.removeValue(forKey: oldKey) }
            }
            Self.compactIfNeeded(&s)
            return manager
        }
    }

    /// Drops `sessionID`'s manager, so its next use recreates it from the store's `spent`:
    /// how a shared store (docs/deployment.md) makes another sidecar's spend count here.
    /// Reservations of invocations in flight stay with the old manager, which still reports.
    public func forget(_ sessionID: String) {
        _ = state.withLock { $0.slots.removeValue(forKey: CodePointKey(sessionID)) }
    }

    private static func compactIfNeeded(_ s: inout State) {
        guard s.order.count > 2 * s.slots.count + 64 else { return }
        let slots = s.slots
        s.order = s.order[s.head...].filter { slots[$0.0]?.stamp == $0.1 }
        s.head = 0
    }
}
