/// A min-queue of `(time, seq)` with lazy deletion, used by `HandleStore` to find the
/// oldest (by `created_at`) and the expired (by `expires_at`) handles without the
/// reference's sort / full scan per store, which at the 10k-entry cap would cost
/// milliseconds on every store in a busy sidecar.
///
/// `seq` is the insertion number, so equal times pop in insertion order: the same
/// tie-break as the reference's stable `sorted(..., key=created_at)` over a dict.
/// Entries removed elsewhere stay until popped or compacted; the owner recognises them
/// because the live entry's `seq` differs (or the id is gone).
///
/// Two parts: handles almost always arrive in time order (the clock moves forward and the
/// TTL is the same), so an element not earlier than the last one appended goes to the end
/// of a sorted run (`run`, O(1) in and out); any other (a clock stepped back, a shorter
/// TTL, a restored handle, an element pushed back) goes to a binary heap. The minimum is
/// the smaller of the two fronts, so pops come out in exactly the order one heap gives,
/// without a sift through 10k elements on every store at capacity.
struct EvictionHeap {
    /// Plain data (no id string): pushes, pops and the run's trims copy and move elements
    /// without a retain or release, and a popped element never keeps its handle's id alive.
    /// The owner finds the entry by `hash` and `seq` instead.
    struct Element {
        let time: Int64
        let seq: UInt64
        /// The owner's table hash of the handle's id: with `seq` it finds the live entry (or
        /// its absence) without hashing or comparing the id's bytes, long out of cache when
        /// it is evicted.
        let hash: UInt64

        init(time: Int64, seq: UInt64, hash: UInt64 = 0) {
            self.time = time
            self.seq = seq
            self.hash = hash
        }

        @inline(__always)
        static func < (a: Element, b: Element) -> Bool {
            a.time != b.time ? a.time < b.time : a.seq < b.seq
        }
    }

    /// Sorted ascending from `runHead` on; slots before it are spent.
    private var run: [Element] = []
    private var runHead = 0
    private var heap: [Element] = []

    var count: Int { run.count - runHead + heap.count }

    var min: Element? {
        let r = runHead < run.count ? run[runHead] : nil
        guard let h = heap.first else { return r }
        guard let r else { return h }
        return h < r ? h : r
    }

    mutating func push(_ e: Element) {
        if runHead == run.count || !(e < run[run.count - 1]) {
            run.append(e)
            return
        }
        heap.append(e)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i] < heap[parent] else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    @discardableResult
    mutating func popMin() -> Element? {
        let fromRun: Bool
        if runHead < run.count {
            fromRun = heap.first.map { !($0 < run[runHead]) } ?? true
        } else if !heap.isEmpty {
            fromRun = false
        } else {
            return nil
        }
        if fromRun {
            let top = run[runHead]
            runHead += 1
            trimRun()
            return top
        }
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
        return top
    }

    /// Rebuilds from the live elements only (O(n)); called when stale entries dominate.
    mutating func compact(keeping isLive: (Element) -> Bool) {
        run = run[runHead...].filter(isLive)
        runHead = 0
        heap.removeAll { !isLive($0) }
        guard heap.count > 1 else { return }
        for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
    }

    /// Drops spent slots once they are half the run (amortized O(1) per pop).
    private mutating func trimRun() {
        if runHead == run.count {
            run.removeAll(keepingCapacity: true)
            runHead = 0
        } else if runHead > 32 && runHead * 2 > run.count {
            run.removeFirst(runHead)
            runHead = 0
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let n = heap.count
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var smallest = i
            if l < n && heap[l] < heap[smallest] { smallest = l }
            if r < n && heap[r] < heap[smallest] { smallest = r }
            if smallest == i { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }
}
