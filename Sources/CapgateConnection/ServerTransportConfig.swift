import CapgateCore
import CapgateHTTP2
import CapgateIO
import CapgateTLS
import Glibc

/// Where the server's TLS material comes from.
public enum TLSMaterialSource: Sendable {
    /// PEM files, re-read by `Server.reloadTLSFromSource()` (SIGHUP): certificate rotation
    /// without restart (docs/hardening.md "Hot reload of the trust bundle and the leaf").
    case files(certificateChain: String, privateKey: String, trustBundle: String, crl: String? = nil)
    /// Like `files`, but the CRL is used only while `crlIfPresent` exists: the `capgate pki`
    /// layout, where `crl.pem` appears with the first `pki crl` / `pki revoke`, and a reload
    /// picks it up. Once a CRL is in effect, a reload that finds the file gone is refused
    /// (`Server.reloadTLSFromSource`): deleting a file must not silently un-revoke everyone.
    case filesWithOptionalCRL(certificateChain: String, privateKey: String, trustBundle: String, crlIfPresent: String)
    /// PEM bytes already in memory (tests, embedding).
    case material(TLSServerMaterial)
    /// `base` plus one CA bundle file per trust domain (`[[trust_domain]]`): those CAs may
    /// vouch only for their trust domain (``TrustDomainBinding``). Re-read on every reload.
    indirect case withTrustDomains(TLSMaterialSource, [TrustDomainBundleFile])

    /// The files this source reads (empty for `material`), for change watchers.
    public var paths: [String] {
        switch self {
        case let .files(chain, key, bundle, crl): ([chain, key, bundle] + (crl.map { [$0] } ?? [])).filter { !$0.isEmpty }
        case let .filesWithOptionalCRL(chain, key, bundle, crl): [chain, key, bundle, crl].filter { !$0.isEmpty }
        case .material: []
        case let .withTrustDomains(base, domains): base.paths + domains.map(\.bundle)
        }
    }

    /// Reads (files) or returns (memory) the material. Errors name the file.
    public func load() throws(TLSError) -> TLSServerMaterial {
        switch self {
        case let .files(chain, key, bundle, crl):
            try TLSServerMaterial.load(certificateChainPath: chain, privateKeyPath: key,
                                       trustBundlePath: bundle, crlPath: crl)
        case let .filesWithOptionalCRL(chain, key, bundle, crl):
            // A file deleted between this check and the read fails the load (fail closed).
            try TLSServerMaterial.load(certificateChainPath: chain, privateKeyPath: key, trustBundlePath: bundle,
                                       crlPath: access(crl, F_OK) == 0 ? crl : nil)
        case .material(let material):
            material
        case let .withTrustDomains(base, domains):
            try Self.addingTrustDomains(domains, to: base.load())
        }
    }

    private static func addingTrustDomains(_ domains: [TrustDomainBundleFile],
                                           to material: TLSServerMaterial) throws(TLSError) -> TLSServerMaterial {
        var material = material
        for d in domains {
            let pem = try TLSServerMaterial.readPEMFile(d.bundle)
            material.trustDomainBundlesPEM[d.name, default: []].append(contentsOf: pem + [UInt8(ascii: "\n")])
        }
        return material
    }
}

/// One `[[trust_domain]]`: the trust domain and the CA bundle file that alone may vouch for it.
public struct TrustDomainBundleFile: Sendable, Equatable {
    public var name: String
    public var bundle: String
    public init(name: String, bundle: String) {
        self.name = name
        self.bundle = bundle
    }
}

/// Everything the transport needs to listen: address, loops, limits, TLS. No kernel settings.
public struct ServerTransportConfig: Sendable {
    /// Numeric listen address ("127.0.0.1", "::1"); names are refused by the IO layer.
    public var host: String
    /// 0 lets the kernel choose (read the result from `Server.start()`).
    public var port: UInt16
    /// Event loops (threads). Defaults to one per core.
    public var loops: Int
    /// THE limits (timeouts, caps, HTTP/2 budgets). Validated in `Server.init`.
    public var limits: GatewayLimits
    /// Server certificate, key, client trust bundle, optional CRL.
    public var tls: TLSMaterialSource
    /// Seconds a draining connection (graceful shutdown, max age, streams cap) may take to
    /// finish its in-flight requests before it is closed hard; bounds shutdown time.
    public var drainTimeout: Double
    /// listen(2) backlog.
    public var backlog: Int32
    /// Let a ClientHello without any ALPN extension complete the handshake
    /// (``TLSServerMaterial/allowMissingALPN``); false by default, kept across reloads.
    public var allowMissingALPN = false

    public init(host: String = "127.0.0.1", port: UInt16 = 0, loops: Int = EventLoopGroup.defaultLoopCount,
                limits: GatewayLimits = GatewayLimits(), tls: TLSMaterialSource,
                drainTimeout: Double = 30, backlog: Int32 = 1024) {
        self.host = host
        self.port = port
        self.loops = loops
        self.limits = limits
        self.tls = tls
        self.drainTimeout = drainTimeout
        self.backlog = backlog
    }
}

/// Why the server could not be built or started. Each case names what to fix.
public enum ServerError: Error, Sendable, CustomStringConvertible {
    /// A limit is out of range (the message names the key).
    case invalidLimits(GatewayLimitsError)
    /// A configuration value other than a limit is invalid.
    case invalidConfiguration(String)
    /// The TLS material is unreadable or invalid.
    case tls(TLSError)
    /// Binding or starting the loops failed.
    case io(IOError)
    /// `start()` was called twice, or after shutdown.
    case alreadyStarted

    public var description: String {
        switch self {
        case .invalidLimits(let e): "invalid limits: \(e)"
        case .invalidConfiguration(let m): "invalid configuration: \(m)"
        case .tls(let e): "TLS: \(e)"
        case .io(let e): "listen: \(e)"
        case .alreadyStarted: "server already started"
        }
    }
}
