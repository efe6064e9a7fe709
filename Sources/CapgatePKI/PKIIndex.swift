import CapgateFormats

/// `DIR/index.json`: what the directory has issued and revoked, for `pki list`,
/// `pki revoke --agent|--serial` and `pki crl`. The certificates on disk hold only the latest
/// issue per agent; the index remembers every serial so a replaced certificate can still be
/// revoked. Written with the project's JSON writer, one certificate per line for diffs.
public struct PKIIndex: Sendable, Equatable {
    /// What an issued certificate is for.
    public enum Kind: String, Sendable {
        case ca
        case server
        case agent
        /// A driver-host leaf (`hosts/NAME.pem`).
        case host
    }

    /// One issued certificate.
    public struct Entry: Sendable, Equatable {
        public var serialHex: String
        public var kind: Kind
        /// Agent name, "server" or "ca".
        public var name: String
        /// SPIFFE ID for agents; the SAN list ("dns:localhost,ip:127.0.0.1") for the server;
        /// the CA's subject for the CA.
        public var identity: String
        public var notBefore: Int64
        public var notAfter: Int64
        /// Unix seconds of revocation, nil while valid.
        public var revokedAt: Int64?
    }

    public static let formatVersion = 1

    public var trustDomain: String
    /// Number of the last CRL written (RFC 5280 section 5.2.3: strictly increasing).
    public var crlNumber: Int64
    public var entries: [Entry]

    public init(trustDomain: String, crlNumber: Int64 = 0, entries: [Entry] = []) {
        self.trustDomain = trustDomain
        self.crlNumber = crlNumber
        self.entries = entries
    }

    /// Serialized form: a JSON object, one `certificates` element per line.
    func serialized() -> [UInt8] {
        let head = JSONValue.object(["version": .int(Self.formatVersion), "trust_domain": .string(trustDomain),
                                     "crl_number": .int(Int(crlNumber))]).serialized()
        let rows = entries.map { e -> String in
            JSONValue.object(["serial": .string(e.serialHex), "kind": .string(e.kind.rawValue),
                              "name": .string(e.name), "identity": .string(e.identity),
                              "not_before": .int(Int(e.notBefore)), "not_after": .int(Int(e.notAfter)),
                              "revoked_at": e.revokedAt.map { .int(Int($0)) } ?? .null]).serialized()
        }
        let body = rows.isEmpty ? "[]" : "[\n  " + rows.joined(separator: ",\n  ") + "\n]"
        return Array((head.dropLast() + ",\"certificates\":" + body + "}\n").utf8)
    }

    /// Parses `index.json`; any missing or mistyped field is `.corruptIndex` (fail closed: a
    /// half-understood index could forget a revocation).
    static func parse(_ bytes: [UInt8]) throws(PKIError) -> PKIIndex {
        let root: JSONValue
        do { root = try JSONParser.parse(bytes) } catch { throw .corruptIndex(reason: error.description) }
        guard case .object(let obj) = root else { throw .corruptIndex(reason: "top level is not an object") }
        var r = FieldReader<FieldError>(object: obj, context: "")
        guard (try? r.int("version")) == formatVersion else { throw .corruptIndex(reason: "unsupported version") }
        let td: String, crl: Int, rows: [JSONValue]
        do throws(FieldError) {
            td = try r.string("trust_domain")
            crl = try r.int("crl_number")
            if crl < 0 { throw r.error("crl_number", "must be >= 0") }
            rows = try r.array("certificates")
        } catch { throw .corruptIndex(reason: error.field) }
        var entries: [Entry] = []
        for (i, row) in rows.enumerated() {
            // A bad row is reported as the row, whichever of its fields is wrong.
            do throws(FieldError) { entries.append(try entry(row, "certificates[\(i)]")) } catch {
                throw .corruptIndex(reason: "certificates[\(i)]")
            }
        }
        return PKIIndex(trustDomain: td, crlNumber: Int64(crl), entries: entries)
    }

    private static func entry(_ row: JSONValue, _ context: String) throws(FieldError) -> Entry {
        var r = try FieldReader<FieldError>(row, context)
        let serial = try r.string("serial")
        guard SerialNumber.isValidHex(serial) else { throw r.error("serial", "must be a hex serial") }
        guard let kind = Kind(rawValue: try r.string("kind")) else { throw r.error("kind", "unknown kind") }
        let name = try r.string("name")
        let identity = try r.string("identity")
        let nb = try r.int("not_before")
        let na = try r.int("not_after")
        let revoked = try r.required("revoked_at")
        guard revoked.isNull || revoked.intValue != nil else { throw r.error("revoked_at", "must be an integer or null") }
        return Entry(serialHex: SerialNumber.normalize(serial), kind: kind, name: name, identity: identity,
                     notBefore: Int64(nb), notAfter: Int64(na), revokedAt: revoked.intValue.map(Int64.init))
    }

    /// Records a newly issued certificate.
    mutating func record(_ cert: Certificate, kind: Kind, name: String, identity: String) {
        entries.append(Entry(serialHex: cert.serialHex, kind: kind, name: name, identity: identity,
                             notBefore: cert.notBefore, notAfter: cert.notAfter, revokedAt: nil))
    }

    /// Revoked entries, as CRL entries.
    var revocations: [RevocationList.Entry] {
        entries.compactMap { e in e.revokedAt.map { RevocationList.Entry(serialHex: e.serialHex, revokedAt: $0) } }
    }
}
