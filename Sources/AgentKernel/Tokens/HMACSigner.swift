import COpenSSL
import Synchronization

/// HMAC-SHA256 over OpenSSL 3 `EVP_MAC`, the primitive behind token signatures (docs/reference-semantics.md §4).
///
/// Why a pool: a reused `EVP_MAC_CTX` costs ~0.32 µs per MAC, a dup of a keyed template
/// ~0.53 µs and a one-shot `HMAC()` ~1.1 µs (platform notes). Contexts are not thread-safe,
/// so each call takes one out of a small `Mutex`-protected pool (or dups the keyed
/// template when the pool is empty), uses it outside the lock, and puts it back. The key is
/// copied into OpenSSL once, at init, and never kept in Swift memory or printed.
public final class HMACSigner: Sendable {
    /// Contexts kept for reuse; beyond this, extra contexts made under contention are freed.
    private static let maxPooled = 16

    /// An `EVP_MAC_CTX` handed between threads. Sound because a context is only ever
    /// used by one thread at a time: it is either in the pool (touched under the lock) or
    /// checked out by exactly one caller.
    private struct Ctx: @unchecked Sendable { let p: OpaquePointer }

    private struct State: ~Copyable {
        /// Keyed template; only ever read (dup) while the lock is held.
        var template: Ctx
        var pool: [Ctx]
        deinit {
            for ctx in pool { EVP_MAC_CTX_free(ctx.p) }
            EVP_MAC_CTX_free(template.p)
        }
    }

    private let state: Mutex<State>

    /// Keys a template context. Failure here means libcrypto cannot do HMAC-SHA256 at all:
    /// continuing would mean unsigned or unverifiable tokens, so it stops the process
    /// (an environment invariant, not untrusted input).
    public init(key: [UInt8]) {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else { preconditionFailure("OpenSSL: HMAC unavailable") }
        defer { EVP_MAC_free(mac) }
        guard let ctx = EVP_MAC_CTX_new(mac) else { preconditionFailure("OpenSSL: EVP_MAC_CTX_new failed") }
        let ok: Int32 = "digest".withCString { name in
            "SHA256".withCString { value in
                var params = [
                    OSSL_PARAM_construct_utf8_string(name, UnsafeMutablePointer(mutating: value), 0),
                    OSSL_PARAM_construct_end(),
                ]
                // A non-NULL pointer even for an empty key: NULL means "reuse the old key".
                var k = key
                if k.isEmpty { k = [0] }
                return k.withUnsafeBufferPointer { kb in
                    EVP_MAC_init(ctx, kb.baseAddress, key.count, &params)
                }
            }
        }
        precondition(ok == 1, "OpenSSL: EVP_MAC_init(HMAC-SHA256) failed")
        state = Mutex(State(template: Ctx(p: ctx), pool: []))
    }

    /// The MAC of `message` as 32 raw bytes.
    public func digest(_ message: [UInt8]) -> [UInt8] {
        withDigest(message) { Array($0) }
    }

    /// Lowercase hex of the MAC, as Python's `hexdigest()` (the token wire format).
    public func hexDigest(_ message: [UInt8]) -> String {
        // On every grant and invoke: the MAC stays on the stack and the hex is written
        // straight into the String (the arrays in between were a third of a signature).
        withDigest(message) { d in
            String(unsafeUninitializedCapacity: 64) { out in
                let digits: StaticString = "0123456789abcdef"
                let hex = digits.utf8Start
                for (i, b) in d.enumerated() {
                    out[2 * i] = hex[Int(b >> 4)]
                    out[2 * i + 1] = hex[Int(b & 0xF)]
                }
                return 64
            }
        }
    }

    /// Computes the MAC into a stack buffer and lends its 32 bytes to `body`.
    private func withDigest<R>(_ message: [UInt8], _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let ctx = checkout().p
        var raw: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &raw) { buf in
            let out = buf.bindMemory(to: UInt8.self)
            var outLen = 0
            let ok = message.withUnsafeBufferPointer { mb in
                EVP_MAC_update(ctx, mb.baseAddress, mb.count) == 1
                    && EVP_MAC_final(ctx, out.baseAddress, &outLen, 32) == 1
            }
            precondition(ok && outLen == 32, "OpenSSL: HMAC computation failed")
            checkin(Ctx(p: ctx))
            return body(UnsafeBufferPointer(out))
        }
    }

    private func checkout() -> Ctx {
        let ctx: Ctx? = state.withLock { s in
            if let c = s.pool.popLast() { return c }
            return EVP_MAC_CTX_dup(s.template.p).map(Ctx.init(p:))
        }
        guard let ctx else { preconditionFailure("OpenSSL: EVP_MAC_CTX_dup failed") }
        return ctx
    }

    private func checkin(_ ctx: Ctx) {
        // Re-arm with the same key (NULL key = keep the current one) before pooling.
        guard EVP_MAC_init(ctx.p, nil, 0, nil) == 1 else {
            EVP_MAC_CTX_free(ctx.p)
            return
        }
        let pooled: Bool = state.withLock { s in
            guard s.pool.count < Self.maxPooled else { return false }
            s.pool.append(ctx)
            return true
        }
        if !pooled { EVP_MAC_CTX_free(ctx.p) }
    }
}

/// Constant-time comparison, so a signature check leaks no prefix-match timing
/// (Python `hmac.compare_digest`). Unequal lengths return false at once: only the
/// length leaks, and a signature's length is public.
public enum ConstantTime {
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0 }
        }
    }

    /// The UTF-8 bytes of two strings, compared as `equal(_:_:)` does, in place when the
    /// strings are contiguous (a signature check on every invoke copied both into arrays).
    public static func equal(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        a.makeContiguousUTF8()
        b.makeContiguousUTF8()
        return a.utf8.withContiguousStorageIfAvailable { pa in
            b.utf8.withContiguousStorageIfAvailable { pb in
                guard pa.count == pb.count else { return false }
                if pa.isEmpty { return true }
                return CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, pa.count) == 0
            }
        }.flatMap { $0 } ?? equal(Array(a.utf8), Array(b.utf8))
    }
}
