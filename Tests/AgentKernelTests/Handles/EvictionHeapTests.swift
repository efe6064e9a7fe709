import Testing
@testable import AgentKernel

/// `EvictionHeap` (a sorted run plus a heap) against a plain sorted list: mostly in-order
/// pushes with out-of-order ones mixed in (a clock stepped back, elements pushed back),
/// pops and compactions must yield the exact (time, seq) order a single heap gives.
@Suite struct EvictionHeapTests {
    @Test func popsInTimeThenInsertionOrder() {
        var rng = SystemRandomNumberGenerator()
        var heap = EvictionHeap()
        var model: [EvictionHeap.Element] = []
        var clock: Int64 = 1_000
        var seq: UInt64 = 0
        func sorted() -> [EvictionHeap.Element] { model.sorted { $0 < $1 } }
        for _ in 0..<5_000 {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<5:
                // Forward (often equal times), sometimes back in time.
                clock += Int.random(in: 0..<8, using: &rng) == 0 ? -Int64.random(in: 1...50, using: &rng)
                                                                    : Int64.random(in: 0...2, using: &rng)
                let e = EvictionHeap.Element(time: clock, seq: seq)
                seq += 1
                heap.push(e)
                model.append(e)
            case 5..<9:
                let want = sorted().first
                let got = heap.popMin()
                #expect(got?.seq == want?.seq && got?.time == want?.time)
                if let want, let i = model.firstIndex(where: { $0.seq == want.seq }) { model.remove(at: i) }
            default:
                if Int.random(in: 0..<20, using: &rng) == 0 {
                    heap.compact { $0.seq % 3 != 0 }
                    model.removeAll { $0.seq % 3 == 0 }
                } else if let top = heap.popMin() {
                    heap.push(top)  // pushed back, as the byte-cap loop does with the newest handle
                }
            }
            #expect(heap.count == model.count)
            #expect(heap.min?.seq == sorted().first?.seq)
        }
        var rest: [UInt64] = []
        while let e = heap.popMin() { rest.append(e.seq) }
        #expect(rest == sorted().map(\.seq))
    }
}
