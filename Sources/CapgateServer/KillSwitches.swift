import AgentKernel
import CapgatePKI
import CapgateWire
import Synchronization

/// The kill switches of one gateway: the `PauseState` every request is checked against
/// (one lock, read on every request: no cache, so a pause acts on every connection from the
/// next request after the admin's 200), persisted whole in `<state_dir>/kill_switches.json`
/// (written atomically: temporary file, fsync, rename, directory fsync) and read back at
/// start, so a restart keeps every pause.
///
/// Failing closed: a pause is in force in this process before its write, and stays in force
/// when the write fails (the caller answers 503 `kill_switch_unavailable`: a restart would
/// lose it); a resume is applied only after its write succeeded, so a failed resume leaves
/// the item paused both now and after a restart.
public final class KillSwitches: Sendable {
    /// The state file, nil for an in-memory set (tests, embedders without a state dir).
    public let path: String?
    private let state: Mutex<PauseState>
    /// Serializes changes and their writes; requests only take `state`'s lock, never this one,
    /// so a slow disk delays the admin, not the agents.
    private let writer = Mutex<Void>(())

    public static let fileName = "kill_switches.json"

    /// In memory only.
    public init() {
        path = nil
        state = Mutex(PauseState())
    }

    /// Reads `path` if it exists (a missing file is no pause); a file that does not read is
    /// an error: starting without its pauses would silently lift them.
    public init(path: String) throws(ConfigError) {
        self.path = path
        state = Mutex(try Self.load(path: path))
    }

    public convenience init(stateDir: String) throws(ConfigError) {
        try self.init(path: stateDir + "/" + Self.fileName)
    }

    /// The state file's contents, or no pause when it does not exist.
    public static func load(path: String) throws(ConfigError) -> PauseState {
        let bytes: [UInt8]
        do {
            bytes = try SecureFile.read(path)
        } catch {
            if case .notFound = error { return PauseState() }
            throw ConfigError(Self.fileName, "cannot read \(path): \(error)")
        }
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch {
            throw ConfigError(Self.fileName, "\(path) is not valid JSON: \(error)")
        }
        do { return try PauseState(json: value) } catch {
            throw ConfigError(Self.fileName, "\(path): \(error)")
        }
    }

    /// The pauses in force now.
    public var current: PauseState { state.withLock { $0 } }

    /// Why this request is refused by a kill switch, or nil.
    public func refusal(verb: Verb, call: WireRequest, principalID: String) -> WireError? {
        state.withLock { $0.refusal(verb: verb, call: call, principalID: principalID) }
    }

    /// The outcome of one change: the state after it, whether it changed anything, and the
    /// write error if persisting it failed.
    public struct Change: Sendable {
        public var state: PauseState
        public var changed: Bool
        public var writeError: String?
    }

    /// Pauses `target`.
    public func pause(_ target: PauseTarget, _ entry: PauseEntry) -> Change {
        apply(tightens: true) { $0.pause(target, entry) }
    }

    /// Lifts the pause on `target`.
    public func resume(_ target: PauseTarget) -> Change {
        apply(tightens: false) { $0.resume(target) }
    }

    private func apply(tightens: Bool, _ edit: (inout PauseState) -> Bool) -> Change {
        writer.withLock { _ in
            var next = state.withLock { $0 }
            guard edit(&next) else { return Change(state: next, changed: false, writeError: nil) }
            if tightens { state.withLock { $0 = next } }
            if let path {
                do {
                    try SecureFile.write(next.json.serializedBytes(), to: path, mode: 0o600)
                } catch {
                    return Change(state: state.withLock { $0 }, changed: tightens, writeError: "\(error)")
                }
            }
            if !tightens { state.withLock { $0 = next } }
            return Change(state: next, changed: true, writeError: nil)
        }
    }
}
