import CapgateX509
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The PEM inputs of a server context, held in memory.
///
/// WHY in memory: the same bytes are validated (``CertificateReloader``) and then used, so a
/// file replaced between "validate" and "load" cannot slip in unchecked, and tests need no files.
public struct TLSServerMaterial: Sendable {
    /// Leaf certificate first, then intermediates (PEM).
    public var certificateChainPEM: [UInt8]
    /// The leaf's private key (PEM, unencrypted: there is nobody to type a passphrase).
    public var privateKeyPEM: [UInt8]
    /// The CA certificates client certificates must chain to (PEM, one or more).
    public var trustBundlePEM: [UInt8]
    /// Optional CRLs (PEM). When present, the client leaf's revocation status is checked and a
    /// CRL for its issuer MUST be present (fail closed: "unable to get CRL" rejects the peer).
    public var crlPEM: [UInt8]?
    /// Trust domain -> the CA bundle (PEM) that alone may vouch for it (`[[trust_domain]]`,
    /// ``TrustDomainBinding``). Its CAs are trust anchors as well; `trustBundlePEM` may then
    /// be empty.
    public var trustDomainBundlesPEM: [String: [UInt8]] = [:]
    /// Accept a ClientHello that offers no ALPN at all (the connection must then speak HTTP/2
    /// with prior knowledge); a hello that offers ALPN without `h2` is still refused. Off by
    /// default: only for TLS scanners that cannot offer ALPN (`capgate serve
    /// --allow-missing-alpn`, `make scan`; docs/hardening.md, "TLS scan").
    public var allowMissingALPN = false

    public init(certificateChainPEM: [UInt8], privateKeyPEM: [UInt8], trustBundlePEM: [UInt8],
                crlPEM: [UInt8]? = nil, trustDomainBundlesPEM: [String: [UInt8]] = [:]) {
        self.certificateChainPEM = certificateChainPEM
        self.privateKeyPEM = privateKeyPEM
        self.trustBundlePEM = trustBundlePEM
        self.crlPEM = crlPEM
        self.trustDomainBundlesPEM = trustDomainBundlesPEM
    }

    /// Every trust anchor's PEM (the single bundle, then each trust domain's), for checks that
    /// need all CAs (CRL signers).
    public var allAnchorsPEM: [UInt8] {
        var out = trustBundlePEM
        for td in trustDomainBundlesPEM.keys.sorted() {
            out.append(UInt8(ascii: "\n"))
            out.append(contentsOf: trustDomainBundlesPEM[td]!)
        }
        return out
    }

    /// A bounded read of one PEM file (a `[[trust_domain]]` bundle). Errors name the file.
    public static func readPEMFile(_ path: String) throws(TLSError) -> [UInt8] { try PEMFile.readAll(path) }

    /// Reads the four files (the CRL is optional). Errors name the file that failed.
    public static func load(certificateChainPath: String, privateKeyPath: String,
                            trustBundlePath: String, crlPath: String? = nil) throws(TLSError) -> TLSServerMaterial {
        TLSServerMaterial(
            certificateChainPEM: try PEMFile.readAll(certificateChainPath),
            privateKeyPEM: try PEMFile.readAll(privateKeyPath),
            // Empty path: no single bundle (only `[[trust_domain]]` bundles).
            trustBundlePEM: trustBundlePath.isEmpty ? [] : try PEMFile.readAll(trustBundlePath),
            crlPEM: try crlPath.map { path throws(TLSError) in try PEMFile.readAll(path) })
    }
}

/// The PEM inputs of a client context, held in memory.
public struct TLSClientMaterial: Sendable {
    /// Client certificate chain (PEM), or nil to present none (tests of the refusal path).
    public var certificateChainPEM: [UInt8]?
    /// Client private key (PEM), required when `certificateChainPEM` is set.
    public var privateKeyPEM: [UInt8]?
    /// The CA certificates the server certificate must chain to (PEM).
    public var trustBundlePEM: [UInt8]

    public init(certificateChainPEM: [UInt8]?, privateKeyPEM: [UInt8]?, trustBundlePEM: [UInt8]) {
        self.certificateChainPEM = certificateChainPEM
        self.privateKeyPEM = privateKeyPEM
        self.trustBundlePEM = trustBundlePEM
    }

    /// Reads the files; `certificatePath`/`keyPath` may both be nil.
    public static func load(certificatePath: String?, keyPath: String?,
                            trustBundlePath: String) throws(TLSError) -> TLSClientMaterial {
        TLSClientMaterial(
            certificateChainPEM: try certificatePath.map { p throws(TLSError) in try PEMFile.readAll(p) },
            privateKeyPEM: try keyPath.map { p throws(TLSError) in try PEMFile.readAll(p) },
            trustBundlePEM: try PEMFile.readAll(trustBundlePath))
    }
}

/// Bounded whole-file reads for PEM inputs.
enum PEMFile {
    /// 16 MiB: far above any real chain, bundle or CRL; bounds a mistaken path to a huge file.
    static let maxBytes = 16 << 20

    static func readAll(_ path: String) throws(TLSError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TLSError(.fileUnreadable, "cannot open \(path) (errno \(errno))") }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw TLSError(.fileUnreadable, "cannot read \(path) (errno \(errno))")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            guard out.count <= maxBytes else {
                throw TLSError(.fileUnreadable, "\(path) is larger than \(maxBytes) bytes")
            }
        }
        return out
    }
}

/// The TLS layer's PEM reads (the X.509 layer's strict readers) with TLS error wording.
enum TLSPEM {
    /// All certificates of `pem`; `kind`/`what` name the input in the error.
    static func certificates(_ pem: [UInt8], kind: TLSError.Kind, what: String) throws(TLSError) -> [OwnedX509] {
        do throws(X509Error) { return try PEM.certificates(pem) } catch {
            throw TLSError(kind, "\(what): no valid PEM certificate", reading: error)
        }
    }

    /// The private key of `pem`; encrypted keys fail (no passphrase prompt).
    static func privateKey(_ pem: [UInt8]) throws(TLSError) -> OwnedPrivateKey {
        do throws(X509Error) { return try PEM.privateKey(pem) } catch {
            throw TLSError(.invalidPrivateKey, "private key: no valid unencrypted PEM key", reading: error)
        }
    }

    /// All CRLs of `pem`.
    static func crls(_ pem: [UInt8]) throws(TLSError) -> [OwnedCRL] {
        do throws(X509Error) { return try PEM.crls(pem) } catch {
            throw TLSError(.invalidCRL, "CRL: no valid PEM CRL", reading: error)
        }
    }
}
