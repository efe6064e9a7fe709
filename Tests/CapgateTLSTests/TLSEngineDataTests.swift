import Testing
@testable import CapgateTLS

/// Application data, close and EOF behaviour over an established in-memory connection.
@Suite struct TLSEngineDataTests {
    func connected() throws -> (client: TLSEngine, server: TLSEngine) {
        let (client, server) = try Shuttle.engines(client: TestPKI.shared.goodClient)
        let result = try Shuttle.handshake(client: client, server: server)
        try #require(result.client == .done && result.server == .done)
        return (client, server)
    }

    /// Deterministic non-repeating-ish payload, so a reordered or dropped record is visible.
    func payload(_ count: Int, seed: UInt32) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: state >> 24)
        }
    }

    @Test func smallRoundTripBothWays() throws {
        let (client, server) = try connected()
        let request = Array("GET /capabilities".utf8)
        #expect(try client.writePlaintext(request) == request.count)
        try Shuttle.pump(client, server)
        let (got, last) = Shuttle.readAll(server)
        #expect(got == request)
        #expect(last == .wantRead)

        let response = Array("200 OK".utf8)
        #expect(try server.writePlaintext(response) == response.count)
        try Shuttle.pump(server, client)
        #expect(Shuttle.readAll(client).bytes == response)
    }

    @Test func oneMebibyteEachWay() throws {
        let (client, server) = try connected()
        let up = payload(1 << 20, seed: 1)
        let down = payload(1 << 20, seed: 2)
        #expect(try client.writePlaintext(up) == up.count)
        #expect(try server.writePlaintext(down) == down.count)
        // Records are at most 16 KiB of plaintext: 1 MiB is many records plus overhead.
        #expect(client.pendingCiphertextCount > up.count)
        #expect(try Shuttle.pump(client, server) > up.count)
        try Shuttle.pump(server, client)
        #expect(Shuttle.readAll(server).bytes == up)
        #expect(Shuttle.readAll(client).bytes == down)
        #expect(client.pendingCiphertextCount == 0)
    }

    @Test func ciphertextFedInTinyPiecesStillDecrypts() throws {
        let (client, server) = try connected()
        let message = payload(40_000, seed: 3)
        _ = try client.writePlaintext(message)
        var wire: [UInt8] = []
        client.drainCiphertext(into: &wire)
        var received: [UInt8] = []
        var index = 0
        while index < wire.count {
            let end = min(index + 7, wire.count)
            try server.feed(Array(wire[index..<end]))
            index = end
            received += Shuttle.readAll(server).bytes
        }
        #expect(received == message)
    }

    @Test func drainIntoBoundedBufferReturnsWhatFits() throws {
        let (client, server) = try connected()
        _ = try client.writePlaintext(payload(5000, seed: 4))
        let total = client.pendingCiphertextCount
        var chunk = [UInt8](repeating: 0, count: 1000)
        var wire: [UInt8] = []
        while true {
            let n = chunk.withUnsafeMutableBytes { client.drainCiphertext(into: $0) }
            if n == 0 { break }
            #expect(n <= 1000)
            wire += chunk[0..<n]
        }
        #expect(wire.count == total)
        try server.feed(wire)
        #expect(Shuttle.readAll(server).bytes == payload(5000, seed: 4))
    }

    @Test func closeNotifyIsReportedAsClosed() throws {
        let (client, server) = try connected()
        client.shutdown()
        try Shuttle.pump(client, server)
        #expect(Shuttle.readAll(server).last == .closed)
    }

    @Test func tcpEOFWithoutCloseNotifyIsAQuietClose() throws {
        let (client, server) = try connected()
        _ = try client.writePlaintext(Array("last words".utf8))
        try Shuttle.pump(client, server)
        server.markEndOfInput()
        let (bytes, last) = Shuttle.readAll(server)
        #expect(bytes == Array("last words".utf8))
        #expect(last == .closed)
    }

    @Test func corruptedRecordIsAFatalProtocolError() throws {
        let (client, server) = try connected()
        _ = try client.writePlaintext(Array("hello".utf8))
        var wire: [UInt8] = []
        client.drainCiphertext(into: &wire)
        wire[wire.count - 1] ^= 0xFF  // flips a bit of the AEAD tag
        try server.feed(wire)
        guard case .error(let error) = Shuttle.readAll(server).last else {
            Issue.record("tampered record must not decrypt")
            return
        }
        #expect(error.kind == .protocolError)
        // Sticky: later calls keep failing with the same error.
        #expect(server.handshake() == .failed(error))
        #expect(throws: error) { try server.writePlaintext(Array("x".utf8)) }
    }

    @Test func writeBeforeHandshakeConsumesNothing() throws {
        let (client, _) = try Shuttle.engines(client: TestPKI.shared.goodClient)
        #expect(try client.writePlaintext(Array("early".utf8)) == 0)
    }
}
