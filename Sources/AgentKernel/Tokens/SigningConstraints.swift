import CapgateFormats
import Synchronization

/// A token's `constraints` as canonical JSON (sorted keys, ASCII-escaped), exactly the bytes
/// `JSONWriter.write(.object(c), style: .canonical)` writes, for the signing payload.
///
/// Why not just that call: a PII grant by a non-`pii_reader` signs the capability's pinned
/// `allowed_fields`, the same list on every grant (the default policy hands out one array
/// per capability, `DefaultPolicyEngine.allowedFieldsForms`), and escaping it string by
/// string was over a third of the payload's cost. The canonical bytes of the last few
/// arrays written are kept with those arrays, keyed by their storage's identity: storage
/// shared with the memo cannot change (a write copies first), and the memo keeps it alive,
/// so its address cannot name another array. An equal list in other storage is written
/// afresh, never mistaken. A few entries, replaced in turn, so that grants alternating
/// between a handful of PII capabilities still hit.
enum SigningConstraints {
    private struct Entry {
        let array: [JSONValue]
        let bytes: [UInt8]
    }

    /// A whole constraints object's canonical bytes, kept with its two arrays.
    private struct ObjectEntry {
        let keys: [String]
        let values: [JSONValue]
        let bytes: [UInt8]

        func holds(_ c: JSONObject) -> Bool { sharesStorage(keys, c.keys) && sharesStorage(values, c.values) }
    }

    private struct Memo {
        var entries: [Entry] = []
        var next = 0
        var objects: [ObjectEntry] = []
        var nextObject = 0
        /// The last object missed, kept (alive, so its identity stays its own) to see whether
        /// it comes back: only an object met twice in a row enters `objects`.
        var candidate: JSONObject?
    }

    static let memoEntries = 4
    static let objectMemoEntries = 8
    private static let memo = Mutex(Memo())

    /// The canonical bytes of `constraints` (what `write` appends).
    ///
    /// Why whole objects too: an unconstrained request's grant signs one of a few objects the
    /// default policy shares (`max_rows` alone, or after the pinned `allowed_fields`, for a
    /// user or a service), so its bytes are the same on every grant; sorting its keys and
    /// writing its members was a sixth of the signing payload. An object enters the memo
    /// when it is missed twice in a row (a request's own constraints are a new object per
    /// grant and never do, so they cannot push the shared ones out); it is found again by
    /// the identity of both its arrays, which cannot change while the memo holds them.
    static func bytes(_ constraints: JSONObject) -> [UInt8] {
        let hit = memo.withLock { m -> [UInt8]? in
            for e in m.objects where e.holds(constraints) { return e.bytes }
            return nil
        }
        if let hit { return hit }
        var out: [UInt8] = []
        out.reserveCapacity(64)
        write(constraints, into: &out)
        let entry = ObjectEntry(keys: constraints.keys, values: constraints.values, bytes: out)
        memo.withLock { m in
            guard let c = m.candidate, entry.holds(c) else {
                m.candidate = constraints
                return
            }
            m.candidate = nil
            if m.objects.count < objectMemoEntries {
                m.objects.append(entry)
            } else {
                m.objects[m.nextObject] = entry
                m.nextObject = (m.nextObject + 1) % objectMemoEntries
            }
        }
        return out
    }

    /// Appends the canonical form of `constraints` to `out`: JSONWriter's key order and
    /// members, with arrays of two or more elements from the memo.
    static func write(_ constraints: JSONObject, into out: inout [UInt8]) {
        let keys = constraints.keys, values = constraints.values
        out.append(UInt8(ascii: "{"))
        JSONWriter.withCanonicalOrder(keys) { order in
            for (n, i) in order.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.writeString(keys[i], ascii: true, into: &out)
                out.append(UInt8(ascii: ":"))
                if case .array(let a) = values[i], a.count > 1 {
                    writeArray(a, into: &out)
                } else {
                    JSONWriter.write(values[i], style: .canonical, into: &out)
                }
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    /// A canonical array, from the memo when `a` is the array it holds.
    private static func writeArray(_ a: [JSONValue], into out: inout [UInt8]) {
        let hit = memo.withLock { m -> Bool in
            for e in m.entries where sharesStorage(e.array, a) {
                out.append(contentsOf: e.bytes)
                return true
            }
            return false
        }
        if hit { return }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        JSONWriter.write(.array(a), style: .canonical, into: &bytes)
        out.append(contentsOf: bytes)
        let entry = Entry(array: a, bytes: bytes)
        memo.withLock { m in
            if m.entries.count < memoEntries {
                m.entries.append(entry)
            } else {
                m.entries[m.next] = entry
                m.next = (m.next + 1) % memoEntries
            }
        }
    }
}
