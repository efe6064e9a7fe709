/// The streaming firewall of one `invokeStream` (docs/reference-semantics.md §8.6; the
/// reference's `Firewall.apply_stream`): each chunk's top-level strings go through a per-field
/// `StreamRedactor` (so a secret split across chunks is reassembled before either half leaves),
/// the chunk then goes through the ordinary `transform`, and the final chunk flushes every
/// redactor, re-attaching held-back text under its key even when the final chunk lacks it.
///
/// Single-stream and stateful: `frame(for:)` chunks in order.
public struct FirewallStream: Sendable {
    /// The synthetic key a chunk sets (truthy) to mark itself as the last one.
    public static let finalKey = "__is_final__"

    let firewall: Firewall
    let actionID: String
    let capabilityID: String
    let principalID: String
    let principalRoles: [String]
    let responseMode: ResponseMode
    let constraints: JSONObject
    /// Redactors in creation order (the final flush re-attaches keys in this order).
    private var redactors: [(key: String, redactor: StreamRedactor)] = []
    private var index: [CodePointKey: Int] = [:]

    public init(firewall: Firewall, actionID: String, capabilityID: String, principalID: String,
                principalRoles: [String], responseMode: ResponseMode, constraints: JSONObject) {
        self.firewall = firewall
        self.actionID = actionID
        self.capabilityID = capabilityID
        self.principalID = principalID
        self.principalRoles = principalRoles
        self.responseMode = responseMode
        self.constraints = constraints
    }

    /// The frame for the next chunk; `isFinal` when the chunk carries a truthy final marker.
    public mutating func frame(for chunk: JSONObject, now: Timestamp) throws(KernelError) -> Frame {
        let isFinal = chunk[Self.finalKey]?.pyTruthy ?? false
        var payload = JSONObject()
        var warnings: [String] = []
        for (key, value) in chunk where !PyString.equal(key, Self.finalKey) {
            guard case .string(let text) = value else {
                payload[key] = value
                continue
            }
            let i = redactorIndex(key)
            var (committed, warns) = redactors[i].redactor.feed(text)
            if isFinal {
                let (tail, tailWarns) = redactors[i].redactor.flush()
                committed += tail
                warns += tailWarns
            }
            payload[key] = .string(committed)
            warnings += warns
        }
        if isFinal {
            for i in redactors.indices where payload[redactors[i].key] == nil {
                let (tail, tailWarns) = redactors[i].redactor.flush()
                if !tail.isEmpty {
                    payload[redactors[i].key] = .string(tail)
                    warnings += tailWarns
                }
            }
        }
        let raw = RawResult(capabilityID: capabilityID, data: .object(payload),
                            metadata: ["action_id": .string(actionID), "streaming": true])
        var frame = try firewall.transform(raw, actionID: actionID, principalID: principalID,
                                           principalRoles: principalRoles, responseMode: responseMode,
                                           constraints: constraints, handle: nil, now: now, isFinal: isFinal)
        // The stream redactors' warnings follow the firewall's; a setter builds a new box,
        // so only when there are some.
        if !warnings.isEmpty { frame.warnings += warnings }
        return frame
    }

    private mutating func redactorIndex(_ key: String) -> Int {
        let k = CodePointKey(key)
        if let i = index[k] { return i }
        redactors.append((key, StreamRedactor()))
        index[k] = redactors.count - 1
        return redactors.count - 1
    }
}
