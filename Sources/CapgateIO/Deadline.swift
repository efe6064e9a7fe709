import Glibc

/// A point on the monotonic clock (CLOCK_MONOTONIC, nanoseconds).
///
/// Timeouts must not jump when an operator or NTP steps the wall clock, so
/// every loop deadline (handshake, idle, request, connection age) is
/// monotonic. Values are only meaningful within one boot.
public struct Deadline: Comparable, Hashable, Sendable {
    public let nanoseconds: UInt64

    public init(nanoseconds: UInt64) {
        self.nanoseconds = nanoseconds
    }

    /// The current monotonic time.
    public static func now() -> Deadline {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Deadline(nanoseconds: UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec))
    }

    /// `self` moved by `duration` (saturating: negative durations clamp at 0,
    /// huge ones at `UInt64.max`).
    public static func + (lhs: Deadline, rhs: Duration) -> Deadline {
        let ns = Deadline.nanoseconds(of: rhs)
        if ns >= 0 {
            let (sum, overflow) = lhs.nanoseconds.addingReportingOverflow(UInt64(ns))
            return Deadline(nanoseconds: overflow ? .max : sum)
        }
        let magnitude = ns.magnitude
        return Deadline(nanoseconds: lhs.nanoseconds > magnitude ? lhs.nanoseconds - magnitude : 0)
    }

    /// Nanoseconds from `now` until this deadline (0 if already past).
    public func nanosecondsRemaining(from now: Deadline) -> UInt64 {
        nanoseconds > now.nanoseconds ? nanoseconds - now.nanoseconds : 0
    }

    public static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    static func nanoseconds(of duration: Duration) -> Int64 {
        let (s, atto) = duration.components
        let (scaled, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return s < 0 ? .min : .max }
        let (total, overflow2) = scaled.addingReportingOverflow(atto / 1_000_000_000)
        if overflow2 { return s < 0 ? .min : .max }
        return total
    }
}
