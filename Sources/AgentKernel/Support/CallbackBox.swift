/// A callback held by reference, for storing in a `Mutex`.
///
/// WHY: a function value stored directly in a `Mutex` and read with `withLock { $0 }` is
/// re-abstracted on the way out AND written back re-abstracted (the closure's `inout`
/// parameter), so every read wrapped the stored closure in two more thunks: the chain grew by
/// one call per request, and the audit-wait observer made every invoke walk it (durable and
/// in-memory invoke throughput fell 5-7x, `make bench-audit`). A class reference read out of
/// the lock never changes what is stored.
public final class CallbackBox<F: Sendable>: Sendable {
    public let call: F
    public init(_ call: F) { self.call = call }
}
