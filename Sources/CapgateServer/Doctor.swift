import AgentKernel
import CapgatePKI
import CapgateStore
import Foundation

/// `capgate doctor`: checks a loaded configuration's files and environment before `serve`
/// (docs/operations.md "capgate status and doctor"). Each check gives one line, ok, warn or
/// fail; any fail means `serve` would not start or would serve wrongly (every handshake
/// failing on a stale CRL, a key others can read). Read-only: it creates and changes nothing
/// (the port is bound and closed at once).
public enum Doctor {
    public enum Level: String, Sendable, Comparable {
        case ok, warn, fail
        public static func < (a: Level, b: Level) -> Bool { a.rank < b.rank }
        var rank: Int { self == .ok ? 0 : self == .warn ? 1 : 2 }
    }

    public struct Check: Sendable, Equatable {
        public var name: String
        public var level: Level
        public var detail: String
        public init(_ name: String, _ level: Level, _ detail: String) {
            self.name = name
            self.level = level
            self.detail = detail
        }
    }

    /// Every check of `config`, in a fixed order. `now`: Unix seconds (tests);
    /// `checkPort`: false skips binding the listen address.
    public static func run(_ config: ServerConfig, now: Int64 = Int64(Date().timeIntervalSince1970),
                           checkPort: Bool = true) -> [Check] {
        var out: [Check] = []
        let window = Int64(config.certificateExpiryWarning)
        let bundle = trustBundle(config, now: now, window: window, into: &out)
        serverCertificate(config, bundle: bundle, now: now, window: window, into: &out)
        out.append(keyPermissions(config.tls.privateKey))
        out.append(crl(config, bundle: bundle, now: now))
        out.append(stateDir(config.stateDir))
        let secret = secretCheck(config)
        out.append(secret.check)
        out.append(auditStore(config, secret: secret.value))
        out.append(killSwitches(config))
        if checkPort { out.append(listen(config)) }
        return out
    }

    static func days(_ seconds: Int64) -> String {
        seconds >= 86_400 ? "\(seconds / 86_400)d" : "\(max(0, seconds) / 3600)h"
    }

    static func iso(_ unix: Int64) -> String { Timestamp(microseconds: unix * 1_000_000).isoformat }

    /// Validity of one certificate now: fail outside it, warn within the warning window.
    static func validity(_ c: Certificate, now: Int64, window: Int64) -> (Level, String) {
        if now < c.notBefore { return (.fail, "not valid before \(iso(c.notBefore))") }
        if now > c.notAfter { return (.fail, "EXPIRED at \(iso(c.notAfter))") }
        let left = c.notAfter - now
        return (left <= window ? .warn : .ok, "expires \(iso(c.notAfter)) (in \(days(left)))")
    }

    /// The CA certificates (`[tls] trust_bundle` and each `[[trust_domain]]` bundle).
    static func trustBundle(_ config: ServerConfig, now: Int64, window: Int64, into out: inout [Check]) -> [Certificate] {
        var all: [Certificate] = []
        for file in [config.tls.trustBundle] + config.tls.trustDomains.map(\.bundle) {
            do {
                let certs = try Certificate.all(pem: try SecureFile.read(file))
                guard !certs.isEmpty else {
                    out.append(Check("trust_bundle", .fail, "\(file): no certificate"))
                    continue
                }
                for c in certs {
                    let (level, text) = validity(c, now: now, window: window)
                    let ca = c.isCA ? "" : " (NOT a CA certificate)"
                    out.append(Check("trust_bundle", c.isCA ? level : .fail, "\(file): \(c.subject)\(ca): \(text)"))
                }
                all += certs
            } catch {
                out.append(Check("trust_bundle", .fail, "\(error)"))
            }
        }
        return all
    }

    /// The serving chain: readable, valid now, matching the private key, and verifiable
    /// from the trust bundle (a warning only: clients may trust another CA for the server).
    static func serverCertificate(_ config: ServerConfig, bundle: [Certificate], now: Int64, window: Int64,
                                  into out: inout [Check]) {
        let path = config.tls.certificate
        let chain: [Certificate]
        do { chain = try Certificate.all(pem: try SecureFile.read(path)) } catch {
            out.append(Check("server_certificate", .fail, "\(error)"))
            return
        }
        guard let leaf = chain.first else {
            out.append(Check("server_certificate", .fail, "\(path): no certificate"))
            return
        }
        let (level, text) = validity(leaf, now: now, window: window)
        out.append(Check("server_certificate", level, "\(leaf.subject): \(text)"))
        do {
            let key = try PrivateKey(pem: try SecureFile.read(config.tls.privateKey))
            out.append(leaf.matches(key) ? Check("server_key", .ok, "matches the certificate")
                       : Check("server_key", .fail, "\(config.tls.privateKey) is not the key of \(path)"))
        } catch {
            out.append(Check("server_key", .fail, "\(config.tls.privateKey): \(error)"))
        }
        do {
            try leaf.verify(trustAnchors: bundle + chain.dropFirst(), at: now, purpose: .tlsServer)
            out.append(Check("server_chain", .ok, "verifies against the trust bundle for TLS server use"))
        } catch {
            out.append(Check("server_chain", .warn, "does not verify against the trust bundle (\(error)); clients "
                             + "must trust its issuer some other way"))
        }
    }

    /// The OpenSSH rule the PKI applies to its own keys: no access for group or others.
    public static func keyPermissions(_ path: String) -> Check {
        var st = stat()
        guard stat(path, &st) == 0 else { return Check("key_permissions", .fail, "\(path): cannot stat (errno \(errno))") }
        let mode = st.st_mode & 0o777
        let octal = String(mode, radix: 8)
        if mode & 0o077 != 0 {
            return Check("key_permissions", .fail, "\(path) is mode \(octal): readable beyond its owner; chmod 600 it")
        }
        if st.st_uid != geteuid() {
            return Check("key_permissions", .warn, "\(path) (mode \(octal)) is owned by uid \(st.st_uid), not by this user")
        }
        return Check("key_permissions", .ok, "\(path) is mode \(octal)")
    }

    /// The CRL: present (or optional and absent: revocation off, a warning), signed by a CA
    /// of the bundle, and before its nextUpdate (past it every handshake fails).
    static func crl(_ config: ServerConfig, bundle: [Certificate], now: Int64) -> Check {
        guard let path = config.tls.crl else {
            return Check("crl", .warn, "no [tls] crl: revoked client certificates are accepted")
        }
        guard FileManager.default.fileExists(atPath: path) else {
            if let off = RevocationWarnings.revocationOffMessage(crlOptional: config.tls.crlOptional, crlPath: path,
                                                                 checking: false) {
                return Check("crl", .warn, off)
            }
            return Check("crl", .fail, "\(path) does not exist")
        }
        let list: RevocationList
        do { list = try RevocationList(pem: try SecureFile.read(path)) } catch {
            return Check("crl", .fail, "\(path): \(error)")
        }
        guard bundle.contains(where: { list.isSigned(by: $0) }) else {
            return Check("crl", .fail, "\(path) is not signed by a CA of the trust bundle")
        }
        let next = list.nextUpdate
        switch RevocationWarnings(windowSeconds: config.crlExpiryWarning).freshness(nextUpdate: next, now: now) {
        case .stale:
            return Check("crl", .fail, "\(path) is STALE: nextUpdate \(iso(next ?? 0)) has passed, every client "
                         + "handshake would fail; publish a fresh one (capgate pki crl)")
        case .dueSoon:
            return Check("crl", .warn, "\(path): nextUpdate \(iso(next ?? 0)) (in \(days((next ?? now) - now))); "
                         + "publish a fresh one soon")
        case .fresh:
            return Check("crl", .ok, "\(path): \(list.entries.count) revoked, nextUpdate "
                         + (next.map { "\(iso($0)) (in \(days($0 - now)))" } ?? "none"))
        }
    }

    static func stateDir(_ dir: String) -> Check {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) else {
            let parent = (dir as NSString).deletingLastPathComponent
            return access(parent.isEmpty ? "." : parent, W_OK) == 0
                ? Check("state_dir", .warn, "\(dir) does not exist yet; serve creates it")
                : Check("state_dir", .fail, "\(dir) does not exist and cannot be created")
        }
        guard isDir.boolValue else { return Check("state_dir", .fail, "\(dir) is not a directory") }
        guard access(dir, R_OK | W_OK | X_OK) == 0 else { return Check("state_dir", .fail, "\(dir) is not writable") }
        return Check("state_dir", .ok, "\(dir) is writable")
    }

    /// The HMAC secret. A missing one is created by `serve`: fine on a first start, but
    /// with existing state (an audit store, revocations) a new secret would no longer verify
    /// the old tokens and audit chain, so then it fails.
    static func secretCheck(_ config: ServerConfig) -> (check: Check, value: String?) {
        let path = config.secretFile
        guard FileManager.default.fileExists(atPath: path) else {
            let state = [config.audit.path(stateDir: config.stateDir), config.stateDir + "/revocations.log"]
                .compactMap { $0 }.filter { FileManager.default.fileExists(atPath: $0) }
            if state.isEmpty {
                return (Check("secret", .warn, "\(path) does not exist; serve creates it (first start)"), nil)
            }
            return (Check("secret", .fail, "\(path) is MISSING but \(state.joined(separator: ", ")) exist: a new "
                          + "secret would not verify their tokens and audit chain; restore it"), nil)
        }
        do {
            let secret = try SecretFile.load(path: path)
            return (Check("secret", .ok, "\(path) is readable by its owner only"), secret)
        } catch {
            return (Check("secret", .fail, "\(error)"), nil)
        }
    }

    /// The audit store opens and its hash chain verifies with the secret.
    static func auditStore(_ config: ServerConfig, secret: String?) -> Check {
        guard let path = config.audit.path(stateDir: config.stateDir) else {
            return Check("audit_store", .ok, "memory (traces do not survive a restart)")
        }
        guard FileManager.default.fileExists(atPath: path) else {
            return Check("audit_store", .ok, "\(path) does not exist yet; serve creates it")
        }
        do {
            let reader = try AuditFileReader(path: path)
            guard let secret else { return Check("audit_store", .warn, "\(path) opens; chain not verified (no secret)") }
            let v = try reader.verify(secret: secret)
            return v.ok ? Check("audit_store", .ok, "\(path): \(v.recordsChecked) records, chain verifies")
                : Check("audit_store", .fail, "\(path): chain does NOT verify: \(v.detail)")
        } catch {
            return Check("audit_store", .fail, "\(path): \(error.message)")
        }
    }

    static func killSwitches(_ config: ServerConfig) -> Check {
        let path = config.stateDir + "/" + KillSwitches.fileName
        do {
            let state = try KillSwitches.load(path: path)
            if state.isEmpty { return Check("kill_switches", .ok, "nothing paused") }
            var items = state.all == nil ? [] : ["everything (pause_all)"]
            items += state.capabilities.keys.sorted().map { "capability \($0)" }
            items += state.principals.keys.sorted().map { "principal \($0)" }
            return Check("kill_switches", .warn, "paused at start: " + items.joined(separator: ", "))
        } catch {
            return Check("kill_switches", .fail, "\(error)")
        }
    }

    /// Binds the listen address (SO_REUSEADDR, as the server does) and closes it at once.
    static func listen(_ config: ServerConfig) -> Check {
        let where_ = "\(config.listenHost):\(config.listenPort)"
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(config.listenHost, String(config.listenPort), &hints, &res) == 0, let ai = res else {
            return Check("listen", .fail, "\(where_): cannot resolve the host")
        }
        defer { freeaddrinfo(res) }
        let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
        guard fd >= 0 else { return Check("listen", .fail, "\(where_): socket failed (errno \(errno))") }
        defer { close(fd) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else {
            let e = errno
            return Check("listen", .fail, "\(where_) cannot be bound: \(String(cString: strerror(e)))"
                         + (e == EADDRINUSE ? " (another process listens there)" : ""))
        }
        return Check("listen", .ok, "\(where_) is free")
    }
}
