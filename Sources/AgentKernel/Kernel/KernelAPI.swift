/// "A kernel", as seen by a caller: the verbs with the reference's arguments and their
/// typed answers. This is the Swift declaration of each verb's request and response types
/// (the wire's verb list, `Verb` in CapgateWire, names them). The in-process `Kernel`
/// conforms through `LocalKernelAPI`; `CapgateClient` conforms over the network, so the
/// conformance suite (KernelConformance) runs unchanged against either.
///
/// Errors: implementations throw errors that name the reference's exception class
/// (`TypedKernelError`).
public protocol KernelAPI: Sendable {
    func listCapabilities() async throws -> [Capability]
    func requestCapabilities(goal: String) async throws -> [CapabilityRequest]
    func grantCapability(_ request: CapabilityRequest, principal: Principal, justification: String) async throws
        -> CapabilityGrant
    func invoke(_ token: CapabilityToken, principal: Principal, args: JSONObject, responseMode: ResponseMode,
                dryRun: Bool) async throws -> InvokeResult
    /// `invoke_stream`: the frames as the kernel produces them, the last with `isFinal`. An
    /// error before the first frame is thrown from the first `next()`, one after frames from
    /// the `next()` after them. Stopping the iteration (or cancelling its task) stops the
    /// driver; the invocation is traced either way.
    func invokeStream(_ token: CapabilityToken, principal: Principal, args: JSONObject, responseMode: ResponseMode)
        -> AsyncThrowingStream<Frame, any Error>
    func expand(handleID: String, query: JSONObject, principal: Principal?) async throws -> Frame
    func explain(actionID: String) async throws -> ActionTrace
    func explainDenial(_ request: CapabilityRequest, principal: Principal, justification: String) async throws
        -> DenialExplanation
    func queryTraces(_ query: TraceQuery) async throws -> [ActionTrace]
    func revoke(tokenID: String) async throws
    func revokeAll(principalID: String) async throws -> Int
    func stats() async throws -> StatsSnapshot
}

/// The in-process adapter.
public struct LocalKernelAPI: KernelAPI {
    public let kernel: Kernel
    public init(_ kernel: Kernel) { self.kernel = kernel }

    public func listCapabilities() async throws -> [Capability] { kernel.listCapabilities() }
    public func requestCapabilities(goal: String) async throws -> [CapabilityRequest] {
        kernel.requestCapabilities(goal: goal)
    }
    public func grantCapability(_ request: CapabilityRequest, principal: Principal, justification: String) async throws
        -> CapabilityGrant
    {
        try kernel.grantCapability(request, principal: principal, justification: justification)
    }
    public func invoke(_ token: CapabilityToken, principal: Principal, args: JSONObject, responseMode: ResponseMode,
                       dryRun: Bool) async throws -> InvokeResult
    {
        try await kernel.invoke(token, principal: principal, args: args, responseMode: responseMode, dryRun: dryRun)
    }
    /// `Kernel.invokeStream` in a task that the stream's end cancels (which stops the driver).
    /// The stream buffers: the kernel's `emit` hands each frame over without waiting for the
    /// consumer, so in process a reader that stops reading lets frames accumulate until it
    /// ends the iteration (over the wire, HTTP/2 flow control stalls the driver instead,
    /// docs/design.md §5).
    public func invokeStream(_ token: CapabilityToken, principal: Principal, args: JSONObject,
                             responseMode: ResponseMode) -> AsyncThrowingStream<Frame, any Error>
    {
        let (frames, continuation) = AsyncThrowingStream<Frame, any Error>.makeStream()
        let kernel = kernel
        let task = Task {
            do {
                try await kernel.invokeStream(token, principal: principal, args: args, responseMode: responseMode) {
                    continuation.yield($0)
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return frames
    }
    public func expand(handleID: String, query: JSONObject, principal: Principal?) async throws -> Frame {
        try kernel.expand(handleID: handleID, query: query, principal: principal)
    }
    public func explain(actionID: String) async throws -> ActionTrace { try kernel.explain(actionID: actionID) }
    public func explainDenial(_ request: CapabilityRequest, principal: Principal, justification: String) async throws
        -> DenialExplanation
    {
        try kernel.explainDenial(request, principal: principal, justification: justification)
    }
    public func queryTraces(_ query: TraceQuery) async throws -> [ActionTrace] { try kernel.queryTraces(query) }
    public func revoke(tokenID: String) async throws { kernel.revoke(tokenID: tokenID) }
    public func revokeAll(principalID: String) async throws -> Int { kernel.revokeAll(principalID: principalID) }
    public func stats() async throws -> StatsSnapshot { kernel.statsSnapshot() }
}

/// An error from any `KernelAPI` implementation that names the reference's exception class
/// (`type`) and reason code, so callers and the conformance suite check the same thing in
/// process and over the wire.
public protocol TypedKernelError: Error {
    var errorType: String { get }
    var errorReasonCode: String? { get }
}

extension KernelError: TypedKernelError {
    public var errorType: String { type }
    public var errorReasonCode: String? { reasonCode }
}
