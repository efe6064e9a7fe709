import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An aware UTC instant in integer microseconds since the Unix epoch.
///
/// The reference renders datetimes with Python `isoformat()` and signs those strings;
/// a `Double`-based date can drift a microsecond on re-render and break HMAC
/// verification, so instants are exact integers (docs/reference-semantics.md §0).
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var microseconds: Int64
    /// The UTC offset the value was written with, in seconds (0 for the kernel's own
    /// timestamps); nil for a naive value. Kept only so a parsed value renders exactly as
    /// Python's `isoformat()` would (`+05:30` stays `+05:30`), which signatures depend on.
    /// Equality, hashing and ordering use the instant alone, like aware Python datetimes.
    public var utcOffsetSeconds: Int?

    public init(microseconds: Int64) {
        self.microseconds = microseconds
        self.utcOffsetSeconds = 0
    }
    public init(seconds: Double) { self.init(microseconds: Int64((seconds * 1_000_000).rounded())) }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.microseconds < b.microseconds }
    public static func == (a: Timestamp, b: Timestamp) -> Bool { a.microseconds == b.microseconds }
    public func hash(into h: inout Hasher) { h.combine(microseconds) }

    /// Adds Python `timedelta(seconds: s)` (rounded to the microsecond, as timedelta does).
    public func adding(seconds: Double) -> Timestamp {
        var t = self
        t.microseconds = microseconds + Int64((seconds * 1_000_000).rounded(.toNearestOrEven))
        return t
    }

    public var secondsSinceEpoch: Double { Double(microseconds) / 1_000_000 }

    /// Python `isoformat()` of an aware UTC datetime:
    /// `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`, the fraction omitted when zero.
    public var isoformat: String {
        withISOFormatBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// `isoformat`'s ASCII bytes, formatted into a stack buffer and lent to `body` (hot:
    /// every token payload, trace and handle; the signing payload appends them without
    /// making a `String`).
    func withISOFormatBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        // The kernel's own instants (UTC, years 1970-9999): two digits at a time from a
        // table, the date from a two-day memo (two datetimes in every token signature,
        // where the digit loop and the calendar arithmetic were ~7% of a grant).
        if utcOffsetSeconds == 0 && microseconds >= 0 {
            let secs = microseconds / 1_000_000, frac = microseconds % 1_000_000
            let days = secs / 86400, rem = secs % 86400
            let (y, m, d) = Timestamp.civilMemoized(fromDays: days)
            if y <= 9999 {
                return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buf in
                    let o = buf.baseAddress!
                    let pairs = Timestamp.decimalPairs.utf8Start
                    @inline(__always) func pair(_ v: Int64, at i: Int) {
                        let p = pairs + 2 * Int(v)
                        o[i] = p[0]
                        o[i + 1] = p[1]
                    }
                    pair(y / 100, at: 0); pair(y % 100, at: 2)
                    o[4] = UInt8(ascii: "-"); pair(m, at: 5)
                    o[7] = UInt8(ascii: "-"); pair(d, at: 8)
                    o[10] = UInt8(ascii: "T"); pair(rem / 3600, at: 11)
                    o[13] = UInt8(ascii: ":"); pair(rem % 3600 / 60, at: 14)
                    o[16] = UInt8(ascii: ":"); pair(rem % 60, at: 17)
                    var n = 19
                    if frac != 0 {
                        o[19] = UInt8(ascii: ".")
                        pair(frac / 10_000, at: 20); pair(frac / 100 % 100, at: 22); pair(frac % 100, at: 24)
                        n = 26
                    }
                    let suffix: StaticString = "+00:00"
                    (o + n).update(from: suffix.utf8Start, count: 6)
                    return body(UnsafeBufferPointer(start: o, count: n + 6))
                }
            }
        }
        return withISOFormatBytesGeneric(body)
    }

    /// `withISOFormatBytes` for every instant and offset (the digit-at-a-time writer).
    func withISOFormatBytesGeneric<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let offset = Int64(utcOffsetSeconds ?? 0)
        let local = microseconds + offset * 1_000_000
        var secs = local / 1_000_000
        var frac = local % 1_000_000
        if frac < 0 { frac += 1_000_000; secs -= 1 }
        let days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400
        let rem = secs - days * 86400
        let (y, m, d) = Timestamp.civil(fromDays: days)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { buf in
            var i = 0
            func digits(_ v: Int64, _ width: Int) {
                var v = v
                if v < 0 { v = -v }
                if width == 2 && v < 100 {
                    // Month, day, hour, minute, second: no digit count (two of these
                    // datetimes are written into every token signature).
                    buf[i] = UInt8(48 + v / 10)
                    buf[i + 1] = UInt8(48 + v % 10)
                    i += 2
                    return
                }
                var w = width
                // Years beyond four digits keep all their digits, as Python would refuse them
                // anyway. Only those need counting: a year or a fraction that fits its width
                // (every one in practice) is written straight from its last digit.
                if !(width == 4 && v < 10_000) && !(width == 6 && v < 1_000_000) {
                    var t = v
                    var n = 1
                    while t >= 10 { t /= 10; n += 1 }
                    if n > w { w = n }
                }
                var k = w
                while k > 0 {
                    buf[i + k - 1] = UInt8(48 + v % 10)
                    v /= 10
                    k -= 1
                }
                i += w
            }
            func ch(_ c: UInt8) { buf[i] = c; i += 1 }
            digits(y, 4); ch(45); digits(m, 2); ch(45); digits(d, 2); ch(84)
            digits(rem / 3600, 2); ch(58); digits((rem % 3600) / 60, 2); ch(58); digits(rem % 60, 2)
            if frac != 0 { ch(46); digits(frac, 6) }
            if utcOffsetSeconds != nil {  // naive: no suffix, as Python
                let a = abs(offset)
                ch(offset < 0 ? 45 : 43)
                digits(a / 3600, 2); ch(58); digits((a % 3600) / 60, 2)
                if a % 60 != 0 { ch(58); digits(a % 60, 2) }
            }
            return body(UnsafeBufferPointer(rebasing: buf[0..<i]))
        }
    }

    public var description: String { isoformat }

    /// "00" to "99": the two digits of `n` at offset `2 * n`.
    static let decimalPairs: StaticString = """
        00010203040506070809101112131415161718192021222324252627282930313233343536373839\
        40414243444546474849505152535455565758596061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899
        """

    /// The last even and the last odd day converted by `civilMemoized`, each packed as days
    /// (high 32 bits), year (16), month (8), day (8); 0 when empty (no day from 0 on has
    /// year 0). One word each, so it is read and replaced atomically without a lock.
    ///
    /// Two entries, by the day's parity: a token's `expires_at` is an hour after its
    /// `issued_at`, so in the last hour of every UTC day the two datetimes of each signature
    /// fall on consecutive days, which evicted each other from one entry (the calendar
    /// arithmetic twice per grant, ~2% of it). Consecutive days never share an entry.
    private static let civilMemoEven = Atomic<UInt64>(0)
    private static let civilMemoOdd = Atomic<UInt64>(0)

    /// `civil(fromDays:)` for `0 <= days < 2^32` through the two-day memo: consecutive
    /// timestamps almost always fall on one day, or on two consecutive ones.
    static func civilMemoized(fromDays days: Int64) -> (Int64, Int64, Int64) {
        guard days >= 0 && days < 1 << 32 else { return civil(fromDays: days) }
        return days & 1 == 0 ? civilMemoized(days, civilMemoEven) : civilMemoized(days, civilMemoOdd)
    }

    private static func civilMemoized(_ days: Int64, _ memo: borrowing Atomic<UInt64>) -> (Int64, Int64, Int64) {
        let packed = memo.load(ordering: .relaxed)
        if packed != 0 && Int64(packed >> 32) == days {
            return (Int64((packed >> 16) & 0xFFFF), Int64((packed >> 8) & 0xFF), Int64(packed & 0xFF))
        }
        let (y, m, d) = civil(fromDays: days)
        if y <= 0xFFFF {
            memo.store(UInt64(days) << 32 | UInt64(y) << 16 | UInt64(m) << 8 | UInt64(d), ordering: .relaxed)
        }
        return (y, m, d)
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// Python 3.11 `datetime.fromisoformat` for the shapes the reference emits and
    /// accepts: `YYYY-MM-DD[THH:MM[:SS[.f{1,6}]]][Z|±HH:MM[:SS]]`. A naive value is
    /// treated as UTC for comparisons (the reference's rule for naive datetimes) and
    /// renders without an offset. Returns nil otherwise.
    public init?(isoformat text: String) {
        let b = Array(text.utf8)
        var i = 0
        func num(_ n: Int) -> Int64? {
            guard i + n <= b.count else { return nil }
            var v: Int64 = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            i += n
            return v
        }
        func lit(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let y = num(4), lit(45), let mo = num(2), lit(45), let d = num(2) else { return nil }
        // Python's MINYEAR is 1: `fromisoformat("0000-01-01")` raises (fuzz/regressions/timestamp).
        guard y >= 1, (1...12).contains(mo), d >= 1, d <= Timestamp.daysIn(month: mo, year: y) else { return nil }
        var hh: Int64 = 0, mm: Int64 = 0, ss: Int64 = 0, us: Int64 = 0
        var offset: Int64 = 0
        var naive = true
        if i < b.count {
            guard b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: " ") else { return nil }
            i += 1
            guard let h = num(2), lit(58), let mi = num(2) else { return nil }
            hh = h; mm = mi
            if lit(58) {
                guard let s = num(2) else { return nil }
                ss = s
                if lit(46) || lit(44) {
                    var digits = 0
                    var f: Int64 = 0
                    while i < b.count, b[i] >= 48, b[i] <= 57 {
                        if digits < 6 { f = f * 10 + Int64(b[i] - 48) }
                        digits += 1
                        i += 1
                    }
                    guard digits == 3 || digits == 6 || (1...6).contains(digits) else { return nil }
                    guard digits <= 6 else { return nil }
                    for _ in digits..<6 { f *= 10 }
                    us = f
                }
            }
            guard hh < 24, mm < 60, ss < 60 else { return nil }
            if i < b.count {
                naive = false
                if lit(UInt8(ascii: "Z")) {
                    offset = 0
                } else {
                    let sign: Int64
                    if lit(43) { sign = 1 } else if lit(45) { sign = -1 } else { return nil }
                    guard let oh = num(2), lit(58), let om = num(2) else { return nil }
                    var os: Int64 = 0
                    if lit(58) { guard let v = num(2) else { return nil }; os = v }
                    guard oh < 24, om < 60, os < 60 else { return nil }
                    offset = sign * (oh * 3600 + om * 60 + os)
                }
            }
        }
        guard i == b.count else { return nil }
        let days = Timestamp.days(fromCivil: y, mo, d)
        let secs = days * 86400 + hh * 3600 + mm * 60 + ss - offset
        self.microseconds = secs * 1_000_000 + us
        self.utcOffsetSeconds = naive ? nil : Int(offset)
    }

    static func daysIn(month m: Int64, year y: Int64) -> Int64 {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// The kernel's source of time. Wall time stamps tokens, handles and traces; monotonic
/// time drives the rate limiter (the reference uses `time.monotonic`). Injected so tests
/// and parity replays control both.
public protocol KernelClock: Sendable {
    func now() -> Timestamp
    /// Seconds on a clock that never goes backwards.
    func monotonic() -> Double
}

/// The real clock.
public struct SystemClock: KernelClock {
    public init() {}
    public func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(microseconds: Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000)
    }
    public func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
