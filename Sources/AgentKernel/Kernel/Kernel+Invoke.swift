/// `invoke` and its dry run (docs/reference-semantics.md §3.4, §3.5).
extension Kernel {
    /// Verifies the token, then either describes the run (`dryRun`) or executes it through
    /// the router, firewall, handle store and budget, recording exactly one trace.
    ///
    /// - Parameter session: the budget key when budgets are per session; defaults to the
    ///   principal id.
    public func invoke(_ token: CapabilityToken, principal: Principal, args: JSONObject,
                       responseMode: ResponseMode = .summary, dryRun: Bool = false,
                       session: String? = nil) async throws(KernelError) -> InvokeResult {
        // Pre-pipeline: failures here are never traced (docs/reference-semantics.md §3.4 steps 1-3). The
        // capability check compares the token with itself, as the reference does.
        try tokens.verify(token, expectedPrincipalID: principal.principalID, expectedCapabilityID: token.capabilityID)
        let capability = try registry.get(token.capabilityID)
        let plan = router.route(token.capabilityID)
        let budget = try budget(principalID: principal.principalID, session: session)
        if dryRun {
            return .dryRun(dryRunResult(token: token, principal: principal, capability: capability, plan: plan,
                                        args: args, responseMode: responseMode, budget: budget))
        }
        return .frame(try await performInvoke(token: token, principal: principal, args: args,
                                              responseMode: responseMode, plan: plan, capability: capability,
                                              budget: budget))
    }

    /// Admin gate for `raw`, then budget pressure (`resolve_effective_mode`). Shared by the
    /// real and the dry run so they agree (the reference's parity invariant).
    static func effectiveMode(_ requested: ResponseMode, principal: Principal, budget: BudgetManager?) -> ResponseMode {
        var mode = requested
        if mode == .raw && !principal.hasRole("admin") { mode = .summary }
        if let budget { mode = budget.suggestedMode(mode) }
        return mode
    }

    /// `resolve_invoke_timeout`: absent or null means no deadline; anything but a positive
    /// number (bools included) is refused before any reservation or trace.
    static func invokeTimeout(_ constraints: JSONObject) throws(KernelError) -> (Double, String)? {
        guard let raw = constraints["invoke_timeout_s"], !raw.isNull else { return nil }
        let seconds: Double?
        switch raw {
        case .int(let i): seconds = Double(i)
        case .double(let d): seconds = d
        default: seconds = nil
        }
        guard let s = seconds, s > 0 else {
            throw KernelError(.driverError, "Invalid 'invoke_timeout_s' constraint: \(raw.pyRepr) "
                                  + "(must be a positive number of seconds).")
        }
        // The reference formats the deadline as `float(raw)` in its timeout message.
        return (s, PyFloat.repr(s))
    }

    func dryRunResult(token: CapabilityToken, principal: Principal, capability: Capability, plan: RoutePlan,
                      args: JSONObject, responseMode: ResponseMode, budget: BudgetManager?) -> DryRunResult {
        let step = PolicyTraceStep(name: "token_verified", outcome: .allowed,
                                   detail: "Token verified; original policy decision was at grant time.",
                                   reasonCode: ReasonCode.tokenVerified)
        let trace = PolicyDecisionTrace(engine: "Kernel.invoke[dry_run]", capabilityID: token.capabilityID,
                                        principalID: principal.principalID, intent: nil, scopeKeys: [],
                                        steps: [step], finalOutcome: "allowed",
                                        finalReasonCode: ReasonCode.tokenVerified)
        let decision = PolicyDecision(allowed: true, reason: "Token verified. Policy was evaluated at grant time.",
                                      constraints: token.constraints, reasonCode: ReasonCode.tokenVerified,
                                      trace: trace)
        let cost: String
        switch capability.safetyClass {
        case .read: cost = "low"
        case .write: cost = "medium"
        case .destructive: cost = "high"
        }
        return DryRunResult(capabilityID: token.capabilityID, principalID: principal.principalID,
                            policyDecision: decision, driverID: plan.driverIDs.first ?? "",
                            operation: args["operation"]?.pyStr ?? token.capabilityID, resolvedArgs: args,
                            responseMode: Kernel.effectiveMode(responseMode, principal: principal, budget: budget),
                            budgetRemaining: budget?.remaining, estimatedCost: cost)
    }

    /// `perform_invoke` (docs/reference-semantics.md §3.4 steps 5-13).
    func performInvoke(token: CapabilityToken, principal: Principal, args: JSONObject, responseMode: ResponseMode,
                       plan: RoutePlan, capability: Capability, budget: BudgetManager?) async throws(KernelError) -> Frame {
        let actionID = ids.next()
        traces.willRecord(actionID)  // the exits below past the timeout check record this id
        let timeout = try Kernel.invokeTimeout(token.constraints)
        let mode = Kernel.effectiveMode(responseMode, principal: principal, budget: budget)
        let reserved: Int? = try budget.map { b throws(KernelError) in try b.allocate(nil) }
        let context = ExecutionContext(capabilityID: token.capabilityID, principalID: principal.principalID,
                                       args: args, constraints: token.constraints, actionID: actionID)
        let downgraded = mode != responseMode
        var driverID = ""
        var fellBack = false
        var settled = false
        // I-02: every exit past the reservation leaves one trace and settles the budget once.
        defer {
            if !settled, let budget, let reserved { budget.release(reserved) }
        }
        func fail(_ error: KernelError) -> KernelError {
            traces.record(ActionTrace(
                actionID: actionID, capabilityID: token.capabilityID, principalID: principal.principalID,
                tokenID: token.tokenID, invokedAt: clock.now(),
                args: Kernel.redactArgsForTrace(capabilityID: token.capabilityID, args: args),
                responseMode: mode, driverID: driverID, error: Redaction.redactString(error.message),
                sensitivity: capability.sensitivity))
            stats.onInvocation(failed: true, fallback: fellBack, redacted: false, downgraded: downgraded)
            return error
        }

        let outcome = await FallbackExecutor.execute(plan: plan, drivers: driverMap(), context: context,
                                                     timeoutSeconds: timeout?.0, timeoutText: timeout?.1)
        driverID = outcome.driverID
        fellBack = outcome.hadFailures
        guard let raw = outcome.raw else {
            if Task.isCancelled { throw fail(KernelError(.driverError, "invocation cancelled")) }
            let last = outcome.lastError.map(FallbackExecutor.pythonStr) ?? "No drivers available."
            let text = last.isEmpty ? "No drivers available." : last
            throw fail(KernelError(.driverError,
                                   "All drivers failed for capability '\(token.capabilityID)'. Last error: \(text)",
                                   site: (outcome.lastError as? KernelError)?.site ?? .none))
        }
        var handle: Handle?
        let frame: Frame
        do throws(KernelError) {
            if mode != .raw {
                handle = try handles.store(capabilityID: token.capabilityID, data: raw.data,
                                           principalID: principal.principalID, constraints: token.constraints)
                stats.onHandleStore()
            }
            frame = try firewall.transform(raw, actionID: actionID, principalID: principal.principalID,
                                           principalRoles: principal.roles, responseMode: mode,
                                           constraints: token.constraints, handle: handle, now: clock.now(),
                                           isFinal: true)  // the one frame of an invoke is its last
            if let budget, let reserved {
                try budget.recordUsage(SizeEstimate.defaultTokenCount(Kernel.framePayload(frame)), reserved: reserved)
            }
            settled = true
        } catch {
            throw fail(error)
        }
        traces.record(ActionTrace(
            actionID: actionID, capabilityID: token.capabilityID, principalID: principal.principalID,
            tokenID: token.tokenID, invokedAt: clock.now(),
            args: Kernel.redactArgsForTrace(capabilityID: token.capabilityID, args: args),
            responseMode: frame.responseMode, driverID: driverID, handleID: handle?.handleID,
            summary: Kernel.traceSummary(frame), sensitivity: capability.sensitivity))
        stats.onInvocation(failed: false, fallback: fellBack, redacted: !frame.warnings.isEmpty,
                           downgraded: frame.responseMode != responseMode)
        return frame
    }

    /// `_frame_payload`: what the budget counts for each mode.
    static func framePayload(_ frame: Frame) -> JSONValue {
        switch frame.responseMode {
        case .raw: return frame.rawData
        case .table: return .array(frame.tablePreview.map(JSONValue.object))
        case .handleOnly: return .null
        default: return .array(frame.facts.map(JSONValue.string))
        }
    }
}

extension Kernel {
    /// Pages a stored result (docs/reference-semantics.md §3.7). The handle's principal binding and grant
    /// constraints are looked up by id on the server side; nothing the caller sends about
    /// the handle besides its id is trusted.
    public func expand(handleID: String, query: JSONObject, principal: Principal?) throws(KernelError) -> Frame {
        let principalID = principal?.principalID ?? ""
        let actionID = ids.next()
        traces.willRecord(actionID)  // the record's table slot loads while the handle is paged
        // The reference reads its clock twice, for the expiry check and for the trace; on the
        // real clock the two instants lie microseconds apart inside this call, so one read
        // (~3% of an expand) serves both. An injected clock is read twice (`clockIsSystem`).
        let now = clock.now()
        let frame = try handles.expand(handleID: handleID, query: query, actionID: actionID, responseMode: .table,
                                       principalID: principalID, maxDepth: firewall.budgets.maxDepth,
                                       now: now)
        let capabilityID = frame.capabilityID
        let invokedAt = clockIsSystem ? now : clock.now()
        traces.record(ActionTrace(
            actionID: actionID, capabilityID: capabilityID, principalID: principalID, tokenID: "",
            invokedAt: invokedAt, args: Kernel.redactArgsForTrace(capabilityID: capabilityID, args: query),
            responseMode: frame.responseMode, driverID: "", handleID: handleID,
            summary: Kernel.traceSummary(frame), sensitivity: .none, eventType: .expand))
        stats.onExpansion()
        return frame
    }
}
