import AgentKernel
import Foundation

/// The JSON points of issue 16: the wire answer of a billing invoke (summary mode, the
/// ~31 KB frame the sidecar sends) encoded, parsed, and decoded the way the Swift client
/// does it (parse, then `InvokeResult(json:)`). Throughput is bytes of that frame per
/// second at the p50 call.
struct JSONPoint {
    let name: String
    let bytes: Int
    let sample: Sample
    var megabytesPerSecond: Double { Double(bytes) / (Double(max(sample.p50, 1)) / 1e9) / 1e6 }
}

func runJSONBench(seconds: Double, iterations: Int?, only: String?) async throws -> [JSONPoint] {
    guard let billing = try makeScenarios().first(where: { $0.name == "billing" }) else { return [] }
    let request = CapabilityRequest(capabilityID: billing.capabilityID, goal: billing.goal)
    let token = try billing.kernel.getToken(request, principal: billing.principal, justification: "")
    let result = try await billing.kernel.invoke(token, principal: billing.principal, args: billing.args)
    let value = result.json
    let bytes = value.serializedBytes()
    var points: [JSONPoint] = []
    func point(_ name: String, _ body: () throws -> Void) async throws {
        if let only, !name.contains(only) { return }
        FileHandle.standardError.write("measuring \(name)…\n".data(using: .utf8)!)
        let s = try await measure(seconds: seconds, iterations: iterations) { try body() }
        points.append(JSONPoint(name: name, bytes: bytes.count, sample: s))
    }
    // The writer alone (JSONValue to bytes), and with the model-to-JSONValue step the server runs.
    try await point("json/encode_frame") { _ = value.serializedBytes() }
    try await point("json/encode_frame_from_model") { _ = result.json.serializedBytes() }
    // The strict reader alone, and the Swift client's whole decode (CapgateClient.invoke).
    try await point("json/decode_frame") { _ = try JSONParser.parse(bytes) }
    try await point("client/decode_frame") { _ = try InvokeResult(json: try JSONParser.parse(bytes)) }
    return points
}

func printJSONTable(_ points: [JSONPoint]) {
    guard !points.isEmpty else { return }
    print("")
    print("| json point | bytes | p50 | p99 | MB/s at p50 |")
    print("|---|---|---|---|---|")
    for p in points {
        print("| \(p.name) | \(p.bytes) | \(formatNanos(p.sample.p50)) | \(formatNanos(p.sample.p99)) | "
              + String(format: "%.0f", p.megabytesPerSecond) + " |")
    }
}
