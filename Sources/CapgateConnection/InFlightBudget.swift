import Synchronization

/// A count of running handler tasks with a ceiling (`maxInFlightPerConnection` for one
/// connection, `maxInFlightGlobal` for the server). A slot is taken before the task starts and
/// given back when the task ENDS, not when its stream closes: a cancelled handler may still be
/// finishing a kernel call that had already committed (docs/hardening.md "Reset streams"), and
/// that work is what the cap bounds. Atomic, because tasks end off the loop thread.
final class InFlightBudget: Sendable {
    let limit: Int
    private let count = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    /// Takes a slot; false (nothing taken) at the ceiling.
    func tryAcquire() -> Bool {
        var current = count.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = count.compareExchange(expected: current, desired: current + 1,
                                                              ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func release() { count.subtract(1, ordering: .acquiringAndReleasing) }

    /// Slots taken now (metrics, tests).
    var current: Int { count.load(ordering: .relaxed) }
}
