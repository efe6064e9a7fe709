import AgentKernel
import CapgateClient
import CapgateWire
import Testing

/// A raw exchange on the client's connection: any method, path, content type and bytes,
/// so malformed requests travel on the SAME connection as the typed calls.
struct RawAnswer {
    let status: Int
    let json: JSONValue?
    var code: String? { json?["error"]?["code"]?.stringValue }
    var type: String? { json?["error"]?["type"]?.stringValue }
    var reasonCode: String? { json?["error"]?["reason_code"]?.stringValue }
}

func raw(_ client: CapgateClient, _ method: String = "POST", _ path: String, contentType: String? = "application/json",
         headers: [(name: String, value: String)] = [], body: [UInt8]) async throws -> RawAnswer {
    var h = headers
    if let contentType { h.append((name: "content-type", value: contentType)) }
    let r = try await client.connection.send(method: method, path: path, headers: h, body: body)
    return RawAnswer(status: r.status, json: try? JSONParser.parse(r.body))
}

func raw(_ client: CapgateClient, _ path: String, _ text: String) async throws -> RawAnswer {
    try await raw(client, "POST", path, body: Array(text.utf8))
}

/// Asserts a raw answer is the v1 envelope with this status, code and type (and
/// reason_code when given; `.some(nil)` asserts a JSON null).
func expectEnvelope(_ a: RawAnswer, _ status: Int, _ code: WireErrorCode, type: String = "AgentKernelError",
                    reasonCode: String?? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.status == status, "status", sourceLocation: sourceLocation)
    #expect(a.code == code.rawValue, "code", sourceLocation: sourceLocation)
    #expect(a.type == type, "type", sourceLocation: sourceLocation)
    #expect(code.status == status, "the code's pinned status", sourceLocation: sourceLocation)
    #expect(a.json?["error"]?["message"]?.stringValue?.isEmpty == false, "message", sourceLocation: sourceLocation)
    if let reasonCode { #expect(a.reasonCode == reasonCode, "reason_code", sourceLocation: sourceLocation) }
}

/// Runs a typed call that must fail with the server envelope (status, code, type, reason).
func expectWireError(_ status: Int, _ code: WireErrorCode, type: String, reasonCode: String?? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected \(code.rawValue), but the call succeeded", sourceLocation: sourceLocation)
    } catch let e as CapgateClientError {
        #expect(e.status == status, "\(e)", sourceLocation: sourceLocation)
        #expect(e.code == code.rawValue, "\(e)", sourceLocation: sourceLocation)
        #expect(e.type == type, "\(e)", sourceLocation: sourceLocation)
        #expect(code.status == status, sourceLocation: sourceLocation)
        if let reasonCode { #expect(e.reasonCode == reasonCode, "\(e)", sourceLocation: sourceLocation) }
    } catch {
        Issue.record("expected \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
}

/// The frame of an invoke result (fails the test on a dry run).
func frame(_ r: InvokeResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> Frame {
    guard case .frame(let f) = r else { throw FixtureError("expected a Frame, got a dry run") }
    return f
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Demo requests.
enum Demo {
    static func request(_ id: String, constraints: JSONObject = [:]) -> CapabilityRequest {
        CapabilityRequest(capabilityID: id, goal: "integration test", constraints: constraints)
    }
    static let listInvoices: JSONObject = ["operation": "list_invoices"]
    static let writeJustification = "creating the weekly review task for the team"
}
