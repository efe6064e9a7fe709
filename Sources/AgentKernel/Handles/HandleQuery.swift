/// Handle expansion (docs/reference-semantics.md §9.3, `handle_query.py`): paging, projection and an
/// equality filter over a stored result, re-checked against the grant persisted with
/// the handle, then redacted. The steps run in the reference's exact order, because the
/// order decides which error a bad request gets.
extension HandleStore {
    /// `expand` with SERVER-SIDE metadata (docs/reference-semantics.md §3.7 trust gap): the handle is looked up
    /// by id (HandleNotFound if unknown) and its STORED principal and constraints drive
    /// every check; nothing the client sends about the handle is trusted. The Frame
    /// carries the stored handle; provenance names the caller.
    public func expand(handleID: String, query: JSONObject, actionID: String, responseMode: ResponseMode = .table,
                       principalID: String, maxDepth: Int, now: Timestamp? = nil) throws(KernelError) -> Frame {
        // One look-up: the reference reads the metadata, checks the query against it, then
        // fetches (raising HandleExpired there); the entry read once serves both steps.
        guard let entry = entry(handleID) else { throw Self.notFound(handleID) }
        let at = now ?? clock.now()
        return try HandleQuery.expand(entry.handle, query: query, actionID: actionID, responseMode: responseMode,
                                      principalID: principalID, maxDepth: maxDepth, now: at,
                                      layouts: layouts) { () throws(KernelError) in
            try self.data(of: entry, now: at)
        }
    }
}

enum HandleQuery {
    static func violation(_ message: String, _ code: String) -> KernelError {
        KernelError(.handleConstraintViolation, message, reasonCode: code)
    }

    static func expand(_ handle: Handle, query: JSONObject, actionID: String, responseMode: ResponseMode,
                       principalID: String, maxDepth: Int, now: Timestamp, layouts: TableRows.LayoutMemo? = nil,
                       fetch: () throws(KernelError) -> JSONValue) throws(KernelError) -> Frame {
        // Each field of the handle is read once: a read copies it out of the handle's box
        // (a retain and a release per array or string); the id only on an error path.
        var hid: String { handle.handleID }
        // 1. Principal binding: a bound handle is not a bearer credential.
        let bound = handle.principalID
        if !bound.isEmpty && !PyString.equal(bound, principalID) {
            throw violation("Handle '\(hid)' was granted to principal '\(bound)' and cannot be expanded by '\(principalID.isEmpty ? "<unspecified>" : principalID)'.",
                            ReasonCode.handlePrincipalMismatch)
        }
        // 2. Query types. The query's and the grant's members are read in one pass each.
        let (queryFilter, queryFields, queryOffset, queryLimit) = query.members("filter", "fields", "offset", "limit")
        // The filter and the scope are nil when absent (the usual expand), which then neither
        // builds, walks nor releases an empty object for them (an empty object iterated
        // retained and released its two arrays, per loop).
        var filterIn: JSONObject?
        switch queryFilter ?? .null {
        case .null: break
        case .object(let o): filterIn = o
        case let other:
            throw violation("Handle expand 'filter' must be a dict, got \(PyRow.typeName(other)).", ReasonCode.invalidConstraint)
        }
        var requestedFields: [JSONValue] = []
        switch queryFields ?? .null {
        case .null: break
        case .array(let a): requestedFields = a
        case let other:
            throw violation("Handle expand 'fields' must be a list, got \(PyRow.typeName(other)).", ReasonCode.invalidConstraint)
        }

        // 3. Grant bounds persisted with the handle.
        let (grantedMaxRows, grantedFieldsMember, scopeMember, _) =
            handle.constraints.members("max_rows", "allowed_fields", "scope")
        let grantedFieldsValue = grantedFieldsMember ?? .null
        let granted = grantedFieldsValue.pyTruthy ? GrantedFields(grantedFieldsValue) : nil
        let scopeValue = scopeMember ?? .null
        var grantedScope: JSONObject?  // a truthy scope: a non-empty object
        if scopeValue.pyTruthy {
            guard case .object(let o) = scopeValue else {
                throw KernelError(.valueError, "'\(PyRow.typeName(scopeValue))' object has no attribute 'items'")
            }
            grantedScope = o
        }
        if let granted, !requestedFields.isEmpty {
            var disallowed: [JSONValue] = []
            for f in requestedFields where !(try granted.contains(f)) { disallowed.append(f) }
            if !disallowed.isEmpty {
                let g = try PySort.sortedRepr(try granted.list())
                let d = try PySort.sortedRepr(disallowed)
                throw violation("Handle '\(hid)' grant restricts fields to \(g); request asked for \(d).",
                                ReasonCode.handleConstraintViolation)
            }
        }
        if let grantedScope {
            for (sk, sv) in grantedScope {
                if let fv = filterIn?[sk], !fv.pyEquals(sv) {
                    throw violation("Handle '\(hid)' is scoped to \(sk)=\(sv.pyRepr); request filter \(sk)=\(fv.pyRepr) is outside that scope.",
                                    ReasonCode.handleConstraintViolation)
                }
            }
        }

        // 4. Fetch (HandleNotFound / HandleExpired surface here, after the checks above).
        let data = try fetch()
        var rows: [JSONValue] = data.arrayValue ?? [data]

        // 5. Filter: the grant scope is forced into the filter (AND), so omitting the
        //    scope key cannot widen the result.
        if filterIn != nil || grantedScope != nil {
            var filterSpec = filterIn ?? JSONObject()
            if let grantedScope {
                for (sk, sv) in grantedScope where filterSpec[sk] == nil { filterSpec[sk] = sv }
            }
            if !filterSpec.isEmpty {
                rows = rows.filter { r in
                    guard case .object(let o) = r else { return false }
                    return filterSpec.allSatisfy { (o[$0.key] ?? .null).pyEquals($0.value) }
                }
            }
        }

        // 6. Paging input, coerced with Python `int()`.
        let offset = try pagingInt(queryOffset ?? .int(0), name: "offset")
        var requestedLimit: Int?
        if let rawLimit = queryLimit, !rawLimit.isNull {
            requestedLimit = try pagingInt(rawLimit, name: "limit")
        }
        var limit = requestedLimit ?? rows.count

        // 7. Row cap: `isinstance(max_rows, int)` also holds for bools (True == 1).
        let cap: Int? = switch grantedMaxRows {
        case .int(let i)?: i
        case .bool(let b)?: b ? 1 : 0
        default: nil
        }
        if let cap, cap >= 0 {
            if let requestedLimit, requestedLimit > cap {
                throw violation("Handle '\(hid)' grant caps rows at \(grantedMaxRows!.pyStr); request asked for limit=\(requestedLimit).",
                                ReasonCode.handleConstraintViolation)
            }
            limit = min(limit, cap)
        }

        // 8. Slice rows[offset : offset+limit] (both non-negative here).
        let lo = min(offset, rows.count)
        let hi = min(rows.count, offset > Int.max - limit ? Int.max : offset + limit)
        // The page stays a slice until projected (the projection builds the page's array
        // directly), copied only when kept as is and not the whole result.
        let page = rows[lo..<max(lo, hi)]
        let wholePage = lo == 0 && hi >= rows.count

        // 9-12. Projection, preview rows, redaction: one pass over the page when every row is
        //       an object (TableRows), else the general steps.
        let effective: [JSONValue] = !requestedFields.isEmpty ? requestedFields : try granted?.list() ?? []
        var warnings: [String] = []
        let table: [JSONObject]
        if let rows = TableRows.build(page, fields: effective, maxDepth: maxDepth, warnings: &warnings,
                                        memo: layouts) {
            table = rows
        } else {
            table = projectAndRedact(page, whole: wholePage ? rows : nil, fields: effective, maxDepth: maxDepth,
                                     warnings: &warnings)
        }
        let capabilityID = handle.capabilityID
        return Frame(actionID: actionID, capabilityID: capabilityID, responseMode: responseMode,
                     tablePreview: table, handle: handle, warnings: warnings,
                     provenance: Provenance(capabilityID: capabilityID, principalID: principalID,
                                            invokedAt: now, actionID: actionID))
    }

    /// Steps 9-12 one after the other, for any page (`TableRows.build` is the one-pass form
    /// of these steps for pages of objects, tested against this). `whole`: the whole result
    /// when the page is all of it, kept as is when nothing is projected.
    static func projectAndRedact(_ page: ArraySlice<JSONValue>, whole: [JSONValue]?, fields effective: [JSONValue],
                                 maxDepth: Int, warnings: inout [String]) -> [JSONObject] {
        var rows: [JSONValue] = whole ?? []
        // 9. Projection: requested fields, else the grant's, else everything.
        if !effective.isEmpty {
            let names = Redaction.AllowedFields(effective)
            // At most one member per requested name: reserved once instead of grown by
            // appends (two reallocations of both arrays per row).
            let most = effective.count
            // Rows of a table keep the same keys in the same order, so a page's projected rows
            // share one key array (copy-on-write) instead of allocating one per row. A row
            // whose kept keys differ (by code points, so the JSON bytes are the same) gets its
            // own, which later rows then share.
            var shared: [String] = []
            // The previous object row's keys and the positions it kept, as a bit mask (rows of
            // at most 64 keys): a row with the same keys (by code points) keeps the same
            // positions, so the projection list is scanned once per key layout instead of
            // once per key of every row.
            var lastKeys: [String] = []
            var lastPicks: UInt64 = 0
            var havePicks = false
            rows = page.map { r in
                guard case .object(let o) = r else { return r }
                if havePicks && Redaction.sameKeys(o.keys, lastKeys) {
                    // Same keys as the previous row: its kept keys (`shared`) are this row's too.
                    var values: [JSONValue] = []
                    values.reserveCapacity(shared.count)
                    var m = lastPicks
                    while m != 0 {
                        values.append(o.values[m.trailingZeroBitCount])
                        m &= m &- 1
                    }
                    return .object(JSONObject(uniqueKeys: shared, values: values))
                }
                var values: [JSONValue] = []
                values.reserveCapacity(Swift.min(o.count, most))
                var picks: UInt64 = 0
                var own: [String]?  // set once this row's kept keys stop matching `shared`
                for i in o.keys.indices where names.contains(o.keys[i]) {
                    let k = o.keys[i]
                    if own == nil {
                        let n = values.count
                        if n >= shared.count || !PyString.equal(shared[n], k) {
                            var keys: [String] = []
                            keys.reserveCapacity(Swift.min(o.count, most))
                            keys.append(contentsOf: shared[0..<n])
                            own = keys
                        }
                    }
                    own?.append(k)
                    values.append(o.values[i])
                    if i < 64 { picks |= 1 << UInt64(i) }
                }
                if let own {
                    shared = own
                } else if values.count != shared.count {
                    shared = Array(shared[0..<values.count])
                }
                if o.count <= 64 {
                    lastKeys = o.keys
                    lastPicks = picks
                    havePicks = true
                } else {
                    havePicks = false
                }
                // Kept keys are a subset of one object's keys, hence distinct.
                return .object(JSONObject(uniqueKeys: shared, values: values))
            }
        } else if whole == nil {
            rows = Array(page)
        }

        // 10. Preview rows.
        let preview: [JSONValue]
        if let first = rows.first, first.objectValue == nil {
            preview = rows.map { .object(["value": $0]) }
        } else {
            preview = rows
        }

        // 11. Redact (no projection: it was applied above) to the firewall's depth.
        let redacted = Redaction.redact(.array(preview), .none, depth: 0, maxDepth: maxDepth, warnings: &warnings)

        // 12. The Frame. Deviation (unrepresentable in `[JSONObject]`): a non-object
        //     element (mixed rows after an object first row, or a row elided by a
        //     max_depth < 2) is wrapped as {"value": element}.
        let table: [JSONObject]
        switch redacted {
        case .array(let items): table = items.map { $0.objectValue ?? ["value": $0] }
        default: table = [["value": redacted]]
        }
        return table
    }

    /// `int(query.get(name))` with the reference's HCV wrapping of TypeError/ValueError
    /// and its non-negative check. (OverflowError is not caught by the reference.)
    static func pagingInt(_ v: JSONValue, name: String) throws(KernelError) -> Int {
        if case .int(let n) = v, n >= 0 { return n }  // the usual limit/offset, as int() gives it
        switch PyCoerce.int(v) {
        case .success(let n):
            if n < 0 {
                throw violation("Handle expand '\(name)' must be non-negative, got \(n).", ReasonCode.invalidConstraint)
            }
            return n
        case .failure(let e):
            if e.type == "OverflowError" { throw e.kernelError }
            throw violation("Handle expand '\(name)' must be an integer, got \(v.pyRepr).", ReasonCode.invalidConstraint)
        }
    }
}
