import Synchronization

/// A ceiling on request-body bytes held in memory before they are handed to the application
/// (docs/hardening.md "Buffered request bodies"). The same type serves both scopes: each
/// HTTP/2 session owns one for `maxBufferedBodyBytesPerConnection`, and the server shares ONE
/// across all its connections for `maxBufferedBodyBytesGlobal`. A stream reserves the body it
/// may still receive before the session gives it flow-control credit, and releases the
/// reservation when the request is handed off or the stream ends.
///
/// Lock-free (an atomic count), so connections on different loops share it without
/// coordinating; sans-IO (no clock, no callbacks): a reservation that does not fit simply
/// fails and the caller retries later.
public final class BodyBudget: Sendable {
    /// Bytes that may be reserved at once (`overdraw` may pass it, see there).
    public let limit: Int
    private let count = Atomic<Int>(0)
    private let deferredCount = Atomic<Int>(0)

    public init(limit: Int) { self.limit = limit }

    /// Reserves `bytes` if the total stays within `limit`; false (nothing taken) otherwise.
    /// A zero-byte reservation always succeeds.
    public func tryReserve(_ bytes: Int) -> Bool {
        precondition(bytes >= 0, "negative reservation")
        if bytes == 0 { return true }
        var current = count.load(ordering: .relaxed)
        while current <= limit - bytes {
            let (exchanged, original) = count.compareExchange(expected: current, desired: current + bytes,
                                                              ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Reserves `bytes` even past `limit`. Only for the one stream per connection that is
    /// always admitted, so no connection waits on the others forever; the overdraft is bounded
    /// by one body cap per connection.
    public func overdraw(_ bytes: Int) {
        precondition(bytes >= 0, "negative reservation")
        count.add(bytes, ordering: .acquiringAndReleasing)
    }

    /// Gives back what a reservation took.
    public func release(_ bytes: Int) {
        precondition(bytes >= 0, "negative release")
        if bytes == 0 { return }
        let after = count.subtract(bytes, ordering: .acquiringAndReleasing).newValue
        precondition(after >= 0, "released more than was reserved")
    }

    /// Bytes reserved now (gauge).
    public var reserved: Int { count.load(ordering: .relaxed) }

    /// Counts one stream that had to wait for room (once per stream, however often its
    /// reservation is retried).
    public func recordDeferral() { deferredCount.add(1, ordering: .relaxed) }

    /// Streams that had to wait for room so far (counter `body_admissions_deferred`).
    public var deferrals: Int { deferredCount.load(ordering: .relaxed) }
}
