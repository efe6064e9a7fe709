import Testing
@testable import CapgateTLS

/// Idle connections give back the memory BIOs' burst capacity (TLSEngine.releaseIdleBuffers).
@Suite struct TLSEngineIdleTests {
    func connected() throws -> (client: TLSEngine, server: TLSEngine) {
        let (client, server) = try Shuttle.engines(client: TestPKI.shared.goodClient)
        let result = try Shuttle.handshake(client: client, server: server)
        try #require(result.client == .done && result.server == .done)
        return (client, server)
    }

    @Test func releasesBurstCapacityAndKeepsWorking() throws {
        let (client, server) = try connected()
        let big = [UInt8](repeating: 0x41, count: 200_000)
        #expect(try server.writePlaintext(big) == big.count)
        try Shuttle.pump(server, client)
        #expect(Shuttle.readAll(client).bytes == big)
        #expect(server.bufferedCapacity > 200_000, "the output BIO grew to the burst")
        #expect(client.bufferedCapacity > 200_000, "the input BIO grew to the burst")
        #expect(server.releaseIdleBuffers(above: 16 * 1024))
        #expect(client.releaseIdleBuffers(above: 16 * 1024))
        #expect(server.bufferedCapacity < 16 * 1024)
        #expect(client.bufferedCapacity < 16 * 1024)
        // The connection goes on over the fresh BIOs, both ways.
        let up = Array("after release".utf8)
        #expect(try client.writePlaintext(up) == up.count)
        try Shuttle.pump(client, server)
        #expect(Shuttle.readAll(server).bytes == up)
        #expect(try server.writePlaintext(big) == big.count)
        try Shuttle.pump(server, client)
        #expect(Shuttle.readAll(client).bytes == big)
    }

    @Test func neverReleasesWhileBytesArePending() throws {
        let (client, server) = try connected()
        let big = [UInt8](repeating: 0x42, count: 100_000)
        _ = try server.writePlaintext(big)
        #expect(server.pendingCiphertextCount > 0)
        #expect(!server.releaseIdleBuffers(above: 1024), "unsent ciphertext must not be dropped")
        try Shuttle.pump(server, client)
        #expect(Shuttle.readAll(client).bytes == big)
    }

    @Test func neverReleasesAfterEndOfInput() throws {
        let (client, server) = try connected()
        let big = [UInt8](repeating: 0x43, count: 100_000)
        _ = try client.writePlaintext(big)
        try Shuttle.pump(client, server)
        _ = Shuttle.readAll(server)
        server.markEndOfInput()
        #expect(!server.releaseIdleBuffers(above: 1024), "the EOF mark lives on the input BIO")
        #expect(Shuttle.readAll(server).last == .closed)
    }
}
