/// The `invoke_timeout_s` token constraint (docs/reference-semantics.md §3.4 step 6; `_driver_exec.resolve_invoke_timeout`).
public enum InvokeTimeout {
    /// The constraint key, signed into the token so the deadline is tamper-evident.
    public static let constraintKey = "invoke_timeout_s"

    /// The per-attempt deadline in seconds, or nil when the constraint is absent or null.
    ///
    /// The reference returns `float(raw)`, so an int `1` prints as `1.0` in the timeout
    /// message; `PyFloat.repr(seconds)` reproduces that text.
    /// Throws `DriverError("Invalid 'invoke_timeout_s' constraint: <repr> (must be a positive
    /// number of seconds).")` for a bool, a non-number or a value <= 0. NaN is also rejected
    /// (fail closed; Python would accept it and arm a nonsensical deadline).
    public static func resolve(_ constraints: JSONObject) throws(KernelError) -> Double? {
        guard let raw = constraints[constraintKey] else { return nil }
        let seconds: Double
        switch raw {
        case .null: return nil
        case .int(let i): seconds = Double(i)
        case .double(let d): seconds = d
        default: throw invalid(raw)
        }
        if seconds.isNaN || seconds <= 0 { throw invalid(raw) }
        return seconds
    }

    private static func invalid(_ raw: JSONValue) -> KernelError {
        KernelError(.driverError,
                    "Invalid '\(constraintKey)' constraint: \(raw.pyRepr) (must be a positive number of seconds).")
    }
}
