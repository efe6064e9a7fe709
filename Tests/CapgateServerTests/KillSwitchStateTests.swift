import AgentKernel
import CapgateConnection
import CapgateServer
import CapgateTesting
import CapgateWire
import Foundation
import Testing

/// The kill switches without a network: which request a pause refuses, in which order, the
/// state file's strictness, and the fail-closed write rules.
@Suite(.timeLimit(.minutes(1)))
struct KillSwitchStateTests {
    static let entry = PauseEntry(reason: "r", pausedAt: Timestamp(microseconds: 1_700_000_000_000_000), pausedBy: "ops")
    static let token = CapabilityToken(tokenID: "t", capabilityID: "c1", principalID: "alice",
                                       issuedAt: Timestamp(microseconds: 0), expiresAt: Timestamp(microseconds: 0))
    static let invoke = WireRequest.invoke(token: token, args: [:], responseMode: .summary, dryRun: false,
                                           claimedPrincipalID: nil)
    static let grant = WireRequest.grantCapability(request: CapabilityRequest(capabilityID: "c1", goal: ""), justification: "",
                                                   claimedPrincipalID: nil)

    @Test func refusalOrder() {
        var s = PauseState()
        #expect(s.refusal(verb: .invoke, call: Self.invoke, principalID: "alice") == nil)
        let first = s.pause(.capability("c1"), Self.entry), second = s.pause(.capability("c1"), Self.entry)
        #expect(first && !second, "a second pause changes nothing")
        #expect(s.refusal(verb: .invoke, call: Self.invoke, principalID: "alice")?.code == .capabilityPaused)
        #expect(s.refusal(verb: .grantCapability, call: Self.grant, principalID: "bob")?.code == .capabilityPaused)
        #expect(s.refusal(verb: .listCapabilities, call: .listCapabilities, principalID: "bob") == nil)
        // The token's principal counts, not only the caller.
        let pausedAlice = s.pause(.principal("alice"), Self.entry)
        #expect(pausedAlice)
        #expect(s.refusal(verb: .invoke, call: Self.invoke, principalID: "bob")?.code == .principalPaused)
        // A paused caller is refused on admin verbs too; other admins are not, even with everything paused.
        #expect(s.refusal(verb: .status, call: .operations(.status), principalID: "alice")?.code == .principalPaused)
        let pausedAll = s.pause(.all, Self.entry)
        #expect(pausedAll)
        #expect(s.refusal(verb: .stats, call: .stats, principalID: "bob")?.code == .gatewayPaused)
        #expect(s.refusal(verb: .resumeAll, call: .operations(.resume(.all)), principalID: "ops") == nil)
        let r1 = s.resume(.all), r2 = s.resume(.all), r3 = s.resume(.principal("alice")), r4 = s.resume(.capability("c1"))
        #expect(r1 && !r2 && r3 && r4 && s.isEmpty)
    }

    @Test func stateFileRoundTripsAndRefusesDamage() throws {
        let dir = try makeTempDirectory("ks-state")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ks = try KillSwitches(stateDir: dir)
        #expect(ks.pause(.principal("mallory"), Self.entry).writeError == nil)
        #expect(ks.pause(.all, Self.entry).writeError == nil)
        let path = dir + "/" + KillSwitches.fileName
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(try KillSwitches(stateDir: dir).current == ks.current)
        try Data(#"{"all": null, "capabilities": [{"id": "c"}], "principals": []}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: ConfigError.self) { _ = try KillSwitches(stateDir: dir) }
    }

    /// A failed write: the pause holds in memory, the resume is not applied.
    @Test func writeFailuresFailClosed() throws {
        let dir = try makeTempDirectory("ks-fail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ks = try KillSwitches(stateDir: dir)
        _ = ks.pause(.capability("a"), Self.entry)
        try FileManager.default.removeItem(atPath: ks.path!)
        try FileManager.default.createDirectory(atPath: ks.path! + "/x", withIntermediateDirectories: true)
        let pause = ks.pause(.capability("b"), Self.entry)
        #expect(pause.writeError != nil && ks.current.isPaused(.capability("b")))
        let resume = ks.resume(.capability("a"))
        #expect(resume.writeError != nil && ks.current.isPaused(.capability("a")))
        // A no-op writes nothing and cannot fail.
        #expect(ks.resume(.capability("zzz")).writeError == nil)
    }
}

/// `status` on a store whose records never become durable (a hung disk) answers anyway,
/// within the probe's bound, with the store reported unhealthy.
@Suite(.timeLimit(.minutes(1)))
struct StatusStoreProbeTests {
    final class StalledStore: TraceStoring, @unchecked Sendable {
        let inner: TraceStore
        init() throws { inner = try TraceStore() }
        func record(_ trace: ActionTrace) { inner.record(trace) }
        func get(_ actionID: String) throws(KernelError) -> ActionTrace { try inner.get(actionID) }
        func list() -> [ActionTrace] { inner.list() }
        func query(_ q: TraceQuery) throws(KernelError) -> [ActionTrace] { try inner.query(q) }
        func waitUntilDurable() async throws(KernelError) { try? await Task.sleep(for: .seconds(30)) }
    }

    @Test func aStalledStoreIsReportedNotWaitedFor() async throws {
        let kernel = Kernel(registry: CapabilityRegistry(), policy: try DefaultPolicyEngine(),
                            tokens: HMACTokenProvider(secret: "s"), handles: try HandleStore(), traces: try StalledStore())
        let ops = "spiffe://capgate.local/agent/ops"
        let service = KernelService(kernel: kernel, identities: IdentityMap(rules: [
            IdentityMap.Rule(match: .exact(ops), principalID: "ops", roles: ["admin"], attributes: [:]),
        ]))
        let started = ContinuousClock.now
        let r = await service.handle(HTTPRequest(method: "POST", path: "/v1/status", contentType: "application/json",
                                                 body: Array("{}".utf8)), identity: ops)
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(r.status == 200)
        let body = try JSONParser.parse(r.body)
        #expect(body["store"]?["healthy"] == false)
        #expect(body["store"]?["error"]?.stringValue?.contains("stalled") == true)
        #expect(body["store"]?["kind"] == "memory")
    }
}
