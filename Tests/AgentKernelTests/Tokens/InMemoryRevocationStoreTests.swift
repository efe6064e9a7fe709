import Testing
@testable import AgentKernel

/// Semantics of `stores/memory.py` (InMemoryRevocationStore).
@Suite struct InMemoryRevocationStoreTests {
    let t0 = Timestamp(microseconds: 1_767_323_045_000_000)

    @Test func revokeIsIdempotentAndAcceptsUnknownIDs() {
        let s = InMemoryRevocationStore()
        s.revoke("x")
        s.revoke("x")
        #expect(s.isRevoked("x"))
        #expect(!s.isRevoked("y"))
    }

    @Test func sweepDropsOnlyExpiredState() {
        let s = InMemoryRevocationStore()
        s.track(principalID: "p", tokenID: "old", expiresAt: t0)
        s.track(principalID: "p", tokenID: "live", expiresAt: t0.adding(seconds: 10))
        s.revoke("old")
        s.revoke("live")
        s.revoke("untracked")
        #expect(s.sweep(now: t0) == 1)  // expires_at <= now
        #expect(!s.isRevoked("old"))
        #expect(s.isRevoked("live"))
        #expect(s.isRevoked("untracked"))  // no expiry known: kept
        #expect(s.sweep(now: t0) == 0)
        // The swept token left the principal index too.
        s.track(principalID: "p", tokenID: "new", expiresAt: t0.adding(seconds: 10))
        #expect(s.revokeAll(principalID: "p") == 1)  // "new" only ("live" already revoked)
    }

    // The per-principal index is a list: an id tracked twice (deterministic id generators)
    // is listed twice but revoked and counted once, and tracked once in the expiry map.
    @Test func anIDTrackedTwiceCountsOnce() {
        let s = InMemoryRevocationStore()
        s.track(principalID: "p", tokenID: "a", expiresAt: t0)
        s.track(principalID: "p", tokenID: "a", expiresAt: t0.adding(seconds: 10))
        s.track(principalID: "q", tokenID: "a", expiresAt: t0.adding(seconds: 10))
        #expect(s.trackedCount == 1)
        #expect(s.sweep(now: t0) == 0)  // the later expiry won
        #expect(s.revokeAll(principalID: "p") == 1)
        #expect(s.isRevoked("a"))
        #expect(s.revokeAll(principalID: "q") == 0)  // already revoked
        #expect(s.sweep(now: t0.adding(seconds: 10)) == 1)
        #expect(s.trackedCount == 0)
    }

    // The last tracked expiry wins even when it is the earlier one, and the snapshot a file
    // store would write carries that one.
    @Test func aLaterTrackWithAnEarlierExpiryWins() {
        let s = InMemoryRevocationStore()
        s.track(principalID: "p", tokenID: "a", expiresAt: t0.adding(seconds: 100))
        s.track(principalID: "p", tokenID: "b", expiresAt: t0.adding(seconds: 100))
        s.track(principalID: "p", tokenID: "a", expiresAt: t0.adding(seconds: 10))
        s.revoke("a")
        #expect(s.trackedCount == 2)
        #expect(s.sweep(now: t0.adding(seconds: 10)) == 1)  // a, at its last expiry
        #expect(!s.isRevoked("a"))
        #expect(s.trackedCount == 1)
        #expect(s.sweep(now: t0.adding(seconds: 99)) == 0)
        #expect(s.sweep(now: t0.adding(seconds: 100)) == 1)  // b; a's first entry went with a
        #expect(s.trackedCount == 0)

        var state = RevocationState()
        state.track(principalID: "p", tokenID: "x", expiresAt: t0.adding(seconds: 100))
        state.track(principalID: "p", tokenID: "x", expiresAt: t0.adding(seconds: 10))
        #expect(state.expiry == ["x": t0.adding(seconds: 10)])
    }

    // Ids compare as Swift strings, as the map keyed by them did: two spellings of one id
    // are one token, the last expiry decides, and the first spelling stays the key.
    @Test func canonicallyEqualSpellingsAreOneTrackedToken() {
        var state = RevocationState()
        state.track(principalID: "p", tokenID: "\u{E9}", expiresAt: t0.adding(seconds: 10))
        state.track(principalID: "p", tokenID: "e\u{301}", expiresAt: t0.adding(seconds: 100))
        #expect(state.sweep(now: t0.adding(seconds: 10)) == 0)
        #expect(state.expiry.count == 1)
        #expect(state.expiry.keys.first.map { Array($0.unicodeScalars) } == ["\u{E9}"])
        #expect(state.expiry.values.first == t0.adding(seconds: 100))
        #expect(state.sweep(now: t0.adding(seconds: 100)) == 1)
        #expect(state.expiry.isEmpty && state.principalTokens.isEmpty)
    }

    // _SWEEP_INTERVAL = 256: the 256th track sweeps against the store's clock.
    @Test func lazySweepEvery256Tracks() {
        let clock = TPManualClock(now: t0)
        let s = InMemoryRevocationStore(clock: clock)
        s.track(principalID: "p", tokenID: "expired", expiresAt: t0.adding(seconds: -1))
        s.revoke("expired")
        for i in 1..<255 { s.track(principalID: "p", tokenID: "t\(i)", expiresAt: t0.adding(seconds: 60)) }
        #expect(s.trackedCount == 255)
        #expect(s.isRevoked("expired"))
        s.track(principalID: "p", tokenID: "t255", expiresAt: t0.adding(seconds: 60))
        #expect(s.trackedCount == 255)
        #expect(!s.isRevoked("expired"))
    }

    /// The clock is read by the sweeping track only, and at that track: time that passes
    /// between tracks is the time the sweep sees.
    @Test func onlyTheSweepingTrackReadsTheClock() {
        final class CountingClock: KernelClock, @unchecked Sendable {
            let inner: TPManualClock
            var reads = 0
            init(_ inner: TPManualClock) { self.inner = inner }
            func now() -> Timestamp { reads += 1; return inner.now() }
            func monotonic() -> Double { inner.monotonic() }
        }
        let manual = TPManualClock(now: t0)
        let clock = CountingClock(manual)
        let s = InMemoryRevocationStore(clock: clock)
        s.track(principalID: "p", tokenID: "soon", expiresAt: t0.adding(seconds: 5))
        for i in 1..<255 { s.track(principalID: "p", tokenID: "t\(i)", expiresAt: t0.adding(seconds: 60)) }
        #expect(clock.reads == 0)
        manual.set(now: t0.adding(seconds: 5))  // after the earlier tracks, before the 256th
        s.track(principalID: "p", tokenID: "t255", expiresAt: t0.adding(seconds: 60))
        #expect(clock.reads == 1)
        #expect(s.trackedCount == 255)  // "soon" swept at the 256th track's time
    }

    // The sweep skips its scan while no tracked expiry can have passed: the bound it keeps
    // must follow later, earlier expiries and what the previous sweep left behind.
    @Test func sweepFindsEveryExpiryWhateverTheOrderOfTracking() {
        let s = InMemoryRevocationStore()
        s.track(principalID: "p", tokenID: "c", expiresAt: t0.adding(seconds: 30))
        #expect(s.sweep(now: t0) == 0)
        s.track(principalID: "p", tokenID: "b", expiresAt: t0.adding(seconds: 20))
        s.track(principalID: "p", tokenID: "a", expiresAt: t0.adding(seconds: 10))
        #expect(s.sweep(now: t0.adding(seconds: 9)) == 0)
        #expect(s.sweep(now: t0.adding(seconds: 10)) == 1)  // a
        #expect(s.sweep(now: t0.adding(seconds: 19)) == 0)
        s.track(principalID: "p", tokenID: "z", expiresAt: t0.adding(seconds: 5))  // earlier than the rest
        #expect(s.sweep(now: t0.adding(seconds: 5)) == 1)  // z
        #expect(s.sweep(now: t0.adding(seconds: 30)) == 2)  // b, c
        #expect(s.trackedCount == 0)
        #expect(s.sweep(now: t0.adding(seconds: 3600)) == 0)
    }
}
