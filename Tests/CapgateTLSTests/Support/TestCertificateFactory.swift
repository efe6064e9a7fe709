import COpenSSL
import COpenSSLShims

/// Throwaway EC P-256 certificates built with OpenSSL APIs, for TLS tests only. The production
/// PKI lives elsewhere; this factory deliberately supports odd shapes (two URI SANs, CA leaves,
/// wrong EKU, expired) that production code must never issue.
final class TestKey: @unchecked Sendable {
    let pkey: OpaquePointer

    init() {
        let ctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil)!
        defer { EVP_PKEY_CTX_free(ctx) }
        precondition(EVP_PKEY_keygen_init(ctx) == 1)
        precondition(EVP_PKEY_CTX_set_group_name(ctx, "P-256") == 1)
        var key: OpaquePointer?
        precondition(EVP_PKEY_generate(ctx, &key) == 1)
        pkey = key!
    }

    deinit { EVP_PKEY_free(pkey) }

    var pem: [UInt8] {
        TestPEM.write { PEM_write_bio_PrivateKey($0, pkey, nil, nil, 0, nil, nil) }
    }
}

/// A certificate plus its key. `@unchecked Sendable`: immutable after creation, only read.
final class TestCertificate: @unchecked Sendable {
    let x509: OpaquePointer
    let key: TestKey

    init(x509: OpaquePointer, key: TestKey) {
        self.x509 = x509
        self.key = key
    }

    deinit { X509_free(x509) }

    var pem: [UInt8] { TestPEM.write { PEM_write_bio_X509($0, x509) } }

    var der: [UInt8] {
        let length = i2d_X509(x509, nil)
        var out = [UInt8](repeating: 0, count: Int(length))
        out.withUnsafeMutableBufferPointer { buf in
            var cursor = buf.baseAddress
            _ = i2d_X509(x509, &cursor)
        }
        return out
    }

    /// Issues a certificate signed by this (CA) certificate.
    func issue(cn: String, serial: Int, extensions: [(Int32, String)],
               validFrom: Int = -3600, validUntil: Int = 86_400) -> TestCertificate {
        TestCertificateFactory.make(cn: cn, serial: serial, key: TestKey(), issuer: self,
                                    extensions: extensions, validFrom: validFrom, validUntil: validUntil)
    }

    /// A CRL signed by this CA revoking `serials`; validity in seconds relative to now.
    func crl(revoking serials: [Int], nextUpdate: Int = 86_400) -> [UInt8] {
        let crl = X509_CRL_new()!
        defer { X509_CRL_free(crl) }
        precondition(X509_CRL_set_version(crl, 1) == 1)  // v2
        precondition(X509_CRL_set_issuer_name(crl, X509_get_subject_name(x509)) == 1)
        let now = ASN1_TIME_new()!
        defer { ASN1_TIME_free(now) }
        X509_gmtime_adj(now, -60)
        let next = ASN1_TIME_new()!
        defer { ASN1_TIME_free(next) }
        X509_gmtime_adj(next, nextUpdate)
        precondition(X509_CRL_set1_lastUpdate(crl, now) == 1)
        precondition(X509_CRL_set1_nextUpdate(crl, next) == 1)
        for serial in serials {
            let revoked = X509_REVOKED_new()!
            let number = ASN1_INTEGER_new()!
            ASN1_INTEGER_set(number, serial)
            precondition(X509_REVOKED_set_serialNumber(revoked, number) == 1)
            ASN1_INTEGER_free(number)
            precondition(X509_REVOKED_set_revocationDate(revoked, now) == 1)
            precondition(X509_CRL_add0_revoked(crl, revoked) == 1)
        }
        precondition(X509_CRL_sort(crl) == 1)
        precondition(X509_CRL_sign(crl, key.pkey, EVP_sha256()) > 0)
        return TestPEM.write { PEM_write_bio_X509_CRL($0, crl) }
    }
}

enum TestCertificateFactory {
    /// A self-signed CA (CA:TRUE critical, keyCertSign + cRLSign).
    static func makeCA(cn: String) -> TestCertificate {
        make(cn: cn, serial: 1, key: TestKey(), issuer: nil, extensions: [
            (NID_basic_constraints, "critical,CA:TRUE"),
            (NID_key_usage, "critical,keyCertSign,cRLSign"),
            (NID_subject_key_identifier, "hash"),
        ], validFrom: -3600, validUntil: 86_400 * 30)
    }

    /// Extensions of a well-formed client SVID with the given SAN value.
    static func clientExtensions(san: String) -> [(Int32, String)] {
        [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature"),
            (NID_ext_key_usage, "clientAuth"),
            (NID_subject_alt_name, san),
        ]
    }

    static func make(cn: String, serial: Int, key: TestKey, issuer: TestCertificate?,
                     extensions: [(Int32, String)], validFrom: Int, validUntil: Int) -> TestCertificate {
        let x = X509_new()!
        precondition(X509_set_version(x, 2) == 1)  // v3
        precondition(ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1)
        X509_gmtime_adj(X509_getm_notBefore(x), validFrom)
        X509_gmtime_adj(X509_getm_notAfter(x), validUntil)
        let name = X509_get_subject_name(x)
        precondition(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) == 1)
        precondition(X509_set_issuer_name(x, issuer.map { X509_get_subject_name($0.x509) } ?? name) == 1)
        precondition(X509_set_pubkey(x, key.pkey) == 1)
        var v3 = X509V3_CTX()
        X509V3_set_ctx(&v3, issuer?.x509 ?? x, x, nil, nil, 0)
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &v3, nid, value) else {
                fatalError("bad test extension \(nid)=\(value)")
            }
            precondition(X509_add_ext(x, ext, -1) == 1)
            X509_EXTENSION_free(ext)
        }
        precondition(X509_sign(x, (issuer?.key ?? key).pkey, EVP_sha256()) > 0)
        return TestCertificate(x509: x, key: key)
    }
}

enum TestPEM {
    /// Runs a PEM writer against a memory BIO and returns the bytes.
    static func write(_ body: (OpaquePointer) -> Int32) -> [UInt8] {
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        precondition(body(bio) == 1)
        var data: UnsafeMutablePointer<CChar>?
        let length = capgate_bio_get_mem_data(bio, &data)
        return Array(UnsafeRawBufferPointer(start: data, count: Int(length)))
    }
}
