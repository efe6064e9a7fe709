/// A token bucket on an injected monotonic clock, used for the per-connection flood budgets
/// (peer resets, glitches). Pure value type: time comes in as an argument so tests drive it
/// without sleeping, and so the same code runs on the event loop and in the fuzzer.
///
/// Semantics: the bucket starts full (`burst` tokens); `take(now:)` refills
/// `perSecond * elapsed` tokens (capped at `burst`) and then spends one. When no whole token is
/// left, `take` returns `false` and the caller trips the budget.
public struct TokenBucket: Sendable, Equatable {
    /// Configuration of a bucket: maximum burst and steady refill rate.
    public struct Rate: Sendable, Equatable {
        /// Tokens available at once (events tolerated in a burst).
        public var burst: Int
        /// Tokens added per second (sustained events per second tolerated).
        public var perSecond: Double

        public init(burst: Int, perSecond: Double) {
            self.burst = burst
            self.perSecond = perSecond
        }
    }

    public let rate: Rate
    private var tokens: Double
    private var last: Double?

    public init(_ rate: Rate) {
        self.rate = rate
        self.tokens = Double(max(rate.burst, 0))
    }

    /// Spends one token at monotonic time `now` (seconds). Returns `false` when the budget is
    /// exhausted. A clock that goes backwards refills nothing (never credit time travel).
    public mutating func take(now: Double) -> Bool {
        if let last, now > last {
            tokens = min(Double(rate.burst), tokens + (now - last) * rate.perSecond)
        }
        if last == nil || now > last! { last = now }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Tokens currently left (after the last refill), for metrics and tests.
    public var available: Double { tokens }

    /// Tokens there would be at `now` (refilled, capped at `burst`), without taking one.
    public func tokens(at now: Double) -> Double {
        guard let last, now > last else { return tokens }
        return min(Double(rate.burst), tokens + (now - last) * rate.perSecond)
    }
}
