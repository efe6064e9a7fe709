import AgentKernel
import CapgatePKI
import Foundation

/// The gateway's part of `capgate status` (POST /v1/status, admin): uptime, connections,
/// configuration generation and certificate expiries. `KernelService.statusReport` adds the
/// paused items and the audit store's health. Times are ISO 8601 UTC with seconds left.
extension Gateway {
    /// Client identities listed in `certificates.clients`, soonest expiry first: enough to
    /// act on, bounded however many identities have connected.
    static let statusClientLimit = 20

    func statusParts(now: Int64 = Int64(Date().timeIntervalSince1970)) -> JSONObject {
        let s = server.stats
        let connections: JSONObject = [
            "active": .int(s.active), "authenticated_total": .int(s.established), "pre_auth": .int(s.preAuthActive),
            "in_flight_requests": .int(s.inFlightHandlers), "accepted_total": .int(s.accepted),
            "rejected_total": .int(s.rejected), "requests_total": .int(s.requests),
            "accepting": .bool(server.isAcceptingConnections),
        ]
        let config: JSONObject = [
            "tls_generation": .int(Int(server.tlsGeneration)), "identity_generation": .int(service.identityGeneration),
            "identity_rules": .int(service.identityMap.rules.count),
            "capabilities": .int(kernel.listCapabilities().count), "path": configPath.map(JSONValue.string) ?? .null,
        ]
        func until(_ notAfter: Int64) -> JSONObject {
            ["not_after": .string(Self.iso(notAfter)), "seconds_left": .int(Int(notAfter - now))]
        }
        var crl: JSONObject = ["checking": .bool(server.revocationCheckingEnabled)]
        if let next = server.crlNextUpdate {
            crl["next_update"] = .string(Self.iso(next))
            crl["seconds_left"] = .int(Int(next - now))
        } else {
            crl["next_update"] = .null
            crl["seconds_left"] = .null
        }
        let seen = self.expiry.snapshot()
        let clients = seen.sorted { $0.notAfter < $1.notAfter }.prefix(Self.statusClientLimit).map { c -> JSONValue in
            var o: JSONObject = ["identity": .string(c.identity), "serial": .string(c.serialHex)]
            for (k, v) in until(c.notAfter) { o[k] = v }
            return .object(o)
        }
        let certificates: JSONObject = [
            "server": .object(until(server.serverCertificateNotAfter)),
            "trust_bundle": .array(Self.bundleExpiries(config: self.config, now: now)),
            "crl": .object(crl), "clients": .array(clients), "clients_seen": .int(seen.count),
            "warning_days": .int(Int(self.config.certificateExpiryWarning / 86_400)),
        ]
        return [
            "started_at": .string(Self.iso(startedAt)), "uptime_seconds": .int(Int(now - startedAt)),
            "connections": .object(connections), "config": .object(config), "certificates": .object(certificates),
        ]
    }

    /// The CAs of the trust bundle files as they are on disk now (a CA that cannot be read
    /// shows as an error entry rather than failing the whole report).
    static func bundleExpiries(config: ServerConfig, now: Int64) -> [JSONValue] {
        let files = [config.tls.trustBundle] + config.tls.trustDomains.map(\.bundle)
        var out: [JSONValue] = []
        for file in files {
            do {
                for cert in try Certificate.all(pem: try SecureFile.read(file)) {
                    out.append(["file": .string(file), "subject": .string(cert.subject),
                                "not_after": .string(iso(cert.notAfter)), "seconds_left": .int(Int(cert.notAfter - now))])
                }
            } catch {
                out.append(["file": .string(file), "error": .string("\(error)")])
            }
        }
        return out
    }

    static func iso(_ unix: Int64) -> String { Timestamp(microseconds: unix * 1_000_000).isoformat }
}
