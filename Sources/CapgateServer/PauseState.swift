import AgentKernel
import CapgateWire

/// One kill switch in force: why, since when, and which admin principal threw it.
public struct PauseEntry: Sendable, Equatable {
    public var reason: String
    public var pausedAt: Timestamp
    public var pausedBy: String

    public init(reason: String, pausedAt: Timestamp, pausedBy: String) {
        self.reason = reason
        self.pausedAt = pausedAt
        self.pausedBy = pausedBy
    }
}

/// Every kill switch in force (docs/operations.md "Kill switches"), as a value: which
/// requests it refuses, how a pause or a resume changes it, and its JSON (the same shape on
/// the wire, `Paused` in docs/openapi.yaml, and in `<state_dir>/kill_switches.json`). Pure:
/// `KillSwitches` owns the lock and the file.
public struct PauseState: Sendable, Equatable {
    public var all: PauseEntry?
    public var capabilities: [String: PauseEntry] = [:]
    public var principals: [String: PauseEntry] = [:]

    /// Most capabilities plus principals paused at once: the state is rewritten whole on
    /// every change and checked on every request, so it stays small.
    public static let maxEntries = 10_000

    public init() {}

    public var isEmpty: Bool { all == nil && capabilities.isEmpty && principals.isEmpty }

    /// Throws the pause on `target`; false when it was already paused (the first entry,
    /// with its reason and time, is kept).
    public mutating func pause(_ target: PauseTarget, _ entry: PauseEntry) -> Bool {
        switch target {
        case .all:
            guard all == nil else { return false }
            all = entry
        case .capability(let id):
            guard capabilities[id] == nil else { return false }
            capabilities[id] = entry
        case .principal(let id):
            guard principals[id] == nil else { return false }
            principals[id] = entry
        }
        return true
    }

    /// Lifts the pause on `target`; false when it was not paused.
    public mutating func resume(_ target: PauseTarget) -> Bool {
        switch target {
        case .all:
            defer { all = nil }
            return all != nil
        case .capability(let id): return capabilities.removeValue(forKey: id) != nil
        case .principal(let id): return principals.removeValue(forKey: id) != nil
        }
    }

    public func isPaused(_ target: PauseTarget) -> Bool {
        switch target {
        case .all: all != nil
        case .capability(let id): capabilities[id] != nil
        case .principal(let id): principals[id] != nil
        }
    }

    /// Why `principalID`'s `call` of `verb` is refused, or nil. The order: a paused caller is
    /// refused on every verb (the admin verbs included: a paused admin identity can pause
    /// nothing back; `health` never gets here); then the admin verbs pass (an operator can
    /// always list and resume); then the whole gateway; then the capability a grant or an
    /// invoke names, and the principal its token was issued to. The message names the pause,
    /// never its reason (the operator's notes stay with the operator).
    public func refusal(verb: Verb, call: WireRequest, principalID: String) -> WireError? {
        if isEmpty { return nil }
        if principals[principalID] != nil { return Self.principalPaused(principalID) }
        if verb.role == .admin { return nil }
        if all != nil {
            return WireError(.gatewayPaused, "capgate is paused by an operator (kill switch pause_all): only health "
                             + "and admin verbs are served until resume_all", reasonCode: WireErrorCode.gatewayPaused.rawValue)
        }
        let capabilityID: String?
        switch call {
        case .grantCapability(let request, _, _): capabilityID = request.capabilityID
        case .invoke(let token, _, _, _, _), .invokeStream(let token, _, _, _):
            if principals[token.principalID] != nil { return Self.principalPaused(token.principalID) }
            capabilityID = token.capabilityID
        default: capabilityID = nil
        }
        if let c = capabilityID, capabilities[c] != nil {
            return WireError(.capabilityPaused, "capability \(PyString.repr(c)) is paused by an operator (kill switch "
                             + "pause_capability): grants and invokes of it are refused until resume_capability",
                             reasonCode: WireErrorCode.capabilityPaused.rawValue)
        }
        return nil
    }

    static func principalPaused(_ id: String) -> WireError {
        WireError(.principalPaused, "principal \(PyString.repr(id)) is paused by an operator (kill switch "
                  + "pause_principal): every request with its identity or its tokens is refused until resume_principal",
                  reasonCode: WireErrorCode.principalPaused.rawValue)
    }

    // MARK: - JSON

    /// `{"all": {reason, paused_at, paused_by} | null, "capabilities": [{id, ...}],
    /// "principals": [{id, ...}]}`, lists sorted by id (a stable answer and file).
    public var json: JSONValue {
        func entry(_ e: PauseEntry, id: String?) -> JSONValue {
            var o: JSONObject = [:]
            if let id { o["id"] = .string(id) }
            o["reason"] = .string(e.reason)
            o["paused_at"] = .string(e.pausedAt.isoformat)
            o["paused_by"] = .string(e.pausedBy)
            return .object(o)
        }
        func list(_ d: [String: PauseEntry]) -> JSONValue {
            .array(d.keys.sorted().map { entry(d[$0]!, id: $0) })
        }
        return .object(JSONObject([
            ("all", all.map { entry($0, id: nil) } ?? .null),
            ("capabilities", list(capabilities)), ("principals", list(principals)),
        ]))
    }

    /// Reads `json` back (the state file). Strict: a file that does not read is refused
    /// whole, so a damaged file stops the start instead of silently lifting its pauses.
    public init(json v: JSONValue) throws(ConfigError) {
        func entry(_ v: JSONValue, _ at: String) throws(ConfigError) -> PauseEntry {
            guard let o = v.objectValue, let reason = o["reason"]?.stringValue,
                  let at2 = o["paused_at"]?.stringValue, let time = Timestamp(isoformat: at2),
                  let by = o["paused_by"]?.stringValue else {
                throw ConfigError(at, "needs reason, paused_at (ISO 8601) and paused_by strings")
            }
            return PauseEntry(reason: reason, pausedAt: time, pausedBy: by)
        }
        func list(_ key: String) throws(ConfigError) -> [String: PauseEntry] {
            guard let a = v[key]?.arrayValue else { throw ConfigError(key, "must be a list") }
            var d: [String: PauseEntry] = [:]
            for (i, item) in a.enumerated() {
                guard let id = item["id"]?.stringValue, !id.isEmpty else { throw ConfigError("\(key)[\(i)].id", "must be a string") }
                d[id] = try entry(item, "\(key)[\(i)]")
            }
            return d
        }
        guard v.objectValue != nil else { throw ConfigError("", "must be a JSON object") }
        self.init()
        if let a = v["all"], !a.isNull { all = try entry(a, "all") }
        capabilities = try list("capabilities")
        principals = try list("principals")
    }
}
