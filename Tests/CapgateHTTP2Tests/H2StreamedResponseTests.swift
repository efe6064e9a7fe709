import CapgateCore
import CapgateTesting
import Synchronization
import Testing
@testable import CapgateHTTP2

/// Streamed responses (`invoke_stream`), sans-IO: a server session and a client session in
/// memory. The head leaves at once; the provider defers while nothing is queued and resumes on
/// `appendStreamData`; END_STREAM follows the last byte; the client's sink sees each chunk.
@Suite struct H2StreamedResponseTests {
    final class Sink: H2ResponseSink, @unchecked Sendable {
        var id: Int32?
        var heads: [(Int, [(name: String, value: String)])] = []
        var chunks: [[UInt8]] = []
        var refuse = false
        func opened(streamID: Int32) -> Bool { id = streamID; return !refuse }
        func head(status: Int, headers: [(name: String, value: String)]) { heads.append((status, headers)) }
        func data(_ bytes: [UInt8]) { chunks.append(bytes) }
    }

    @Test func headThenChunksThenEndStream() throws {
        let lb = try Loopback(handler: nil)
        let sink = Sink()
        let id = try #require(lb.client.submitRequest(path: "/v1/invoke_stream", authority: "t", body: Array("{}".utf8),
                                                      sink: sink))
        lb.pump()
        let req = try #require(lb.requests.first)
        #expect(lb.server.respondStreaming(streamID: req.streamID, status: 200,
                                           headers: [("content-type", "application/x-ndjson"), ("content-length", "9")]))
        lb.pump()
        #expect(sink.heads.count == 1 && sink.heads.first?.0 == 200)
        let names = sink.heads.first?.1.map(\.name) ?? []
        #expect(names.contains("content-type") && !names.contains("content-length"))
        #expect(sink.chunks.isEmpty && lb.responses[id] == nil)  // deferred, stream still open

        #expect(lb.server.appendStreamData(streamID: req.streamID, Array("line1\n".utf8), end: false))
        lb.pump()
        #expect(sink.chunks.flatMap { $0 } == Array("line1\n".utf8))
        #expect(lb.server.streamBytesSent(streamID: req.streamID) == 6)
        #expect(lb.responses[id] == nil)

        #expect(lb.server.appendStreamData(streamID: req.streamID, Array("line2\n".utf8), end: true))
        lb.pump()
        #expect(sink.chunks.flatMap { $0 } == Array("line1\nline2\n".utf8))
        let done = try #require(lb.responses[id])  // END_STREAM
        #expect(done.status == 200 && done.body.isEmpty)
        #expect(!lb.server.appendStreamData(streamID: req.streamID, [1], end: false))  // gone
        #expect(lb.server.isIdle)
    }

    @Test func aClientResetClosesTheServerStream() throws {
        let lb = try Loopback(handler: nil)
        let sink = Sink()
        let id = try #require(lb.client.submitRequest(path: "/v1/invoke_stream", authority: "t", body: [], sink: sink))
        lb.pump()
        let req = try #require(lb.requests.first)
        #expect(lb.server.respondStreaming(streamID: req.streamID, status: 200))
        #expect(lb.server.appendStreamData(streamID: req.streamID, Array("a\n".utf8), end: false))
        lb.pump()
        lb.client.resetStream(id, code: .cancel)
        lb.pump()
        #expect(lb.serverEvents.contains { if case .streamClosed(req.streamID, _) = $0 { true } else { false } })
        #expect(lb.server.streamBytesSent(streamID: req.streamID) == nil)
        #expect(!lb.server.appendStreamData(streamID: req.streamID, Array("b\n".utf8), end: false))
    }

    @Test func aSinkThatRefusesOnOpenResetsAtOnce() throws {
        let lb = try Loopback(handler: nil)
        let sink = Sink()
        sink.refuse = true
        let id = try #require(lb.client.submitRequest(path: "/v1/invoke_stream", authority: "t", body: [], sink: sink))
        lb.pump()
        #expect(lb.clientEvents.contains { if case .streamReset(id, _) = $0 { true } else { false } })
    }
}
