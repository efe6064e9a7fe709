/// The reference's shared billing fixture (docs/reference-semantics.md §7.3; `drivers/memory.make_billing_driver`):
/// an `InMemoryDriver` with id `billing` over the 200 deterministic invoices of
/// `BillingData.json` (the reference's `random.Random(42)` dataset, snapshotted).
///
/// Operations:
/// - `list_invoices`: every invoice, or those whose `status == args["status"]` when that
///   argument is truthy (Python truthiness: a falsy filter such as `""`, `0` or `null` returns
///   all rows; a non-string filter matches nothing);
/// - `get_invoice`: the invoice whose `id == args["id"]`, else `null`;
/// - `summarize_spend`: `{"totals": {currency: {status: float}}, "invoice_count": 200}`,
///   accumulated in dataset order with `round(total + amount, 2)` after every step.
public func makeBillingDriver() -> any Driver {
    let driver = InMemoryDriver(driverID: "billing")
    driver.registerHandler("list_invoices") { ctx in
        let filter = ctx.args["status"] ?? .null
        guard filter.pyTruthy else { return .array(BillingDataset.rows) }
        // Every row's status is a string, and Python `==` between a str and a non-str is
        // False, so only a string filter can match; the per-status lists are precomputed.
        guard case .string(let status) = filter else { return .array([]) }
        return .array(BillingDataset.byStatus[CodePointKey(status)] ?? [])
    }
    driver.registerHandler("get_invoice") { ctx in
        // Same reasoning: ids are strings, so a non-string id matches nothing.
        guard case .string(let id)? = ctx.args["id"] else { return .null }
        return BillingDataset.byID[CodePointKey(id)] ?? .null
    }
    driver.registerHandler("summarize_spend") { _ in BillingDataset.spendSummary }
    return driver
}

/// The parsed dataset and the precomputed (input-independent) spend summary.
enum BillingDataset {
    /// Parsed once; the text is a compile-time constant, so a parse failure is a build defect.
    static let rows: [JSONValue] = {
        guard case .array(let rows)? = try? JSONParser.parse(BillingData.json) else {
            preconditionFailure("BillingData.json is not a JSON array")
        }
        return rows
    }()

    /// Rows per status value, in dataset order (the `list_invoices` filter, precomputed).
    static let byStatus: [CodePointKey: [JSONValue]] = {
        var out: [CodePointKey: [JSONValue]] = [:]
        for row in rows {
            if case .string(let s)? = row["status"] { out[CodePointKey(s), default: []].append(row) }
        }
        return out
    }()

    /// First row per id (`get_invoice` returns the first match).
    static let byID: [CodePointKey: JSONValue] = {
        var out: [CodePointKey: JSONValue] = [:]
        for row in rows {
            if case .string(let id)? = row["id"], out[CodePointKey(id)] == nil { out[CodePointKey(id)] = row }
        }
        return out
    }()

    static let spendSummary: JSONValue = {
        var totals = JSONObject()
        for row in rows {
            guard case .string(let currency)? = row["currency"], case .string(let status)? = row["status"],
                  let amount = number(row["amount"]) else { continue }
            var byStatus = totals[currency]?.objectValue ?? JSONObject()
            let running = byStatus[status]?.doubleValue ?? 0.0
            byStatus[status] = .double(round2(running + amount))
            totals[currency] = .object(byStatus)
        }
        return .object(JSONObject([("totals", .object(totals)), ("invoice_count", .int(rows.count))]))
    }()

    private static func number(_ v: JSONValue?) -> Double? {
        switch v {
        case .int(let i)?: return Double(i)
        case .double(let d)?: return d
        default: return nil
        }
    }

    /// Python `round(x, 2)`: the correctly rounded 2-decimal string (half-even on the exact
    /// binary value, which glibc's `%.2f` also gives), read back.
    static func round2(_ x: Double) -> Double {
        Double(PyFloat.fixed2(x)) ?? x
    }

}
