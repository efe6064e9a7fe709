import CapgateTesting
import AgentKernel
import CapgateClient
import CapgatePKI
import CapgateServer
import CapgateWire
import Foundation
import Testing

/// Identity bound to the issuing CA, end to end (docs/hardening.md "Identity bound to the
/// issuing CA"): a federated partner's CA in the trust bundle must not mint our identities.
@Suite(.timeLimit(.minutes(1)))
struct TrustDomainBindingGatewayTests {
    static let partnerTD = "partner.example"

    /// Writes `pems` concatenated to `path`.
    static func write(_ path: String, _ pems: [[UInt8]]) throws {
        try Data(pems.joined(separator: [UInt8(ascii: "\n")])).write(to: URL(fileURLWithPath: path))
    }

    /// Our demo CA and the partner's CA in ONE `trust_bundle`. No CRL: the partner publishes
    /// none here, and a leaf without a CRL for its issuer would be refused for that reason,
    /// which would hide what this test is about.
    static func sharedBundle(_ partner: CertificateAuthority) -> (inout ServerConfig) throws -> Void {
        { config in
            let ours = try Array(Data(contentsOf: URL(fileURLWithPath: config.tls.trustBundle)))
            let bundle = config.stateDir + "/bundle-with-partner.pem"
            try write(bundle, [ours, try partner.certificate.pemBytes()])
            config.tls.trustBundle = bundle
            config.tls.crl = nil
            config.tls.crlOptional = false
            config.identities.rules.append(IdentityMap.Rule(match: .exact("spiffe://\(partnerTD)/agent/bot"),
                                                            principalID: "partner-bot", roles: ["reader"]))
        }
    }

    /// The partner's leaf for `id`, written next to the agents.
    static func partnerLeaf(_ gw: GatewayFixture, _ partner: CertificateAuthority, _ name: String,
                            id: String) throws -> CapgateClient {
        let now = Int64(Date().timeIntervalSince1970)
        var spec = LeafSpec(commonName: name, notBefore: now - 300, notAfter: now + 3600)
        spec.uriSANs = [id]
        let (cert, key) = try gw.writeIdentity(name, try partner.issueLeaf(spec))
        return try gw.client(certificate: cert, key: key)
    }

    /// Whether the gateway logged a line containing `fragment` within 10 s (polls, so a
    /// missing line fails the test instead of hanging it).
    static func logged(_ gw: GatewayFixture, _ fragment: String) async -> Bool {
        for _ in 0..<200 {
            if gw.logger.lines.contains(where: { $0.contains(fragment) }) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    @Test func partnerCAInOneBundleCannotMintOurAdmin() async throws {
        let partner = try CertificateAuthority.create(trustDomain: Self.partnerTD, commonName: "partner CA")
        try await withGateway(configure: Self.sharedBundle(partner)) { gw in
            // The partner's leaf claims our admin's SPIFFE ID: refused at the connection.
            let forged = try Self.partnerLeaf(gw, partner, "forged-ops", id: demoID("ops"))
            await RefusedPeerTests.expectRefused(forged)
            #expect(await Self.logged(gw, "reason=identity_trust_domain_not_vouched"))

            // The partner's leaf in its own trust domain: accepted, then mapped by the rules...
            let bot = try Self.partnerLeaf(gw, partner, "bot", id: "spiffe://\(Self.partnerTD)/agent/bot")
            #expect(try await bot.listCapabilities().count == 4)
            // ...or unknown_identity when no rule maps it.
            let eve = try Self.partnerLeaf(gw, partner, "eve", id: "spiffe://\(Self.partnerTD)/agent/eve")
            await expectWireError(403, .unknownIdentity, type: "AgentKernelError") { _ = try await eve.listCapabilities() }

            // Our own admin still gets in.
            _ = try await gw.client("ops").stats()

            // Hot reload (what SIGHUP and the file watcher run) keeps the binding.
            let result = gw.gateway.reload(tls: true, identities: false)
            #expect((try? result.tls?.get()) == 2)
            let forgedAgain = try Self.partnerLeaf(gw, partner, "forged-ops-2", id: demoID("ops"))
            await RefusedPeerTests.expectRefused(forgedAgain)
            #expect(try await Self.partnerLeaf(gw, partner, "bot-2", id: "spiffe://\(Self.partnerTD)/agent/bot")
                        .listCapabilities().count == 4)
        }
    }

    @Test func trustDomainTablesBindEachBundle() async throws {
        let partner = try CertificateAuthority.create(trustDomain: Self.partnerTD, commonName: "partner CA")
        try await withGateway(configure: { config in
            let partnerBundle = config.stateDir + "/partner-ca.pem"
            try Self.write(partnerBundle, [try partner.certificate.pemBytes()])
            config.tls.trustDomains = [.init(name: DemoConfig.trustDomain, bundle: config.tls.trustBundle),
                                       .init(name: Self.partnerTD, bundle: partnerBundle)]
            config.tls.trustBundle = ""
            config.tls.crl = nil
            config.tls.crlOptional = false
        }) { gw in
            await RefusedPeerTests.expectRefused(try Self.partnerLeaf(gw, partner, "forged-alice", id: demoID("alice")))
            #expect(await Self.logged(gw, "reason=identity_trust_domain_not_vouched"))
            let eve = try Self.partnerLeaf(gw, partner, "eve", id: "spiffe://\(Self.partnerTD)/agent/eve")
            await expectWireError(403, .unknownIdentity, type: "AgentKernelError") { _ = try await eve.listCapabilities() }
            #expect(try await gw.client("alice").listCapabilities().count == 4)
        }
    }
}
