import AgentKernel
import CapgateDrivers
import Testing

/// The strict answer reader: exactly the two shapes, nothing else.
@Suite struct HostWireTests {
    func decode(_ s: String, max: Int = 1 << 20) -> Result<HostWire.Answer, HostWire.DecodeError> {
        do throws(HostWire.DecodeError) { return .success(try HostWire.decodeAnswer(Array(s.utf8), maxBytes: max)) }
        catch { return .failure(error) }
    }

    @Test func acceptsTheTwoShapes() throws {
        #expect(try decode(#"{"data": [1, {"a": null}], "metadata": {"status_code": 200}}"#).get()
                    == .result(data: [1, ["a": nil]], metadata: ["status_code": 200]))
        #expect(try decode(#"{"metadata": {}, "data": null}"#).get() == .result(data: nil, metadata: [:]))
        #expect(try decode(#"{"error": {"type": "ValueError", "message": "bad \u00e9"}}"#).get()
                    == .error(type: "ValueError", message: "bad é"))
    }

    @Test func refusesEverythingElse() {
        for bad in [
            "", "null", "[]", #""data""#, "{}", #"{"data": 1}"#, #"{"metadata": {}}"#,
            #"{"data": 1, "metadata": []}"#, #"{"data": 1, "metadata": {}, "error": null}"#,
            #"{"error": "boom"}"#, #"{"error": {"type": "X"}}"#, #"{"error": {"type": 1, "message": "m"}}"#,
            #"{"error": {"type": "X", "message": "m", "extra": 1}}"#,
            #"{"data": 1, "data": 2, "metadata": {}}"#, #"{"data": NaN, "metadata": {}}"#,
            #"{"data": 1, "metadata": {}} x"#,
        ] {
            guard case .failure = decode(bad) else {
                Issue.record("accepted \(bad)")
                continue
            }
        }
        guard case .failure(let e) = decode(#"{"data": 1, "metadata": {}}"#, max: 10) else {
            Issue.record("size cap not applied")
            return
        }
        #expect(e.reason == "answer larger than 10 bytes")
    }

    @Test func requestBodyIsTheExecutionContext() {
        let ctx = ExecutionContext(capabilityID: "c.x", principalID: "p", args: ["k": 1], constraints: [:],
                                   actionID: "a")
        #expect(String(decoding: HostWire.requestBody(driverID: "d", context: ctx), as: UTF8.self)
                    == #"{"driver_id":"d","operation":"c.x","context":{"capability_id":"c.x","principal_id":"p","args":{"k":1},"constraints":{},"action_id":"a"}}"#)
    }

    @Test func endpointParsing() throws {
        let e = try HostEndpoint.parse("https://[::1]:9100/hosts/py/").get()
        #expect(e.address == "::1" && e.port == 9100 && e.serverName == "::1" && e.pathPrefix == "/hosts/py")
        let l = try HostEndpoint.parse("https://localhost").get()
        #expect(l.address == "127.0.0.1" && l.port == 443 && l.serverName == "localhost" && l.pathPrefix == "")
        for bad in ["http://127.0.0.1:1", "https://", "https://a.example:1", "https://127.0.0.1:0",
                    "https://127.0.0.1:70000", "https://u:p@127.0.0.1", "https://127.0.0.1/?q", "https://[::1"] {
            guard case .failure = HostEndpoint.parse(bad) else {
                Issue.record("accepted \(bad)")
                continue
            }
        }
    }
}
