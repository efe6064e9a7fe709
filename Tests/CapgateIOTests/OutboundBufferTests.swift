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

/// An idle connection gives back the capacity of its largest burst, never pending bytes.
@Suite struct OutboundBufferReleaseTests {
    @Test func releasesOnlyWhenEmptyAndAboveThreshold() {
        var buffer = OutboundBuffer(highWaterMark: 1 << 20)
        buffer.append(contentsOf: Array(repeating: 1, count: 100_000))
        buffer.releaseCapacity(above: 16 * 1024)
        #expect(buffer.count == 100_000, "pending bytes are never dropped")
        buffer.consume(100_000)
        #expect(buffer.capacity >= 100_000, "draining alone keeps the capacity for the next burst")
        buffer.releaseCapacity(above: 16 * 1024)
        #expect(buffer.capacity == 0)
        buffer.append(contentsOf: [5, 6])
        #expect(buffer.withPendingBytes { Array($0) } == [5, 6])
    }

    @Test func smallBuffersKeepTheirCapacity() {
        var buffer = OutboundBuffer()
        buffer.append(contentsOf: Array(repeating: 1, count: 1000))
        buffer.consume(1000)
        let before = buffer.capacity
        buffer.releaseCapacity(above: 16 * 1024)
        #expect(buffer.capacity == before && before >= 1000)
    }
}
