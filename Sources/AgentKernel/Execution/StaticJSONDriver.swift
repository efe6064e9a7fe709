/// A driver that serves fixed JSON per operation, returned as-is.
///
/// Not in the reference: it is the configuration-friendly stand-in for `InMemoryDriver`
/// handlers (which are Python callables and cannot be configured; docs/reference-semantics.md §12.3 item 8).
/// Operation resolution is the built-in drivers' (`str(args.get("operation", capability_id))`).
public final class StaticJSONDriver: Driver {
    public let driverID: String
    private let operations: [CodePointKey: JSONValue]

    public init(driverID: String, operations: [String: JSONValue]) {
        self.driverID = driverID
        var ops: [CodePointKey: JSONValue] = [:]
        for (k, v) in operations { ops[CodePointKey(k)] = v }
        self.operations = ops
    }

    /// Throws `DriverError("StaticJSONDriver '<id>' has no data for operation='<op>'.")`
    /// for an unknown operation (worded like `InMemoryDriver`'s missing-handler error).
    public func execute(_ ctx: ExecutionContext) async throws -> RawResult {
        let operation = ctx.operation
        guard let data = operations[CodePointKey(operation)] else {
            throw KernelError(.driverError, "StaticJSONDriver '\(driverID)' has no data for operation='\(operation)'.")
        }
        return RawResult(capabilityID: ctx.capabilityID, data: data)
    }
}
