import AgentKernel
import CapgateClient
import CapgateConnection
import CapgatePKI
import CapgateServer
import CapgateWire
import KernelConformance
import Testing

/// Each reachable code of docs/errors.md, end to end: status, code, type and (where the
/// table pins it) reason_code, through the real transport.
@Suite(.timeLimit(.minutes(1)))
struct ErrorCodeTests {
    @Test func requestLevelCodes() async throws {
        try await withGateway { gw in
            let alice = try gw.client("alice")
            expectEnvelope(try await raw(alice, "/v1/request_capabilities", "{"), 400, .invalidJSON)
            expectEnvelope(try await raw(alice, "/v1/request_capabilities", #"{"goal": "x", "bogus": 1}"#),
                           400, .invalidRequest, reasonCode: .some(nil))
            expectEnvelope(try await raw(alice, "/v1/request_capabilities", #"{"goal": 5}"#), 400, .invalidRequest)
            expectEnvelope(try await raw(alice, "POST", "/v1/list_capabilities", contentType: "text/plain",
                                         body: Array("{}".utf8)), 415, .unsupportedMediaType)
            expectEnvelope(try await raw(alice, "POST", "/v1/list_capabilities", contentType: nil,
                                         body: Array("{}".utf8)), 415, .unsupportedMediaType)
            // Parameters on the media type are fine.
            #expect(try await raw(alice, "POST", "/v1/list_capabilities", contentType: "application/json; charset=utf-8",
                                  body: Array("{}".utf8)).status == 200)
            expectEnvelope(try await raw(alice, "/v1/no_such_verb", "{}"), 404, .unknownVerb)
            expectEnvelope(try await raw(alice, "/v2/list_capabilities", "{}"), 404, .unknownVerb)
            expectEnvelope(try await raw(alice, "GET", "/v1/list_capabilities", body: []), 405, .methodNotAllowed)
            expectEnvelope(try await raw(alice, "POST", "/v1/health", body: []), 405, .methodNotAllowed)

            // A header list over maxHeaderListBytes: 431 in the same envelope.
            let big = String(repeating: "h", count: 20_000)
            expectEnvelope(try await raw(alice, "POST", "/v1/list_capabilities", headers: [(name: "x-big", value: big)],
                                         body: Array("{}".utf8)), 431, .headersTooLarge)
            #expect(try await alice.listCapabilities().count == 4, "the connection survives every error")
        }
    }

    @Test func invokeShapeErrors() async throws {
        try await withGateway { gw in
            let alice = try gw.client("alice")
            let token = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
            var body: JSONObject = ["token": token.json, "response_mode": "everything"]
            expectEnvelope(try await raw(alice, "/v1/invoke", JSONValue.object(body).serialized()), 400, .invalidRequest)
            body["response_mode"] = "table"
            body["dry_run"] = "yes"
            expectEnvelope(try await raw(alice, "/v1/invoke", JSONValue.object(body).serialized()), 400, .invalidRequest)
            body["dry_run"] = false
            var tokenJSON = token.json.objectValue ?? [:]
            tokenJSON["extra"] = 1
            body["token"] = .object(tokenJSON)
            expectEnvelope(try await raw(alice, "/v1/invoke", JSONValue.object(body).serialized()), 400, .invalidRequest)
        }
    }

    @Test func identityAndAuthorizationCodes() async throws {
        try await withGateway { gw in
            // A valid certificate of the trusted CA whose SPIFFE id no rule maps.
            let (cert, key) = try gw.issueLeaf("mallory") { $0.uriSANs = [demoID("mallory")] }
            let mallory = try gw.client(certificate: cert, key: key)
            #expect(try await mallory.health(), "health needs no mapped identity")
            await expectWireError(403, .unknownIdentity, type: "AgentKernelError") {
                _ = try await mallory.listCapabilities()
            }
            await expectWireError(403, .unknownIdentity, type: "AgentKernelError") { _ = try await mallory.stats() }

            let alice = try gw.client("alice"), bob = try gw.client("bob")
            await expectWireError(403, .principalMismatch, type: "AgentKernelError") {
                _ = try await alice.grantCapability(Demo.request("tasks.list"), justification: "", principalID: "ops")
            }
            await expectWireError(403, .policyDenied, type: "PolicyDenied", reasonCode: "missing_role") {
                _ = try await alice.grantCapability(Demo.request("tasks.create"), justification: Demo.writeJustification)
            }
            await expectWireError(403, .policyDenied, type: "PolicyDenied", reasonCode: "insufficient_justification") {
                _ = try await bob.grantCapability(Demo.request("tasks.create"), justification: "short")
            }
            await expectWireError(404, .capabilityNotFound, type: "CapabilityNotFound") {
                _ = try await alice.grantCapability(Demo.request("nope.nothing"), justification: "")
            }
            await expectWireError(403, .forbidden, type: "AgentKernelError") {
                _ = try await alice.revokeAll(principalID: "alice")
            }
        }
    }

    /// Body principal spoofing: another id is refused; the same id with extra roles is
    /// accepted and the roles are ignored (alice claiming admin gets no raw data, no revoke).
    @Test func principalClaimsCannotAddRoles() async throws {
        try await withGateway { gw in
            let alice = try gw.client("alice")
            let token = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
            let admin: JSONValue = ["principal_id": "alice", "roles": ["admin"], "attributes": ["tenant": "acme"]]
            let body: JSONValue = ["token": token.json, "response_mode": "raw", "principal": admin]
            let a = try await raw(alice, "/v1/invoke", body.serialized())
            #expect(a.status == 200)
            let f = try Frame(json: try #require(a.json))
            #expect(f.responseMode == .summary && f.rawData == .null, "raw needs the server-mapped admin role")

            let spoof: JSONValue = ["token": token.json, "principal": ["principal_id": "ops", "roles": ["admin"]]]
            expectEnvelope(try await raw(alice, "/v1/invoke", spoof.serialized()), 403, .principalMismatch)

            let grantAsAdmin: JSONValue = ["request": Demo.request("tasks.create").json,
                                           "justification": .string(Demo.writeJustification), "principal": admin]
            expectEnvelope(try await raw(alice, "/v1/grant_capability", grantAsAdmin.serialized()), 403, .policyDenied,
                           type: "PolicyDenied", reasonCode: "missing_role")
            expectEnvelope(try await raw(alice, "/v1/revoke", #"{"token_id": "x"}"#), 403, .forbidden)
            // `revoke` has no principal field at all: a claim there is an unknown field.
            expectEnvelope(try await raw(alice, "/v1/revoke", #"{"token_id": "x", "principal": {"principal_id": "alice", "roles": ["admin"]}}"#),
                           400, .invalidRequest)
        }
    }

    @Test func tokenCodes() async throws {
        try await withGateway { gw in
            let alice = try gw.client("alice"), bob = try gw.client("bob")
            let token = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
            var forged = token
            forged.signature = String(repeating: "0", count: 64)
            await expectWireError(401, .tokenInvalid, type: "TokenInvalid") { _ = try await alice.invoke(forged) }
            var widened = token
            widened.constraints["max_rows"] = 500
            await expectWireError(401, .tokenInvalid, type: "TokenInvalid") { _ = try await alice.invoke(widened) }
            // Validly signed with the sidecar's secret, but already expired.
            let expired = HMACTokenProvider(secret: try gw.secret)
                .issue(capabilityID: "tasks.list", principalID: "alice", ttlSeconds: -60)
            await expectWireError(401, .tokenExpired, type: "TokenExpired") { _ = try await alice.invoke(expired) }
            await expectWireError(403, .tokenScope, type: "TokenScopeError") { _ = try await bob.invoke(token) }
            _ = try frame(try await alice.invoke(token))
        }
    }

    @Test func handleTraceAndDriverCodes() async throws {
        try await withGateway { gw in
            let alice = try gw.client("alice"), bob = try gw.client("bob")
            let token = try await alice.grantCapability(Demo.request("billing.list_invoices"), justification: "").token
            let f = try frame(try await alice.invoke(token, args: Demo.listInvoices, responseMode: .handleOnly))
            let handle = try #require(f.handle)
            await expectWireError(404, .handleNotFound, type: "HandleNotFound") {
                _ = try await alice.expand(handleID: "no-such-handle")
            }
            await expectWireError(403, .handleConstraintViolation, type: "HandleConstraintViolation",
                                  reasonCode: "handle_constraint_violation") {
                _ = try await alice.expand(handleID: handle.handleID, query: ["limit": 51])
            }
            await expectWireError(403, .handleConstraintViolation, type: "HandleConstraintViolation",
                                  reasonCode: "handle_constraint_violation") {
                _ = try await alice.expand(handleID: handle.handleID, query: ["fields": ["email"]])
            }
            await expectWireError(403, .handleConstraintViolation, type: "HandleConstraintViolation",
                                  reasonCode: "invalid_constraint") {
                _ = try await alice.expand(handleID: handle.handleID, query: ["offset": -1])
            }
            // Another principal's handle: the binding is looked up on the server by id.
            await expectWireError(403, .handleConstraintViolation, type: "HandleConstraintViolation",
                                  reasonCode: "handle_principal_mismatch") {
                _ = try await bob.expand(handleID: handle.handleID)
            }
            // ...and the answer does not say whose it is (docs/hardening.md "Small leaks").
            do {
                _ = try await bob.expand(handleID: handle.handleID)
                Issue.record("bob expanded alice's handle")
            } catch let CapgateClientError.server(_, _, _, _, message) {
                #expect(!message.contains("alice"), "\(message)")
                #expect(message.contains("another principal") && message.contains("'bob'"), "\(message)")
            }
            await expectWireError(404, .traceNotFound, type: "AgentKernelError") {
                _ = try await alice.explain(actionID: "no-such-action")
            }
            // The billing driver needs `operation` (the reference's operation resolution).
            await expectWireError(502, .driverError, type: "DriverError") { _ = try await alice.invoke(token) }
            let failed = try await alice.queryTraces(TraceQuery(outcome: "failed"))
            #expect(failed.count == 1 && failed[0].error?.contains("list_invoices") == true)
        }
    }

    @Test func rateLimitedIs429() async throws {
        try await withGateway(configure: { $0.policy = .defaultEngine(rateLimits: [.read: RateLimit(limit: 2, windowSeconds: 600)]) }) { gw in
            let alice = try gw.client("alice")
            for _ in 0..<2 { _ = try await alice.grantCapability(Demo.request("tasks.list"), justification: "") }
            await expectWireError(429, .rateLimited, type: "PolicyDenied", reasonCode: "rate_limited") {
                _ = try await alice.grantCapability(Demo.request("tasks.list"), justification: "")
            }
            // Keyed by principal and capability: bob and alice's other capability are untouched.
            _ = try await gw.client("bob").grantCapability(Demo.request("tasks.list"), justification: "")
            _ = try await alice.grantCapability(Demo.request("billing.summarize_spend"), justification: "")
        }
    }

    @Test func budgetExhaustedIs429() async throws {
        try await withGateway(configure: { $0.budgetTotal = 1 }) { gw in
            let alice = try gw.client("alice")
            let token = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
            _ = try frame(try await alice.invoke(token))
            await expectWireError(429, .budgetExhausted, type: "BudgetExhausted") { _ = try await alice.invoke(token) }
            // Budgets are per principal: bob still has his.
            let bob = try gw.client("bob")
            let tb = try await bob.grantCapability(Demo.request("tasks.list"), justification: "").token
            _ = try frame(try await bob.invoke(tb))
        }
    }

    @Test func handleExpiredIs410() async throws {
        let clock = ManualClock()
        try await withGateway(kernel: { config in
            try KernelFactory.makeKernel(config, secret: try SecretFile.loadOrCreate(path: config.secretFile), clock: clock)
        }) { gw in
            let alice = try gw.client("alice")
            let token = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
            let handle = try #require(try frame(try await alice.invoke(token, responseMode: .handleOnly)).handle)
            _ = try await alice.expand(handleID: handle.handleID)
            clock.advance(seconds: 3601)
            await expectWireError(410, .handleExpired, type: "HandleExpired") {
                _ = try await alice.expand(handleID: handle.handleID)
            }
            // The store dropped it on that access.
            await expectWireError(404, .handleNotFound, type: "HandleNotFound") {
                _ = try await alice.expand(handleID: handle.handleID)
            }
        }
    }

    @Test func driverTimeoutIs504() async throws {
        let slow = Capability(capabilityID: "slow.read", name: "Slow", description: "A slow read", safetyClass: .read)
        try await withGateway(configure: { $0.capabilities.append(.init(capability: slow, drivers: ["slow"])) },
                              kernel: { config in
            let k = try KernelFactory.makeKernel(config, secret: try SecretFile.loadOrCreate(path: config.secretFile))
            k.registerDriver(FixtureDriver(driverID: "slow") { _ in
                try await Task.sleep(for: .seconds(10))
                return ["late": true]
            })
            return k
        }) { gw in
            let alice = try gw.client("alice")
            let token = try await alice.grantCapability(Demo.request("slow.read", constraints: ["invoke_timeout_s": 0.05]),
                                                        justification: "").token
            await expectWireError(504, .driverTimeout, type: "DriverError") { _ = try await alice.invoke(token) }
            let traces = try await alice.queryTraces(TraceQuery(outcome: "failed"))
            #expect(traces.first?.error?.contains("timed out") == true)
            #expect(try await alice.health(), "the connection is still usable")
        }
    }
}
