import Testing
@testable import CapgateCore

@Suite struct TokenBucketTests {
    /// Takes `n` tokens at `now`, returning how many were granted.
    static func take(_ b: inout TokenBucket, _ n: Int, at now: Double) -> Int {
        (0..<n).reduce(0) { acc, _ in acc + (b.take(now: now) ? 1 : 0) }
    }

    @Test func burstThenRefill() {
        var b = TokenBucket(.init(burst: 3, perSecond: 2))
        #expect(Self.take(&b, 4, at: 0) == 3)
        #expect(Self.take(&b, 1, at: 0.4) == 0)  // 0.8 token: not a whole one
        #expect(Self.take(&b, 2, at: 0.5) == 1)  // 1.0 token
        #expect(Self.take(&b, 5, at: 100) == 3)  // refill caps at burst
    }

    @Test func clockGoingBackwardsCreditsNothing() {
        var b = TokenBucket(.init(burst: 1, perSecond: 1))
        #expect(Self.take(&b, 1, at: 10) == 1)
        #expect(Self.take(&b, 1, at: 5) == 0)
        #expect(Self.take(&b, 1, at: 10.5) == 0)  // elapsed is measured from 10, not 5
        #expect(Self.take(&b, 1, at: 11) == 1)
    }
}
