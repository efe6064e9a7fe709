import AgentKernel
import CapgateClient
import CapgateTesting
import CapgateWire
import Foundation
import Testing

/// `invoke_stream` in a fleet (docs/deployment.md): the frame that carries a handle is written
/// only once the handle is in PostgreSQL, so the handle expands through any sidecar, exactly
/// like one from `invoke`.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct FleetStreamTests {
    @Test func aHandleFromAStreamOnOneSidecarExpandsOnTheOther() async throws {
        let (fleet, pair) = try await FleetTests.Fleet.startPair()
        defer { pair.kill(); fleet.remove() }
        let (portA, portB) = (pair.portA, pair.portB)
        let aliceA = try fleet.client("alice", portA), aliceB = try fleet.client("alice", portB)
        let opsB = try fleet.client("ops", portB)
        defer { [aliceA, aliceB, opsB].forEach { $0.close() } }
        let t = try await aliceA.grantCapability(Demo.request("tasks.list"), justification: "").token
        var frames: [Frame] = []
        for try await f in aliceA.invokeStream(t, responseMode: .summary) { frames.append(f) }
        // The static driver does not stream: one final frame with a handle (the kernel's
        // non-streaming path of invoke_stream).
        let last = try #require(frames.last)
        #expect(frames.count == 1 && last.isFinal)
        let handle = try #require(last.handle, "a summary stream of a non-streaming driver stores a handle")
        // Asked right after the stream's end, no waiting: the handle must already be shared.
        let expanded = try await aliceB.expand(handleID: handle.handleID)
        let local = try await aliceA.expand(handleID: handle.handleID)
        #expect(expanded.rawData == local.rawData && expanded.tablePreview == local.tablePreview, "\(expanded)")
        #expect(expanded.rawData == [1, 2] || expanded.tablePreview.count == 2 || !expanded.facts.isEmpty, "\(expanded)")
        // Shared, but still bound to its owner.
        await expectWireError(403, .handleConstraintViolation, type: "HandleConstraintViolation") {
            _ = try await opsB.expand(handleID: handle.handleID)
        }
        try await pair.stop()
    }
}
