import CNghttp2
import Glibc

/// Builds `nghttp2_nv` arrays. nghttp2 wants mutable `uint8_t *` name/value pointers that stay
/// valid for the duration of the submit call (it copies them: no NO_COPY flags), so every
/// pointer is derived inside one buffer scope (docs/platform-notes.md, "nghttp2 behaviour that bites").
enum H2Fields {
    static func withNV<T>(_ fields: [(name: String, value: String)],
                          _ body: (UnsafePointer<nghttp2_nv>?, Int) -> T) -> T {
        var storage: [UInt8] = []
        // One allocation: appending grew the buffer several times per response.
        var total = 1
        for field in fields { total += field.name.utf8.count + field.value.utf8.count }
        storage.reserveCapacity(total)
        var spans: [(name: Int, nameLen: Int, value: Int, valueLen: Int)] = []
        spans.reserveCapacity(fields.count)
        for field in fields {
            let n0 = storage.count
            storage.append(contentsOf: field.name.utf8)
            let v0 = storage.count
            storage.append(contentsOf: field.value.utf8)
            spans.append((n0, v0 - n0, v0, storage.count - v0))
        }
        storage.append(0)  // never empty, so baseAddress is never nil
        return storage.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            var nva = spans.map { s in
                nghttp2_nv(name: base + s.name, value: base + s.value, namelen: s.nameLen,
                           valuelen: s.valueLen, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            }
            return nva.withUnsafeMutableBufferPointer { nvBuf in
                body(UnsafePointer(nvBuf.baseAddress), nvBuf.count)
            }
        }
    }

    /// Bytes from a C pointer/length pair (nil-safe: nghttp2 may pass NULL with length 0).
    @inline(__always)
    static func string(_ p: UnsafePointer<UInt8>?, _ n: Int) -> String {
        guard let p, n > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    /// Whether the `n` bytes at `p` are exactly `literal` (an ASCII field name).
    @inline(__always)
    static func equal(_ p: UnsafePointer<UInt8>, _ n: Int, _ literal: StaticString) -> Bool {
        n == literal.utf8CodeUnitCount && memcmp(p, literal.utf8Start, n) == 0
    }

    /// Connection-specific header fields a response must not carry (RFC 9113 §8.2.2); callers'
    /// extra headers are filtered against this list so a handler cannot make us send a
    /// malformed response.
    static let connectionSpecific: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
        "content-length",
    ]
}

/// Frame-type and flag constants as the raw bytes nghttp2 hands to callbacks.
enum H2Frame {
    static let data = UInt8(NGHTTP2_DATA.rawValue)
    static let headers = UInt8(NGHTTP2_HEADERS.rawValue)
    static let rstStream = UInt8(NGHTTP2_RST_STREAM.rawValue)
    static let settings = UInt8(NGHTTP2_SETTINGS.rawValue)
    static let goaway = UInt8(NGHTTP2_GOAWAY.rawValue)
    static let continuation = UInt8(NGHTTP2_CONTINUATION.rawValue)
    static let endStream = UInt8(NGHTTP2_FLAG_END_STREAM.rawValue)
    static let callbackFailure = Int32(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue)
    static let temporalFailure = Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
    static let wouldBlock = Int(NGHTTP2_ERR_WOULDBLOCK.rawValue)
}
