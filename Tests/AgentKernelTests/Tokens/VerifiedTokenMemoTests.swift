import Testing
@testable import AgentKernel

/// `VerifiedTokenMemo` (a repeated token skips the HMAC) must answer exactly as the full
/// check: a provider that has just verified a token judges every variant of it (another
/// signature, another spelling, `1.0` for `1`, another offset of the same instant) as a
/// fresh provider with the same secret and no memo does.
@Suite struct VerifiedTokenMemoTests {
    static let now = Timestamp(microseconds: 1_767_323_045_123_456)

    func provider() -> HMACTokenProvider {
        HMACTokenProvider(secret: "memo-secret", clock: TPManualClock(now: Self.now))
    }

    /// The outcome of `verify` as comparable text (nil when it passes).
    func outcome(_ p: HMACTokenProvider, _ t: CapabilityToken) -> String? {
        do throws(KernelError) {
            try p.verify(t, expectedPrincipalID: t.principalID, expectedCapabilityID: t.capabilityID)
            return nil
        } catch {
            return "\(error.kind) \(error.message)"
        }
    }

    func variants(of t: CapabilityToken) -> [CapabilityToken] {
        var out: [CapabilityToken] = []
        func with(_ change: (inout CapabilityToken) -> Void) {
            var v = t
            change(&v)
            out.append(v)
        }
        with { _ in }  // the same token again
        with { $0.signature = String($0.signature.reversed()) }
        with { $0.signature = String($0.signature.dropLast()) + ($0.signature.hasSuffix("0") ? "1" : "0") }
        with { $0.signature = "" }
        with { $0.auditID = "aud-\u{E9}" }
        with { $0.auditID = "aud-e\u{301}" }  // canonically equivalent, other code points
        with { $0.tokenID += "x" }
        with { $0.capabilityID = "billing.other" }
        with { $0.principalID = "bob" }
        with { $0.constraints["max_rows"] = .double(50) }  // == .int(50) in Python, other bytes
        with { $0.constraints["max_rows"] = .bool(true) }
        with { $0.constraints["allowed_fields"] = ["id", "amount", "x"] }
        with { $0.constraints = JSONObject([("max_rows", 50), ("allowed_fields", ["id", "amount"])]) }  // other order
        with { $0.issuedAt.utcOffsetSeconds = 3600 }  // the same instant, written with +01:00
        with { $0.issuedAt = $0.issuedAt.adding(seconds: 0.000001) }
        with { $0.expiresAt = $0.expiresAt.adding(seconds: 1) }
        return out
    }

    @Test func answersAsTheFullCheckForEveryVariant() {
        let warm = provider()
        let base = warm.issue(capabilityID: "billing.list_invoices", principalID: "alice",
                              constraints: ["allowed_fields": ["id", "amount"], "max_rows": 50], auditID: "aud-1")
        // A token whose fields were rebuilt (other buffers, same bytes) and re-signed.
        let rebuilt = CapabilityToken(tokenID: String(decoding: Array(base.tokenID.utf8), as: UTF8.self),
                                      capabilityID: base.capabilityID, principalID: base.principalID,
                                      issuedAt: base.issuedAt, expiresAt: base.expiresAt,
                                      constraints: ["allowed_fields": ["id", "amount"], "max_rows": 50],
                                      auditID: base.auditID, signature: base.signature)
        for remembered in [base, rebuilt] {
            for v in variants(of: remembered) + variants(of: base) {
                let signed: CapabilityToken = { var s = v; s.signature = warm.sign(v); return s }()
                for t in [v, signed] {
                    #expect(outcome(warm, remembered) == nil)  // the memo now holds `remembered`
                    #expect(outcome(warm, t) == outcome(provider(), t), "\(t)")
                    // And the other way round: `t` remembered (when valid), then `remembered`.
                    #expect(outcome(warm, remembered) == outcome(provider(), remembered))
                }
            }
        }
    }

    /// A hit means the payload bytes are the same: `sameSignedBytes` never holds for tokens
    /// whose signing payloads differ.
    @Test func sameSignedBytesImpliesTheSamePayload() {
        let p = provider()
        let base = p.issue(capabilityID: "cap", principalID: "alice", constraints: ["a": [1, 2.5, nil], "b": "x"],
                           auditID: "aud")
        let all = variants(of: base)
        for a in all {
            for b in all where VerifiedTokenMemo.sameSignedBytes(a, b) {
                #expect(HMACTokenProvider.signingPayload(a) == HMACTokenProvider.signingPayload(b), "\(a) \(b)")
            }
        }
        #expect(!VerifiedTokenMemo.sameValue(JSONValue.int(1), .double(1)))
        #expect(!VerifiedTokenMemo.sameValue(JSONValue.double(0), .double(-0.0)))
        #expect(!VerifiedTokenMemo.sameValue(JSONValue.string("\u{E9}"), .string("e\u{301}")))
        #expect(VerifiedTokenMemo.sameValue(JSONValue.array([1, "x", nil]), .array([1, "x", nil])))
    }

    /// Revocation and expiry are still checked first on a repeated (remembered) token.
    @Test func revocationAndExpiryStillWinOnARepeatedToken() {
        let clock = TPManualClock(now: Self.now)
        let p = HMACTokenProvider(secret: "memo-secret", clock: clock)
        let t = p.issue(capabilityID: "cap", principalID: "alice", ttlSeconds: 60)
        #expect(outcome(p, t) == nil)
        #expect(outcome(p, t) == nil)
        clock.advance(seconds: 61)
        #expect(outcome(p, t)?.hasPrefix("tokenExpired") == true)
        let u = p.issue(capabilityID: "cap", principalID: "alice", ttlSeconds: 60)
        #expect(outcome(p, u) == nil)
        p.revoke(tokenID: u.tokenID)
        #expect(outcome(p, u)?.hasPrefix("tokenRevoked") == true)
    }
}
