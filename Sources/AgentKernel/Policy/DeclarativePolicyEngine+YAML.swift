import Yams

/// YAML policy files (`from_yaml`), read with Yams (libyaml) into the same ordered
/// `JSONValue` document the TOML and dict loaders produce. Scalars resolve with YAML 1.1
/// rules as pyyaml's `safe_load` does (`off` is false, `0x1f` an int, `~` null), and
/// mapping order is kept because `explain` reports failures in document order.
extension DeclarativePolicyEngine {
    static func fromYAML(_ text: String, source: String) throws(KernelError) -> DeclarativePolicyEngine {
        if let problem = YAMLShapeCheck.problem(in: text) {
            throw KernelError(.policyConfigError, "YAML policy '\(source)' \(problem).")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw KernelError(.policyConfigError, "YAML parse error in '\(source)': \(error)")
        }
        guard let root, case .mapping = root else {
            throw KernelError(.policyConfigError, "Policy file '\(source)' must be a YAML mapping.")
        }
        return try DeclarativePolicyEngine(document: yamlToJSON(root))
    }

    static func yamlToJSON(_ node: Node) -> JSONValue {
        switch node {
        case .scalar(let s):
            switch node.tag.description {
            case Tag.Name.null.rawValue: return .null
            case Tag.Name.bool.rawValue: return Bool.construct(from: s).map(JSONValue.bool) ?? .string(s.string)
            case Tag.Name.int.rawValue: return Int.construct(from: s).map(JSONValue.int) ?? .string(s.string)
            case Tag.Name.float.rawValue: return Double.construct(from: s).map(JSONValue.double) ?? .string(s.string)
            default: return .string(s.string)
            }
        case .sequence(let seq):
            return .array(seq.map(yamlToJSON))
        case .mapping(let m):
            var o = JSONObject()
            for (k, v) in m {
                // Policy keys are strings; a non-string key is kept by its text so the
                // shape validation names it.
                let key: String
                if case .scalar(let ks) = k { key = ks.string } else { key = String(describing: k) }
                o[key] = yamlToJSON(v)
            }
            return .object(o)
        }
    }
}
