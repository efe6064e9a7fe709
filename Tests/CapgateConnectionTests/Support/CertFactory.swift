import COpenSSL
import Foundation

/// Throwaway certificates for the connection tests, built with libcrypto directly (CapgatePKI
/// depends on AgentKernel, which does not build on this branch yet). Deliberately able to
/// issue shapes production must refuse: two URI SANs, CA leaves, serverAuth-only, expired.
final class TestIdentity: @unchecked Sendable {
    // WHY @unchecked: both pointers are immutable after init and only read.
    let cert: OpaquePointer
    let key: OpaquePointer

    init(cert: OpaquePointer, key: OpaquePointer) {
        self.cert = cert
        self.key = key
    }

    deinit {
        X509_free(cert)
        EVP_PKEY_free(key)
    }

    var certPEM: [UInt8] { PEMWriter.bytes { PEM_write_bio_X509($0, cert) } }
    var keyPEM: [UInt8] { PEMWriter.bytes { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) } }

    /// A certificate for `san` signed by this identity (which must be a CA).
    func sign(commonName: String, serial: Int, extensions: [(Int32, String)],
              notBeforeOffset: Int = -600, notAfterOffset: Int = 86_400) -> TestIdentity {
        CertFactory.build(commonName: commonName, serial: serial, issuer: self,
                          extensions: extensions, notBeforeOffset: notBeforeOffset, notAfterOffset: notAfterOffset)
    }
}

enum CertFactory {
    static func newKey() -> OpaquePointer {
        let ctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil)
        defer { EVP_PKEY_CTX_free(ctx) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_CTX_set_group_name(ctx, "P-256") == 1,
              EVP_PKEY_generate(ctx, &key) == 1, let key else { fatalError("EC keygen failed") }
        return key
    }

    static func rootCA(_ name: String) -> TestIdentity {
        build(commonName: name, serial: 1, issuer: nil, extensions: [
            (NID_basic_constraints, "critical,CA:TRUE"),
            (NID_key_usage, "critical,keyCertSign,cRLSign"),
            (NID_subject_key_identifier, "hash"),
        ], notBeforeOffset: -3600, notAfterOffset: 86_400 * 10)
    }

    /// serverAuth leaf for localhost / 127.0.0.1.
    static func serverLeaf(from ca: TestIdentity, serial: Int) -> TestIdentity {
        ca.sign(commonName: "localhost", serial: serial, extensions: [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature"),
            (NID_ext_key_usage, "serverAuth"),
            (NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"),
        ])
    }

    /// An X509-SVID client leaf with the given subjectAltName value.
    static func agentExtensions(san: String) -> [(Int32, String)] {
        [(NID_basic_constraints, "critical,CA:FALSE"),
         (NID_key_usage, "critical,digitalSignature"),
         (NID_ext_key_usage, "clientAuth"),
         (NID_subject_alt_name, san)]
    }

    static func build(commonName: String, serial: Int, issuer: TestIdentity?, extensions: [(Int32, String)],
                      notBeforeOffset: Int, notAfterOffset: Int) -> TestIdentity {
        let key = newKey()
        guard let x = X509_new() else { fatalError("X509_new") }
        X509_set_version(x, 2)
        ASN1_INTEGER_set(X509_get_serialNumber(x), serial)
        X509_gmtime_adj(X509_getm_notBefore(x), notBeforeOffset)
        X509_gmtime_adj(X509_getm_notAfter(x), notAfterOffset)
        let subject = X509_get_subject_name(x)
        X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, commonName, -1, -1, 0)
        X509_set_issuer_name(x, issuer.map { X509_get_subject_name($0.cert) } ?? subject)
        X509_set_pubkey(x, key)
        var ctx = X509V3_CTX()
        X509V3_set_ctx(&ctx, issuer?.cert ?? x, x, nil, nil, 0)
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &ctx, nid, value) else { fatalError("extension \(value)") }
            X509_add_ext(x, ext, -1)
            X509_EXTENSION_free(ext)
        }
        guard X509_sign(x, issuer?.key ?? key, EVP_sha256()) > 0 else { fatalError("X509_sign") }
        return TestIdentity(cert: x, key: key)
    }
}

enum PEMWriter {
    static func bytes(_ write: (OpaquePointer) -> Int32) -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { fatalError("BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { fatalError("PEM write") }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32($0.count)) }
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<Int(n)])
        }
        return out
    }
}

/// The certificate set shared by all connection tests (keygen once).
final class TestCertificates: Sendable {
    static let shared = TestCertificates()
    static let agentID = "spiffe://example.org/agent/echo"

    let clientCA = CertFactory.rootCA("client CA")
    let serverCA = CertFactory.rootCA("server CA")
    let serverCA2 = CertFactory.rootCA("server CA 2")
    let strangerCA = CertFactory.rootCA("stranger CA")
    let server: TestIdentity
    let server2: TestIdentity
    let agent: TestIdentity
    let expired: TestIdentity
    let twoURIs: TestIdentity
    let caLeaf: TestIdentity
    let serverAuthOnly: TestIdentity
    let stranger: TestIdentity
    /// Directory with PEM files for curl.
    let directory: String

    private init() {
        server = CertFactory.serverLeaf(from: serverCA, serial: 0x10)
        server2 = CertFactory.serverLeaf(from: serverCA2, serial: 0x20)
        agent = clientCA.sign(commonName: "echo", serial: 0x100,
                              extensions: CertFactory.agentExtensions(san: "URI:\(Self.agentID)"))
        expired = clientCA.sign(commonName: "expired", serial: 0x101,
                                extensions: CertFactory.agentExtensions(san: "URI:\(Self.agentID)"),
                                notBeforeOffset: -3 * 86_400, notAfterOffset: -86_400)
        twoURIs = clientCA.sign(commonName: "two", serial: 0x102, extensions: CertFactory.agentExtensions(
            san: "URI:spiffe://example.org/agent/a,URI:spiffe://example.org/agent/b"))
        caLeaf = clientCA.sign(commonName: "caleaf", serial: 0x103, extensions: [
            (NID_basic_constraints, "critical,CA:TRUE"),
            (NID_subject_alt_name, "URI:\(Self.agentID)"),
        ])
        serverAuthOnly = clientCA.sign(commonName: "srv", serial: 0x104, extensions: [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature"),
            (NID_ext_key_usage, "serverAuth"),
            (NID_subject_alt_name, "URI:\(Self.agentID)"),
        ])
        stranger = strangerCA.sign(commonName: "stranger", serial: 0x105,
                                   extensions: CertFactory.agentExtensions(san: "URI:\(Self.agentID)"))
        let dir = NSTemporaryDirectory() + "capgate-conn-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        directory = dir
        write("server-ca.pem", serverCA.certPEM)
        write("agent.pem", agent.certPEM)
        write("agent-key.pem", agent.keyPEM)
    }

    private func write(_ name: String, _ bytes: [UInt8]) {
        _ = FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(bytes),
                                       attributes: [.posixPermissions: 0o600])
    }

    func path(_ name: String) -> String { directory + "/" + name }
}
