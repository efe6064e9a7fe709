/// YAML policy files (`from_yaml`), read by `YAMLReader` (libyaml events, our composer) into
/// the same ordered `JSONValue` document the TOML and dict loaders produce. Scalars resolve
/// with YAML 1.1 rules as pyyaml's `safe_load` does (`off` is false, `0x1f` an int, `~`
/// null), and mapping order is kept because `explain` reports failures in document order.
extension DeclarativePolicyEngine {
    static func fromYAML(_ text: String, source: String) throws(KernelError) -> DeclarativePolicyEngine {
        let root: JSONValue?
        do {
            root = try YAMLReader.read(text)
        } catch {
            switch error {
            case .shape(let problem): throw KernelError(.policyConfigError, "YAML policy '\(source)' \(problem).")
            case .syntax(let problem): throw KernelError(.policyConfigError, "YAML parse error in '\(source)': \(problem)")
            }
        }
        guard let root, case .object = root else {
            throw KernelError(.policyConfigError, "Policy file '\(source)' must be a YAML mapping.")
        }
        return try DeclarativePolicyEngine(document: root)
    }
}
