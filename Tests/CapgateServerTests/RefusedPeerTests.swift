import CapgateClient
import CapgatePKI
import CapgateTesting
import Foundation
import Testing

/// Peers the gateway must refuse at the TLS layer (the transport tests cover every case;
/// these prove the Gateway wires the trust bundle and SVID rules in).
@Suite(.timeLimit(.minutes(1)))
struct RefusedPeerTests {
    static func expectRefused(_ client: CapgateClient, sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            _ = try await client.listCapabilities()
            Issue.record("the gateway served a peer it must refuse", sourceLocation: sourceLocation)
        } catch let e as CapgateClientError {
            guard case .transport = e else {
                Issue.record("expected a transport refusal, got \(e)", sourceLocation: sourceLocation)
                return
            }
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func anotherCATwoURISANsAndExpired() async throws {
        try await withGateway { gw in
            let stranger = try CertificateAuthority.create(trustDomain: "capgate.local")
            let (sc, sk) = try gw.writeIdentity("stranger", try stranger.issueAgent(name: "alice"))
            await Self.expectRefused(try gw.client(certificate: sc, key: sk))

            let (tc, tk) = try gw.issueLeaf("two") { $0.uriSANs = [demoID("alice"), demoID("ops")] }
            await Self.expectRefused(try gw.client(certificate: tc, key: tk))

            let now = Int64(Date().timeIntervalSince1970)
            let (ec, ek) = try gw.issueLeaf("expired") {
                $0.uriSANs = [demoID("alice")]
                $0.notBefore = now - 7200
                $0.notAfter = now - 3600
            }
            await Self.expectRefused(try gw.client(certificate: ec, key: ek))

            #expect(try await gw.client("alice").listCapabilities().count == 4, "good peers are still served")
        }
    }

    @Test func noClientCertificateAndHTTP1() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "curl is missing")
        try await withGateway { gw in
            let pki = gw.stateDir + "/pki"
            let url = "https://localhost:\(gw.port)/v1/health"
            let noCert = try await runProcess("/usr/bin/curl", ["--silent", "--max-time", "20", "--http2",
                                                         "--cacert", pki + "/ca.pem", url])
            #expect(noCert.status != 0 && noCert.stdout.isEmpty, "served without a client certificate")
            let h1 = try await runProcess("/usr/bin/curl", ["--silent", "--max-time", "20", "--http1.1",
                                                     "--cacert", pki + "/ca.pem", "--cert", pki + "/agents/alice.pem",
                                                     "--key", pki + "/agents/alice.key", url])
            #expect(h1.status != 0 && h1.stdout.isEmpty, "served HTTP/1.1")
            let ok = try await runProcess("/usr/bin/curl", ["--silent", "--max-time", "20", "--http2",
                                                     "--cacert", pki + "/ca.pem", "--cert", pki + "/agents/alice.pem",
                                                     "--key", pki + "/agents/alice.key", url])
            #expect(ok.status == 0 && ok.stdout.contains("\"ok\""))
        }
    }
}
