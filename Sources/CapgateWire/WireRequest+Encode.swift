import AgentKernel

/// The other direction of `WireRequest.decode`: the verb a request belongs to and the body a
/// client sends for it. Client and server share the one request type, so a body shape is
/// written once per direction in this target, and a round-trip test pins the two together.
extension WireRequest {
    /// The verb this request calls.
    public var verb: Verb {
        switch self {
        case .listCapabilities: .listCapabilities
        case .requestCapabilities: .requestCapabilities
        case .grantCapability: .grantCapability
        case .invoke: .invoke
        case .expand: .expand
        case .explain: .explain
        case .explainDenial: .explainDenial
        case .revoke: .revoke
        case .revokeAll: .revokeAll
        case .queryTraces: .queryTraces
        case .stats: .stats
        case .health: .health
        case .invokeStream: .invokeStream
        case .operations(let op): op.verb
        }
    }

    /// The request body (`null` for a verb that takes none). Defaults are sent explicitly
    /// where the reference's keyword arguments have them (`args`, `response_mode`, `dry_run`,
    /// `query`); a principal claim only when there is one.
    public var body: JSONValue {
        var o: JSONObject
        switch self {
        case .health: return .null
        case .listCapabilities, .stats: o = [:]
        case .requestCapabilities(let goal): o = ["goal": .string(goal)]
        case .grantCapability(let request, let justification, _):
            o = ["request": request.json, "justification": .string(justification)]
        case .invoke(let token, let args, let mode, let dryRun, _):
            o = ["token": token.json, "args": .object(args), "response_mode": .string(mode.rawValue),
                 "dry_run": .bool(dryRun)]
        case .invokeStream(let token, let args, let mode, _):
            o = ["token": token.json, "args": .object(args), "response_mode": .string(mode.rawValue)]
        case .expand(let handleID, let query, _):
            o = ["handle_id": .string(handleID), "query": .object(query)]
        case .explain(let actionID): o = ["action_id": .string(actionID)]
        case .explainDenial(let request, let justification, _):
            o = ["request": request.json, "justification": .string(justification)]
        case .revoke(let tokenID): o = ["token_id": .string(tokenID)]
        case .revokeAll(let principalID): o = ["principal_id": .string(principalID)]
        case .operations(let op): o = op.fields
        case .queryTraces(let query):
            o = [:]
            for (k, v) in query.json.objectValue ?? [:] where !v.isNull { o[k] = v }
        }
        if let p = claimedPrincipalID { o["principal"] = ["principal_id": .string(p)] }
        return .object(o)
    }
}
