import CapgatePKI
import CapgateServer
import CapgateTesting
import Foundation
import Testing

/// The demo's server certificate names where its CRL is (testssl.sh rates a certificate with
/// neither CRL nor OCSP URI HIGH): a `file://` URI of the dev PKI's own crl.pem, which the
/// demo keeps current.
@Suite struct DemoServerCRLURLTests {
    @Test func demoServerCertificatePointsAtTheDevPKIsCRL() throws {
        let dir = try makeTempDirectory("demo-crl-url")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try DemoConfig.prepare(stateDir: dir + "/./state", host: "127.0.0.1", port: 0)
        let cert = try Certificate(pem: Array(try Data(contentsOf: URL(fileURLWithPath: config.tls.certificate))))
        let urls = cert.crlDistributionURIs
        #expect(urls == [CRLDistributionURL.fileURL(absolutePath: dir + "/state/pki/crl.pem")])
        // The URI names the file the configuration checks clients against, and it is a CRL of our CA.
        let path = try #require(urls.first.map { String($0.dropFirst("file://".count)) })
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(config.tls.crl.map { URL(fileURLWithPath: $0).standardizedFileURL.path } == path)
        // A second start reuses the certificate.
        _ = try DemoConfig.prepare(stateDir: dir + "/state", host: "127.0.0.1", port: 0)
        let again = try Certificate(pem: Array(try Data(contentsOf: URL(fileURLWithPath: config.tls.certificate))))
        #expect(again.serialHex == cert.serialHex)
    }
}
