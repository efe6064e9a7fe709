import AgentKernel
import CapgateConnection
import CapgateCore
import CapgateServer
import CapgateWire
import Foundation
import Synchronization
import Testing

/// `KernelRequestHandler.respondNow` answers the reads on the connection's loop without a
/// task: for every request it takes, the answer must be byte for byte the one the task path
/// (`KernelService.handle`) gives, errors included, and each answer is reported once. The
/// verbs that record, wait for a store or go through the operations path are never taken.
@Suite(.timeLimit(.minutes(2)))
struct RespondNowGatewayTests {
    static func id(_ agent: String) -> String { "spiffe://\(DemoConfig.trustDomain)/agent/\(agent)" }

    static func peer(_ agent: String) -> PeerInfo {
        PeerInfo(spiffeID: id(agent), trustDomain: DemoConfig.trustDomain,
                 certificateNotAfter: Int64(Date().timeIntervalSince1970) + 86_400 * 365,
                 certificateSerialHex: "01", remoteAddress: "127.0.0.1:1")
    }

    static func post(_ path: String, _ body: String, contentType: String? = "application/json") -> HTTPRequest {
        HTTPRequest(method: "POST", path: path, contentType: contentType, body: Array(body.utf8))
    }

    final class Records: Sendable {
        let all = Mutex<[RequestRecord]>([])
        func add(_ r: RequestRecord) { all.withLock { $0.append(r) } }
    }

    static func makeHandler(_ fixture: GatewayFixture, _ records: Records) -> KernelRequestHandler {
        KernelRequestHandler(service: fixture.gateway.service, expiry: fixture.gateway.expiry,
                             limits: fixture.config.limits, observe: { records.add($0) })
    }

    /// The same answer on both paths: status, header fields and body bytes.
    static func expectSame(_ now: HTTPResponse?, _ task: HTTPResponse, _ what: String,
                           sourceLocation: SourceLocation = #_sourceLocation) {
        guard let now else {
            Issue.record("\(what): not answered in place", sourceLocation: sourceLocation)
            return
        }
        #expect(now.status == task.status, "\(what)", sourceLocation: sourceLocation)
        #expect(now.headers.map(\.name) == task.headers.map(\.name), "\(what)", sourceLocation: sourceLocation)
        #expect(now.headers.map(\.value) == task.headers.map(\.value), "\(what)", sourceLocation: sourceLocation)
        #expect(now.body == task.body, "\(what): \(String(decoding: now.body, as: UTF8.self))",
                sourceLocation: sourceLocation)
    }

    @Test func readsAndTheirErrorsAreAnsweredInPlaceWithTheTaskPathsBytes() async throws {
        let fixture = try GatewayFixture()
        let records = Records()
        let handler = Self.makeHandler(fixture, records)
        let service = fixture.gateway.service
        // A denied grant (a write for a reader) leaves alice a trace to explain.
        let denied: JSONValue = ["request": Demo.request("tasks.create").json, "justification": ""]
        let grant = await service.handle(Self.post("/v1/grant_capability", denied.serialized()), identity: Self.id("alice"))
        #expect(grant.status == 403)
        let traces = await service.handle(Self.post("/v1/query_traces", "{}"), identity: Self.id("alice"))
        let auditID = try #require(try JSONParser.parse(traces.body).arrayValue?.first?["action_id"]?.stringValue)
        let explain = #"{"action_id": "\#(auditID)"}"#

        let cases: [(String, String, HTTPRequest)] = [
            ("own explain", "alice", Self.post("/v1/explain", explain)),
            ("explain of another's trace", "bob", Self.post("/v1/explain", explain)),
            ("admin explain", "ops", Self.post("/v1/explain", explain)),
            ("explain of a missing id", "alice", Self.post("/v1/explain", #"{"action_id": "nope"}"#)),
            ("explain without an id", "alice", Self.post("/v1/explain", "{}")),
            ("explain, malformed body", "alice", Self.post("/v1/explain", "{")),
            ("explain, principal claim", "alice", Self.post("/v1/explain", #"{"action_id": "x", "principal": "bob"}"#)),
            ("explain, text/plain", "alice", Self.post("/v1/explain", explain, contentType: "text/plain")),
            ("explain, no content-type", "alice", Self.post("/v1/explain", explain, contentType: nil)),
            ("explain, unmapped identity", "mallory", Self.post("/v1/explain", explain)),
            ("explain by GET", "alice", HTTPRequest(method: "GET", path: "/v1/explain")),
            ("unknown verb", "alice", Self.post("/v1/nope", "{}")),
            ("not a v1 path", "alice", Self.post("/metrics", "{}")),
            ("list_capabilities", "alice", Self.post("/v1/list_capabilities", "{}")),
            ("request_capabilities", "alice", Self.post("/v1/request_capabilities", #"{"goal": "list invoices"}"#)),
            ("explain_denial", "alice", Self.post("/v1/explain_denial", denied.serialized())),
            ("query_traces, own", "alice", Self.post("/v1/query_traces", "{}")),
            ("query_traces, another's", "alice", Self.post("/v1/query_traces", #"{"principal_id": "bob"}"#)),
            ("query_traces, admin", "ops", Self.post("/v1/query_traces", #"{"principal_id": "alice"}"#)),
            ("stats", "alice", Self.post("/v1/stats", "{}")),
            ("health", "alice", HTTPRequest(method: "GET", path: "/v1/health")),
            ("health by POST", "alice", Self.post("/v1/health", "{}")),
        ]
        // Twice: the second explain of a trace is answered from the explain body cache.
        for round in 0..<2 {
            for (what, agent, request) in cases {
                let now = handler.respondNow(to: request, peer: Self.peer(agent))
                Self.expectSame(now, await service.handle(request, identity: Self.id(agent)), "\(what) (\(round))")
            }
        }
        // A paused principal is refused the same way on both paths (the kill switch is read
        // on every request).
        _ = service.killSwitches.pause(.principal("alice"),
                                       PauseEntry(reason: "test", pausedAt: fixture.kernel.clock.now(), pausedBy: "ops"))
        for (what, agent, request) in cases where agent == "alice" {
            let now = handler.respondNow(to: request, peer: Self.peer(agent))
            Self.expectSame(now, await service.handle(request, identity: Self.id(agent)), "paused: \(what)")
        }

        // One record per answer given in place, with what the task path would report.
        let recorded = records.all.withLock { $0 }
        #expect(recorded.count == cases.count * 2 + cases.filter { $0.1 == "alice" }.count)
        let first = try #require(recorded.first)
        #expect(first.verb == "explain" && first.status == 200 && first.code == "ok" && first.principal == "alice")
        #expect(first.bytesIn == explain.utf8.count && first.bytesOut > 0)
        let hidden = recorded[1]
        #expect(hidden.verb == "explain" && hidden.status == 404 && hidden.principal == "bob")
        #expect(recorded[11].verb == "unknown" && recorded[11].principal == "alice")
        #expect(recorded[9].principal == nil)
        await fixture.stop()
    }

    /// Everything that records a trace, mints, revokes, streams, waits for a store or is an
    /// operations verb goes to a task; so does every request while the test seam that holds
    /// requests before the kernel is installed (it awaits).
    @Test func whatMaySuspendIsLeftToATask() async throws {
        let fixture = try GatewayFixture()
        let records = Records()
        let handler = Self.makeHandler(fixture, records)
        let grant: JSONValue = ["request": Demo.request("tasks.list").json, "justification": ""]
        for (agent, path, body) in [
            ("alice", "/v1/grant_capability", grant.serialized()),
            ("alice", "/v1/invoke", #"{"token": "t"}"#),
            ("alice", "/v1/invoke_stream", #"{"token": "t"}"#),
            ("alice", "/v1/expand", #"{"handle_id": "h"}"#),
            ("ops", "/v1/revoke", #"{"token_id": "t"}"#),
            ("ops", "/v1/revoke_all", #"{"principal_id": "bob"}"#),
            ("ops", "/v1/status", "{}"),
            ("ops", "/v1/list_paused", "{}"),
            ("ops", "/v1/pause_all", "{}"),
        ] {
            #expect(handler.respondNow(to: Self.post(path, body), peer: Self.peer(agent)) == nil, "\(path)")
        }
        fixture.gateway.service.setHoldBeforeKernel { _ in }
        #expect(handler.respondNow(to: Self.post("/v1/stats", "{}"), peer: Self.peer("alice")) == nil)
        fixture.gateway.service.setHoldBeforeKernel(nil)
        #expect(handler.respondNow(to: Self.post("/v1/stats", "{}"), peer: Self.peer("alice"))?.status == 200)
        // Nothing was recorded for the requests left to a task (their task reports them).
        #expect(records.all.withLock { $0.count } == 1)
        #expect(fixture.kernel.statsSnapshot().grants == 0)
        await fixture.stop()
    }
}
