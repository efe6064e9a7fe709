/// Conditions that must all hold for a DSL rule to match (`policy_dsl_parser.PolicyMatch`).
/// nil fields are wildcards; list fields are any-of (docs/reference-semantics.md §5.3 "Match keys").
public struct PolicyMatch: Sendable, Hashable {
    public var safetyClass: [SafetyClass]?
    public var sensitivity: [SensitivityTag]?
    public var roles: [String]?
    /// Ordered, as in the source document: `explain` reports failures in this order.
    public var attributes: [StringPair]?
    public var minJustification: Int?
    public var intent: [String]?
    public var scope: [StringPair]?

    public struct StringPair: Sendable, Hashable {
        public var key: String
        public var value: String
    }
}

/// One rule (`PolicyRule`). `name` is Python `str(name)`: the reference does not validate
/// its type, so `name = 7` renders as `7`. `reason` is nil when the source value is
/// falsy, which makes the reference fall back to `"Denied by rule '<name>'."`.
public struct PolicyRule: Sendable, Hashable {
    public enum Action: String, Sendable { case allow, deny }
    public var name: String
    public var match: PolicyMatch
    public var action: Action
    public var constraints: JSONObject
    public var reason: String?
}

/// `policy_dsl_parser.parse_engine_data` / `parse_rule`: validation with the reference's
/// exact `PolicyConfigError` messages (docs/reference-semantics.md §5.3, verified against the reference).
enum PolicyDocumentParser {
    static func configError(_ m: String) -> KernelError { KernelError(.policyConfigError, m) }

    static func parse(_ document: JSONValue) throws(KernelError) -> ([PolicyRule], PolicyRule.Action) {
        // The reference's from_dict assumes a dict (AttributeError otherwise); here it is
        // a config error like every other bad shape.
        guard case .object(let data) = document else {
            throw configError("Policy data must be a mapping, got \(pyTypeName(document)).")
        }
        let rawDefault = data["default"] ?? "deny"
        guard let defaultAction = rawDefault.stringValue.flatMap(PolicyRule.Action.init(rawValue:)) else {
            throw configError("'default' must be 'allow' or 'deny', got \(rawDefault.pyRepr).")
        }
        guard case .array(let rawRules) = data["rules"] ?? .array([]) else {
            throw configError("'rules' must be a list.")
        }
        var rules: [PolicyRule] = []
        rules.reserveCapacity(rawRules.count)
        for (i, r) in rawRules.enumerated() { rules.append(try parseRule(r, index: i)) }
        return (rules, defaultAction)
    }

    static func parseRule(_ raw: JSONValue, index: Int) throws(KernelError) -> PolicyRule {
        guard case .object(let o) = raw else {
            throw configError("Rule[\(index)] must be a mapping, got \(pyTypeName(raw)).")
        }
        let name = o["name"]?.pyStr ?? "rule-\(index)"
        let rawAction = o["action"] ?? .null
        guard let action = rawAction.stringValue.flatMap(PolicyRule.Action.init(rawValue:)) else {
            throw configError("Rule '\(name)': 'action' must be 'allow' or 'deny', got \(rawAction.pyRepr).")
        }
        guard case .object(let m) = o["match"] ?? .object([:]) else {
            throw configError("Rule '\(name)': 'match' must be a mapping.")
        }
        let match = PolicyMatch(
            safetyClass: try enumList(m, "safety_class", SafetyClass.self, "SafetyClass", rule: name),
            sensitivity: try enumList(m, "sensitivity", SensitivityTag.self, "SensitivityTag", rule: name),
            roles: try stringList(m, "roles", rule: name),
            attributes: try stringMap(m, "attributes", rule: name),
            minJustification: try minJustification(m, rule: name),
            intent: try stringList(m, "intent", rule: name),
            scope: try stringMap(m, "scope", rule: name))
        let rawConstraints = o["constraints"] ?? .object([:])
        guard case .object(let constraints) = rawConstraints else {
            throw configError("Rule '\(name)': 'constraints' must be a mapping, got \(pyTypeName(rawConstraints)).")
        }
        let reason = o["reason"].flatMap { $0.pyTruthy ? $0.pyStr : nil }
        return PolicyRule(name: name, match: match, action: action, constraints: constraints, reason: reason)
    }

    /// `[enum_cls(v) for v in raw_match[key]]`: Python iterates whatever it is given, so a
    /// dict contributes its keys and a string its characters; errors quote the reference.
    static func enumList<E: RawRepresentable>(_ m: JSONObject, _ key: String, _: E.Type, _ enumName: String,
                                              rule: String) throws(KernelError) -> [E]? where E.RawValue == String {
        guard let value = m[key] else { return nil }
        let items: [JSONValue]
        switch value {
        case .array(let a): items = a
        case .object(let o): items = o.keys.map(JSONValue.string)
        case .string(let s): items = s.unicodeScalars.map { .string(String($0)) }
        default:
            throw configError("Rule '\(rule)': invalid \(key) value: '\(pyTypeName(value))' object is not iterable")
        }
        var out: [E] = []
        for item in items {
            guard let s = item.stringValue, let e = E(rawValue: s) else {
                throw configError("Rule '\(rule)': invalid \(key) value: \(item.pyRepr) is not a valid \(enumName)")
            }
            out.append(e)
        }
        return out
    }

    static func stringList(_ m: JSONObject, _ key: String, rule: String) throws(KernelError) -> [String]? {
        guard let value = m[key] else { return nil }
        if case .array(let a) = value {
            let strings = a.compactMap(\.stringValue)
            if strings.count == a.count { return strings }
        }
        throw configError("Rule '\(rule)': \(PyString.repr(key)) must be a list of strings, got \(pyTypeName(value)).")
    }

    static func stringMap(_ m: JSONObject, _ key: String,
                          rule: String) throws(KernelError) -> [PolicyMatch.StringPair]? {
        guard let value = m[key] else { return nil }
        if case .object(let o) = value {
            let pairs = o.compactMap { k, v in v.stringValue.map { PolicyMatch.StringPair(key: k, value: $0) } }
            if pairs.count == o.count { return pairs }
        }
        throw configError("Rule '\(rule)': \(PyString.repr(key)) must be a mapping of string keys to string values.")
    }

    static func minJustification(_ m: JSONObject, rule: String) throws(KernelError) -> Int? {
        guard let value = m["min_justification"] else { return nil }
        // bool is an int subclass in Python; the reference rejects it explicitly.
        guard case .int(let n) = value else {
            throw configError("Rule '\(rule)': 'min_justification' must be an integer, got \(pyTypeName(value)).")
        }
        return n
    }

}
