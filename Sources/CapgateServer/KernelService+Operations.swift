import AgentKernel
import CapgateStore
import CapgateWire
import Synchronization

/// The operations verbs (admin only, docs/operations.md): the kill switches and `status`.
/// Each kill-switch call is audited through the kernel's trace store like any action, and
/// answered only once its record is durable; a switch whose state file could not be written
/// is answered 503 `kill_switch_unavailable`, never 200.
extension KernelService {
    /// The capability id of every kill-switch audit record (`capgate audit list --capability
    /// capgate.kill_switch` lists them all); the admin is the record's principal.
    public static let killSwitchCapabilityID = "capgate.kill_switch"
    /// The driver id of those records: no driver ran, the gateway did.
    public static let killSwitchDriverID = "capgate.gateway"

    func answer(_ op: OperationsRequest, as admin: Principal) async throws(WireError) -> VerbAnswer {
        switch op {
        case .listPaused:
            return .value(killSwitches.current.json)
        case .status:
            return .value(.object(await statusReport()))
        case .pause(let target, let reason):
            try checkPausable(target, by: admin)
            let entry = PauseEntry(reason: reason, pausedAt: kernel.clock.now(), pausedBy: admin.principalID)
            return try await audited(op, by: admin, killSwitches.pause(target, entry))
        case .resume(let target):
            return try await audited(op, by: admin, killSwitches.resume(target))
        }
    }

    /// Refuses a pause that would be a mistake: an unknown capability (a typo would pause
    /// nothing), the caller's own principal (it could then resume nothing), past the size cap.
    func checkPausable(_ target: PauseTarget, by admin: Principal) throws(WireError) {
        let state = killSwitches.current
        switch target {
        case .capability(let id):
            do { _ = try kernel.registry.get(id) } catch { throw WireError(error) }
        case .principal(let id):
            if PyString.equal(id, admin.principalID) {
                throw WireError(.invalidRequest, "principal_id: an admin cannot pause its own principal "
                                + "(it could not resume it); pause it from another admin identity")
            }
        case .all: return
        }
        if !state.isPaused(target), state.capabilities.count + state.principals.count >= PauseState.maxEntries {
            throw WireError(.invalidRequest, "at most \(PauseState.maxEntries) capabilities and principals can be "
                            + "paused at once")
        }
    }

    /// Records the call (changed or not, failed or not) and answers once the record is durable.
    func audited(_ op: OperationsRequest, by admin: Principal, _ change: KillSwitches.Change)
        async throws(WireError) -> VerbAnswer
    {
        var args: JSONObject = ["action": .string(op.verb.rawValue)]
        switch op {
        case .pause(let target, let reason):
            args["target"] = Self.targetJSON(target)
            args["reason"] = .string(reason)
        case .resume(let target): args["target"] = Self.targetJSON(target)
        case .listPaused, .status: break
        }
        let failure = change.writeError.map { _ in
            "the kill-switch state could not be written to " + (killSwitches.path ?? "its file")
                + (op.isPause ? "; the pause is in force in this process but a restart would lose it"
                    : "; the item stays paused")
        }
        let mark = durabilityMarks()  // before the record: a loss after it fails this answer
        kernel.traces.record(ActionTrace(
            actionID: kernel.ids.next(), capabilityID: Self.killSwitchCapabilityID, principalID: admin.principalID,
            tokenID: "", invokedAt: kernel.clock.now(), args: args, responseMode: .summary,
            driverID: Self.killSwitchDriverID, error: failure, resultSummary: ["changed": .bool(change.changed)]))
        try await awaitDurableAudit(since: mark)
        if let failure { throw WireError(.killSwitchUnavailable, failure + " (docs/operations.md)") }
        return .value(change.state.json)
    }

    static func targetJSON(_ target: PauseTarget) -> JSONValue {
        switch target {
        case .all: ["all": true]
        case .capability(let id): ["capability_id": .string(id)]
        case .principal(let id): ["principal_id": .string(id)]
        }
    }

    /// Installs what `status` reports beyond the kernel (the gateway's connections and
    /// certificates).
    public func setStatusSource(_ source: (@Sendable () -> JSONObject)?) {
        let box = source.map { CallbackBox($0) }
        statusSource.withLock { $0 = box }
    }

    /// The `status` answer: the gateway's part (when installed), the paused items and the
    /// audit store's health, probed by waiting for every accepted record to be durable.
    func statusReport() async -> JSONObject {
        var o = statusSource.withLock { $0 }?.call() ?? [:]
        o["paused"] = killSwitches.current.json
        var store: JSONObject = [:]
        if let sqlite = kernel.traces as? SQLiteTraceStore {
            store["kind"] = "sqlite"
            store["path"] = .string(sqlite.path)
            store["backlog"] = .int(sqlite.backlog)
        } else {
            store["kind"] = "memory"
            store["path"] = .null
            store["backlog"] = 0
        }
        let failure = await durabilityProbe(timeout: Self.storeProbeTimeout)
        store["healthy"] = .bool(failure == nil)
        store["error"] = failure.map(JSONValue.string) ?? .null
        o["store"] = .object(store)
        return o
    }

    /// How long `status` waits for the records accepted so far to become durable before it
    /// reports the store as stalled (a hung disk must not hang the operator's status too).
    static let storeProbeTimeout = Duration.seconds(2)

    /// Nil when every record accepted so far became durable within `timeout`, else why not.
    /// The wait itself cannot be cancelled, so it is raced rather than awaited.
    func durabilityProbe(timeout: Duration) async -> String? {
        let traces = kernel.traces
        let race = FirstAnswer()
        return await withCheckedContinuation { (k: CheckedContinuation<String?, Never>) in
            race.arm(k)
            Task {
                do throws(KernelError) { try await traces.waitUntilDurable(); race.finish(nil) } catch {
                    race.finish(error.message)
                }
            }
            Task {
                try? await Task.sleep(for: timeout)
                race.finish("the records accepted so far did not become durable within \(timeout): the disk may be stalled")
            }
        }
    }
}

/// A continuation resumed once, by whichever of its racers answers first.
final class FirstAnswer: Sendable {
    private let slot = Mutex<CheckedContinuation<String?, Never>?>(nil)
    func arm(_ k: CheckedContinuation<String?, Never>) { slot.withLock { $0 = k } }
    func finish(_ answer: String?) {
        let k = slot.withLock { c -> CheckedContinuation<String?, Never>? in
            defer { c = nil }
            return c
        }
        k?.resume(returning: answer)
    }
}

extension OperationsRequest {
    var isPause: Bool {
        if case .pause = self { return true }
        return false
    }
}
