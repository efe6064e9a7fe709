/// Identifies a scheduled timer so it can be cancelled.
public struct TimerID: Hashable, Sendable {
    let raw: UInt64
}

/// A binary min-heap of deadlines with O(log n) cancellation.
///
/// Cancellation removes the entry instead of leaving a tombstone: the
/// connection layer re-arms its idle/request timers on every request, and
/// tombstones would pile up until their (possibly hour-long) deadlines.
/// Equal deadlines fire in scheduling order (ids grow monotonically).
struct TimerHeap<Payload> {
    private struct Entry {
        let deadline: Deadline
        let id: UInt64
        let payload: Payload
    }

    private var entries: [Entry] = []
    private var position: [UInt64: Int] = [:]
    private var nextID: UInt64 = 1

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }
    /// The earliest deadline, if any.
    var nearest: Deadline? { entries.first?.deadline }

    mutating func insert(_ payload: Payload, at deadline: Deadline) -> TimerID {
        let id = nextID
        nextID += 1
        entries.append(Entry(deadline: deadline, id: id, payload: payload))
        position[id] = entries.count - 1
        siftUp(entries.count - 1)
        return TimerID(raw: id)
    }

    /// Removes a pending timer; nil when it already fired or was cancelled.
    mutating func remove(_ id: TimerID) -> Payload? {
        guard let index = position[id.raw] else { return nil }
        return removeEntry(at: index).payload
    }

    /// Pops the earliest timer if its deadline is at or before `now`.
    mutating func popExpired(now: Deadline) -> Payload? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        return removeEntry(at: 0).payload
    }

    private mutating func removeEntry(at index: Int) -> Entry {
        let removed = entries[index]
        position[removed.id] = nil
        let last = entries.count - 1
        if index != last {
            entries.swapAt(index, last)
            position[entries[index].id] = index
        }
        entries.removeLast()
        if index < entries.count {
            siftDown(index)
            siftUp(index)
        }
        return removed
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        let x = entries[a], y = entries[b]
        return x.deadline < y.deadline || (x.deadline == y.deadline && x.id < y.id)
    }

    private mutating func swapEntries(_ a: Int, _ b: Int) {
        entries.swapAt(a, b)
        position[entries[a].id] = a
        position[entries[b].id] = b
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { return }
            swapEntries(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count, less(left, smallest) { smallest = left }
            if right < entries.count, less(right, smallest) { smallest = right }
            if smallest == parent { return }
            swapEntries(parent, smallest)
            parent = smallest
        }
    }
}
