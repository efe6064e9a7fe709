import AgentKernel
import CapgateWire
import Testing

/// Client and server share `WireRequest`: the body the client encodes (`body`) must decode
/// to the same request on the server (`decode`), for every verb of the verb list. A verb
/// added without a sample here does not compile (the switch is exhaustive).
@Suite(.timeLimit(.minutes(1)))
struct WireRequestRoundTripTests {
    static let token = CapabilityToken(
        tokenID: "t-1", capabilityID: "billing.read", principalID: "alice",
        issuedAt: Timestamp(microseconds: 1_700_000_000_000_000), expiresAt: Timestamp(microseconds: 1_700_000_900_000_000),
        constraints: ["max_rows": 10], auditID: "a-1", signature: "sig")
    static let request = CapabilityRequest(capabilityID: "billing.read", goal: "read invoices",
                                           constraints: ["max_rows": 5], intent: nil, scope: ["tenant": "t"])

    static func sample(_ verb: Verb) -> WireRequest {
        switch verb {
        case .listCapabilities: .listCapabilities
        case .requestCapabilities: .requestCapabilities(goal: "read invoices")
        case .grantCapability: .grantCapability(request: request, justification: "audit", claimedPrincipalID: "alice")
        case .invoke: .invoke(token: token, args: ["q": "x"], responseMode: .table, dryRun: true,
                              claimedPrincipalID: "alice")
        case .expand: .expand(handleID: "h-1", query: ["limit": 3], claimedPrincipalID: nil)
        case .explain: .explain(actionID: "act-1")
        case .explainDenial: .explainDenial(request: request, justification: "", claimedPrincipalID: "alice")
        case .revoke: .revoke(tokenID: "t-1")
        case .revokeAll: .revokeAll(principalID: "bob")
        case .queryTraces: .queryTraces(TraceQuery(principalID: "alice", capabilityID: nil, eventType: .invoke,
                                                   outcome: "failed", reasonCode: nil,
                                                   since: Timestamp(microseconds: 1_700_000_000_000_000),
                                                   until: nil, limit: 5, offset: 2))
        case .stats: .stats
        case .health: .health
        case .invokeStream: .invokeStream(token: token, args: ["q": "x"], responseMode: .table, claimedPrincipalID: "alice")
        case .pauseCapability: .operations(.pause(.capability("billing.list_invoices"), reason: "leak"))
        case .pausePrincipal: .operations(.pause(.principal("alice"), reason: ""))
        case .pauseAll: .operations(.pause(.all, reason: "maintenance"))
        case .resumeCapability: .operations(.resume(.capability("billing.list_invoices")))
        case .resumePrincipal: .operations(.resume(.principal("alice")))
        case .resumeAll: .operations(.resume(.all))
        case .listPaused: .operations(.listPaused)
        case .status: .operations(.status)
        }
    }

    @Test(arguments: Verb.allCases)
    func bodyDecodesToTheSameRequest(_ verb: Verb) throws {
        let request = Self.sample(verb)
        #expect(request.verb == verb)
        let decoded = try WireRequest.decode(verb, body: request.body.serializedBytes())
        #expect(decoded == request)
    }

    /// A body without a claim carries no `principal` field, and health carries no body.
    @Test func noClaimNoPrincipalField() {
        #expect(Self.sample(.expand).body["principal"] == nil)
        #expect(Self.sample(.invoke).body["principal"]?["principal_id"]?.stringValue == "alice")
        #expect(Self.sample(.health).body.isNull)
    }

    /// `invoke_stream` takes the invoke body by the invoke rules, without a dry run: the client
    /// sends none, `"dry_run": false` is accepted, `true` is refused once the body is well
    /// formed (an unknown field still names the field).
    @Test func invokeStreamIsTheInvokeBodyWithoutADryRun() throws {
        let stream = Self.sample(.invokeStream)
        #expect(stream.body["dry_run"] == nil)
        var body = try #require(stream.body.objectValue)
        body["dry_run"] = false
        #expect(try WireRequest.decode(.invokeStream, body: JSONValue.object(body).serializedBytes()) == stream)
        body["dry_run"] = true
        #expect(throws: WireError(.invalidRequest, "dry_run: invoke_stream has no dry run; use invoke")) {
            try WireRequest.decode(.invokeStream, body: JSONValue.object(body).serializedBytes())
        }
        body["extra"] = 1
        do {
            _ = try WireRequest.decode(.invokeStream, body: JSONValue.object(body).serializedBytes())
            Issue.record("an unknown field decoded")
        } catch {
            #expect(error.code == .invalidRequest && error.message.contains("extra"))
        }
        body["extra"] = nil
        body["dry_run"] = nil
        body["response_mode"] = "nope"
        do {
            _ = try WireRequest.decode(.invokeStream, body: JSONValue.object(body).serializedBytes())
            Issue.record("an unknown response_mode decoded")
        } catch {
            #expect(error.message.hasPrefix("response_mode:"))
        }
    }
}
