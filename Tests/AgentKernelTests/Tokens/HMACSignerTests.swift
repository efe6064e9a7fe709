import Testing
import Synchronization
import Dispatch
@testable import AgentKernel

@Suite struct HMACSignerTests {
    // RFC 4231 test case 2.
    @Test func rfc4231Case2() {
        let s = HMACSigner(key: Array("Jefe".utf8))
        let want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        // Repeated calls start from the same absorbed key state.
        for _ in 0..<3 { #expect(s.hexDigest(Array("what do ya want for nothing?".utf8)) == want) }
    }

    // RFC 4231 test case 6: a key longer than the 64-byte block is hashed first.
    @Test func rfc4231Case6LongKey() {
        let s = HMACSigner(key: [UInt8](repeating: 0xAA, count: 131))
        #expect(s.hexDigest(Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    // A key of exactly one block is used as is (not hashed); a message spanning blocks.
    // python3 -c "import hmac,hashlib;print(hmac.new(bytes(range(64)),bytes(range(256))*3,hashlib.sha256).hexdigest())"
    @Test func blockSizedKeyAndMultiBlockMessage() {
        let s = HMACSigner(key: (0..<64).map { UInt8($0) })
        let message = Array(repeating: (0..<256).map { UInt8($0) }, count: 3).flatMap { $0 }
        #expect(s.hexDigest(message) == "821181380797d4cd558c8a5e7ea77ae9ac4b3acb7e6adcc7284a7a06dc2c4e6d")
    }

    // python3 -c "import hmac,hashlib;print(hmac.new(b'',b'',hashlib.sha256).hexdigest())"
    @Test func emptyKeyAndMessage() {
        #expect(HMACSigner(key: []).hexDigest([]) == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    @Test func concurrentCallsAgree() {
        let s = HMACSigner(key: Array("Jefe".utf8))
        let want = s.hexDigest(Array("msg".utf8))
        let bad = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 2000) { i in
            let d = s.hexDigest(Array("msg".utf8))
            let other = s.hexDigest(Array("msg\(i)".utf8))
            if d != want || other == want || other.utf8.count != 64 { bad.withLock { $0 += 1 } }
        }
        #expect(bad.withLock { $0 } == 0)
    }

    @Test func constantTimeEqual() {
        #expect(ConstantTime.equal([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2]))
        #expect(ConstantTime.equal([], []))
    }

    /// The String overload compares UTF-8 bytes (not canonical equivalence, as `==` would).
    @Test func constantTimeEqualStrings() {
        let sig = String(repeating: "ab", count: 32)
        #expect(ConstantTime.equal(sig, String(repeating: "ab", count: 32)))
        #expect(!ConstantTime.equal(sig, String(repeating: "ab", count: 31) + "ac"))
        #expect(!ConstantTime.equal(sig, String(sig.dropLast())))
        #expect(ConstantTime.equal("", ""))
        #expect(!ConstantTime.equal("\u{E9}", "e\u{301}"))
        // A bridged or substring-backed value takes the same path.
        #expect(ConstantTime.equal(String(sig[...]), sig))
    }
}
