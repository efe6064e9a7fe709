import Testing
import AgentKernel

@Suite struct CapabilityRegistryTests {
    static func cap(_ id: String, name: String? = nil, description: String = "", tags: [String] = []) -> Capability {
        Capability(capabilityID: id, name: name ?? id, description: description, safetyClass: .read, tags: tags)
    }

    static func sample() throws -> CapabilityRegistry {
        let r = CapabilityRegistry()
        for id in ["billing.list_invoices", "billing.get_invoice", "crm.customers", "solo"] { try r.register(cap(id)) }
        return r
    }

    // python: r.register(dup) -> CapabilityAlreadyRegistered "Capability 'the' is already registered. Use a unique capability_id."
    @Test func duplicateRegistrationFails() throws {
        let r = CapabilityRegistry()
        try r.register(Self.cap("the"))
        #expect(throws: KernelError(.capabilityAlreadyRegistered,
                                    "Capability 'the' is already registered. Use a unique capability_id.")) {
            try r.register(Self.cap("the", name: "other"))
        }
        #expect(r.list().count == 1)
    }

    // python: r.get("nope") -> CapabilityNotFound "No capability registered with id='nope'. Check the capability_id or register it first."
    @Test func missingCapability() throws {
        let r = try Self.sample()
        #expect(throws: KernelError(.capabilityNotFound,
                                    "No capability registered with id='nope'. Check the capability_id or register it first.")) {
            try r.get("nope")
        }
        #expect(try r.get("crm.customers").capabilityID == "crm.customers")
    }

    // python: ids "\u00e9" and "e\u0301" are two distinct registrations (len(list_all()) == 2)
    @Test func idsCompareByCodePoint() throws {
        let r = CapabilityRegistry()
        try r.register(Self.cap("\u{e9}"))
        try r.register(Self.cap("e\u{301}"))
        #expect(r.list().count == 2)
        #expect(try r.get("e\u{301}").capabilityID.unicodeScalars.count == 2)
    }

    /// `get` remembers the last id found: repeats, alternations, registrations after it and
    /// another spelling of the remembered id (a miss by code points) all answer as a look-up.
    @Test func repeatedAndAlternatingGetsAnswerAsALookUp() throws {
        let r = try Self.sample()
        try r.register(Self.cap("caf\u{e9}"))
        for id in ["solo", "solo", "crm.customers", "solo", "caf\u{e9}", "caf\u{e9}"] {
            #expect(try r.get(id).capabilityID == id)
        }
        #expect(throws: KernelError.self) { try r.get("cafe\u{301}") }  // after "café" was found
        try r.register(Self.cap("cafe\u{301}"))
        #expect(try r.get("cafe\u{301}").capabilityID.unicodeScalars.count == 5)
        #expect(try r.get("caf\u{e9}").capabilityID.unicodeScalars.count == 4)
        #expect(throws: KernelError.self) { try r.get("missing") }
        #expect(try r.get("caf\u{e9}").capabilityID.unicodeScalars.count == 4)
    }

    @Test func listKeepsRegistrationOrder() throws {
        #expect(try Self.sample().list().map(\.capabilityID)
                == ["billing.list_invoices", "billing.get_invoice", "crm.customers", "solo"])
    }

    // python: search("billing", max_results=-1) -> []; offset=-5 -> [get, list]; offset=1 -> [list]
    @Test func searchClampsAndPaginates() throws {
        let r = try Self.sample()
        #expect(r.search("billing", maxResults: -1).isEmpty)
        #expect(r.search("billing", offset: -5).map(\.capabilityID) == ["billing.get_invoice", "billing.list_invoices"])
        #expect(r.search("billing", offset: 1).map(\.capabilityID) == ["billing.list_invoices"])
        #expect(r.search("billing", offset: 9).isEmpty)
        #expect(r.search("the please").isEmpty)
    }

    /// The index is rebuilt after a registration (it is marked dirty), not served stale.
    @Test func searchSeesNewRegistrations() throws {
        let r = try Self.sample()
        #expect(r.search("refund").isEmpty)
        try r.register(Self.cap("payments.refund"))
        #expect(r.search("refund").map(\.capabilityID) == ["payments.refund"])
    }

    // python: list_namespaces() -> ['billing', 'crm', 'ops', 'solo']; list_namespace('ops') -> [];
    // list_namespace('bill') -> NamespaceNotFound; register_namespace('ops') twice -> CapabilityAlreadyRegistered
    @Test func namespaces() throws {
        let r = try Self.sample()
        try r.registerNamespace("ops", description: "x")
        #expect(r.listNamespaces() == ["billing", "crm", "ops", "solo"])
        #expect(try r.listNamespace("billing").map(\.capabilityID) == ["billing.list_invoices", "billing.get_invoice"])
        #expect(try r.listNamespace("ops").isEmpty)
        #expect(throws: KernelError(.namespaceNotFound,
                                    "Namespace 'bill' has no registered capabilities and is not declared. "
                                        + "Use register_namespace(prefix=...) or register a capability under it.")) {
            try r.listNamespace("bill")
        }
        #expect(throws: KernelError(.capabilityAlreadyRegistered,
                                    "Namespace 'ops' is already declared. Choose a unique prefix.")) {
            try r.registerNamespace("ops")
        }
    }

    /// Concurrent registrations and searches: no lost registration, every search consistent.
    @Test func concurrentRegisterAndSearch() async throws {
        let r = CapabilityRegistry()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask {
                    try? r.register(Self.cap("svc.op\(i)", description: "common words here"))
                    _ = r.search("common op\(i)")
                }
            }
        }
        #expect(r.list().count == 200)
        #expect(r.search("common", maxResults: 1000).count == 200)
    }
}
