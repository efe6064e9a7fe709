import CapgateX509
import COpenSSL

/// Which trust domains each trust anchor may vouch for (the SPIFFE federation model: a leaf
/// is accepted for `spiffe://td/...` only if it chains to td's bundle).
///
/// WHY: OpenSSL verifies a client chain against ONE store holding every anchor, so without
/// this any CA of the bundle (a federated partner's) could mint `spiffe://our-td/admin`.
/// docs/hardening.md "Identity bound to the issuing CA".
///
/// Scope of an anchor, decided at load (``init(bundle:trustDomainBundles:)``):
/// 1. listed in one or more `[[trust_domain]]` bundles: exactly those trust domains (a CA in
///    td's bundle whose own certificate names another trust domain is a load error);
/// 2. otherwise, a CA certificate carrying `spiffe://td` URI SANs (what `capgate pki init`
///    issues): exactly those trust domains;
/// 3. otherwise (a CA without a SPIFFE ID in the single `trust_bundle`): any trust domain,
///    the behaviour before this binding existed (documented in docs/configuration.md).
///
/// At the handshake (``check(leafTrustDomain:verifiedChain:)``) the anchor's scope must
/// contain the leaf's trust domain, and every intermediate CA that names trust domains must
/// name the leaf's too (an intermediate cannot widen its root).
public struct TrustDomainBinding: Sendable, Equatable {
    /// What one anchor may vouch for.
    public enum Scope: Sendable, Equatable {
        case anyTrustDomain
        case trustDomains(Set<String>)

        func allows(_ td: String) -> Bool {
            switch self {
            case .anyTrustDomain: true
            case .trustDomains(let set): set.contains(td)
            }
        }
    }

    /// Anchor DER -> scope. Keyed by the exact certificate bytes: the anchor OpenSSL reports
    /// in the verified chain is the very object loaded from these bytes.
    public private(set) var scopes: [[UInt8]: Scope] = [:]

    /// Every anchor, in load order without duplicates (for the store and the CA names list).
    public private(set) var anchors: [[UInt8]] = []

    /// Builds the scopes. `bundle` is the single `trust_bundle` (may be empty when
    /// `trustDomainBundles` is not); `trustDomainBundles` maps a trust domain to its PEM bundle.
    public init(bundle: [UInt8], trustDomainBundles: [String: [UInt8]]) throws(TLSError) {
        var named: [[UInt8]: Set<String>] = [:]
        var order: [[UInt8]] = []
        var ownDomains: [[UInt8]: Set<String>] = [:]
        func add(_ certs: [OwnedX509], what: String) throws(TLSError) {
            for cert in certs {
                guard let der = Self.der(cert) else {
                    throw TLSError(.invalidTrustBundle, "\(what): cannot encode a certificate")
                }
                if ownDomains[der] == nil {
                    ownDomains[der] = try Self.spiffeTrustDomains(of: cert, what: what)
                    order.append(der)
                }
            }
        }
        if !bundle.isEmpty {
            try add(try TLSPEM.certificates(bundle, kind: .invalidTrustBundle, what: "trust bundle"),
                    what: "trust bundle")
        }
        for td in trustDomainBundles.keys.sorted() {
            do throws(SPIFFEIDError) { try SPIFFEID.validateTrustDomain(Array(td.utf8)) } catch {
                throw TLSError(.invalidTrustBundle, "trust domain \(td): not a valid trust domain (\(error.rawValue))")
            }
            let what = "trust domain \(td) bundle"
            let certs = try TLSPEM.certificates(trustDomainBundles[td]!, kind: .invalidTrustBundle, what: what)
            try add(certs, what: what)
            for cert in certs {
                guard let der = Self.der(cert) else { continue }
                let own = ownDomains[der] ?? []
                // A CA that says it belongs to another trust domain must not be made to vouch
                // for this one by a configuration slip.
                if !own.isEmpty, !own.contains(td) {
                    throw TLSError(.invalidTrustBundle,
                                   "\(what): a CA names trust domain(s) \(own.sorted().joined(separator: ", ")), not \(td)")
                }
                named[der, default: []].insert(td)
            }
        }
        guard !order.isEmpty else { throw TLSError(.invalidTrustBundle, "no trust anchor configured") }
        anchors = order
        for der in order {
            if let tds = named[der] {
                scopes[der] = .trustDomains(tds)
            } else if let own = ownDomains[der], !own.isEmpty {
                scopes[der] = .trustDomains(own)
            } else {
                scopes[der] = .anyTrustDomain
            }
        }
    }

    /// The anchor scope check plus the intermediate rule. `verifiedChain` is OpenSSL's
    /// verified chain: leaf first, anchor last. Fails closed on an anchor it does not know.
    func check(leafTrustDomain td: String, verifiedChain: [OpaquePointer]) -> Bool {
        guard verifiedChain.count >= 2, let anchorDER = TLSEngine.der(of: verifiedChain[verifiedChain.count - 1]),
              let scope = scopes[anchorDER], scope.allows(td) else { return false }
        for ca in verifiedChain.dropFirst().dropLast() {
            guard let own = try? Self.spiffeTrustDomains(borrowed: ca) else { return false }
            if !own.isEmpty, !own.contains(td) { return false }
        }
        return true
    }

    static func der(_ cert: OwnedX509) -> [UInt8]? {
        defer { withExtendedLifetime(cert) {} }
        return TLSEngine.der(of: cert.pointer)
    }

    /// The trust domains a CA certificate names in `spiffe://td` URI SANs (empty: none).
    /// A `spiffe://` URI SAN that is not a bare, valid trust domain is an error (fail closed).
    static func spiffeTrustDomains(of cert: OwnedX509, what: String) throws(TLSError) -> Set<String> {
        defer { withExtendedLifetime(cert) {} }
        do throws(SPIFFEIDError) { return try spiffeTrustDomains(borrowed: cert.pointer) } catch {
            throw TLSError(.invalidTrustBundle, "\(what): a CA has a malformed spiffe:// URI SAN (\(error.rawValue))")
        }
    }

    static func spiffeTrustDomains(borrowed cert: OpaquePointer) throws(SPIFFEIDError) -> Set<String> {
        guard case .entries(let entries) = SubjectAltNames.read(cert) else { return [] }
        let scheme = Array("spiffe://".utf8)
        var out: Set<String> = []
        for entry in entries where entry.type == GEN_URI {
            guard let bytes = entry.bytes, bytes.starts(with: scheme) else { continue }
            var domain = Array(bytes.dropFirst(scheme.count))
            // `spiffe://td` and `spiffe://td/` both name the trust domain; a path does not
            // belong on a CA (it would be a workload ID).
            if domain.last == UInt8(ascii: "/") { domain.removeLast() }
            guard !domain.contains(UInt8(ascii: "/")) else { throw .invalidPathCharacter }
            try SPIFFEID.validateTrustDomain(domain)
            out.insert(String(decoding: domain, as: UTF8.self))
        }
        return out
    }
}
