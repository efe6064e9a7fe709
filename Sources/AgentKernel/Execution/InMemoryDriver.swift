import Synchronization

/// A driver whose operations are in-process handlers (docs/reference-semantics.md §7.3; `drivers/memory.InMemoryDriver`).
///
/// For tests, demos and built-in datasets. The operation is `str(args.get("operation",
/// capability_id))`; a missing handler and any handler error become the reference's
/// `DriverError` messages.
public final class InMemoryDriver: Driver {
    /// A handler computes the result data for one operation.
    public typealias Handler = @Sendable (ExecutionContext) async throws -> JSONValue

    public let driverID: String
    private let handlers = Mutex<[CodePointKey: Handler]>([:])

    public init(driverID: String = "memory") {
        self.driverID = driverID
    }

    /// Registers (or replaces) the handler of `operation`.
    public func registerHandler(_ operation: String, _ handler: @escaping Handler) {
        handlers.withLock { $0[CodePointKey(operation)] = handler }
    }

    public func execute(_ ctx: ExecutionContext) async throws -> RawResult {
        let operation = ctx.operation
        guard let handler = handlers.withLock({ $0[CodePointKey(operation)] }) else {
            throw KernelError(
                .driverError,
                "InMemoryDriver '\(driverID)' has no handler for operation='\(operation)'. "
                    + "Register one with register_handler().")
        }
        let data: JSONValue
        do {
            data = try await handler(ctx)
        } catch is CancellationError {
            // Python's CancelledError is a BaseException and escapes `except Exception`.
            throw CancellationError()
        } catch {
            // Every handler error, DriverError included, is wrapped (the reference's
            // `except Exception` around the handler call).
            throw KernelError(.driverError, "Handler for operation='\(operation)' raised: \(FallbackExecutor.pythonStr(error))")
        }
        return RawResult(capabilityID: ctx.capabilityID, data: data)
    }
}
