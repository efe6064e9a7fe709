import Testing
@testable import AgentKernel

/// `withISOFormatBytes`' fast path (UTC, years up to 9999, two digits at a time, the date
/// from a one-day memo) must write exactly what the digit-at-a-time writer does.
@Suite struct TimestampFastFormatTests {
    func fast(_ t: Timestamp) -> [UInt8] { t.withISOFormatBytes { Array($0) } }
    func generic(_ t: Timestamp) -> [UInt8] { t.withISOFormatBytesGeneric { Array($0) } }

    @Test func decimalPairsTable() {
        let table = Array(String(describing: Timestamp.decimalPairs).utf8)
        #expect(table == Array((0..<100).map { $0 < 10 ? "0\($0)" : "\($0)" }.joined().utf8))
    }

    @Test func matchesTheGenericWriter() {
        var state: UInt64 = 12345
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let endOf9999: Int64 = 253_402_300_799_999_999
        var values: [Int64] = [0, 1, 999_999, 1_000_000, 86_399_999_999, 86_400_000_000, 951_782_400_000_000,
                               1_767_323_045_000_000, 1_767_323_045_123_456, endOf9999, endOf9999 + 1, -1,
                               -86_400_000_001, Int64.max / 2]
        for _ in 0..<3000 { values.append(Int64(next() % UInt64(endOf9999 + 1))) }
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
}
