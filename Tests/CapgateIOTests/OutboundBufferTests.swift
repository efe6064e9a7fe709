import CapgateIO
import Testing

@Suite struct OutboundBufferTests {
    @Test func highWaterMarkSignalsProducer() {
        var buffer = OutboundBuffer(highWaterMark: 8)
        buffer.append(contentsOf: [1, 2, 3, 4, 5, 6, 7])
        #expect(!buffer.isAboveHighWaterMark)
        buffer.append(contentsOf: [8])
        #expect(buffer.isAboveHighWaterMark)
        buffer.consume(3)
        #expect(buffer.count == 5)
        #expect(!buffer.isAboveHighWaterMark)
        let front = buffer.withPendingBytes { Array($0) }
        #expect(front == [4, 5, 6, 7, 8])
    }

    @Test func consumingEverythingEmpties() {
        var buffer = OutboundBuffer()
        buffer.append(contentsOf: Array(repeating: 9, count: 100))
        buffer.consume(100)
        #expect(buffer.isEmpty)
        buffer.append(contentsOf: [1])
        #expect(buffer.withPendingBytes { Array($0) } == [1])
    }

    /// The compaction path keeps the right bytes in the right order.
    @Test func compactionPreservesPendingBytes() {
        var buffer = OutboundBuffer(highWaterMark: 1 << 20)
        let data = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        buffer.append(contentsOf: data)
        buffer.consume(150_000)
        buffer.append(contentsOf: [7, 7])
        let pending = buffer.withPendingBytes { Array($0) }
        #expect(pending == Array(data[150_000...]) + [7, 7])
    }
}
