import AgentKernel

/// The default policy's rate limit shared by a fleet (docs/deployment.md): the kernel's own
/// sliding-window limiter decides, atomically and without waiting on the network, and also
/// counts every grant the other sidecars admitted, which they announce with
/// `NOTIFY capgate_rate` (through the shared store's ordered writer; a grant answers only
/// after its announcement was sent).
///
/// An approximation, with its bound: a remote grant counts here from the moment its
/// notification arrives (milliseconds), so in one window the fleet admits at most `limit`
/// plus what the other sidecars admitted during that delay; and windows are not persisted, so
/// a sidecar that (re)starts knows nothing of the current window. While PostgreSQL is
/// unreachable no grant is served at all (`store_unavailable`), so the sidecars never drift
/// apart silently.
public final class PostgresRateLimiter: RateLimiting {
    private let local = SlidingWindowRateLimiter()
    private let store: PostgresSharedStore

    public init(store: PostgresSharedStore, clock: any KernelClock) {
        self.store = store
        store.setRateHitHandler { [local] key, window in local.record(key: key, window: window, now: clock.monotonic()) }
    }

    public func tryAcquire(key: String, limit: Int, window: Double, now: Double) -> Bool {
        guard local.tryAcquire(key: key, limit: limit, window: window, now: now) else { return false }
        store.publishRateHit(key: key, window: window)
        return true
    }
}
