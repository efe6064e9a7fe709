import Testing
@testable import AgentKernel

/// `HMACTokenProvider.withSigningPayload` (the stack-buffer payload every grant and invoke
/// signs) must lend exactly `signingPayload`'s bytes: for verbatim fields and for fields it
/// hands to the escaping writer, with constraints from the object memo or written afresh.
@Suite struct SigningPayloadFastPathTests {
    static let issued = Timestamp(microseconds: 1_767_323_045_123_456)

    func lent(_ t: CapabilityToken) -> [UInt8] {
        HMACTokenProvider.withSigningPayload(t) { Array($0) }
    }

    func token(_ tid: String, _ cid: String, _ pid: String, _ aid: String, _ c: JSONObject,
               issued: Timestamp = issued) -> CapabilityToken {
        CapabilityToken(tokenID: tid, capabilityID: cid, principalID: pid, issuedAt: issued,
                        expiresAt: issued.adding(seconds: 3600), constraints: c, auditID: aid)
    }

    @Test func sameBytesAsTheWriterForEveryFieldShape() {
        let strings = ["", "tok-1", "0f3c9e1a-1b2c-4d5e-8f90-123456789abc", "q\"uote", "back\\slash", "tab\there",
                       "del\u{7f}", "\u{e9}", "e\u{301}", "\u{1F600}", "~ !#$%&'()*+,-./:;<=>?@[]^_`{|}"]
        let objects: [JSONObject] = [[:], ["max_rows": 50], ["allowed_fields": ["id", "name"], "max_rows": 500],
                                     ["z": "\u{e9}", "a": [1, 2.5, nil]]]
        for (n, s) in strings.enumerated() {
            let other = strings[(n + 3) % strings.count]
            for c in objects {
                for t in [token(s, "cap.x", "alice", "aud-1", c), token("tok-1", s, other, "aud", c),
                          token(other, "cap", s, s, c),
                          token(s, s, s, s, c, issued: Timestamp(microseconds: 1_767_323_045_000_000))] {
                    #expect(lent(t) == HMACTokenProvider.signingPayload(t), "\(t)")
                }
            }
        }
    }

    /// The same object signed repeatedly enters the memo (second miss in a row) and is then
    /// served from it; mutated copies and alternating objects stay exact.
    @Test func memoizedConstraintObjectsStayExact() {
        var shared: JSONObject = ["allowed_fields": ["id", "amount"], "max_rows": 50]
        let t = token("tok-1", "billing.list_invoices", "alice", "aud-1", shared)
        for _ in 0..<4 { #expect(lent(t) == HMACTokenProvider.signingPayload(t)) }
        shared["max_rows"] = 7  // copy on write: new storage
        let u = token("tok-1", "billing.list_invoices", "alice", "aud-1", shared)
        for _ in 0..<3 {
            #expect(lent(u) == HMACTokenProvider.signingPayload(u))
            #expect(lent(t) == HMACTokenProvider.signingPayload(t))
        }
        // More shared objects than the memo holds, in rotation.
        let many = (0..<(SigningConstraints.objectMemoEntries + 3)).map { i -> CapabilityToken in
            token("tok-\(i)", "cap", "p", "a", ["max_rows": .int(i), "k\(i)": "v"])
        }
        for _ in 0..<3 {
            for m in many {
                #expect(lent(m) == HMACTokenProvider.signingPayload(m))
                #expect(lent(m) == HMACTokenProvider.signingPayload(m))
            }
        }
    }

    /// `SigningConstraints.bytes` equals the canonical writer on hits and misses.
    @Test func constraintBytesMatchTheCanonicalWriter() {
        let objects: [JSONObject] = [[:], ["max_rows": 5], ["b": ["x", "y"], "a": ["\u{e9}": true]]]
        for c in objects {
            var expected: [UInt8] = []
            JSONWriter.write(.object(c), style: .canonical, into: &expected)
            for _ in 0..<3 { #expect(SigningConstraints.bytes(c) == expected) }
        }
    }

    /// Issue signs from the fields: the signature verifies and equals `sign` of the token.
    @Test func issuedSignatureEqualsSignOfTheToken() throws {
        let p = HMACTokenProvider(secret: "s3cret-key", clock: TPManualClock(), ids: TPSequentialIDs())
        for c: JSONObject in [[:], ["max_rows": 50], ["q\"": "\u{7f}"]] {
            let t = p.issue(capabilityID: "cap.x", principalID: "al\"ice", constraints: c, auditID: "aud-\u{e9}")
            #expect(t.signature == p.sign(t))
            try p.verify(t, expectedPrincipalID: "al\"ice", expectedCapabilityID: "cap.x")
        }
    }
}
