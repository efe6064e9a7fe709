import CapgateConnection
import CapgateCore
import CapgateHTTPClient
import CapgatePKI
import CapgateTLS
import CapgateTesting
import Foundation
import Testing

/// Issue 14 finding 11, over loopback with real handshakes: the whole client chain is checked
/// against the CRLs, revoked serials are matched per issuer, and removing a CA from the trust
/// bundle drains its live connections.
@Suite("Chain revocation and trust-bundle drains")
struct ChainRevocationTests {
    /// Two client CAs that both issue serial 0x77, a root with an intermediate (serial 0x50)
    /// and a leaf under it. Made once per process (key generation).
    final class PKI: Sendable {
        static let shared = PKI()
        let caA = TestCA("client CA A")
        let caB = TestCA("client CA B")
        let leafA: TestIdentity
        let leafB: TestIdentity
        let root = TestCA("root CA", pathLength: nil)
        let intermediate: TestIdentity
        let intermediateCA: CertificateAuthority
        let underIntermediate: TestIdentity

        private init() {
            leafA = caA.client("a", serial: 0x77, uris: ["spiffe://example.org/agent/a"])
            leafB = caB.client("b", serial: 0x77, uris: ["spiffe://example.org/agent/b"])
            intermediate = root.issue("intermediate CA", serial: 0x50) {
                $0.basicConstraints = .ca(pathLength: 0)
                $0.keyUsage = [.keyCertSign, .cRLSign]
                $0.extendedKeyUsage = nil
                $0.uriSANs = ["spiffe://example.org"]
            }
            intermediateCA = try! CertificateAuthority(certificate: intermediate.certificate,
                                                       privateKey: intermediate.privateKey, trustDomain: "example.org")
            let now = Int64(Date().timeIntervalSince1970)
            var spec = LeafSpec(commonName: "leaf", notBefore: now - 300, notAfter: now + 86_400)
            spec.serialHex = "51"
            spec.uriSANs = ["spiffe://example.org/agent/deep"]
            let issued = try! intermediateCA.issueLeaf(spec)
            underIntermediate = TestIdentity(issued.certificate, issued.privateKey)
        }

        /// A CRL of the intermediate CA revoking nothing.
        func intermediateCRL() -> [UInt8] {
            try! CRLBuilder(authority: intermediateCA).build(crlNumber: 1).pemBytes()
        }
    }

    /// A server with this trust bundle and CRLs.
    static func material(bundle: [UInt8], crl: [UInt8]? = nil) -> TLSServerMaterial {
        let certs = TestCertificates.shared
        return TLSServerMaterial(certificateChainPEM: certs.server.certPEM, privateKeyPEM: certs.server.keyPEM,
                                 trustBundlePEM: bundle, crlPEM: crl)
    }

    struct Running {
        let server: Server
        let port: UInt16
        let logger: AwaitableLogger

        init(_ material: TLSServerMaterial) throws {
            logger = AwaitableLogger()
            let limits = GatewayLimits().relaxingDefaultTimeoutsForTests()
            server = try Server(configuration: ServerTransportConfig(host: "127.0.0.1", port: 0, loops: 2, limits: limits,
                                                                      tls: .material(material)),
                                handler: EchoHandler(limits: limits), logger: logger.asLogger)
            port = try server.start()
        }

        /// A connection presenting `chain` (leaf first) and its key.
        func client(_ leaf: TestIdentity, chain extra: [TestIdentity] = []) throws -> HTTPClientConnection {
            let material = TLSClientMaterial(certificateChainPEM: leaf.certPEM + extra.flatMap(\.certPEM),
                                             privateKeyPEM: leaf.keyPEM,
                                             trustBundlePEM: TestCertificates.shared.serverCA.certPEM)
            let tls = try TLSContext.client(material: material, serverName: "127.0.0.1", alpnProtocols: ["h2"])
            return try HTTPClientConnection(host: "127.0.0.1", port: port, tls: tls, requestTimeout: .seconds(60))
        }

        func works(_ c: HTTPClientConnection) async -> Bool {
            (try? await c.send(path: "/v1/echo").status) == 200
        }

        /// True when a NEW connection with this identity is refused.
        func refused(_ leaf: TestIdentity, chain: [TestIdentity] = []) async throws -> Bool {
            let c = try client(leaf, chain: chain)
            defer { c.close() }
            return !(await works(c))
        }

        func stop() {
            server.stop()
            server.waitUntilStopped()
        }
    }

    // MARK: - Whole-chain checking (X509_V_FLAG_CRL_CHECK_ALL)

    /// An intermediate CA revoked by its root's CRL no longer vouches for its leaves: new
    /// handshakes are refused and the live connection is drained. With the former leaf-only
    /// check (`X509_V_FLAG_CRL_CHECK`) this leaf was accepted: its own issuer's CRL is clean.
    @Test func intermediateRevokedByTheRootsCRLIsRefused() async throws {
        let p = PKI.shared
        // The intermediate is in the bundle too: a CRL is accepted only when a CA of the bundle
        // signed it (CertificateReloader), so its own CRL needs it there.
        let bundle = p.root.certPEM + p.intermediate.certPEM
        let clean = p.root.crl(revoking: []) + p.intermediateCRL()
        let s = try Running(Self.material(bundle: bundle, crl: clean))
        defer { s.stop() }
        let live = try s.client(p.underIntermediate, chain: [p.intermediate])
        defer { live.close() }
        #expect(await s.works(live), "a clean chain is served: \(s.logger.lines)")

        try s.server.reloadTLS(Self.material(bundle: bundle, crl: p.root.crl(revoking: [0x50]) + p.intermediateCRL()))
        #expect(try await s.refused(p.underIntermediate, chain: [p.intermediate]),
                "the intermediate is revoked: its leaves are refused")
        // By OpenSSL's whole-chain check during the handshake, not only by the post-handshake
        // re-check of the chain keys.
        await s.logger.waitForLine(containing: "reason=tls_peer_verification_failed")
        // The live connection through it is drained too (its chain keys include 0x50 of root).
        await eventually { live.isClosed }
        let line = await s.logger.waitForLine(containing: "reason=certificate_revoked")
        #expect(line.contains("agent/deep"), "\(line)")
    }

    /// With the whole chain checked, a chain through an intermediate needs the CRL of every
    /// issuing CA: the root's CRL (covering the intermediate) missing fails closed, although
    /// the leaf's own issuer has a clean CRL (a leaf-only check accepted this chain).
    @Test func missingCRLOfAnIssuingCAFailsClosed() async throws {
        let p = PKI.shared
        let s = try Running(Self.material(bundle: p.root.certPEM + p.intermediate.certPEM, crl: p.intermediateCRL()))
        defer { s.stop() }
        #expect(try await s.refused(p.underIntermediate, chain: [p.intermediate]),
                "no CRL from the root for the intermediate: refused")
        await s.logger.waitForLine(containing: "reason=tls_peer_verification_failed")
    }

    // MARK: - Revoked serials keyed by issuer

    /// CA A and CA B both issued serial 0x77; A's CRL revokes it. Only A's live connection is
    /// drained and only A is refused afterwards; B's connection and new B connections work.
    @Test func sameSerialFromTwoCAsOnlyTheRevokedIssuersConnectionIsDrained() async throws {
        let p = PKI.shared
        let bundle = p.caA.certPEM + p.caB.certPEM
        let s = try Running(Self.material(bundle: bundle, crl: p.caA.crl(revoking: []) + p.caB.crl(revoking: [])))
        defer { s.stop() }
        let a = try s.client(p.leafA), b = try s.client(p.leafB)
        defer { a.close(); b.close() }
        #expect(await s.works(a))
        #expect(await s.works(b))

        try s.server.reloadTLS(Self.material(bundle: bundle, crl: p.caA.crl(revoking: [0x77]) + p.caB.crl(revoking: [])))
        await eventually { a.isClosed }
        let line = await s.logger.waitForLine(containing: "reason=certificate_revoked")
        #expect(line.contains("agent/a"), "\(line)")
        #expect(await s.works(b), "B's 0x77 is not revoked: its connection keeps working")
        #expect(!b.isClosed)
        #expect(try await s.refused(p.leafA))
        #expect(try await !s.refused(p.leafB))
        #expect(s.logger.lines.filter { $0.contains("reason=certificate_revoked") }.allSatisfy { !$0.contains("agent/b") })
    }

    // MARK: - Trust-bundle removal drains

    /// Reloading a bundle without CA B drains B's live connection (reason
    /// `trust_anchor_removed`) and refuses new B connections; A keeps working.
    @Test func removingACAFromTheBundleDrainsItsConnections() async throws {
        let p = PKI.shared
        let s = try Running(Self.material(bundle: p.caA.certPEM + p.caB.certPEM))
        defer { s.stop() }
        let a = try s.client(p.leafA), b = try s.client(p.leafB)
        defer { a.close(); b.close() }
        #expect(await s.works(a))
        #expect(await s.works(b))

        try s.server.reloadTLS(Self.material(bundle: p.caA.certPEM))
        await eventually { b.isClosed }
        let line = await s.logger.waitForLine(containing: "reason=trust_anchor_removed")
        #expect(line.contains("agent/b"), "\(line)")
        #expect(await s.works(a), "A is still trusted: its connection keeps working")
        #expect(!a.isClosed)
        #expect(try await s.refused(p.leafB))
        #expect(try await !s.refused(p.leafA))
    }

    /// A reload that keeps every CA drains nothing.
    @Test func reloadWithTheSameBundleDrainsNothing() async throws {
        let p = PKI.shared
        let bundle = p.caA.certPEM + p.caB.certPEM
        let s = try Running(Self.material(bundle: bundle))
        defer { s.stop() }
        let a = try s.client(p.leafA)
        defer { a.close() }
        #expect(await s.works(a))
        try s.server.reloadTLS(Self.material(bundle: p.caB.certPEM + p.caA.certPEM))
        try s.server.reloadTLS(Self.material(bundle: bundle))
        #expect(await s.works(a))
        #expect(!a.isClosed)
        #expect(!s.logger.lines.contains { $0.contains("trust_anchor_removed") })
    }
}
