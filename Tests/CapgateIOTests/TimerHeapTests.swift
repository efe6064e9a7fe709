@testable import CapgateIO
import CapgateTesting
import Testing

@Suite struct TimerHeapTests {
    @Test func popsInDeadlineOrderWithFIFOTies() {
        var heap = TimerHeap<String>()
        _ = heap.insert("c", at: Deadline(nanoseconds: 30))
        _ = heap.insert("a", at: Deadline(nanoseconds: 10))
        _ = heap.insert("b1", at: Deadline(nanoseconds: 20))
        _ = heap.insert("b2", at: Deadline(nanoseconds: 20))
        var order: [String] = []
        while let next = heap.popExpired(now: Deadline(nanoseconds: 100)) { order.append(next) }
        #expect(order == ["a", "b1", "b2", "c"])
        #expect(heap.isEmpty)
    }

    @Test func onlyExpiredTimersPop() {
        var heap = TimerHeap<Int>()
        _ = heap.insert(1, at: Deadline(nanoseconds: 10))
        _ = heap.insert(2, at: Deadline(nanoseconds: 50))
        #expect(heap.popExpired(now: Deadline(nanoseconds: 10)) == 1)
        #expect(heap.popExpired(now: Deadline(nanoseconds: 49)) == nil)
        #expect(heap.nearest == Deadline(nanoseconds: 50))
    }

    @Test func cancelRemovesEntryAndSecondCancelIsNoOp() {
        var heap = TimerHeap<Int>()
        let a = heap.insert(1, at: Deadline(nanoseconds: 10))
        let b = heap.insert(2, at: Deadline(nanoseconds: 20))
        #expect(heap.remove(a) == 1)
        #expect(heap.remove(a) == nil)
        #expect(heap.count == 1)
        #expect(heap.popExpired(now: Deadline(nanoseconds: 100)) == 2)
        #expect(heap.remove(b) == nil)
    }

    /// Many inserts and random cancellations keep the heap order (checks the
    /// index bookkeeping of removal from the middle).
    @Test func randomizedInsertCancelMatchesSortedModel() {
        var rng = SplitMix64(seed: 42)
        var heap = TimerHeap<Int>()
        var model: [Int: (UInt64, TimerID)] = [:]
        for value in 0..<2000 {
            let deadline = rng.next() % 500
            model[value] = (deadline, heap.insert(value, at: Deadline(nanoseconds: deadline)))
            if rng.next() % 3 == 0, let victim = model.keys.randomElement(using: &rng) {
                #expect(heap.remove(model[victim]!.1) == victim)
                model[victim] = nil
            }
        }
        #expect(heap.count == model.count)
        var popped: [Int] = []
        while let v = heap.popExpired(now: Deadline(nanoseconds: .max)) { popped.append(v) }
        let expected = model.sorted { ($0.value.0, $0.key) < ($1.value.0, $1.key) }.map(\.key)
        #expect(popped == expected)
    }
}
