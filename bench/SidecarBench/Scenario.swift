import AgentKernel
import CapgateClient
import CapgateConnection
import CapgateServer

/// The verbs of the report, on the billing scenario of bench/reference_bench.py.
enum BenchVerb: String, CaseIterable, Sendable {
    case requestCapabilities = "request_capabilities"
    case grantCapability = "grant_capability"
    case invokeSummary = "invoke_summary"
    case invokeTable = "invoke_table"
    case expand
    case explain
}

/// A measured call: worker index in, throws on any failure (counted as an error).
typealias BenchOp = @Sendable (Int) async throws -> Void

/// A measured call that is either asynchronous or a plain synchronous one. The kernel's
/// synchronous verbs are timed as plain calls, as bench/reference_bench.py times the
/// reference's (`fn()`); an async closure around them added its call frame to every sample.
enum TimedBenchOp: Sendable {
    case async(BenchOp)
    case sync(@Sendable (Int) throws -> Void)
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// The billing scenario (the reference README's billing example, as bench/reference_bench.py
/// builds it): `alice`, a reader of tenant acme, lists unpaid invoices (PII, allowed fields),
/// then expands a page of the handle and explains the action.
enum Scenario {
    static let goal = "list unpaid invoices"
    static let principal = Principal(principalID: "alice", roles: ["reader"], attributes: ["tenant": "acme"])
    static let request = CapabilityRequest(capabilityID: "billing.list_invoices", goal: goal)
    static let args: JSONObject = ["operation": "list_invoices"]
    static let query: JSONObject = ["offset": 10, "limit": 20, "fields": ["id", "amount"]]
    static let spiffeID = "spiffe://\(Workspace.trustDomain)/agent/\(Workspace.agent)"

    static func mode(_ verb: BenchVerb) -> ResponseMode { verb == .invokeTable ? .table : .summary }

    /// The request body of a verb, byte for byte what `CapgateClient` sends (the service
    /// points and h2load replay these).
    static func body(_ verb: BenchVerb, token: CapabilityToken, handleID: String, actionID: String) -> [UInt8] {
        let v: JSONValue
        switch verb {
        case .requestCapabilities: v = ["goal": .string(goal)]
        case .grantCapability: v = ["request": request.json, "justification": ""]
        case .invokeSummary, .invokeTable:
            v = ["token": token.json, "args": .object(args), "response_mode": .string(mode(verb).rawValue),
                 "dry_run": false]
        case .expand: v = ["handle_id": .string(handleID), "query": .object(query)]
        case .explain: v = ["action_id": .string(actionID)]
        }
        return v.serializedBytes()
    }

    static func path(_ verb: BenchVerb) -> String {
        switch verb {
        case .invokeSummary, .invokeTable: return "/v1/invoke"
        default: return "/v1/" + verb.rawValue
        }
    }

    // MARK: the kernel in process

    static func kernelOp(_ verb: BenchVerb, _ kernel: Kernel) async throws -> TimedBenchOp {
        let token = try kernel.getToken(request, principal: principal, justification: "")
        switch verb {
        case .requestCapabilities:
            return .sync { _ in
                guard !kernel.requestCapabilities(goal: goal).isEmpty else { throw BenchFailure("no match") }
            }
        case .grantCapability:
            return .sync { _ in _ = try kernel.grantCapability(request, principal: principal, justification: "") }
        case .invokeSummary, .invokeTable:
            let m = mode(verb)
            return .async { _ in _ = try await kernel.invoke(token, principal: principal, args: args, responseMode: m) }
        case .expand, .explain:
            // A fresh action right before the point: earlier points may have evicted older ones.
            guard case .frame(let frame) = try await kernel.invoke(token, principal: principal, args: args),
                  let handle = frame.handle else { throw BenchFailure("setup invoke returned no handle") }
            if verb == .expand {
                return .sync { _ in _ = try kernel.expand(handleID: handle.handleID, query: query, principal: principal) }
            }
            return .sync { _ in _ = try kernel.explain(actionID: frame.actionID) }
        }
    }

    // MARK: KernelService in process (wire JSON in and out, no transport)

    static func serviceOp(_ verb: BenchVerb, _ service: KernelService) async throws -> BenchOp {
        let token = try service.kernel.getToken(request, principal: principal, justification: "")
        var handleID = "", actionID = ""
        if verb == .expand || verb == .explain {
            guard case .frame(let frame) = try await service.kernel.invoke(token, principal: principal, args: args),
                  let handle = frame.handle else { throw BenchFailure("setup invoke returned no handle") }
            handleID = handle.handleID
            actionID = frame.actionID
        }
        let req = HTTPRequest(method: "POST", path: path(verb), contentType: "application/json",
                              body: body(verb, token: token, handleID: handleID, actionID: actionID))
        return { _ in
            let r = await service.handle(req, identity: spiffeID)
            guard r.status == 200 else { throw BenchFailure("status \(r.status): \(String(decoding: r.body, as: UTF8.self))") }
        }
    }

    // MARK: the sidecar over the typed Swift client

    /// Setup on `clients[0]` (grant, and a fresh invoke for expand/explain), then an op
    /// that spreads workers over the clients (worker w uses connection w % n).
    static func clientOp(_ verb: BenchVerb, _ clients: [CapgateClient]) async throws -> BenchOp {
        let setup = clients[0]
        let token = try await setup.grantCapability(request, justification: "").token
        var handleID = "", actionID = ""
        if verb == .expand || verb == .explain {
            guard case .frame(let frame) = try await setup.invoke(token, args: args), let handle = frame.handle else {
                throw BenchFailure("setup invoke returned no handle")
            }
            handleID = handle.handleID
            actionID = frame.actionID
        }
        let n = clients.count
        let (h, a) = (handleID, actionID)
        switch verb {
        case .requestCapabilities:
            return { w in
                guard try await !clients[w % n].requestCapabilities(goal: goal).isEmpty else { throw BenchFailure("no match") }
            }
        case .grantCapability:
            return { w in _ = try await clients[w % n].grantCapability(request, justification: "") }
        case .invokeSummary, .invokeTable:
            let m = mode(verb)
            return { w in _ = try await clients[w % n].invoke(token, args: args, responseMode: m) }
        case .expand:
            return { w in _ = try await clients[w % n].expand(handleID: h, query: query) }
        case .explain:
            return { w in _ = try await clients[w % n].explain(actionID: a) }
        }
    }

    /// The token, handle and action the h2load bodies need, made through the sidecar.
    static func wireBody(_ verb: BenchVerb, via client: CapgateClient) async throws -> [UInt8] {
        let token = try await client.grantCapability(request, justification: "").token
        guard case .frame(let frame) = try await client.invoke(token, args: args), let handle = frame.handle else {
            throw BenchFailure("setup invoke returned no handle")
        }
        return body(verb, token: token, handleID: handle.handleID, actionID: frame.actionID)
    }
}
