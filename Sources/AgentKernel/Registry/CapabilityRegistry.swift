import Synchronization

/// The capability registry (docs/reference-semantics.md §6; `registry.py`): registration-ordered storage, lookup by
/// id, declared namespaces and BM25 search.
///
/// Thread-safe: one `Mutex` guards the store; the search index is an immutable snapshot that
/// is rebuilt lazily on the first search after a change and then scored outside the lock, so
/// concurrent searches do not serialize on each other.
///
/// Deferred namespace *loaders* (Python callables) are not ported: docs/reference-semantics.md §12.2 defers them and
/// a sidecar populates the registry from configuration instead. Declared namespaces without
/// a loader are supported.
public final class CapabilityRegistry: Sendable {
    private struct State {
        var capabilities: [Capability] = []
        var positions: [CodePointKey: Int] = [:]
        var namespaces: [CodePointKey: String] = [:]  // prefix -> description
        var namespaceOrder: [String] = []
        /// nil when dirty (`SearchIndex.mark_dirty`).
        var index: SearchIndex?
        /// The id `get` found last and its position. Positions never change (registration
        /// only appends), so a repeated id (an agent's grants and invokes of one capability)
        /// skips hashing it; the id compares by code points, as the key would.
        var lastFound: (id: String, position: Int)?
    }

    private let state = Mutex(State())

    public init() {}

    /// Registers a capability. Every change invalidates the search index.
    public func register(_ c: Capability) throws(KernelError) {
        try state.withLock { (s: inout State) throws(KernelError) in
            let key = CodePointKey(c.capabilityID)
            guard s.positions[key] == nil else {
                throw KernelError(
                    .capabilityAlreadyRegistered,
                    "Capability '\(c.capabilityID)' is already registered. Use a unique capability_id.")
            }
            s.positions[key] = s.capabilities.count
            s.capabilities.append(c)
            s.index = nil
        }
    }

    /// Registers several capabilities in order; stops at the first duplicate, keeping the
    /// ones registered before it (`register_many`).
    public func registerMany(_ cs: [Capability]) throws(KernelError) {
        for c in cs { try register(c) }
    }

    /// The capability with this id (code-point comparison, as a Python dict lookup).
    public func get(_ id: String) throws(KernelError) -> Capability {
        let found = state.withLock { s -> Capability? in
            if let last = s.lastFound, PyString.equal(last.id, id) { return s.capabilities[last.position] }
            guard let position = s.positions[CodePointKey(id)] else { return nil }
            s.lastFound = (id, position)
            return s.capabilities[position]
        }
        guard let c = found else {
            throw KernelError(
                .capabilityNotFound,
                "No capability registered with id='\(id)'. Check the capability_id or register it first.")
        }
        return c
    }

    /// Every capability in registration order (`list_all`).
    public func list() -> [Capability] {
        state.withLock { $0.capabilities }
    }

    /// Ranked search (docs/reference-semantics.md §6 `search`): negative `maxResults`/`offset` clamp to 0; a goal
    /// with no tokens returns `[]`; hits are sorted by `(-score, capability_id)`.
    public func search(_ goal: String, maxResults: Int = 10, offset: Int = 0) -> [CapabilityRequest] {
        let offset = max(offset, 0)
        let maxResults = max(maxResults, 0)
        var text = goal
        return text.withUTF8 { utf8 in
            SearchTokenizer.withJoinedTokens(utf8: utf8) { joined in
                if joined.isEmpty { return [] }
                let index = currentIndex()
                return index.withRanked(joined: joined) { hits in
                    guard offset < hits.count else { return [] }
                    return hits[offset...].prefix(maxResults).map {
                        CapabilityRequest(capabilityID: index.ids[$0], goal: goal)
                    }
                }
            }
        }
    }

    /// The search snapshot, rebuilt under the lock if a registration made it stale.
    func currentIndex() -> SearchIndex {
        state.withLock { s in
            if let i = s.index { return i }
            let i = SearchIndex(s.capabilities)
            s.index = i
            return i
        }
    }

    // MARK: Namespaces (docs/reference-semantics.md §6; loaders deferred, see the type comment)

    /// Declares a namespace prefix (`register_namespace` without a loader).
    public func registerNamespace(_ prefix: String, description: String = "") throws(KernelError) {
        try state.withLock { (s: inout State) throws(KernelError) in
            let key = CodePointKey(prefix)
            guard s.namespaces[key] == nil else {
                throw KernelError(
                    .capabilityAlreadyRegistered,
                    "Namespace '\(prefix)' is already declared. Choose a unique prefix.")
            }
            s.namespaces[key] = description
            s.namespaceOrder.append(prefix)
        }
    }

    /// The sorted set of first dot-segments of capability ids and declared prefixes.
    public func listNamespaces() -> [String] {
        state.withLock { s in
            var heads = Set<CodePointKey>()
            for c in s.capabilities { heads.insert(CodePointKey(Self.head(c.capabilityID))) }
            for p in s.namespaceOrder { heads.insert(CodePointKey(Self.head(p))) }
            return heads.map(\.string).sorted(by: PyString.less)
        }
    }

    /// Capabilities equal to `prefix` or under `prefix + "."`, in registration order.
    /// Throws `NamespaceNotFound` when there are none and the prefix is not declared.
    public func listNamespace(_ prefix: String) throws(KernelError) -> [Capability] {
        let (results, declared) = state.withLock { s in
            (s.capabilities.filter { Self.lives($0.capabilityID, under: prefix) },
             s.namespaces[CodePointKey(prefix)] != nil)
        }
        if results.isEmpty && !declared {
            throw KernelError(
                .namespaceNotFound,
                "Namespace '\(prefix)' has no registered capabilities and is not declared. "
                    + "Use register_namespace(prefix=...) or register a capability under it.")
        }
        return results
    }

    /// `cap_id.partition(".")[0]`.
    static func head(_ id: String) -> String {
        guard let dot = id.utf8.firstIndex(of: UInt8(ascii: ".")) else { return id }
        return String(id[..<dot])
    }

    /// `id == prefix or id.startswith(prefix + ".")`, by code points.
    static func lives(_ id: String, under prefix: String) -> Bool {
        let u = id.utf8, p = prefix.utf8
        guard u.starts(with: p) else { return false }
        if u.count == p.count { return true }
        return u[u.index(u.startIndex, offsetBy: p.count)] == UInt8(ascii: ".")
    }
}
