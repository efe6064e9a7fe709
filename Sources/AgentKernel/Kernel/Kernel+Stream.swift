/// `invoke_stream` (docs/reference-semantics.md §3.6, docs/design.md §5).
extension Kernel {
    /// The consumer's own failure (or its decision to stop) while taking a frame: it ends the
    /// stream like the reference's `GeneratorExit`, not as a driver failure, so the trace keeps
    /// a null error once a frame was produced.
    struct ConsumerStopped: Error {
        let underlying: any Error
    }

    /// Streams one invocation: `emit` receives each frame as the driver produces it, the last
    /// with `isFinal`. The next chunk is asked of the driver only after `emit` returns, so an
    /// `emit` that waits (a slow reader) stalls the driver.
    ///
    /// - The same pre-checks as `invoke` (token, capability, route), thrown untraced, as is an
    ///   invalid `invoke_timeout_s`.
    /// - The first planned driver that is a `StreamingDriver` streams; else the last registered
    ///   non-streaming driver of the plan runs once (`execute`, bounded by the timeout) and
    ///   yields one final frame (with a handle unless the mode is raw). No fallback walk.
    /// - `invoke_timeout_s` bounds each wait for the next chunk ("Stream for capability '<cid>'
    ///   timed out after <t>s waiting for the next chunk.").
    /// - A stream that ends without a final marker gets a synthetic `{"__is_final__": true}`.
    /// - No budget is reserved or charged; the budget may still tighten the mode.
    /// - Exactly one trace, however the stream ends: the redacted driver error, else null once a
    ///   frame was produced, else "stream produced no chunks" (also when cancelled before the
    ///   first frame). Counted as one invocation, failed when no frame was produced.
    ///
    /// Throws: a `KernelError` from the pipeline; whatever `emit` threw; `CancellationError`
    /// when the calling task is cancelled (the driver's sequence is terminated).
    public func invokeStream(_ token: CapabilityToken, principal: Principal, args: JSONObject,
                             responseMode: ResponseMode = .summary, session: String? = nil,
                             emit: (Frame) async throws -> Void) async throws {
        try tokens.verify(token, expectedPrincipalID: principal.principalID, expectedCapabilityID: token.capabilityID)
        let capability = try registry.get(token.capabilityID)
        let plan = router.route(token.capabilityID)
        let budget = try budget(principalID: principal.principalID, session: session)

        let actionID = ids.next()
        let timeout = try Kernel.invokeTimeout(token.constraints)
        let initialMode = Kernel.effectiveMode(responseMode, principal: principal, budget: budget)
        let context = ExecutionContext(capabilityID: token.capabilityID, principalID: principal.principalID,
                                       args: args, constraints: token.constraints, actionID: actionID)

        // Driver choice: the first streaming driver, else the last registered one.
        let drivers = driverMap()
        var streaming: (any StreamingDriver)?
        var driverID = ""
        for id in plan.driverIDs {
            guard let candidate = drivers[id] else { continue }
            driverID = id
            if let s = candidate as? any StreamingDriver {
                streaming = s
                break
            }
        }

        var yieldedAny = false
        var redactedAny = false
        var handle: Handle?
        var lastFrame: Frame?
        var streamError: String?
        defer {
            let error: String?
            if let streamError {
                error = Redaction.redactString(streamError)
            } else {
                error = yieldedAny ? nil : "stream produced no chunks"
            }
            traces.record(ActionTrace(
                actionID: actionID, capabilityID: token.capabilityID, principalID: principal.principalID,
                tokenID: token.tokenID, invokedAt: clock.now(),
                args: Kernel.redactArgsForTrace(capabilityID: token.capabilityID, args: args),
                responseMode: lastFrame?.responseMode ?? initialMode, driverID: driverID, handleID: handle?.handleID,
                error: error, summary: lastFrame.map(Kernel.traceSummary) ?? .none, sensitivity: capability.sensitivity))
            stats.onInvocation(failed: !yieldedAny, fallback: false, redacted: redactedAny,
                               downgraded: initialMode != responseMode)
        }
        func deliver(_ frame: Frame) async throws {
            yieldedAny = true
            redactedAny = redactedAny || !frame.warnings.isEmpty
            lastFrame = frame
            do {
                try await emit(frame)
            } catch {
                throw ConsumerStopped(underlying: error)
            }
        }

        /// The non-streaming path: one bounded `execute`, a handle unless raw, one final frame.
        func executeOnce(_ driver: any Driver) async throws {
            let raw = try await Kernel.executeOnce(driver, context, timeout: timeout)
            if initialMode != .raw {
                handle = try handles.store(capabilityID: token.capabilityID, data: raw.data,
                                           principalID: principal.principalID, constraints: token.constraints)
                stats.onHandleStore()
            }
            let frame = try firewall.transform(raw, actionID: actionID, principalID: principal.principalID,
                                               principalRoles: principal.roles, responseMode: initialMode,
                                               constraints: token.constraints, handle: handle, now: clock.now(),
                                               isFinal: true)
            try await deliver(frame)
        }

        do {
            if let streaming {
                do {
                    try await streamChunks(streaming, context: context, principal: principal, mode: initialMode,
                                           budget: budget, timeout: timeout, deliver: deliver)
                } catch is StreamingUnsupported where !yieldedAny {
                    try await executeOnce(streaming)
                }
            } else {
                guard let driver = drivers[driverID] else {
                    throw KernelError(.driverError, "No driver available for capability '\(token.capabilityID)'.")
                }
                try await executeOnce(driver)
            }
        } catch let stopped as ConsumerStopped {
            throw stopped.underlying
        } catch is CancellationError {
            // Python's CancelledError is not an `Exception`: it leaves no error text.
            throw CancellationError()
        } catch {
            streamError = FallbackExecutor.pythonStr(error)
            throw error
        }
    }

    /// `_stream_chunks`: pulls chunks (inactivity deadline per chunk), adds the final marker
    /// when the driver ends without one, and runs each through the streaming firewall.
    private func streamChunks(_ driver: any StreamingDriver, context: ExecutionContext, principal: Principal,
                              mode: ResponseMode, budget: BudgetManager?, timeout: (Double, String)?,
                              deliver: (Frame) async throws -> Void) async throws {
        let effective = Kernel.effectiveMode(mode, principal: principal, budget: budget)
        var firewallStream = FirewallStream(
            firewall: firewall, actionID: context.actionID, capabilityID: context.capabilityID,
            principalID: principal.principalID, principalRoles: principal.roles, responseMode: effective,
            constraints: context.constraints)
        let pump = ChunkPump(driver.executeStream(context))
        defer { pump.close() }
        var sawFinal = false
        while true {
            let chunk: JSONObject
            switch await pump.pull(timeout: timeout?.0) {
            case .chunk(let c):
                chunk = c
            case .end:
                if sawFinal { return }
                try await deliver(try firewallStream.frame(for: [FirewallStream.finalKey: true], now: clock.now()))
                return
            case .failure(let error):
                throw error
            case .cancelled:
                throw CancellationError()
            case .timedOut:
                throw KernelError(.driverError,
                                  "Stream for capability '\(context.capabilityID)' timed out after \(timeout?.1 ?? "")s "
                                      + "waiting for the next chunk.", site: .driverTimeout)
            }
            if chunk[FirewallStream.finalKey]?.pyTruthy ?? false { sawFinal = true }
            try await deliver(try firewallStream.frame(for: chunk, now: clock.now()))
        }
    }

    /// The non-streaming path's single `execute`, bounded like one fallback attempt; the
    /// driver's own error is rethrown unchanged (no "All drivers failed" wrapping here).
    private static func executeOnce(_ driver: any Driver, _ ctx: ExecutionContext,
                                     timeout: (Double, String)?) async throws -> RawResult {
        let result: DeadlineOutcome<RawResult>
        if let t = timeout, t.0.isFinite, t.0 <= FallbackExecutor.maxArmedSeconds {
            result = await DeadlineRace.run(seconds: max(t.0, 0)) { try await driver.execute(ctx) }
        } else {
            do {
                return try await driver.execute(ctx)
            } catch is CancellationError {
                throw CancellationError()
            }
        }
        switch result {
        case .success(let raw): return raw
        case .failure(let error): throw error
        case .cancelled: throw CancellationError()
        case .timedOut:
            throw KernelError(.driverError, "Driver '\(driver.driverID)' timed out after \(timeout?.1 ?? "")s "
                                  + "for capability '\(ctx.capabilityID)'.", site: .driverTimeout)
        }
    }
}
