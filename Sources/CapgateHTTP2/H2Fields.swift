import CNghttp2
import Glibc

/// Builds `nghttp2_nv` arrays. nghttp2 wants mutable `uint8_t *` name/value pointers that stay
/// valid for the duration of the submit call (it copies them: no NO_COPY flags), so every
/// pointer is derived inside one buffer scope (docs/platform-notes.md, "nghttp2 behaviour that bites").
enum H2Fields {
    static func withNV<T>(_ fields: [(name: String, value: String)],
                          _ body: (UnsafePointer<nghttp2_nv>?, Int) -> T) -> T {
        withNV(count: fields.count, field: { fields[$0] }, body)
    }

    /// A response head: `:status`, `content-type`, `content-length`, then `extra`, without
    /// first gathering them into an array (one heap allocation per response).
    static func withResponseNV<T>(status: Int, contentType: String, contentLength: Int,
                                  extra: [(name: String, value: String)],
                                  _ body: (UnsafePointer<nghttp2_nv>?, Int) -> T) -> T {
        let statusText = String(status), lengthText = String(contentLength)  // short: stored inline
        return withNV(count: 3 + extra.count, field: { i in
            switch i {
            case 0: return (":status", statusText)
            case 1: return ("content-type", contentType)
            case 2: return ("content-length", lengthText)
            default: return extra[i - 3]
            }
        }, body)
    }

    /// `count` fields, the `i`th from `field(i)` (read twice: sizes, then bytes).
    @inline(__always)
    private static func withNV<T>(count: Int, field: (Int) -> (name: String, value: String),
                                  _ body: (UnsafePointer<nghttp2_nv>?, Int) -> T) -> T {
        // The bytes and the nv array in temporary allocations (on the stack for any ordinary
        // response): an array for each, plus the spans between them, were three heap
        // allocations per response.
        var total = 1
        for i in 0..<count {
            let f = field(i)
            total += f.name.utf8.count + f.value.utf8.count
        }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: total) { storage in
            withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: max(1, count)) { nva in
                let base = storage.baseAddress!
                var offset = 0
                for i in 0..<count {
                    let field = field(i)
                    let name = offset
                    offset = copyUTF8(field.name, to: storage, at: offset)
                    let value = offset
                    offset = copyUTF8(field.value, to: storage, at: offset)
                    nva.initializeElement(at: i, to: nghttp2_nv(
                        name: base + name, value: base + value, namelen: value - name,
                        valuelen: offset - value, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
                }
                // nghttp2_nv is plain data: nothing to deinitialize.
                return body(UnsafePointer(nva.baseAddress), count)
            }
        }
    }

    /// Copies `text`'s UTF-8 into `buffer` from `offset`; returns the offset after it.
    private static func copyUTF8(_ text: String, to buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int {
        let (_, end) = UnsafeMutableBufferPointer(rebasing: buffer[offset...]).initialize(from: text.utf8)
        return offset + end
    }

    /// Bytes from a C pointer/length pair (nil-safe: nghttp2 may pass NULL with length 0).
    @inline(__always)
    static func string(_ p: UnsafePointer<UInt8>?, _ n: Int) -> String {
        guard let p, n > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    /// A request field's value: `string`, except that the media type every API client sends
    /// is the literal (16 bytes, one past what a String stores inline: a heap allocation
    /// per request, made for the `content-type` value alone). The same String either way.
    @inline(__always)
    static func fieldValue(_ p: UnsafePointer<UInt8>?, _ n: Int) -> String {
        if let p, equal(p, n, "application/json") { return "application/json" }
        return string(p, n)
    }

    /// Whether the `n` bytes at `p` are exactly `literal` (an ASCII field name).
    @inline(__always)
    static func equal(_ p: UnsafePointer<UInt8>, _ n: Int, _ literal: StaticString) -> Bool {
        n == literal.utf8CodeUnitCount && memcmp(p, literal.utf8Start, n) == 0
    }

    /// Whether the `n` bytes at `p` are exactly `text`'s UTF-8 (a field the previous request
    /// sent: `H2ServerSession.regularField`).
    @inline(__always)
    static func equal(_ p: UnsafePointer<UInt8>?, _ n: Int, _ text: String) -> Bool {
        guard text.utf8.count == n else { return false }
        guard n > 0 else { return true }
        guard let p else { return false }
        return text.utf8.withContiguousStorageIfAvailable { memcmp($0.baseAddress!, p, n) == 0 } ?? false
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
