/// Bytes accepted for a connection but not yet taken by the kernel, with a
/// high-water mark.
///
/// Why: a peer that opens HTTP/2 windows but never drains TCP would make us
/// buffer without bound (CVE-2019-9517, "internal data buffering"). The
/// producer (TLS writer / HTTP/2 `mem_send`) checks `isAboveHighWaterMark`
/// and stops producing; the connection resumes producing from its
/// `writable()` callback once `flush(to:)` has drained below the mark.
/// The buffer itself never refuses bytes: the mark is the producer's signal.
public struct OutboundBuffer {
    /// Producers stop at or above this many pending bytes (32 KiB by default,
    /// the per-connection buffer Envoy recommends for edge proxies).
    public let highWaterMark: Int
    private var storage: [UInt8] = []
    private var start = 0

    public init(highWaterMark: Int = 32 * 1024) {
        precondition(highWaterMark > 0, "a zero high-water mark would never let a producer write")
        self.highWaterMark = highWaterMark
    }

    /// Bytes waiting to be written.
    public var count: Int { storage.count - start }
    public var isEmpty: Bool { count == 0 }
    /// True when the producer should pause until the next `writable()`.
    public var isAboveHighWaterMark: Bool { count >= highWaterMark }

    /// Queues bytes (copied).
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        storage.append(contentsOf: bytes)
    }

    /// Queues bytes (copied).
    public mutating func append(contentsOf bytes: some Sequence<UInt8>) {
        storage.append(contentsOf: bytes)
    }

    /// Result of `flush(to:)`.
    public enum FlushResult: Equatable, Sendable {
        /// Everything was written; nothing is pending.
        case drained
        /// The socket would block with this many bytes still pending; wait
        /// for `writable()` (EPOLLOUT stays armed in edge-triggered mode).
        case pending(Int)
    }

    /// Writes as much as the socket takes. Throws on a hard error (close the
    /// connection); a partial write leaves the rest queued.
    public mutating func flush(to socket: Socket) throws(IOError) -> FlushResult {
        while start < storage.count {
            // Array.withUnsafeBytes is untyped `rethrows`: carry the typed error out as a Result.
            let attempt = storage.withUnsafeBytes { raw in
                Result { () throws(IOError) -> IOResult<Int> in
                    try socket.write(UnsafeRawBufferPointer(rebasing: raw[start...]))
                }
            }
            switch try attempt.get() {
            case .processed(let written):
                consume(written)
            case .wouldBlock:
                return .pending(count)
            }
        }
        return .drained
    }

    /// Frees the storage when nothing is pending and it holds more than `threshold` bytes
    /// (an idle connection should not keep the capacity of its largest burst).
    public mutating func releaseCapacity(above threshold: Int) {
        guard isEmpty, storage.capacity > threshold else { return }
        storage = []
        start = 0
    }

    /// Bytes allocated for pending output (tests).
    public var capacity: Int { storage.capacity }

    /// Drops `n` bytes from the front (after a write that took them).
    public mutating func consume(_ n: Int) {
        precondition(n >= 0 && n <= count, "consumed more than pending")
        start += n
        if start == storage.count {
            // Keep capacity: the next burst reuses it without reallocating.
            storage.removeAll(keepingCapacity: true)
            start = 0
        } else if start >= 64 * 1024, start * 2 >= storage.count {
            // Compact once the consumed prefix dominates, so a slow reader
            // cannot make the array grow while the pending count stays small.
            storage.removeSubrange(0..<start)
            start = 0
        }
    }

    /// Runs `body` over the pending bytes without copying (sans-IO tests,
    /// custom writers). Call `consume(_:)` for what was taken.
    public func withPendingBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start...])) }
    }
}
