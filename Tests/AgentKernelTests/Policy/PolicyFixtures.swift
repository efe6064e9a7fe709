#if canImport(Glibc)
import Glibc
#endif
@testable import AgentKernel
import CapgateTesting

/// Loads the parity fixtures in `Tests/Fixtures/policy/`, generated from the reference
/// (weaver-kernel 0.12.0) by the `gen_*.py` scripts there. Located from the package root
/// (CapgateTesting's `Products`); kept outside the test target so SwiftPM does not treat them as resources.
enum PolicyFixtures {
    static func load(_ name: String) -> JSONValue {
        let path = Products.packageRoot + "/Tests/Fixtures/policy/" + name
        guard let f = fopen(path, "rb") else { fatalError("missing fixture \(path)") }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            bytes.append(contentsOf: buf[0..<n])
        }
        return try! JSONParser.parse(bytes)
    }

    struct Case {
        var name: String
        var request: CapabilityRequest
        var capability: Capability
        var principal: Principal
        var justification: String
        var evaluate: JSONValue
        var explain: JSONValue
        var policy: JSONValue?
    }

    static func cases(_ v: JSONValue) -> [Case] {
        (v.arrayValue ?? []).map { c in
            let capability = try! Capability(json: c["capability"]!)
            let r = c["request"]!
            let request = CapabilityRequest(
                capabilityID: capability.capabilityID, goal: r["goal"]?.stringValue ?? "g",
                constraints: r["constraints"]?.objectValue ?? [:], intent: r["intent"]?.stringValue,
                scope: r["scope"]?.objectValue ?? [:])
            return Case(name: c["name"]!.stringValue!, request: request, capability: capability,
                        principal: try! Principal(json: c["principal"]!), justification: c["justification"]!.stringValue!,
                        evaluate: c["evaluate"]!, explain: c["explain"]!, policy: c["policy"])
        }
    }

    /// The reference's evaluate outcome in the fixture's shape: the decision dataclass, or
    /// `{error, message, reason_code}`.
    static func outcome(_ body: () throws(KernelError) -> PolicyDecision) -> JSONValue {
        do {
            return try body().json
        } catch {
            return ["error": .string(error.kind.rawValue), "message": .string(error.message),
                    "reason_code": error.reasonCode.map(JSONValue.string) ?? .null]
        }
    }

    /// The reference keeps a non-string rule name's type (`7`); capgate renders it `"7"`.
    static func normalizedExplain(_ v: JSONValue) -> JSONValue {
        guard case .object(var o) = v, let name = o["rule_name"] else { return v }
        o["rule_name"] = .string(name.pyStr)
        return .object(o)
    }
}
