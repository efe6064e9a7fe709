import AgentKernel
import CapgateConnection
import Dispatch
import CapgatePostgres
import CapgateWire
import Synchronization

/// Turns wire requests into kernel calls: routing, media type, identity to principal,
/// strict decoding, the principal-spoofing check, authorization, and the error mapping.
/// Pure (no IO), so it is unit-tested and fuzzed without sockets.
public final class KernelService: Sendable {
    public let kernel: Kernel
    private let identities: IdentityMapBox
    /// Test seam: awaited after decoding and authorization, just before the kernel call, so a
    /// test can hold a request there while its stream is reset. Nil in production.
    private let holdBeforeKernel = Mutex<CallbackBox<@Sendable (Verb) async -> Void>?>(nil)
    /// Told how long each wait for a durable audit record took (metrics); nil: not measured.
    private let auditWaitObserver = Mutex<CallbackBox<@Sendable (Double) -> Void>?>(nil)

    /// Installs the audit-wait observer (`GatewayMetrics.recordAuditWait`).
    public func setAuditWaitObserver(_ observe: (@Sendable (Double) -> Void)?) {
        let box = observe.map { CallbackBox($0) }
        auditWaitObserver.withLock { $0 = box }
    }
    /// The kill switches every request is checked against (KernelService+Operations.swift).
    public let killSwitches: KillSwitches
    /// What `status` reports beyond the kernel (the gateway installs it: connections,
    /// certificates); nil answers without those parts.
    let statusSource = Mutex<CallbackBox<@Sendable () -> JSONObject>?>(nil)
    /// Identity rule sets swapped in since start (`status`'s config generation).
    let identityGenerationCounter = Mutex<Int>(0)
    /// The serialized `explain` answer of recently explained traces, by action id. WHY: an
    /// `explain` rebuilt and re-serialized the same trace's JSON each time, about a seventh of
    /// the sidecar's CPU on that verb. A cached body answers only a trace EQUAL to the one it
    /// was made from (the same stored trace is usually the same box: `==` is then one pointer
    /// compare), and the body is a pure function of the trace, so the bytes are the same.
    private let explainBodies = Mutex<[String: (trace: ActionTrace, body: [UInt8])]>([:])
    /// The kernel's trace store when it is a fleet's (`kernel.traces` never changes): found
    /// once, so an `explain` on the embedded store makes no cast and no extra async call.
    private let fleetTraces: PostgresTraceStore?
    /// Bound of `explainBodies`; full, it starts over.
    static let explainBodyLimit = 1024

    public init(kernel: Kernel, identities: IdentityMap, killSwitches: KillSwitches = KillSwitches()) {
        self.kernel = kernel
        self.identities = IdentityMapBox(identities)
        self.killSwitches = killSwitches
        self.fleetTraces = kernel.traces as? PostgresTraceStore
    }

    /// Swaps the identity rules (SIGHUP reload); requests in flight keep the old ones.
    public func reloadIdentities(_ map: IdentityMap) {
        identities.set(map)
        identityGenerationCounter.withLock { $0 += 1 }
    }

    /// How many times the identity rules were reloaded since start.
    public var identityGeneration: Int { identityGenerationCounter.withLock { $0 } }
    public var identityMap: IdentityMap { identities.get() }

    /// Installs (or removes) the test seam `holdBeforeKernel`.
    public func setHoldBeforeKernel(_ hold: (@Sendable (Verb) async -> Void)?) {
        let box = hold.map { CallbackBox($0) }
        holdBeforeKernel.withLock { $0 = box }
    }

    /// Answers one request from `identity` (the SPIFFE ID of the verified client certificate;
    /// never from a header or the body), whole: a streamed verb's lines are collected into one
    /// body (the transport streams them instead, `KernelRequestHandler`). Never throws: every
    /// failure becomes an error envelope.
    public func handle(_ request: HTTPRequest, identity: String) async -> HTTPResponse {
        switch await answer(request, identity: identity) {
        case .success(.value(let value)): return Self.response(status: 200, value)
        case .success(.json(let body)): return Self.response(status: 200, body: body)
        case .success(.frames(let frames)): return await frames.collected()
        case .failure(let error): return Self.response(status: error.status, error.json)
        }
    }

    /// What `identity`'s request is answered with, before any of a stream is produced: the
    /// value, the frames to stream, or the error envelope (any failure of `respond`).
    public func answer(_ request: HTTPRequest, identity: String) async -> Result<VerbAnswer, WireError> {
        do throws(WireError) {
            return .success(try await respond(request, identity: identity))
        } catch {
            return .failure(error)
        }
    }

    /// `trace.json.serializedBytes()`, from `explainBodies` when the trace is unchanged.
    func explainBody(_ trace: ActionTrace) -> [UInt8] {
        let key = trace.actionID
        if let hit = explainBodies.withLock({ $0[key] }), hit.trace == trace { return hit.body }
        let body = trace.json.serializedBytes()
        explainBodies.withLock { table in
            if table.count >= Self.explainBodyLimit { table.removeAll(keepingCapacity: true) }
            table[key] = (trace, body)
        }
        return body
    }

    /// Every answer is JSON; the transport adds `content-length`.
    static func response(status: Int, _ value: JSONValue) -> HTTPResponse {
        response(status: status, body: value.serializedBytes())
    }

    static func response(status: Int, body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: [(name: "content-type", value: "application/json")], body: body)
    }

    /// Route and method checks come before identity so a probe learns nothing more than
    /// the public verb list; the body is decoded only for a mapped identity; the verb's role
    /// is checked after the principal claim, before the kernel.
    func respond(_ request: HTTPRequest, identity: String) async throws(WireError) -> VerbAnswer {
        let (verb, call, principal): (Verb, WireRequest, Principal)
        switch try admit(request, verb: Verb.route(path: request.path), identity: identity) {
        case .answered(let answer): return answer
        case .call(let v, let c, let p): (verb, call, principal) = (v, c, p)
        }
        if let hold = holdBeforeKernel.withLock({ $0 }) { await hold.call(verb) }
        try checkBeforeKernel(verb, call, principal)
        if case .operations(let op) = call { return try await answer(op, as: principal) }
        if KernelService.needsSharedStore(call) { try requireSharedStore() }
        // Taken before the kernel records anything: a write failure between here and the
        // wait fails this answer even if the store has recovered meanwhile (docs/audit.md).
        let mark = durabilityMarks()
        let outcome: Result<VerbAnswer, KernelError>
        do {
            outcome = .success(try await execute(call, as: principal, mark: mark))
        } catch {
            outcome = .failure(error)
        }
        if case .success = outcome, case .grantCapability = call { try await awaitSharedIssue() }
        if KernelService.mayRecordTrace(call) { try await awaitDurableAudit(since: mark) }
        switch outcome {
        case .success(let answer): return answer
        case .failure(let error): throw WireError(error)
        }
    }

    /// What `respondNow` needs to know before it touches a request: whether `respond` would
    /// answer it without ever suspending. True for an unknown path (an error envelope) and for
    /// the verbs that only read the kernel (`executeNow`) and record nothing, so never wait for
    /// the audit writer or a fleet's store; false while the test seam `holdBeforeKernel` is
    /// installed (it awaits).
    func answersNow(_ verb: Verb?) -> Bool {
        guard let verb else { return true }
        switch verb {
        case .health, .listCapabilities, .requestCapabilities, .explainDenial, .stats: break
        case .explain, .queryTraces: if fleetTraces != nil { return false }
        default: return false
        }
        return holdBeforeKernel.withLock { $0 } == nil
    }

    /// `respond` for a request `answersNow` admitted (`verb`: its path's, `Verb.route`), run to the end on the caller's
    /// thread: the same checks in the same order (`admit`, `checkBeforeKernel`) and the same
    /// kernel call (`executeNow`), so the same answer, without a task or an await. Nil when the
    /// request turned out to need one after all (`respond` then answers it from the start:
    /// nothing here has effects before the kernel call).
    func respondNow(_ request: HTTPRequest, verb: Verb?, identity: String) throws(WireError) -> VerbAnswer? {
        switch try admit(request, verb: verb, identity: identity) {
        case .answered(let answer):
            return answer
        case .call(let verb, let call, let principal):
            if case .operations = call { return nil }
            guard !KernelService.needsSharedStore(call), !KernelService.mayRecordTrace(call) else { return nil }
            try checkBeforeKernel(verb, call, principal)
            do {
                return try executeNow(call, as: principal)
            } catch {
                throw WireError(error)
            }
        }
    }

    /// A request past the checks that need no kernel: answered already (`health`), or the
    /// decoded call of a mapped principal.
    enum Admission {
        case answered(VerbAnswer)
        case call(Verb, WireRequest, Principal)
    }

    /// Route, method, media type, identity, body and principal claim, in that order (`verb`:
    /// `Verb.route` of the request's path, found once by the caller).
    func admit(_ request: HTTPRequest, verb: Verb?, identity: String) throws(WireError) -> Admission {
        guard let verb else {
            throw WireError(.unknownVerb, "no verb at \(PyString.repr(String(request.path.prefix(200))))")
        }
        guard request.method == verb.method else {
            throw WireError(.methodNotAllowed, "\(verb.path) answers \(verb.method) only")
        }
        if verb.role == .anyone {
            try requireSharedStore("degraded: ")
            return .answered(.value(["status": "ok"]))
        }
        guard KernelService.isJSON(request.contentType) else {
            throw WireError(.unsupportedMediaType, "content-type must be application/json")
        }
        guard let principal = identities.get().principal(for: identity) else {
            throw WireError(.unknownIdentity, "identity \(PyString.repr(identity)) is not mapped to a principal")
        }
        let call = try WireRequest.decode(verb, body: request.body)
        if let claimed = call.claimedPrincipalID, !PyString.equal(claimed, principal.principalID) {
            throw WireError(.principalMismatch,
                            "body principal \(PyString.repr(claimed)) is not the authenticated principal")
        }
        return .call(verb, call, principal)
    }

    /// The checks between the test seam and the kernel: cancellation, the verb's role, the
    /// kill switches.
    func checkBeforeKernel(_ verb: Verb, _ call: WireRequest, _ principal: Principal) throws(WireError) {
        // The last point before the kernel commits anything (a grant mints and traces a
        // token, a revoke revokes): a request whose stream was reset or whose connection
        // closed (the transport cancels its task) stops here. Past it, a verb's kernel call
        // finishes (grant, explain_denial, revoke, revoke_all, expand and the reads are
        // synchronous and atomic); invoke and invoke_stream keep checking inside the
        // kernel (the driver is cancelled, the trace records it). docs/hardening.md.
        // (Outside a task, in `respondNow`, nothing can be cancelled: this is false.)
        if Task.isCancelled {
            throw WireError(.overloaded, "request cancelled before the kernel call")
        }
        do {
            if verb.role == .admin { try KernelService.requireAdmin(principal, verb.rawValue) }
        } catch {
            throw WireError(error)
        }
        // The kill switches, read under their lock on every request (no cache).
        if let refusal = killSwitches.refusal(verb: verb, call: call, principalID: principal.principalID) {
            throw refusal
        }
    }

    /// The verbs whose action the kernel traces before they answer (docs/reference-semantics.md
    /// §10.1): a denied grant, an invoke, an expand. Their answer, success or error, waits for
    /// the record. `invoke_stream` records when its frames end, so it waits there (`execute`).
    static func mayRecordTrace(_ call: WireRequest) -> Bool {
        switch call {
        case .grantCapability, .invoke, .expand: return true
        default: return false
        }
    }

    /// The verbs that verify or mint a token or expand a handle: with a shared store they are
    /// never served without the shared revocation list (docs/deployment.md).
    static func needsSharedStore(_ call: WireRequest) -> Bool {
        switch call {
        case .grantCapability, .invoke, .invokeStream, .expand: return true
        default: return false
        }
    }

    var sharedRevocations: (any SharedRevocationStore)? { kernel.tokens.revocationStore as? any SharedRevocationStore }

    /// Fails closed with `store_unavailable` while the shared store is unreachable or not yet
    /// reconciled. A no-op for the embedded store.
    func requireSharedStore(_ prefix: String = "") throws(WireError) {
        guard let shared = sharedRevocations, !shared.isAvailable else { return }
        throw WireError(.storeUnavailable, prefix + "the shared store is unreachable or not yet reconciled; "
                        + "retry later or on another sidecar (docs/deployment.md)")
    }

    /// A granted token is answered only once its issue is recorded in the shared store, so a
    /// `revoke_all` through any sidecar covers it.
    func awaitSharedIssue() async throws(WireError) {
        guard let shared = sharedRevocations else { return }
        do {
            try await shared.waitUntilShared()
        } catch {
            throw WireError(.storeUnavailable, "the token's issue could not be recorded in the shared store; "
                            + "it is not acknowledged (docs/deployment.md)")
        }
    }

    /// The durability contract (docs/audit.md): nothing traced is acknowledged before its
    /// record is durable. The wait is a continuation resumed by the audit writer thread, so
    /// neither an event loop nor the cooperative pool blocks on disk. A store that failed
    /// closed turns the answer into `audit_unavailable`; its detail stays in the server.
    func awaitDurableAudit(since mark: DurabilityMarks) async throws(WireError) {
        let observe = auditWaitObserver.withLock { $0 }
        let started = ContinuousClock.now
        defer { observe?.call(GatewayMetricsClock.seconds(since: started)) }
        do {
            try await kernel.traces.waitUntilDurable(since: mark.traces)
        } catch {
            throw WireError(.auditUnavailable, "the action's audit record could not be made durable; "
                            + "the action is not acknowledged (docs/audit.md)")
        }
        do {
            // Spends are recorded before the trace of the invoke that made them; a store
            // sharing the trace store's writer is already durable here (docs/audit.md).
            try await kernel.budgets.store?.waitUntilDurable(since: mark.budgets)
        } catch {
            if error.site == .storeUnavailable {
                throw WireError(.storeUnavailable, "the invoke's spend could not be recorded in the shared store; "
                                + "the action is not acknowledged (docs/deployment.md)")
            }
            throw WireError(.auditUnavailable, "the action's audit record could not be made durable; "
                            + "the action is not acknowledged (docs/audit.md)")
        }
    }

    /// Where the audit and budget stores stood before a verb ran (`durabilityMark()`).
    struct DurabilityMarks: Sendable {
        let traces: Int
        let budgets: Int
    }

    /// The stores' marks now: take them before the kernel records anything for a request.
    func durabilityMarks() -> DurabilityMarks {
        DurabilityMarks(traces: kernel.traces.durabilityMark(), budgets: kernel.budgets.store?.durabilityMark() ?? 0)
    }

    static func isJSON(_ contentType: String?) -> Bool {
        guard let ct = contentType else { return false }
        // What every client sends, answered without Foundation's trimming and lowercasing
        // (those were 6% of the sidecar's CPU on a cheap verb); anything else takes the
        // general path below, so the answer is the same for every header value.
        if ct == "application/json" { return true }
        let base = ct.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        return base.lowercased() == "application/json"
    }

    /// Roles that may read other principals' audit records.
    static func isAuditor(_ p: Principal) -> Bool { p.hasRole("admin") || p.hasRole("auditor") }

    /// One kernel call per decoded request. Row-level visibility (an `explain` or
    /// `query_traces` of someone else's traces) is decided here; the verb's role before. A
    /// streamed verb answers with its frames unstarted: the kernel runs as they are written.
    func execute(_ call: WireRequest, as principal: Principal, mark: DurabilityMarks) async throws(KernelError) -> VerbAnswer {
        if let answer = try executeNow(call, as: principal) { return answer }
        switch call {
        case .health, .listCapabilities, .requestCapabilities, .grantCapability, .explainDenial, .stats:
            // `executeNow` answers these; it returning nil for one would be a bug here.
            throw KernelError(.agentKernelError, "internal error: \(call.verb.rawValue) was not answered")
        case .invoke(let token, let args, let mode, let dryRun, _):
            let result = try await kernel.invoke(token, principal: principal, args: args, responseMode: mode,
                                                 dryRun: dryRun, session: principal.principalID)
            try await publishHandle(of: result)
            return .value(result.json)
        case .invokeStream(let token, let args, let mode, _):
            // The stream completes (or reports its error) only once its trace is durable;
            // otherwise it ends with `audit_unavailable` (docs/audit.md).
            return .frames(FrameSource { [self] emit in
                do {
                    // A fleet's frame carrying a handle (the non-streaming path's final frame) is
                    // written only once any sidecar can expand that handle, as for `invoke`.
                    try await kernel.invokeStream(token, principal: principal, args: args, responseMode: mode,
                                                  session: principal.principalID) { frame in
                        if let h = frame.handle { try await publishHandle(h.handleID) }
                        try await emit(frame)
                    }
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    try await awaitDurableAudit(since: mark)
                    throw error
                }
                try await awaitDurableAudit(since: mark)
            })
        case .expand(let handleID, let query, _):
            try await fetchSharedHandle(handleID)
            // The kernel looks the handle's binding up by id and refuses other principals
            // (handle_principal_mismatch); admins are not exempt: handle ids are not
            // bearer credentials, and auditors read traces, not data.
            do {
                return .value(try kernel.expand(handleID: handleID, query: query, principal: principal).json)
            } catch {
                throw KernelService.redactingOwner(error, handleID: handleID, caller: principal.principalID)
            }
        case .explain(let actionID):
            // A fleet's trace, from any sidecar (`executeNow` answers from the embedded store).
            guard let trace = try await fleetTrace(actionID) else {
                return .json(try explainBody(kernel.explain(actionID: actionID), actionID: actionID, for: principal))
            }
            return .json(try explainBody(trace, actionID: actionID, for: principal))
        case .queryTraces(var query):
            guard restrictToVisible(&query, for: principal) else { return .value([]) }
            guard let fleet = kernel.traces as? PostgresTraceStore else {
                return .value(.array(try kernel.queryTraces(query).map(\.json)))
            }
            do { return .value(.array(try await fleet.search(query).map(\.json))) } catch let e as KernelError {
                throw e
            } catch {
                throw Self.auditReadFailed()
            }
        case .revoke(let tokenID):
            // Role gate: `respond`, from the verb's declaration (`VerbRole.admin`).
            if let shared = sharedRevocations {
                do { try await shared.revokeShared(tokenID) } catch { throw Self.sharedRevokeFailed() }
                return .value(["revoked": true])
            }
            let kernel = self.kernel
            try await persisted { kernel.revoke(tokenID: tokenID) }
            return .value(["revoked": true])
        case .revokeAll(let principalID):
            if let shared = sharedRevocations {
                do { return .value(["revoked": .int(try await shared.revokeAllShared(principalID: principalID))]) } catch {
                    throw Self.sharedRevokeFailed()
                }
            }
            let kernel = self.kernel
            let n = try await persisted { kernel.revokeAll(principalID: principalID) }
            return .value(["revoked": .int(n)])
        case .operations:
            // Answered by `respond` before the kernel (KernelService+Operations.swift).
            throw KernelError(.agentKernelError, "operations verbs are answered by the gateway, not the kernel")
        }
    }

    /// The kernel calls that never suspend: the reads and the synchronous decisions, answered
    /// on the caller's thread (`respondNow`, and `execute` first). Nil for the rest (invoke,
    /// expand, the revocations, a fleet's audit reads), which `execute` awaits.
    func executeNow(_ call: WireRequest, as principal: Principal) throws(KernelError) -> VerbAnswer? {
        switch call {
        case .health: return .value(["status": "ok"])
        case .listCapabilities: return .value(.array(kernel.listCapabilities().map(\.json)))
        case .requestCapabilities(let goal): return .value(.array(kernel.requestCapabilities(goal: goal).map(\.json)))
        case .grantCapability(let request, let justification, _):
            return .value(try kernel.grantCapability(request, principal: principal, justification: justification).json)
        case .explainDenial(let request, let justification, _):
            return .value(try kernel.explainDenial(request, principal: principal, justification: justification).json)
        case .explain(let actionID):
            guard fleetTraces == nil else { return nil }
            return .json(try explainBody(kernel.explain(actionID: actionID), actionID: actionID, for: principal))
        case .queryTraces(var query):
            guard !(kernel.traces is PostgresTraceStore) else { return nil }
            guard restrictToVisible(&query, for: principal) else { return .value([]) }
            return .value(.array(try kernel.queryTraces(query).map(\.json)))
        case .stats: return .value(kernel.statsSnapshot().json)
        case .invoke, .invokeStream, .expand, .revoke, .revokeAll, .operations: return nil
        }
    }

    /// The serialized trace, when `principal` may read it: an auditor, or its own principal.
    func explainBody(_ trace: ActionTrace, actionID: String, for principal: Principal) throws(KernelError) -> [UInt8] {
        guard KernelService.isAuditor(principal) || PyString.equal(trace.principalID, principal.principalID) else {
            // Indistinguishable from a missing id, so ids cannot be probed.
            throw KernelError(.agentKernelError, "No action trace found for action_id=\(PyString.repr(actionID)).",
                              site: .traceNotFound)
        }
        return explainBody(trace)
    }

    /// A non-auditor's query reads only its own principal's traces. False when it asked for
    /// someone else's: the answer is `[]`, whatever exists.
    func restrictToVisible(_ query: inout TraceQuery, for principal: Principal) -> Bool {
        guard !KernelService.isAuditor(principal) else { return true }
        if let asked = query.principalID, !PyString.equal(asked, principal.principalID) { return false }
        query.principalID = principal.principalID
        return true
    }

    /// A fleet's trace of `actionID` from any sidecar (nil: not found there, or no fleet);
    /// read asynchronously, never blocking a thread.
    func fleetTrace(_ actionID: String) async throws(KernelError) -> ActionTrace? {
        guard let fleet = kernel.traces as? PostgresTraceStore else { return nil }
        do {
            guard let t = try await fleet.fetch(actionID) else {
                throw KernelError(.agentKernelError, "No action trace found for action_id=\(PyString.repr(actionID)).",
                                  site: .traceNotFound)
            }
            return t
        } catch let e as KernelError {
            throw e
        } catch {
            throw Self.auditReadFailed()
        }
    }

    static func auditReadFailed() -> KernelError {
        KernelError(.agentKernelError, "the shared store is unreachable: the audit trail cannot be read "
                    + "(docs/deployment.md)", site: .storeUnavailable)
    }

    /// The fleet's store (docs/deployment.md), nil for the embedded one.
    var fleetStore: PostgresSharedStore? { kernel.tokens.revocationStore as? PostgresSharedStore }

    /// A fleet's invoke answers with a handle only once any sidecar can expand it.
    func publishHandle(of result: InvokeResult) async throws(KernelError) {
        guard case .frame(let frame) = result, let h = frame.handle else { return }
        try await publishHandle(h.handleID)
    }

    /// Shares the handle `handleID` of this sidecar's store with the fleet (no-op without one);
    /// a failed write fails the answer that would carry the id (`invoke`, `invoke_stream`).
    func publishHandle(_ handleID: String) async throws(KernelError) {
        guard let fleet = fleetStore, let (handle, data) = try? kernel.handles.get(handleID) else { return }
        do { try await fleet.publishHandle(handle, data: data) } catch {
            throw KernelError(.agentKernelError, "the result's handle could not be shared with the fleet; the invoke "
                              + "is not acknowledged (docs/deployment.md)", site: .storeUnavailable)
        }
    }

    /// A handle another sidecar stored is brought into this one's store before the kernel's
    /// expand, which then applies every check (owner, grant, expiry) as for a local one.
    func fetchSharedHandle(_ handleID: String) async throws(KernelError) {
        guard let fleet = fleetStore, kernel.handles.meta(handleID) == nil else { return }
        do {
            if let (handle, data) = try await fleet.lookupHandle(handleID) { kernel.handles.restore(handle, data: data) }
        } catch {
            throw KernelError(.agentKernelError, "the shared store is unreachable: the handle cannot be looked up "
                              + "(docs/deployment.md)", site: .storeUnavailable)
        }
    }

    /// A shared revocation whose write did not commit: in force in this process only.
    static func sharedRevokeFailed() -> KernelError {
        KernelError(.agentKernelError, "the shared store is unreachable: the revocation is in force in this sidecar "
                    + "only; retry it (docs/deployment.md)", site: .storeUnavailable)
    }

    /// Runs a revocation and fails closed when its append to the durable revocation log
    /// failed (a concurrent failure is attributed to this call too: a 5xx for a revocation
    /// that did persist is safe, a 200 for one that did not is not). The revocation is in
    /// force in this process either way; only a restart could lose it.
    ///
    /// The revocation runs on `revocationQueue`, not on the caller's thread: its append is
    /// fsynced before it returns (milliseconds, more on a busy disk), and handlers run on
    /// their connection's event loop, where that wait would stall every connection of the loop.
    /// One serial queue for the durable revocation log's blocking appends (their order is the
    /// log's order anyway: the store writes under one lock).
    static let revocationQueue = DispatchQueue(label: "capgate.revocation-log")

    func persisted<T: Sendable>(_ revoke: @escaping @Sendable () -> T) async throws(KernelError) -> T {
        let store = kernel.tokens.revocationStore as? FileRevocationStore
        let before = store?.writeFailures ?? 0
        let result: T = await withCheckedContinuation { done in
            Self.revocationQueue.async { done.resume(returning: revoke()) }
        }
        if let store, store.writeFailures != before {
            throw KernelError(.agentKernelError, "the revocation is in force in this process but could not be "
                              + "written to the revocation log; a restart would lose it (docs/audit.md)",
                              site: .revocationUnavailable)
        }
        return result
    }

    /// The kernel's `handle_principal_mismatch` message names the handle's OWNER (the
    /// reference's wording, pinned by the parity goldens); on the wire that would tell any
    /// caller holding a handle id whose it is. Same status, code and reason_code, owner
    /// removed (docs/errors.md, docs/hardening.md "Small leaks").
    static func redactingOwner(_ error: KernelError, handleID: String, caller: String) -> KernelError {
        guard error.reasonCode == ReasonCode.handlePrincipalMismatch else { return error }
        var redacted = error
        redacted.message = "Handle \(PyString.repr(handleID)) was granted to another principal and cannot be "
            + "expanded by \(PyString.repr(caller.isEmpty ? "<unspecified>" : caller))."
        return redacted
    }

    static func requireAdmin(_ p: Principal, _ verb: String) throws(KernelError) {
        guard p.hasRole("admin") else { throw KernelError.forbidden("\(verb) requires the 'admin' role") }
    }
}

extension KernelError {
    /// A gateway authorization refusal travels as a KernelError with a marker site until
    /// the wire maps it (`forbidden`).
    static func forbidden(_ message: String) -> KernelError {
        KernelError(.agentKernelError, message, site: .forbidden)
    }
}


/// The identity rules, swappable at runtime.
final class IdentityMapBox: Sendable {
    private let map: Mutex<IdentityMap>
    init(_ m: IdentityMap) { map = Mutex(m) }
    func get() -> IdentityMap { map.withLock { $0 } }
    func set(_ m: IdentityMap) { map.withLock { $0 = m } }
}
