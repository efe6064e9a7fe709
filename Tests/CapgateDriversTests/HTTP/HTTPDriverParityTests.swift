import AgentKernel
import CapgateDrivers
import CapgateTesting
import Foundation
import Testing

/// Runs `Tests/Fixtures/http/parity_cases.json` through the reference's `HTTPDriver` (the
/// venv's weaver-kernel 0.12.0, `reference_http_driver.py`) and through ours, against the
/// same tool server, and requires identical results and identical error texts.
@Suite(.timeLimit(.minutes(1)))
struct HTTPDriverParityTests {
    @Test func sameResultsAndErrorTextsAsTheReference() async throws {
        let base = try await ToolServer.baseURL()
        let dead = "http://127.0.0.1:\(try ToolServer.deadPort())"
        let casesPath = ToolServer.fixture("parity_cases.json")
        let python = ToolServer.repositoryRoot + "/.venv/bin/python"
        try #require(FileManager.default.isExecutableFile(atPath: python),
                     "the parity oracle needs the venv with weaver-kernel (make venv)")
        let ref = try await runProcess(python, [ToolServer.fixture("reference_http_driver.py"), casesPath, base, dead])
        try #require(ref.status == 0, "reference runner failed: \(ref.stderr)")
        guard case .array(let expected) = try JSONParser.parse(ref.stdout) else {
            Issue.record("reference output is not an array")
            return
        }

        let spec = try JSONParser.parse(String(contentsOfFile: casesPath, encoding: .utf8))
        let driver = try HTTPDriver(config: Self.config(spec, base: base, dead: dead))
        let cases = spec["cases"]?.arrayValue ?? []
        #expect(cases.count == expected.count && cases.count > 20)
        for (c, want) in zip(cases, expected) {
            let got = await Self.run(driver, c)
            #expect(got == want, "case \(c["name"]?.stringValue ?? "?")")
        }
    }

    /// The driver the reference runner builds, from the same case file.
    static func config(_ spec: JSONValue, base: String, dead: String) -> HTTPDriverConfig {
        let d = spec["driver"]!
        var config = HTTPDriverConfig(id: d["id"]!.stringValue!, maxResponseBytes: d["max_response_bytes"]?.intValue,
                                      headers: headers(d["headers"]))
        for (op, e) in spec["endpoints"]!.objectValue! {
            let url = (e["dead"] == .bool(true) ? dead : base) + e["path"]!.stringValue!
            config.endpoints[op] = HTTPEndpoint(
                url: url, method: e["method"]?.stringValue ?? "GET", headers: headers(e["headers"]),
                timeoutSeconds: e["timeout_s"]?.doubleValue,
                responseFormat: HTTPResponseFormat(rawValue: e["response_format"]?.stringValue ?? "json")!)
        }
        return config
    }

    static func headers(_ v: JSONValue?) -> [HTTPHeader] {
        (v?.objectValue ?? [:]).map { HTTPHeader(name: $0.key, value: $0.value.stringValue!) }
    }

    /// One case in the runner's output shape.
    static func run(_ driver: HTTPDriver, _ c: JSONValue) async -> JSONValue {
        let name = c["name"]!
        let ctx = ExecutionContext(capabilityID: c["capability_id"]?.stringValue ?? "cap", principalID: "p",
                                   args: c["args"]?.objectValue ?? [:], constraints: c["constraints"]?.objectValue ?? [:])
        do {
            let r = try await driver.execute(ctx)
            return ["name": name, "data": r.data, "metadata": .object(r.metadata)]
        } catch let e as KernelError {
            return ["name": name, "error": .string("\(e.kind.rawValue): \(e.message)")]
        } catch {
            return ["name": name, "error": .string("unexpected: \(error)")]
        }
    }
}
