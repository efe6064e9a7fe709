import COpenSSL
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The per-thread OpenSSL error queue: the one place that clears, drains and formats it.
///
/// WHY: the queue is per thread and sticky, so a failure report would otherwise name errors of
/// an earlier, unrelated call. Every OpenSSL call sequence starts with ``clear()`` and every
/// failure path ``drain()``s into its error value.
public enum OpenSSLErrorQueue {
    /// At most this many entries are kept: a hostile peer cannot make one error message huge.
    public static let maxEntries = 16

    /// Discards stale errors so a failure report only names the call that just failed.
    ///
    /// Only when there is one: OpenSSL 3's `ERR_clear_error` resets all 16 slots of the
    /// thread's ring, two `free` calls each, even when the queue is empty, which it is before
    /// nearly every call (three TLS calls per request: ~100 `free`s). `ERR_peek_error` is what
    /// `SSL_get_error` and `drain` consult, so a queue it reports empty is empty for them too.
    public static func clear() {
        if ERR_peek_error() != 0 { ERR_clear_error() }
    }

    /// Removes every queued error (keeping the oldest ``maxEntries``), oldest first.
    public static func drain() -> OpenSSLErrors {
        var entries: [OpenSSLErrors.Entry] = []
        while true {
            var data: UnsafePointer<CChar>? = nil
            var flags: Int32 = 0
            let code = ERR_get_error_all(nil, nil, nil, &data, &flags)
            if code == 0 { break }
            guard entries.count < maxEntries else { continue }
            var buffer = [CChar](repeating: 0, count: 256)
            buffer.withUnsafeMutableBufferPointer { ERR_error_string_n(code, $0.baseAddress, $0.count) }
            let text = decodeCString(buffer)
            var detail: String? = nil
            if let data, flags & ERR_TXT_STRING != 0 {
                let extra = String(decoding: UnsafeRawBufferPointer(start: data, count: strlen(data)), as: UTF8.self)
                if !extra.isEmpty { detail = extra }
            }
            entries.append(.init(reason: text, data: detail))
        }
        return OpenSSLErrors(entries: entries)
    }

    private static func decodeCString(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A drained error queue and its two renderings.
public struct OpenSSLErrors: Sendable, Equatable {
    /// One queued error.
    public struct Entry: Sendable, Equatable {
        /// `ERR_error_string_n` text: "error:CODE:library::reason".
        public var reason: String
        /// The free-form "data" OpenSSL attached (a file name, "Expecting: CERTIFICATE"), if any.
        public var data: String?

        public init(reason: String, data: String? = nil) {
            self.reason = reason
            self.data = data
        }
    }

    /// Oldest first.
    public var entries: [Entry]

    public init(entries: [Entry] = []) { self.entries = entries }

    public var isEmpty: Bool { entries.isEmpty }

    /// Library/reason strings only, never the data field: the form the TLS layer logs for
    /// network peers, where the data text could carry attacker-chosen bytes.
    public var reasons: [String] { entries.map(\.reason) }

    /// One line with the data fields, for operator tools (the PKI CLI): "reason (data); ...".
    public var detailLine: String {
        guard !entries.isEmpty else { return "no OpenSSL error detail" }
        return entries.map { entry in entry.data.map { "\(entry.reason) (\($0))" } ?? entry.reason }
            .joined(separator: "; ")
    }
}
