import CapgateTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import CapgateTLS

/// Context construction: files, in-memory PEM, and refusal of bad inputs.
@Suite struct TLSContextTests {
    let pki = TestPKI.shared

    func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        defer { close(fd) }
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        try #require(n == bytes.count)
    }

    func remove(_ dir: String, _ files: [String]) {
        files.forEach { unlink("\(dir)/\($0)") }
        rmdir(dir)
    }

    @Test func serverAndClientFromFilesHandshake() throws {
        let dir = try makeTempDirectory("tls")
        let files = ["chain.pem", "key.pem", "ca.pem", "crl.pem", "client.pem", "client.key"]
        defer { remove(dir, files) }
        try write(pki.server.certPEM, to: "\(dir)/chain.pem")
        try write(pki.server.keyPEM, to: "\(dir)/key.pem")
        try write(pki.ca.certPEM, to: "\(dir)/ca.pem")
        try write(pki.crl, to: "\(dir)/crl.pem")
        try write(pki.goodClient.certPEM, to: "\(dir)/client.pem")
        try write(pki.goodClient.keyPEM, to: "\(dir)/client.key")
        let server = try TLSContext.server(certificateChainPEM: "\(dir)/chain.pem", privateKey: "\(dir)/key.pem",
                                           trustBundle: "\(dir)/ca.pem", crl: "\(dir)/crl.pem")
        let client = try TLSContext.client(certificate: "\(dir)/client.pem", key: "\(dir)/client.key",
                                           trustBundle: "\(dir)/ca.pem", serverName: "localhost")
        #expect(server.role == .server && client.role == .client)
        let result = try Shuttle.handshake(client: client.makeEngine(), server: server.makeEngine())
        #expect(result.client == .done && result.server == .done)
    }

    @Test func missingFileIsNamedInTheError() {
        #expect {
            try TLSContext.server(certificateChainPEM: "/nonexistent/chain.pem", privateKey: "/nonexistent/k",
                                  trustBundle: "/nonexistent/ca")
        } throws: { error in
            guard let error = error as? TLSError else { return false }
            return error.kind == .fileUnreadable && error.message.contains("/nonexistent/chain.pem")
        }
    }

    @Test func keyOfAnotherCertificateIsAMismatch() {
        var material = pki.serverMaterial()
        material.privateKeyPEM = pki.goodClient.keyPEM
        #expect(failureKind { try TLSContext.server(material: material) } == .keyMismatch)
    }

    @Test func garbageInputsAreRefusedByKind() {
        var material = pki.serverMaterial()
        material.certificateChainPEM = Array("hello".utf8)
        #expect(failureKind { try TLSContext.server(material: material) } == .invalidCertificate)

        material = pki.serverMaterial()
        material.privateKeyPEM = pki.server.certPEM  // a certificate is not a key
        #expect(failureKind { try TLSContext.server(material: material) } == .invalidPrivateKey)

        material = pki.serverMaterial()
        material.trustBundlePEM = []
        #expect(failureKind { try TLSContext.server(material: material) } == .invalidTrustBundle)

        material = pki.serverMaterial(crl: Array("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n".utf8))
        #expect(failureKind { try TLSContext.server(material: material) } == .invalidCRL)
    }

    @Test func truncatedBundleIsNotPartiallyUsed() {
        var bundle = pki.ca.certPEM + pki.otherCA.certPEM
        bundle.removeLast(40)  // corrupts the second certificate
        var material = pki.serverMaterial()
        material.trustBundlePEM = bundle
        #expect(failureKind { try TLSContext.server(material: material) } == .invalidTrustBundle)
    }

    @Test func clientNeedsCertificateAndKeyTogether() {
        let material = TLSClientMaterial(certificateChainPEM: pki.goodClient.certPEM, privateKeyPEM: nil,
                                         trustBundlePEM: pki.ca.certPEM)
        #expect(failureKind { try TLSContext.client(material: material, serverName: "localhost") } == .configuration)
    }

    @Test func errorDescriptionCarriesOpenSSLReasonButNotKeyBytes() throws {
        var material = pki.serverMaterial()
        material.privateKeyPEM = pki.goodClient.keyPEM
        do {
            _ = try TLSContext.server(material: material)
            Issue.record("mismatched key must fail")
        } catch {
            #expect(!error.openSSLErrors.isEmpty)
            #expect(!error.description.contains("PRIVATE KEY"))
            #expect(error.code == "tls_key_mismatch")
        }
    }

    /// The kind of the TLSError `body` throws; nil when it succeeds.
    func failureKind<T>(_ body: () throws -> T) -> TLSError.Kind? {
        do { _ = try body(); return nil } catch { return (error as? TLSError)?.kind }
    }
}
