import CapgateIO
import Glibc
import Testing

@Suite struct SocketTests {
    @Test func listenOnPortZeroReportsBoundPort() throws {
        let listener = try Socket.listen(host: "127.0.0.1", port: 0)
        let port = try listener.localPort()
        #expect(port != 0)
        let client = try Socket.connect(host: "127.0.0.1", port: port)
        #expect(client.isOpen)
    }

    @Test func ipv6LoopbackAcceptReportsBracketedPeer() async throws {
        let attempt = Result { () throws(IOError) -> Socket in try Socket.listen(host: "::1", port: 0) }
        if case .failure(let error) = attempt, error.errno == EADDRNOTAVAIL || error.errno == EAFNOSUPPORT {
            return // no IPv6 loopback on this host: nothing to test
        }
        let listener = try attempt.get()
        let port = try listener.localPort()
        let client = try Socket.connect(host: "[::1]", port: port)
        var accepted: (descriptor: Int32, peer: String)?
        // The connection is in the backlog once connect returned.
        if case .processed(let pair) = try listener.accept() { accepted = pair }
        let pair = try #require(accepted)
        let server = Socket(adopting: pair.descriptor)
        #expect(pair.peer.hasPrefix("[::1]:"))
        #expect(server.isOpen && client.isOpen)
    }

    @Test func hostNamesAreRefused() {
        #expect(throws: IOError.self) { try Socket.listen(host: "localhost", port: 0) }
    }

    @Test func acceptWithoutPendingConnectionWouldBlock() throws {
        let listener = try Socket.listen(host: "127.0.0.1", port: 0)
        let result = try listener.accept()
        guard case .wouldBlock = result else {
            Issue.record("expected wouldBlock, got \(result)")
            return
        }
    }

    @Test func closeIsIdempotentAndTakeDescriptorReleasesOwnership() throws {
        let listener = try Socket.listen(host: "127.0.0.1", port: 0)
        let fd = listener.takeDescriptor()
        #expect(!listener.isOpen)
        listener.close()
        // The fd is still open (ownership moved to us): fcntl succeeds.
        #expect(fcntl(fd, F_GETFD) >= 0)
        let adopted = Socket(adopting: fd)
        adopted.close()
        adopted.close()
        #expect(fcntl(fd, F_GETFD) == -1)
    }

    @Test func connectToClosedPortIsRefused() throws {
        let listener = try Socket.listen(host: "127.0.0.1", port: 0)
        let port = try listener.localPort()
        listener.close()
        #expect(throws: IOError(errno: ECONNREFUSED, call: "connect")) {
            try Socket.connect(host: "127.0.0.1", port: port)
        }
    }
}
