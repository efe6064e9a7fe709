import COpenSSL
import COpenSSLShims

/// HMAC-SHA256, the primitive behind token signatures (docs/reference-semantics.md §4).
///
/// Why not `EVP_MAC`: a MAC through a reused `EVP_MAC_CTX` (~0.45 µs for a token payload)
/// re-copies its keyed digest contexts through the provider on every call and is not
/// thread-safe, which took a `Mutex`-guarded pool of contexts. The key's two padded blocks
/// are now absorbed once, at init, into an immutable state (COpenSSLShims/hmac_sha256.c)
/// that each MAC copies on the stack: same SHA-256 code, no pool, no lock, no allocation.
/// The key is copied into that C state once and never kept in Swift memory or printed.
public final class HMACSigner: Sendable {
    /// The keyed state. Sound to share: it is only read after init, and freed in deinit.
    private struct Key: @unchecked Sendable { let p: OpaquePointer }
    private let key: Key

    /// Failure here means libcrypto cannot do SHA-256 (or memory is exhausted): continuing
    /// would mean unsigned or unverifiable tokens, so it stops the process (an environment
    /// invariant, not untrusted input).
    public init(key: [UInt8]) {
        let k = key.withUnsafeBufferPointer { capgate_hmac_sha256_key_new($0.baseAddress, $0.count) }
        guard let k else { preconditionFailure("OpenSSL: HMAC-SHA256 key setup failed") }
        self.key = Key(p: k)
    }

    deinit { capgate_hmac_sha256_key_free(key.p) }

    /// The MAC of `message` as 32 raw bytes.
    public func digest(_ message: [UInt8]) -> [UInt8] {
        withDigest(message) { Array($0) }
    }

    /// Lowercase hex of the MAC, as Python's `hexdigest()` (the token wire format).
    public func hexDigest(_ message: [UInt8]) -> String {
        // On every grant and invoke: the MAC stays on the stack and the hex is written
        // straight into the String (the arrays in between were a third of a signature).
        message.withUnsafeBytes { hexDigest($0) }
    }

    /// Lowercase hex of the MAC of bytes in place (the signing payload's stack buffer).
    public func hexDigest(_ message: UnsafeRawBufferPointer) -> String {
        withDigest(message, LowerHex.string)
    }

    /// Computes the MAC into a stack buffer and lends its 32 bytes to `body`.
    private func withDigest<R>(_ message: [UInt8], _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        message.withUnsafeBytes { withDigest($0, body) }
    }

    private func withDigest<R>(_ message: UnsafeRawBufferPointer, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var raw: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &raw) { buf in
            let out = buf.bindMemory(to: UInt8.self)
            let ok = capgate_hmac_sha256(key.p, message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                         message.count, out.baseAddress) == 1
            precondition(ok, "OpenSSL: HMAC computation failed")
            return body(UnsafeBufferPointer(out))
        }
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
