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

    private struct Memo {
        var entries: [Entry] = []
        var next = 0
    }

    static let memoEntries = 4
    private static let memo = Mutex(Memo())

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
