import Synchronization

/// Expand's projection, preview rows and redaction (steps 9-12 of `HandleQuery.expand`) in
/// one pass, for the usual page: every row an object of at most 64 keys, scanned to a
/// `max_depth` of at least 2. The general steps project every row into a new array, wrap
/// it as one JSON array, redact that array (which walks each row again, key by key) and
/// then map the result into the frame's rows. Here each row is read once and its frame
/// row built directly, with the same members, values, key order and warnings in the same
/// order: `HandleQuery.projectAndRedact` stays the definition, and the tests compare the
/// two on randomized pages.
///
/// Why the steps can be fused: with every row an object, the preview is the projected rows
/// themselves; redaction then sees each row at depth 1 with no projection of its own, so a
/// kept member is masked exactly when its name is sensitive, and every other member is
/// redacted as a value at depth 2 (scalars never change). Both are decided by the key
/// alone, so a row with the previous row's keys (by code points) reuses its layout:
/// the positions kept, the positions masked and the kept keys (one array the rows share).
enum TableRows {
    /// What a row with `source` keys keeps and masks.
    struct Layout: Sendable {
        var source: [String] = []
        /// The kept keys, in row order: the frame rows' shared key array.
        var keys: [String] = []
        var picks: UInt64 = 0    // kept positions
        var masked: UInt64 = 0   // kept positions whose name is sensitive
        /// Each masked position's warning (empty elsewhere); built only when one is masked.
        var warnings: [String] = []
        /// Every position kept and none masked: an unchanged row is the frame's row as is.
        var whole = false
    }

    /// The frame's rows, warnings appended to `warnings`; nil (warnings untouched) when the
    /// page is not one this pass handles: the caller then runs the general steps.
    static func build(_ page: ArraySlice<JSONValue>, fields: [JSONValue], maxDepth: Int,
                      warnings: inout [String], memo: LayoutMemo? = nil) -> [JSONObject]? {
        guard maxDepth >= 2 else { return nil }
        // The projection as a look-up, built only with a layout: a page whose layout the
        // memo holds needs none (a member is redacted below the projection, which never
        // consults it), and building it retained and released the fields on every expand.
        var names: Redaction.AllowedFields?
        let projecting = !fields.isEmpty
        // As the general redaction: members of a page of two or more rows use its memos.
        let repeated = page.count > 1
        // Made by the first container member: a page of scalars and strings (the usual
        // table) never creates or destroys them.
        var memos: Redaction.Memos?
        var found: [String] = []
        var out: [JSONObject] = []
        out.reserveCapacity(page.count)
        var layout = Layout()
        var haveLayout = false
        for r in page.indices {
            guard case .object(let o) = page[r], o.count <= 64 else { return nil }
            let keys = o.keys, values = o.values
            if !haveLayout, let memo {
                layout = memo.layout(keys, fields: fields) {
                    makeLayout(keys, names: Redaction.AllowedFields(fields), projecting: projecting, previous: nil)
                }
                haveLayout = true
            } else if !haveLayout || !Redaction.sameKeys(keys, layout.source) {
                let n = names ?? Redaction.AllowedFields(fields)
                names = n
                layout = makeLayout(keys, names: n, projecting: projecting, previous: haveLayout ? layout.keys : nil)
                haveLayout = true
            }
            if layout.whole {
                // Copy on change: a row with nothing to redact is kept as it is.
                var built: [JSONValue]?
                for i in values.indices {
                    let v = values[i]
                    if let nv = member(v, repeated: repeated, maxDepth: maxDepth, warnings: &found, memos: &memos) {
                        if built == nil {
                            var b: [JSONValue] = []
                            b.reserveCapacity(values.count)
                            b.append(contentsOf: values[0..<i])
                            built = b
                        }
                        built!.append(nv)
                    } else if built != nil {
                        built!.append(v)
                    }
                }
                if let built {
                    out.append(JSONObject(uniqueKeys: keys, values: built))
                } else {
                    out.append(o)
                }
                continue
            }
            var kept: [JSONValue] = []
            kept.reserveCapacity(layout.keys.count)
            var m = layout.picks
            while m != 0 {
                let i = m.trailingZeroBitCount
                m &= m &- 1
                if layout.masked & (1 << UInt64(i)) != 0 {
                    kept.append(.string(Redaction.redacted))
                    found.append(layout.warnings[i])
                    continue
                }
                let v = values[i]
                kept.append(member(v, repeated: repeated, maxDepth: maxDepth, warnings: &found, memos: &memos) ?? v)
            }
            out.append(JSONObject(uniqueKeys: layout.keys, values: kept))
        }
        if warnings.isEmpty { warnings = found } else { warnings.append(contentsOf: found) }
        return out
    }

    /// The layout of the last page's first row and the projection it was built for, kept
    /// across expands (one per handle store): a caller paging through a handle, or
    /// looking at its first rows again, asks the same projection of rows with the same
    /// keys, and then neither the layout (a key array allocated, each kept name checked)
    /// is built again nor do its frames hold key arrays of their own.
    ///
    /// Sound because a layout depends on nothing else: on the row's keys by code points
    /// (compared as the loop compares consecutive rows) and on the projection only
    /// through `AllowedFields.contains` of those keys, which sees the fields' strings by
    /// code points, never a non-string element, and whether there are any fields at all.
    final class LayoutMemo: Sendable {
        private struct Entry {
            var fields: [JSONValue]
            var layout: Layout
        }
        private let last = Mutex<Entry?>(nil)

        init() {}

        /// The memo's layout when it was built for `keys` and an equal projection, else
        /// `make()`'s, then kept (built outside the lock).
        func layout(_ keys: [String], fields: [JSONValue], make: () -> Layout) -> Layout {
            let hit: Layout? = last.withLock { e in
                guard let e, Redaction.sameKeys(keys, e.layout.source), Self.sameProjection(fields, e.fields) else {
                    return nil
                }
                return e.layout
            }
            if let hit { return hit }
            let made = make()
            last.withLock { $0 = Entry(fields: fields, layout: made) }
            return made
        }

        /// Whether `a` and `b` project every key alike: pairwise, equal strings by code
        /// points or two non-strings (which never equal a key). Same count, so both are
        /// empty or neither is.
        static func sameProjection(_ a: [JSONValue], _ b: [JSONValue]) -> Bool {
            guard a.count == b.count else { return false }
            for i in a.indices {
                switch (a[i], b[i]) {
                case (.string(let x), .string(let y)): if !PyString.equal(x, y) { return false }
                case (.string, _), (_, .string): return false
                default: continue
                }
            }
            return true
        }
    }

    /// A kept, unmasked member's redaction at depth 2, or nil when unchanged (scalars never
    /// change and strings are scrubbed alike at every depth, so only containers take the walk).
    /// No projection is passed: below the row's own, the walk never consults one.
    @inline(__always)
    private static func member(_ v: JSONValue, repeated: Bool, maxDepth: Int,
                               warnings: inout [String], memos: inout Redaction.Memos?) -> JSONValue? {
        if v.isScalar { return nil }
        if case .string(let s) = v { return Redaction.scrubbed(s, warnings: &warnings) }
        if memos == nil { memos = Redaction.Memos() }
        return Redaction.memberChanged(v, .none, repeated: repeated, depth: 2, maxDepth: maxDepth,
                                       warnings: &warnings, memos: &memos!)
    }

    /// The layout of rows with `source` keys. `previous`: the last layout's kept keys, shared
    /// when this one keeps the same (by code points) so alternating layouts that keep the
    /// same columns still give rows one key array.
    private static func makeLayout(_ source: [String], names: Redaction.AllowedFields, projecting: Bool,
                                   previous: [String]?) -> Layout {
        var layout = Layout()
        layout.source = source
        var count = 0
        for i in source.indices where !projecting || names.contains(source[i]) {
            layout.picks |= 1 << UInt64(i)
            count += 1
            if Redaction.isSensitiveName(source[i]) { layout.masked |= 1 << UInt64(i) }
        }
        if layout.masked != 0 {
            layout.warnings = source.indices.map { layout.masked & (1 << UInt64($0)) != 0 ? Redaction.maskWarning(source[$0]) : "" }
        }
        if count == source.count {
            layout.keys = source
            layout.whole = layout.masked == 0
        } else {
            var kept: [String] = []
            kept.reserveCapacity(count)
            var m = layout.picks
            while m != 0 {
                kept.append(source[m.trailingZeroBitCount])
                m &= m &- 1
            }
            layout.keys = kept
        }
        if let previous, !sharesStorage(previous, layout.keys), Redaction.sameKeys(previous, layout.keys) {
            layout.keys = previous
        }
        return layout
    }
}
