/// READ / WRITE / DESTRUCTIVE (`enums.SafetyClass`).
public enum SafetyClass: String, Sendable, CaseIterable {
    case read = "READ"
    case write = "WRITE"
    case destructive = "DESTRUCTIVE"
}

/// Data sensitivity of a capability's output (`enums.SensitivityTag`).
public enum SensitivityTag: String, Sendable, CaseIterable {
    case none = "NONE"
    case pii = "PII"
    case pci = "PCI"
    case secrets = "SECRETS"
    case memory = "MEMORY"
}

/// How much of a result crosses the firewall. Strictness: raw < table < summary <
/// handle_only. The reference does not validate the string; an unknown value behaves as
/// `summary` in the firewall, so the kernel keeps it as `.other` and the wire rejects it.
public enum ResponseMode: Sendable, Hashable {
    case summary, table, handleOnly, raw
    case other(String)

    public init(_ s: String) {
        switch s {
        case "summary": self = .summary
        case "table": self = .table
        case "handle_only": self = .handleOnly
        case "raw": self = .raw
        default: self = .other(s)
        }
    }

    public var rawValue: String {
        switch self {
        case .summary: return "summary"
        case .table: return "table"
        case .handleOnly: return "handle_only"
        case .raw: return "raw"
        case .other(let s): return s
        }
    }

    /// Strictness rank (`_MODE_RANK`): raw 0, table 1, summary 2, handle_only 3;
    /// nil for an unknown mode (the reference raises KeyError there).
    public var strictness: Int? {
        switch self {
        case .raw: return 0
        case .table: return 1
        case .summary: return 2
        case .handleOnly: return 3
        case .other: return nil
        }
    }
}

/// What a trace records (`TraceEventType`).
public enum TraceEventType: String, Sendable, CaseIterable {
    case invoke, expand, deny
}
