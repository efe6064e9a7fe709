import AgentKernel
import CapgateClient
import CapgateWire
import Testing

/// Hostile bodies on ONE connection: each gets its envelope and the next good request on
/// the same connection still works (an error never closes the connection).
@Suite(.timeLimit(.minutes(1)))
struct MalformedBodyTests {
    static func nested(_ depth: Int) -> String {
        String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    }

    @Test func eachBadBodyThenAGoodRequestOnTheSameConnection() async throws {
        try await withGateway { gw in
            let alice = try gw.client("alice")
            let path = "/v1/request_capabilities"
            let cases: [(name: String, body: [UInt8], code: WireErrorCode)] = [
                ("empty", [], .invalidJSON),
                ("truncated", Array(#"{"goal": "inv"#.utf8), .invalidJSON),
                ("trailing garbage", Array(#"{"goal": "x"} x"#.utf8), .invalidJSON),
                ("duplicate key", Array(#"{"goal": "a", "goal": "b"}"#.utf8), .invalidJSON),
                ("invalid UTF-8", Array(#"{"goal": ""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8), .invalidJSON),
                ("overlong UTF-8", Array(#"{"goal": ""#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8), .invalidJSON),
                ("lone surrogate escape", Array(#"{"goal": "\ud800"}"#.utf8), .invalidJSON),
                ("NaN", Array(#"{"goal": NaN}"#.utf8), .invalidJSON),
                ("number out of range", Array(#"{"goal": 1e999}"#.utf8), .invalidJSON),
                ("too deep", Array(#"{"goal": \#(Self.nested(40))}"#.utf8), .invalidJSON),
                ("deep bomb", Array(String(repeating: "[", count: 60_000).utf8), .invalidJSON),
                ("not an object", Array("[]".utf8), .invalidRequest),
                ("null", Array("null".utf8), .invalidRequest),
                ("within depth but wrong type", Array(#"{"goal": \#(Self.nested(20))}"#.utf8), .invalidRequest),
            ]
            for c in cases {
                let a = try await raw(alice, "POST", path, body: c.body)
                #expect(a.status == c.code.status && a.code == c.code.rawValue, "\(c.name): \(a.status) \(a.code ?? "-")")
                #expect(a.type == "AgentKernelError", "\(c.name)")
                let good = try await alice.requestCapabilities(goal: "list invoices")
                #expect(good.first?.capabilityID == "billing.list_invoices", "after \(c.name)")
            }
            #expect(!alice.connection.isClosed)
        }
    }

    @Test func oversizedBodyIs413AndTheConnectionSurvives() async throws {
        try await withGateway { gw in
            let alice = try gw.client("alice")
            let huge = Array(#"{"goal": ""#.utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 70_000) + Array(#""}"#.utf8)
            let a = try await raw(alice, "POST", "/v1/request_capabilities", body: huge)
            expectEnvelope(a, 413, .bodyTooLarge, reasonCode: .some(nil))
            #expect(try await alice.listCapabilities().count == 4)

            // invoke has a larger cap (docs/limits.md): 90 KB is under it and reaches the decoder.
            let token = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
            let chunk = JSONValue.string(String(repeating: "p", count: 30_000))
            let args: JSONValue = ["a": chunk, "b": chunk, "c": chunk]  // 90 KB, each string under its cap
            let body: JSONValue = ["token": token.json, "args": args]
            let accepted = try await raw(alice, "/v1/invoke", body.serialized())
            #expect(accepted.status == 200, "\(accepted.json.map { $0.serialized() } ?? "-")")
            let over: JSONValue = ["token": token.json, "args": ["pad": .string(String(repeating: "p", count: 300_000))]]
            expectEnvelope(try await raw(alice, "/v1/invoke", over.serialized()), 413, .bodyTooLarge)
            #expect(try await alice.health())
            #expect(!alice.connection.isClosed)
        }
    }
}
