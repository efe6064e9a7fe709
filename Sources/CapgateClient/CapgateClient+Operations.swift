import AgentKernel
import CapgateWire

/// The operations verbs (admin only, docs/operations.md): kill switches and the status
/// report. They answer plain JSON (`Paused`, `Status` in docs/openapi.yaml).
extension CapgateClient {
    /// Pauses a capability, a principal or everything; the paused items after the change.
    public func pause(_ target: PauseTarget, reason: String = "") async throws -> JSONValue {
        try await call(.operations(.pause(target, reason: reason)))
    }

    /// Lifts a pause; the paused items after the change.
    public func resume(_ target: PauseTarget) async throws -> JSONValue {
        try await call(.operations(.resume(target)))
    }

    public func listPaused() async throws -> JSONValue { try await call(.operations(.listPaused)) }

    public func status() async throws -> JSONValue { try await call(.operations(.status)) }
}
