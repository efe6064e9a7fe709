/// A binary min-heap of `(time, seq, id)` with lazy deletion, used by `HandleStore` to
/// find the oldest (by `created_at`) and the expired (by `expires_at`) handles in
/// O(log n) instead of the reference's sort / full scan per store, which at the
/// 10k-entry cap would cost milliseconds on every store in a busy sidecar.
///
/// `seq` is the insertion number, so equal times pop in insertion order: the same
/// tie-break as the reference's stable `sorted(..., key=created_at)` over a dict.
/// Entries removed elsewhere stay in the heap until popped or compacted; the owner
/// recognises them because the live entry's `seq` differs (or the id is gone).
struct EvictionHeap {
    struct Element {
        let time: Int64
        let seq: UInt64
        let id: CodePointKey

        @inline(__always)
        static func < (a: Element, b: Element) -> Bool {
            a.time != b.time ? a.time < b.time : a.seq < b.seq
        }
    }

    private(set) var items: [Element] = []

    var count: Int { items.count }
    var min: Element? { items.first }

    mutating func push(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i] < items[parent] else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    @discardableResult
    mutating func popMin() -> Element? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            siftDown(0)
        }
        return top
    }

    /// Rebuilds from the live elements only (O(n)); called when stale entries dominate.
    mutating func compact(keeping isLive: (Element) -> Bool) {
        items.removeAll { !isLive($0) }
        guard items.count > 1 else { return }
        for i in stride(from: items.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let n = items.count
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var smallest = i
            if l < n && items[l] < items[smallest] { smallest = l }
            if r < n && items[r] < items[smallest] { smallest = r }
            if smallest == i { return }
            items.swapAt(i, smallest)
            i = smallest
        }
    }
}
