import Testing
@testable import AgentKernel

/// The per-principal cap on deny traces (docs/audit.md, "Retention and floods").
@Suite struct DenialTraceLimiterTests {
    static let t0 = Timestamp(microseconds: 1_760_000_000_000_000)

    @Test func beyondTheCapDenialsGoUntracedAndTheNextWindowReportsThem() throws {
        let limiter = try DenialTraceLimiter(perWindow: 3, windowSeconds: 60)
        let first = (0..<3).map { i in limiter.admit("mallory", now: Self.t0.adding(seconds: Double(i))) }
        #expect(first.allSatisfy { $0 == .init(trace: true, suppressedBefore: 0) })
        for i in 0..<5 { #expect(!limiter.admit("mallory", now: Self.t0.adding(seconds: 10 + Double(i))).trace) }
        #expect(limiter.suppressedTotal == 5)
        // Another principal is not affected by mallory's flood.
        #expect(limiter.admit("alice", now: Self.t0.adding(seconds: 20)) == .init(trace: true, suppressedBefore: 0))
        // The window ends 60 s after its first denial: the next one is traced with the count.
        #expect(!limiter.admit("mallory", now: Self.t0.adding(seconds: 59.9)).trace)
        #expect(limiter.admit("mallory", now: Self.t0.adding(seconds: 60)) == .init(trace: true, suppressedBefore: 6))
        #expect(limiter.admit("mallory", now: Self.t0.adding(seconds: 61)) == .init(trace: true, suppressedBefore: 0))
        #expect(limiter.suppressedTotal == 6)
    }

    @Test func aClockStepBackStartsANewWindow() throws {
        let limiter = try DenialTraceLimiter(perWindow: 1, windowSeconds: 60)
        #expect(limiter.admit("m", now: Self.t0).trace)
        #expect(!limiter.admit("m", now: Self.t0.adding(seconds: 1)).trace)
        #expect(limiter.admit("m", now: Self.t0.adding(seconds: -5)) == .init(trace: true, suppressedBefore: 1))
    }

    @Test func trackedPrincipalsStayBoundedWithoutLosingUnreportedCounts() throws {
        let limiter = try DenialTraceLimiter(perWindow: 1, windowSeconds: 60, maxPrincipals: 10)
        #expect(limiter.admit("flooder", now: Self.t0).trace)
        #expect(!limiter.admit("flooder", now: Self.t0).trace)
        for i in 0..<1000 { _ = limiter.admit("p\(i)", now: Self.t0.adding(seconds: 120)) }
        // Finished windows went first; the flooder's unreported count was kept as long as possible.
        #expect(limiter.admit("flooder", now: Self.t0.adding(seconds: 121)).suppressedBefore <= 1)
        #expect(limiter.suppressedTotal == 1)
    }

    @Test func invalidCapsAreRejected() {
        #expect(throws: KernelError.self) { try DenialTraceLimiter(perWindow: 0) }
        #expect(throws: KernelError.self) { try DenialTraceLimiter(perWindow: 1, windowSeconds: 0) }
    }
}
