import AgentKernel
import CapgateClient
import CapgateTesting
import CapgateWire
import Foundation
import Testing

/// Tokens cross the language boundary: the sidecar and the Python reference sign the same
/// canonical payload with the same secret (docs/reference-semantics.md §4), so each verifies the other's tokens.
/// Uses `.venv/bin/python` (made by `make test`) and `tools/reference/token_interop.py`.
@Suite(.timeLimit(.minutes(1)))
struct TokenInteropTests {
    static var python: String { packageRoot + "/.venv/bin/python" }
    static var script: String { packageRoot + "/tools/reference/token_interop.py" }

    /// Fails (never skips) when the reference is not installed: `make test` installs it.
    static func reference(_ command: String, _ request: JSONValue) async throws -> JSONValue {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw FixtureError("\(python) is missing: run `make venv` (part of `make test`) to install weaver-kernel")
        }
        let r = try await runProcess(python, [script, command], stdin: request.serializedBytes())
        guard r.status == 0 else {
            throw FixtureError("token_interop.py \(command) failed (\(r.status)); is weaver-kernel installed in "
                               + ".venv? run `make venv`. stderr: \(r.stderr)")
        }
        return try JSONParser.parse(r.stdout)
    }

    @Test func sidecarTokensVerifyInTheReference() async throws {
        try await withGateway { gw in
            let secret = try gw.secret
            let alice = try gw.client("alice")
            let grant = try await alice.grantCapability(
                Demo.request("billing.list_invoices", constraints: ["note": "ünïcødé ✓", "invoke_timeout_s": 5.5]),
                justification: "")
            let ok = try await Self.reference("verify", ["secret": .string(secret), "token": grant.token.json,
                                                   "principal_id": "alice"])
            #expect(ok["ok"] == .bool(true), "\(ok)")
            let wrongSecret = try await Self.reference("verify", ["secret": "not-the-secret", "token": grant.token.json,
                                                            "principal_id": "alice"])
            #expect(wrongSecret["error"]?.stringValue == "TokenInvalid")
            let wrongPrincipal = try await Self.reference("verify", ["secret": .string(secret), "token": grant.token.json,
                                                               "principal_id": "bob"])
            #expect(wrongPrincipal["error"]?.stringValue == "TokenScopeError")
        }
    }

    @Test func referenceTokensVerifyInTheSidecar() async throws {
        try await withGateway { gw in
            let secret = try gw.secret
            let alice = try gw.client("alice")
            let minted = try await Self.reference("sign", [
                "secret": .string(secret), "capability_id": "tasks.list", "principal_id": "alice",
                "constraints": ["max_rows": 10, "note": "ünïcødé ✓", "ratio": 0.5],
            ])
            let token = try CapabilityToken(json: minted)
            let f = try frame(try await alice.invoke(token, responseMode: .table))
            #expect(f.tablePreview.count == 2)
            let trace = try await alice.explain(actionID: f.actionID)
            #expect(trace.tokenID == token.tokenID)

            let foreign = try CapabilityToken(json: try await Self.reference("sign", [
                "secret": "another-secret", "capability_id": "tasks.list", "principal_id": "alice",
            ]))
            await expectWireError(401, .tokenInvalid, type: "TokenInvalid") { _ = try await alice.invoke(foreign) }
        }
    }
}
