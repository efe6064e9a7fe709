import AgentKernel

/// `KernelAPI` over the wire. The principal argument travels as the body's `principal`
/// claim, which the server checks against the certificate-bound principal (a mismatch is
/// `principal_mismatch`); roles and attributes always come from the server's identity
/// rules, never from the caller. `explain_denial` sends no claim: the server explains for
/// the bound principal.
extension CapgateClient: KernelAPI {
    public func grantCapability(_ request: CapabilityRequest, principal: Principal, justification: String) async throws
        -> CapabilityGrant
    {
        try await grantCapability(request, justification: justification, principalID: principal.principalID)
    }

    public func invoke(_ token: CapabilityToken, principal: Principal, args: JSONObject, responseMode: ResponseMode,
                       dryRun: Bool) async throws -> InvokeResult
    {
        try await invoke(token, args: args, responseMode: responseMode, dryRun: dryRun,
                         principalID: principal.principalID)
    }

    public func invokeStream(_ token: CapabilityToken, principal: Principal, args: JSONObject,
                             responseMode: ResponseMode) -> AsyncThrowingStream<Frame, any Error>
    {
        invokeStream(token, args: args, responseMode: responseMode, principalID: principal.principalID)
    }

    public func expand(handleID: String, query: JSONObject, principal: Principal?) async throws -> Frame {
        try await expand(handleID: handleID, query: query, principalID: principal?.principalID)
    }

    public func explainDenial(_ request: CapabilityRequest, principal: Principal, justification: String) async throws
        -> DenialExplanation
    {
        try await explainDenial(request, justification: justification)
    }
}

/// The wire envelope's `type` is the reference's exception class, so a caller checks a
/// network failure exactly as it checks a local `KernelError`.
extension CapgateClientError: TypedKernelError {
    public var errorType: String {
        switch self {
        case .server(_, let type, _, _, _): return type
        case .transport: return "TransportError"
        case .badResponse: return "BadResponse"
        }
    }
    public var errorReasonCode: String? { reasonCode }
}
