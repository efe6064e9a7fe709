import CapgateConnection
import CapgateHTTPClient
import CapgateTesting
import Testing

/// Fail closed: every peer below must be refused before any handler runs. Under TLS 1.3 a
/// refused client certificate shows up on the client's first read (docs/platform-notes.md), so the
/// client-side expectation is "the request fails", and the server-side one is the logged
/// reason code.
@Suite("Refused peers")
struct RefusedPeerTests {
    /// Sends one request with `identity`, expects failure, returns the server's close reason.
    private func refusedReason(_ identity: TestIdentity?) async throws -> String {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let client = try fixture.client(identity: identity)
        defer { client.close() }
        await #expect(throws: HTTPClientError.self) {
            _ = try await client.send(path: "/v1/echo")
        }
        let line = await fixture.logger.waitForLine(containing: "connection closed")
        #expect(fixture.server.stats.requests == 0)
        #expect(fixture.server.stats.established == 0)
        let reason = line.split(separator: " ").first { $0.hasPrefix("reason=") }.map { String($0.dropFirst(7)) }
        return reason ?? ""
    }

    @Test func noClientCertificate() async throws {
        // No certificate means nothing to verify: OpenSSL fails the handshake itself
        // ("peer did not return a certificate"), classified as a handshake failure.
        let reason = try await refusedReason(nil)
        #expect(reason == "tls_handshake_failed")
    }

    @Test func anotherCA() async throws {
        let reason = try await refusedReason(TestCertificates.shared.stranger)
        #expect(reason == "tls_peer_verification_failed")
    }

    @Test func expiredCertificate() async throws {
        let reason = try await refusedReason(TestCertificates.shared.expired)
        #expect(reason == "tls_peer_verification_failed")
    }

    @Test func twoURISANs() async throws {
        let reason = try await refusedReason(TestCertificates.shared.twoURIs)
        #expect(reason == "identity_multiple_uri_sans")
    }

    @Test func leafThatIsACA() async throws {
        let reason = try await refusedReason(TestCertificates.shared.caLeaf)
        // OpenSSL may refuse it in the chain check already; otherwise the SVID rules do.
        #expect(reason == "identity_leaf_is_ca" || reason == "tls_peer_verification_failed")
    }

    @Test func noClientAuthEKU() async throws {
        let reason = try await refusedReason(TestCertificates.shared.serverAuthOnly)
        #expect(reason == "tls_peer_verification_failed")
    }

    @Test func clientOfferingOnlyHTTP11ALPN() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let client = try fixture.client(alpn: ["http/1.1"])
        defer { client.close() }
        await #expect(throws: HTTPClientError.self) {
            _ = try await client.send(path: "/v1/echo")
        }
        #expect(fixture.server.stats.requests == 0)
    }
}

@Suite("curl interoperability")
struct CurlTests {
    private func baseArguments(port: UInt16) -> [String] {
        let certs = TestCertificates.shared
        return ["--cert", certs.path("agent.pem"), "--key", certs.path("agent-key.pem"),
                "--cacert", certs.path("server-ca.pem")]
    }

    @Test func curlHTTP2WithClientCertificate() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let result = try await runCurl(["--http2"] + baseArguments(port: fixture.port)
            + ["-d", "{\"a\":1}", "-H", "content-type: application/json", "https://127.0.0.1:\(fixture.port)/v1/echo"])
        #expect(result.status == 0)
        #expect(result.output.contains("\"identity\":\"\(TestCertificates.agentID)\""))
        #expect(result.output.contains("\"body_length\":7"))
    }

    @Test func curlHTTP11IsRefused() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let result = try await runCurl(["--http1.1"] + baseArguments(port: fixture.port)
            + ["https://127.0.0.1:\(fixture.port)/v1/echo"])
        #expect(result.status != 0)
        #expect(fixture.server.stats.requests == 0)
    }

    @Test func curlWithoutClientCertificateIsRefused() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let result = try await runCurl(["--http2", "--cacert", TestCertificates.shared.path("server-ca.pem"),
                                  "https://127.0.0.1:\(fixture.port)/v1/echo"])
        #expect(result.status != 0)
        #expect(fixture.server.stats.requests == 0)
    }
}
