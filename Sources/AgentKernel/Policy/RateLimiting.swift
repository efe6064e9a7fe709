/// The seam between the default policy's grant-time rate limit (docs/reference-semantics.md
/// §5.2) and where its windows live: `SlidingWindowRateLimiter` in process (the default), or
/// a fleet's limiter that also counts the grants of the other sidecars (docs/deployment.md).
///
/// Contract: `tryAcquire` decides and, when it allows, records, as one atomic step (so
/// concurrent grants in one process never exceed the limit); it runs on the grant's hot path
/// and must not block on the network.
public protocol RateLimiting: Sendable {
    /// Whether a grant under `key` fits `limit` hits per `window` seconds at `now`
    /// (monotonic seconds); an allowed grant is recorded.
    func tryAcquire(key: String, limit: Int, window: Double, now: Double) -> Bool
}
