import AgentKernel
import CapgateServer

/// Target 5: configuration and policy files: the server's TOML configuration, and the
/// reference DSL policy loader from TOML, YAML and JSON text. Every input is accepted or
/// refused with a typed error naming the problem; nothing traps.
enum FuzzConfig {
    static func run(_ data: UnsafeRawBufferPointer) {
        guard let first = data.first else { return }
        let text = String(decoding: data.dropFirst(), as: UTF8.self)
        switch first % 4 {
        case 0:
            do throws(ConfigError) { _ = try ServerConfig.parse(text, baseDirectory: "/nonexistent") } catch {
                if error.description.isEmpty { fuzzFailure("config error without a message") }
            }
        case 1: policy { () throws(KernelError) in try DeclarativePolicyEngine.fromTOML(text) }
        case 2: policy { () throws(KernelError) in try DeclarativePolicyEngine.fromYAML(text) }
        default:
            guard let doc = try? JSONParser.parse(text) else { return }
            policy { () throws(KernelError) in try DeclarativePolicyEngine(document: doc) }
        }
    }

    static func policy(_ load: () throws(KernelError) -> DeclarativePolicyEngine) {
        do throws(KernelError) {
            let engine = try load()
            // A loaded policy must evaluate without trapping.
            let request = CapabilityRequest(capabilityID: "docs.read", goal: "g", intent: "i", scope: ["region": "eu"])
            let cap = Capability(capabilityID: "docs.read", name: "d", description: "d", safetyClass: .read)
            let p = Principal(principalID: "p", roles: ["reader"], attributes: ["tenant": "acme"])
            _ = try? engine.evaluate(request, capability: cap, principal: p, justification: "fuzzing the policy")
            _ = engine.explain(request, capability: cap, principal: p, justification: "")
        } catch {
            guard error.kind == .policyConfigError else { fuzzFailure("loader raised \(error.kind.rawValue)") }
        }
    }
}
