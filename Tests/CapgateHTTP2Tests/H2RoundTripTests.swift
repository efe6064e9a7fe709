import CapgateCore
import CapgateTesting
import Testing
@testable import CapgateHTTP2

@Suite struct H2RoundTripTests {
    @Test func concurrentPostsRoundTrip() throws {
        let lb = try Loopback()
        var expected: [Int32: [UInt8]] = [:]
        // Sizes straddle the 64 KiB stream window and the 16 KiB frame size; invoke gets 256 KiB.
        let sizes = [0, 1, 100, 16_384, 16_385, 65_535, 65_536, 200_000, 3, 4_000]
        for (i, size) in sizes.enumerated() {
            let path = size > 65_536 ? "/v1/invoke" : "/v1/verb\(i)"
            let body = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
            let id = try #require(lb.client.submitRequest(path: path, authority: "capgate.test",
                                                          headers: [("content-type", "application/json")], body: body))
            expected[id] = body
        }
        lb.pump()
        let responses = lb.responses
        #expect(responses.count == sizes.count)
        for (id, body) in expected {
            let r = try #require(responses[id])
            #expect(r.status == 200)
            #expect(r.body == body)
            #expect(r.header("content-type") == "application/json")
            #expect(r.header("content-length") == String(body.count))
        }
        let req = try #require(lb.requests.first)
        #expect(req.method == "POST")
        #expect(req.scheme == "https")
        #expect(req.authority == "capgate.test")
        #expect(req.contentType == "application/json")
        #expect(lb.server.isIdle)
        #expect(!lb.server.isClosed)
    }

    /// The server's first frame is its SETTINGS, with every limit explicit; the connection
    /// window is raised with a WINDOW_UPDATE on stream 0.
    @Test func serverSendsExplicitSettings() throws {
        let peer = try RawPeer()
        peer.flush()
        let settings = try #require(peer.frames.first)
        #expect(settings.kind == .settings && settings.flags == 0)
        let entries = Dictionary(settings.settings.map { ($0.id, $0.value) }, uniquingKeysWith: { $1 })
        #expect(entries == [0x3: 100, 0x4: 65_536, 0x1: 4_096, 0x2: 0, 0x9: 1, 0x6: 16_384])
        let wu = try #require(peer.frames.first { $0.kind == .windowUpdate && $0.stream == 0 })
        #expect(wu.windowIncrement == UInt32(1_048_576 - 65_535))

        // The client session sees the same values.
        let lb = try Loopback()
        lb.pump()
        #expect(lb.client.remoteSetting(0x3) == 100)
        #expect(lb.client.remoteSetting(0x4) == 65_536)
        #expect(lb.client.remoteSetting(0x6) == 16_384)
    }

    @Test func responseHeadersAreSanitized() throws {
        let lb = try Loopback(handler: { req, server in
            let ok = server.respond(streamID: req.streamID, status: 200,
                                    headers: [("Content-Type", "application/x-ndjson"), ("X-Trace", "t1"),
                                              ("connection", "close"), ("content-length", "999"), (":status", "500")],
                                    body: [0x7b, 0x7d])
            #expect(ok)
            #expect(!server.respond(streamID: req.streamID, status: 200, body: []))  // answered once
        })
        let id = try #require(lb.client.submitRequest(path: "/v1/x", authority: "a", body: []))
        lb.pump()
        let r = try #require(lb.responses[id])
        #expect(r.status == 200)
        #expect(r.headers.map(\.name) == ["content-type", "content-length", "x-trace"])
        #expect(r.header("content-type") == "application/x-ndjson")
        #expect(r.header("content-length") == "2")
    }

    @Test func cannotRespondBeforeTheRequestIsComplete() throws {
        let peer = try RawPeer()
        peer.send(HostilePeer.headers(stream: 1, block: HPACKWriter.request()))
        #expect(!peer.server.respond(streamID: 1, status: 200, body: []))
        #expect(!peer.server.respond(streamID: 99, status: 200, body: []))
        peer.send(HostilePeer.data(stream: 1, [1], endStream: true))
        #expect(peer.requests.first?.body == [1])
        #expect(!peer.server.respond(streamID: 1, status: 42, body: []))
        #expect(peer.server.respond(streamID: 1, status: 204, body: []))
    }

    @Test func respondToResetStreamIsRefused() throws {
        let lb = try Loopback(handler: nil)
        let id = try #require(lb.client.submitRequest(path: "/v1/x", authority: "a", body: [1]))
        lb.pump()
        #expect(lb.requests.count == 1)
        lb.client.resetStream(id)
        lb.pump()
        #expect(lb.serverEvents.contains(.streamClosed(streamID: id, code: .cancel)))
        #expect(!lb.server.respond(streamID: id, status: 200, body: [1]))
        #expect(lb.server.isIdle)
    }

    /// Streams-per-connection cap: the last allowed stream is served, GOAWAY(NO_ERROR) names it,
    /// and the connection closes once drained.
    @Test func streamsPerConnectionCapDrains() throws {
        var limits = GatewayLimits()
        limits.maxStreamsPerConnection = 3
        let lb = try Loopback(limits: limits, handler: nil)
        var ids: [Int32] = []
        for _ in 0..<3 { ids.append(try #require(lb.client.submitRequest(path: "/v1/x", authority: "a", body: [7]))) }
        lb.pump()
        #expect(lb.serverEvents.contains(.draining(lastStreamID: ids[2])))
        #expect(lb.clientEvents.contains(.goaway(lastStreamID: ids[2], code: .noError)))
        // In-flight streams still get answered after the GOAWAY.
        for req in lb.requests { lb.server.respond(streamID: req.streamID, status: 200, body: req.body) }
        lb.pump()
        #expect(lb.responses.count == 3)
        #expect(lb.server.isClosed)
        // The client will not open a stream past the GOAWAY.
        #expect(lb.client.submitRequest(path: "/v1/x", authority: "a", body: [1]) == nil)
    }

    /// A peer that ignores GOAWAY gets REFUSED_STREAM for streams past the cap.
    @Test func streamsPastCapAreRefused() throws {
        var limits = GatewayLimits()
        limits.maxStreamsPerConnection = 2
        let peer = try RawPeer(limits: limits)
        for id: UInt32 in [1, 3, 5] {
            peer.send(HostilePeer.headers(stream: id, block: HPACKWriter.request(), endStream: true))
        }
        peer.flush()
        #expect(peer.requests.map(\.streamID) == [1, 3])
        #expect(peer.goaway?.errorCode == 0 && peer.goaway?.lastStreamID == 3)
        #expect(peer.frames(.rstStream, stream: 5).first?.errorCode == H2ErrorCode.refusedStream.rawValue)
        #expect(peer.streamTrips.contains { $0.0 == 5 && $0.2 == .streamLimit })
    }

    @Test func gracefulShutdownFinishesInFlight() throws {
        let lb = try Loopback(handler: nil)
        let a = try #require(lb.client.submitRequest(path: "/v1/a", authority: "x", body: [1]))
        let b = try #require(lb.client.submitRequest(path: "/v1/b", authority: "x", body: [2]))
        lb.pump()
        lb.server.beginGracefulShutdown()
        lb.handle(lb.server.takeEvents())
        #expect(lb.serverEvents.contains(.draining(lastStreamID: b)))
        lb.pump()
        #expect(!lb.server.isClosed)  // two streams still open
        #expect(!lb.server.isIdle)
        lb.server.respond(streamID: a, status: 200, body: [1])
        lb.server.respond(streamID: b, status: 201, body: [])
        lb.pump()
        #expect(lb.responses[a]?.status == 200)
        #expect(lb.responses[b]?.status == 201)
        #expect(lb.responses[b]?.header("content-length") == "0")
        #expect(lb.server.isClosed)
    }

    /// The write high-water: a peer that never reads never gets more than `max` bytes buffered.
    @Test func produceStopsAtHighWater() throws {
        let lb = try Loopback(handler: nil)
        for i in 0..<20 {
            _ = lb.client.submitRequest(path: "/v1/v\(i)", authority: "x", body: [UInt8(i)])
        }
        lb.pump()
        #expect(lb.requests.count == 20)
        let big = [UInt8](repeating: 0x61, count: 60_000)
        for req in lb.requests { lb.server.respond(streamID: req.streamID, status: 200, body: big) }
        let highWater = 32_768
        var socketBuffer: [UInt8] = []
        lb.server.produce(into: &socketBuffer, max: highWater)
        #expect(socketBuffer.count == highWater)
        // Still full: nothing more is produced however often we ask.
        for _ in 0..<5 { lb.server.produce(into: &socketBuffer, max: highWater) }
        #expect(socketBuffer.count == highWater)
        #expect(lb.server.wantsWrite)
        // The socket drains 10 000 bytes: exactly that much room comes back.
        let written = Array(socketBuffer.prefix(10_000))
        socketBuffer.removeFirst(10_000)
        lb.server.produce(into: &socketBuffer, max: highWater)
        #expect(socketBuffer.count == highWater)
        // Delivering everything eventually completes all responses intact.
        var total = written + socketBuffer
        while lb.server.wantsWrite {
            var chunk: [UInt8] = []
            lb.server.produce(into: &chunk, max: highWater)
            total += chunk
            lb.clientEvents += lb.client.receive(total)
            total = []
            var back: [UInt8] = []
            lb.client.produce(into: &back, max: 1 << 20)
            lb.handle(lb.server.receive(back))
        }
        #expect(lb.responses.count == 20)
        #expect(lb.responses.values.allSatisfy { $0.body == big })
    }
}
