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

    /// `tryAcquire` under the policy's key `f"{principal_id}:{capability_id}"`
    /// (`rateLimitKey`). The default builds the key; a limiter may instead find the window
    /// of a pair it has just seen without building or hashing the key, as long as the
    /// window is the one that key names.
    func tryAcquire(principalID: String, capabilityID: String, limit: Int, window: Double, now: Double) -> Bool
}

extension RateLimiting {
    public func tryAcquire(principalID: String, capabilityID: String, limit: Int, window: Double,
                           now: Double) -> Bool {
        tryAcquire(key: rateLimitKey(principalID, capabilityID), limit: limit, window: window, now: now)
    }
}

/// `f"{principal_id}:{capability_id}"`, the rate limiter's key, copied as bytes (an
/// interpolation cost a tenth of the policy's evaluation). Pairs that join to one string
/// (`"a:b"` with `"c"`, `"a"` with `"b:c"`) share a window, as in the reference.
func rateLimitKey(_ pid: String, _ cid: String) -> String {
    var pid = pid, cid = cid
    return pid.withUTF8 { p in
        cid.withUTF8 { c in
            String(unsafeUninitializedCapacity: p.count + 1 + c.count) { out in
                _ = out.initialize(fromContentsOf: p)
                out[p.count] = UInt8(ascii: ":")
                _ = UnsafeMutableBufferPointer(rebasing: out[(p.count + 1)...]).initialize(fromContentsOf: c)
                return p.count + 1 + c.count
            }
        }
    }
}
