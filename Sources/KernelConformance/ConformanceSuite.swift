import AgentKernel
import Synchronization

/// Black-box statements of the reference's invariants (docs/reference-semantics.md §11.1: I-01 nothing
/// unfirewalled crosses the boundary, I-02 every invocation leaves a receipt, I-06 a
/// token binds principal, capability and constraints) and the canary suite (§11.2: no
/// canary value leaves through any egress). Each case builds its own fresh target.
public enum ConformanceSuite {
    public struct Case: Sendable, CustomStringConvertible {
        public let name: String
        public let run: @Sendable (any ConformanceHarness) async throws -> Void
        public var description: String { name }
    }

    public static let sentinel = "Bearer INVARIANT-SENTINEL-DO-NOT-LEAK"

    public enum Canary {
        public static let bearer = "Bearer canary-zzz-9999-do-not-leak-token"
        public static let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.Qk9HVVNfQ0FOQVJZX1NJRw"
        public static let apiKey = "ZZZZ_CANARYKEY_ABCDEF12345"
        public static let conn = "postgresql://canary:zzz-secret-pw@db.invalid/main"
        public static let email = "canary.victim@example.invalid"
        public static let all = [bearer, jwt, apiKey, conn, email]
    }

    public static let alice = Principal(principalID: "alice", roles: ["reader"])
    public static let bob = Principal(principalID: "bob", roles: ["reader"])
    public static let agent = Principal(principalID: "agent-1", roles: ["admin"], attributes: ["tenant": "acme"])
    static let recordsRead = Capability(capabilityID: "records.read", name: "Read records",
                                        description: "Read records", safetyClass: .read)

    public static let cases: [Case] = invariantCases + canaryCases + streamCases

    // MARK: helpers

    /// A call counter the fixture handler bumps, visible to the case.
    final class Calls: Sendable {
        private let n = Atomic<Int>(0)
        func bump() { n.add(1, ordering: .relaxed) }
        var count: Int { n.load(ordering: .relaxed) }
    }

    static func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw ConformanceFailure(message()) }
    }

    /// Runs `body` and requires it to fail with the reference exception class `type`.
    static func expectError(_ type: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let e as TypedKernelError {
            try check(e.errorType == type, "expected \(type), got \(e.errorType): \(e)")
            return
        }
        throw ConformanceFailure("expected \(type), but the call succeeded")
    }

    static func frame(_ r: InvokeResult) throws -> Frame {
        guard case .frame(let f) = r else { throw ConformanceFailure("expected a Frame, got a dry run") }
        return f
    }

    /// Grant `capability` to `principal` and return the token.
    static func grant(_ api: any KernelAPI, _ capabilityID: String, _ principal: Principal,
                      constraints: JSONObject = [:], justification: String = "") async throws -> CapabilityToken {
        let request = CapabilityRequest(capabilityID: capabilityID, goal: "conformance", constraints: constraints)
        return try await api.grantCapability(request, principal: principal, justification: justification).token
    }

    static func assertNoLeak(_ text: String, _ secrets: [String], _ where_: String) throws {
        for s in secrets { try check(!text.contains(s), "\(where_) leaks \(s.prefix(24))…") }
    }
}
