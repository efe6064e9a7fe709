import CapgateTesting
import Testing
@testable import AgentKernel

/// `withISOFormatBytes`' fast path (UTC, years up to 9999, two digits at a time, the date
/// from a two-day memo) must write exactly what the digit-at-a-time writer does.
@Suite struct TimestampFastFormatTests {
    func fast(_ t: Timestamp) -> [UInt8] { t.withISOFormatBytes { Array($0) } }
    func generic(_ t: Timestamp) -> [UInt8] { t.withISOFormatBytesGeneric { Array($0) } }

    @Test func decimalPairsTable() {
        let table = Array(String(describing: Timestamp.decimalPairs).utf8)
        #expect(table == Array((0..<100).map { $0 < 10 ? "0\($0)" : "\($0)" }.joined().utf8))
    }

    @Test func matchesTheGenericWriter() {
        var rng = SplitMix64(seed: 12345)
        let endOf9999: Int64 = 253_402_300_799_999_999
        var values: [Int64] = [0, 1, 999_999, 1_000_000, 86_399_999_999, 86_400_000_000, 951_782_400_000_000,
                               1_767_323_045_000_000, 1_767_323_045_123_456, endOf9999, endOf9999 + 1, -1,
                               -86_400_000_001, Int64.max / 2]
        for _ in 0..<3000 { values.append(Int64(rng.next() % UInt64(endOf9999 + 1))) }
        // Runs on one day (memo hits) and jumps between days (misses).
        for k in 0..<200 { values.append(1_767_323_045_123_456 + Int64(k % 3) * 86_400_000_000 + Int64(k) * 7) }
        for us in values {
            for offset in [0, nil, 3600, -19800, 45] as [Int?] {
                var t = Timestamp(microseconds: us)
                t.utcOffsetSeconds = offset
                #expect(fast(t) == generic(t), "\(us) \(String(describing: offset))")
            }
        }
    }

    /// The memo's two entries (even and odd days): an issue time and its expiry an hour later
    /// on the next day alternate, both hit; then days two apart share an entry and replace
    /// each other; every answer is the calendar's.
    @Test func twoDayMemoAnswersAsTheCalendar() {
        let lastHour: Int64 = 20_427 * 86_400_000_000 + 23 * 3_600_000_000 + 1_234_567
        for k in 0..<50 {
            let issued = lastHour + Int64(k) * 1000, expires = issued + 3_600_000_000
            #expect(fast(Timestamp(microseconds: issued)) == generic(Timestamp(microseconds: issued)))
            #expect(fast(Timestamp(microseconds: expires)) == generic(Timestamp(microseconds: expires)))
        }
        for day: Int64 in [0, 2, 0, 1, 3, 1, 4, 5, 6, 4, 20_427, 20_429, 20_428, 20_430, 2_932_896] {
            let dates = Timestamp.civilMemoized(fromDays: day)
            let civil = Timestamp.civil(fromDays: day)
            #expect(dates == civil, "\(day)")
        }
    }
}
