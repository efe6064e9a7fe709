import Testing
import Dispatch
import Synchronization
@testable import AgentKernel

/// Expected values come from the reference (weaver-kernel 0.12.0):
///   p = HMACTokenProvider(secret="s3cret-key")
///   t = CapabilityToken(token_id="tok-1", capability_id="cap.x", principal_id="alice",
///         issued_at=datetime(2026,1,2,3,4,5,123456,tzinfo=utc), expires_at=issued_at+timedelta(seconds=3600),
///         constraints=C, audit_id="aud-1")
///   print(t._signable_payload(), p._sign(t._signable_payload()))
@Suite struct HMACTokenProviderTests {
    static let issued = Timestamp(microseconds: 1_767_323_045_123_456)

    func token(_ c: JSONObject, issued: Timestamp = issued) -> CapabilityToken {
        CapabilityToken(tokenID: "tok-1", capabilityID: "cap.x", principalID: "alice", issuedAt: issued,
                        expiresAt: issued.adding(seconds: 3600), constraints: c, auditID: "aud-1")
    }

    static let vectors: [(String, JSONObject, String)] = [
        ("empty", [:], "d5b3c7fd90f2529b36adc03ef28386837a2134748d268ad30a7f191dd07899f8"),
        ("basic", ["max_rows": 50, "allowed_fields": ["id", "name"]],
         "63d7a8a3eb703c5bacf17c833d437043dbeb7239817f00d25ce669a85282cc9a"),
        ("unicode", ["é": "ünï", "emoji": "😀", "del": "\u{7f}", "ctl": "\u{0}\u{1f}\n\t\"\\/", "ls": "\u{2028}"],
         "c9a12e0a7fbaee061c34a1594d78304732c07a94c97df4a061236d0c9d1820b2"),
        ("floats", ["a": 1.0, "b": 0.1, "c": 1e-05, "d": 1e16, "e": 1e22, "f": .double(-0.0), "g": 123456789.125,
                    "h": 1.5e-7], "f37e0ee6ef35a798c0eb32cc2d251470064a222449aa8d8c23b1655b7f0db935"),
        ("ints", ["big": .int(Int.max), "neg": .int(Int.min), "zero": 0],
         "b43ec778116dc4d274fba8d9d5a84bb8444706832e56db24974e3a5de2e46981"),
        ("nested", ["z": ["b": [1, ["y": nil, "x": true]], "a": false], "A": [], "_": .object([:])],
         "2e349046ec1a19a7ace4144d36edd48487a053f4e527ccf5e7a4c541950ec16e"),
    ]

    @Test(arguments: 0..<6) func signaturesMatchReference(_ i: Int) {
        let (name, c, sig) = Self.vectors[i]
        let p = HMACTokenProvider(secret: "s3cret-key")
        #expect(p.sign(token(c)) == sig, "\(name)")
    }

    @Test func wholeSecondTimestampsOmitFraction() {
        let p = HMACTokenProvider(secret: "s3cret-key")
        let t = token(["k": "v"], issued: Timestamp(microseconds: 1_767_323_045_000_000))
        let payload = String(decoding: HMACTokenProvider.signingPayload(t), as: UTF8.self)
        #expect(payload == #"{"audit_id":"aud-1","capability_id":"cap.x","constraints":{"k":"v"},"expires_at":"2026-01-02T04:04:05+00:00","issued_at":"2026-01-02T03:04:05+00:00","principal_id":"alice","token_id":"tok-1"}"#)
        #expect(p.sign(t) == "98b4ef6feb5014d4a7df729a65bbf486861bca58982fca39b9c714a0176ff090")
    }

    @Test func canonicalPayloadBytesMatchReference() {
        let payload = String(decoding: HMACTokenProvider.signingPayload(token(Self.vectors[2].1)), as: UTF8.self)
        #expect(payload == #"{"audit_id":"aud-1","capability_id":"cap.x","constraints":{"ctl":"\u0000\u001f\n\t\"\\/","del":"\u007f","emoji":"\ud83d\ude00","ls":"\u2028","\u00e9":"\u00fcn\u00ef"},"expires_at":"2026-01-02T04:04:05.123456+00:00","issued_at":"2026-01-02T03:04:05.123456+00:00","principal_id":"alice","token_id":"tok-1"}"#)
    }

    // json.dumps([nan, inf, -inf, 1e300, .double(.leastNonzeroMagnitude), 2.5, 100.0, 1e15, 123456789012345678.0], sort_keys=True, separators=(",",":"))
    @Test func canonicalFloatsMatchPython() {
        let v: JSONValue = [.double(.nan), .double(.infinity), .double(-.infinity), 1e300, .double(.leastNonzeroMagnitude), 2.5, 100.0, 1e15,
                            123456789012345678.0]
        #expect(v.serialized(.canonical) == "[NaN,Infinity,-Infinity,1e+300,5e-324,2.5,100.0,1000000000000000.0,1.2345678901234568e+17]")
    }

    func provider(_ clock: TPManualClock, _ store: any RevocationStore = InMemoryRevocationStore()) -> HMACTokenProvider {
        HMACTokenProvider(secret: "s3cret-key", clock: clock, ids: TPSequentialIDs(), revocations: store)
    }

    @Test func issueSetsFieldsAndVerifies() throws {
        let clock = TPManualClock()
        let p = provider(clock)
        let t = p.issue(capabilityID: "cap.x", principalID: "alice", constraints: ["max_rows": 5], ttlSeconds: 60,
                        auditID: "aud")
        #expect(t.tokenID == "tok-1")
        #expect(t.issuedAt == clock.now())
        #expect(t.expiresAt == clock.now().adding(seconds: 60))
        #expect(t.signature == p.sign(t))
        try p.verify(t, expectedPrincipalID: "alice", expectedCapabilityID: "cap.x")
    }

    func error(_ body: () throws(KernelError) -> Void) -> KernelError? {
        do { try body() } catch { return error }
        return nil
    }

    // Messages: see the reference run in the file header (verify with a tampered / mismatched token).
    @Test func verifyOrderAndMessages() {
        let clock = TPManualClock()
        let p = provider(clock)
        var t = p.issue(capabilityID: "cap.x", principalID: "alice")
        let e1 = error { () throws(KernelError) in try p.verify(t, expectedPrincipalID: "bob", expectedCapabilityID: "cap.x") }
        #expect(e1?.kind == .tokenScopeError && e1?.site == .tokenPrincipalMismatch)
        #expect(e1?.message == "Token 'tok-1' was issued for principal 'alice', not 'bob'.")
        let e2 = error { () throws(KernelError) in try p.verify(t, expectedPrincipalID: "alice", expectedCapabilityID: "cap.y") }
        #expect(e2?.kind == .tokenScopeError && e2?.site == .tokenCapabilityMismatch)
        #expect(e2?.message == "Token 'tok-1' was issued for capability 'cap.x', not 'cap.y'.")

        // Signature is checked before principal.
        t.constraints["max_rows"] = 1000
        let e3 = error { () throws(KernelError) in try p.verify(t, expectedPrincipalID: "bob", expectedCapabilityID: "cap.x") }
        #expect(e3?.kind == .tokenInvalid)
        #expect(e3?.message == "Token 'tok-1' has an invalid signature. The token may have been tampered with.")

        // Expiry before signature; `expires_at <= now` is expired.
        clock.set(now: t.expiresAt)
        let e4 = error { () throws(KernelError) in try p.verify(t, expectedPrincipalID: "alice", expectedCapabilityID: "cap.x") }
        #expect(e4?.kind == .tokenExpired)
        #expect(e4?.message == "Token 'tok-1' expired at \(t.expiresAt.isoformat).")

        // Revocation first of all.
        p.revoke(tokenID: "tok-1")
        let e5 = error { () throws(KernelError) in try p.verify(t, expectedPrincipalID: "bob", expectedCapabilityID: "cap.x") }
        #expect(e5?.kind == .tokenRevoked)
        #expect(e5?.message == "Token 'tok-1' has been revoked.")
    }

    @Test func expiredMessageMatchesReference() {
        let clock = TPManualClock()
        let p = provider(clock)
        var t = p.issue(capabilityID: "cap.x", principalID: "alice")
        t.expiresAt = Timestamp(isoformat: "2020-01-01T00:00:00+00:00")!
        let e = error { () throws(KernelError) in try p.verify(t, expectedPrincipalID: "alice", expectedCapabilityID: "cap.x") }
        #expect(e?.message == "Token 'tok-1' expired at 2020-01-01T00:00:00+00:00.")
    }

    @Test func verifiesTokensFromTheReference() throws {
        // A token minted by the reference (values from the "basic" vector), parsed from its to_dict().
        var t = token(Self.vectors[1].1)
        t.signature = Self.vectors[1].2
        let json = t.json.serialized()
        let decoded = try CapabilityToken(json: try JSONParser.parse(json))
        let clock = TPManualClock(now: Self.issued.adding(seconds: 10))
        try provider(clock).verify(decoded, expectedPrincipalID: "alice", expectedCapabilityID: "cap.x")
        #expect(throws: KernelError.self) {
            try HMACTokenProvider(secret: "other", clock: clock).verify(decoded, expectedPrincipalID: "alice",
                                                                       expectedCapabilityID: "cap.x")
        }
    }

    @Test func revokeAllCoversOnlyTokensIssuedSoFar() {
        let clock = TPManualClock()
        let p = provider(clock)
        let a = p.issue(capabilityID: "c", principalID: "alice")
        let b = p.issue(capabilityID: "c", principalID: "alice")
        _ = p.issue(capabilityID: "c", principalID: "bob")
        p.revoke(tokenID: a.tokenID)
        #expect(p.revokeAll(principalID: "alice") == 1)  // a was already revoked
        #expect(p.revokeAll(principalID: "alice") == 0)  // index cleared
        let later = p.issue(capabilityID: "c", principalID: "alice")
        #expect(error { () throws(KernelError) in try p.verify(b, expectedPrincipalID: "alice", expectedCapabilityID: "c") }?.kind == .tokenRevoked)
        #expect(error { () throws(KernelError) in try p.verify(later, expectedPrincipalID: "alice", expectedCapabilityID: "c") } == nil)
    }

    @Test func revocationFromOneThreadIsSeenByAnother() async {
        let p = provider(TPManualClock())
        let t = p.issue(capabilityID: "c", principalID: "alice")
        await Task.detached { p.revoke(tokenID: t.tokenID) }.value
        let kind = await Task.detached {
            do throws(KernelError) {
                try p.verify(t, expectedPrincipalID: "alice", expectedCapabilityID: "c")
                return KernelError.Kind?.none
            } catch { return error.kind }
        }.value
        #expect(kind == .tokenRevoked)
    }

    @Test func concurrentIssueAndRevokeAll() {
        // The store sweeps on its own clock every 256 tracks: give it the test clock.
        let clock = TPManualClock()
        let store = InMemoryRevocationStore(clock: clock)
        let p = provider(clock, store)
        let ids = Mutex(Set<String>())
        DispatchQueue.concurrentPerform(iterations: 400) { _ in
            let t = p.issue(capabilityID: "c", principalID: "alice")
            ids.withLock { _ = $0.insert(t.tokenID) }
        }
        #expect(ids.withLock { $0.count } == 400)
        #expect(store.trackedCount == 400)
        #expect(p.revokeAll(principalID: "alice") == 400)
    }
}
