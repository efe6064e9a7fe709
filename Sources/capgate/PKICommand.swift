import CapgatePKI
import Foundation

/// `capgate pki`: operator commands over a PKI directory (issue certificates per agent
/// workload, revoke them, write the CRL). OpenSSL APIs through CapgatePKI; never the CLI.
enum PKICommand {
    static let usage = """
        usage: capgate pki init --dir DIR [--trust-domain TD]
               capgate pki issue --dir DIR --agent NAME [--ttl DURATION]
               capgate pki server --dir DIR [--dns NAME]... [--ip ADDR]...
               capgate pki revoke --dir DIR (--agent NAME | --serial HEX)
               capgate pki crl --dir DIR
               capgate pki list --dir DIR
        DURATION: a number with s, m, h or d (default 24h)
        """

    static func run(_ argv: [String]) {
        var args = argv
        guard let sub = args.first else { fail(usage) }
        args.removeFirst()
        var options: [String: [String]] = [:]
        while let a = args.first {
            args.removeFirst()
            guard a.hasPrefix("--"), let v = args.first else { fail("bad argument \(a)\n\(usage)") }
            args.removeFirst()
            options[a, default: []].append(v)
        }
        func one(_ k: String) -> String? { options[k]?.last }
        guard let dir = one("--dir") else { fail("--dir is required\n\(usage)") }
        let pki = PKIDirectory(path: dir)
        do {
            switch sub {
            case "init":
                let td = one("--trust-domain") ?? "capgate.local"
                _ = try pki.initCA(trustDomain: td)
                print("created CA for spiffe://\(td) in \(pki.caCertificatePath) (key \(pki.caKeyPath), mode 0600)")
            case "issue":
                guard let name = one("--agent") else { fail("--agent is required\n\(usage)") }
                let ttl = try parseDuration(one("--ttl") ?? "24h")
                let issued = try pki.issueAgent(name: name, ttl: ttl)
                print("issued \(issued.certificate.uriSANs.first ?? name) serial \(issued.certificate.serialHex) "
                      + "-> \(pki.agentCertificatePath(name)), \(pki.agentKeyPath(name))")
            case "server":
                let issued = try pki.issueServer(dnsNames: options["--dns"] ?? ["localhost"],
                                                 ipAddresses: options["--ip"] ?? ["127.0.0.1"])
                print("issued server certificate serial \(issued.certificate.serialHex) -> \(pki.serverCertificatePath)")
            case "revoke":
                if let name = one("--agent") {
                    let serials = try pki.revoke(agent: name)
                    print("revoked \(name): serials \(serials.joined(separator: ", ")); CRL rewritten")
                } else if let serial = one("--serial") {
                    _ = try pki.revoke(serial: serial)
                    print("revoked serial \(serial); CRL rewritten")
                } else {
                    fail("give --agent NAME or --serial HEX\n\(usage)")
                }
            case "crl":
                let crl = try pki.writeCRL()
                print("wrote \(pki.crlPath): \(crl.revokedSerials.count) revoked, next update \(crl.nextUpdate)")
            case "list":
                for e in try pki.list() {
                    let expiry = Date(timeIntervalSince1970: TimeInterval(e.notAfter))
                    print("\(e.kind)\t\(e.identity)\t\(e.serialHex)\texpires \(expiry)\t"
                          + (e.revokedAt == nil ? "valid" : "REVOKED"))
                }
            default:
                fail("unknown pki command \(sub)\n\(usage)")
            }
        } catch {
            fail("pki \(sub): \(error)", code: 1)
        }
    }

    static func parseDuration(_ s: String) throws -> Duration {
        guard let unit = s.last, let n = Int64(s.dropLast()), n > 0 else {
            throw PKIError.invalidInput(field: "--ttl", reason: "bad duration \(s) (e.g. 24h, 30m, 7d)")
        }
        switch unit {
        case "s": return .seconds(n)
        case "m": return .seconds(n * 60)
        case "h": return .seconds(n * 3600)
        case "d": return .seconds(n * 86_400)
        default: throw PKIError.invalidInput(field: "--ttl", reason: "bad duration unit in \(s) (s, m, h or d)")
        }
    }
}
