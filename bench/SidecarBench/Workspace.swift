import AgentKernel
import CapgatePKI
import CapgateTLS
import Foundation

/// The run's temp directory: a dev PKI (CA, server leaf, agent `alice`), the sidecar's TOML
/// configuration, nginx's prefix and config, nghttpx's log. Nothing is written outside it
/// except the report. Removed at the end of the run.
struct Workspace {
    let root: String
    let pki: PKIDirectory
    static let trustDomain = "capgate.local"
    static let agent = "alice"

    static func create() throws -> Workspace {
        var template = Array("/tmp/capgate-bench-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw BenchError.setup("mkdtemp: errno \(errno)") }
        let root = String(cString: p)
        // nginx workers may run as another user: they must traverse to the static file.
        chmod(root, 0o755)
        let pki = PKIDirectory(path: root + "/pki")
        do {
            try pki.ensureDevPKI(agents: [agent], trustDomain: trustDomain)
        } catch {
            throw BenchError.setup("dev PKI: \(error)")
        }
        return Workspace(root: root, pki: pki)
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    func clientTLS() throws -> TLSContext {
        try TLSContext.client(certificate: pki.agentCertificatePath(Self.agent), key: pki.agentKeyPath(Self.agent),
                              trustBundle: pki.caCertificatePath, serverName: "localhost")
    }

    /// The sidecar configuration of the bench: the reference's billing scenario (two
    /// capabilities, the billing driver, `alice` as a reader of tenant acme), exactly what
    /// bench/reference_bench.py builds, so the three sides run the same kernel work.
    ///
    /// Bench-only departures from the demo, each the same on every side:
    /// - rate limit READ = [10^12 per 1 ms]: the sliding-window log keeps every hit of its
    ///   window and a 60 s window at 10^5 grants/s would make each grant scan millions of
    ///   entries (the reference has the same list); 1 ms keeps the log tiny and never denies.
    /// - budgets off: the per-principal output budget (100k tokens) would run out after a few
    ///   hundred invokes; the in-process kernel and the reference run without budgets too.
    /// - maxStreamsPerConnection 10^9 (default 1000, then GOAWAY): a warm connection stays
    ///   warm for the whole run, as nginx's keepalive_requests is raised below.
    /// - connection caps raised for the idle-connection memory point (all from one identity
    ///   and one address, opened at once: the pre-auth budget and handshake rates too).
    /// `name`: the file (`<name>.toml`) and, unless `capgate`, the state directory
    /// (`state-<name>`), so several sidecars share the PKI and the secret (the fleet point).
    func writeSidecarConfig(idleConnections: Int, extra: String = "", name: String = "capgate") throws -> String {
        let caps = max(4096, idleConnections * 2 + 64)
        let text = """
            [server]
            listen = "127.0.0.1:0"
            state_dir = "\(name == "capgate" ? "state" : "state-" + name)"
            event_loops = \(ProcessInfo.processInfo.activeProcessorCount)
            [tls]
            certificate = "pki/server.pem"
            private_key = "pki/server.key"
            trust_bundle = "pki/ca.pem"
            crl = "pki/crl.pem"
            [secret]
            file = "secret"
            [[identity]]
            spiffe_id = "spiffe://\(Self.trustDomain)/agent/\(Self.agent)"
            principal_id = "alice"
            roles = ["reader"]
            attributes = { tenant = "acme" }
            [[driver]]
            id = "billing"
            type = "billing"
            [[capability]]
            capability_id = "billing.list_invoices"
            name = "List Invoices"
            description = "List all invoices, optionally filtered by status"
            safety_class = "READ"
            sensitivity = "PII"
            allowed_fields = ["id", "customer_name", "amount", "currency", "status", "date"]
            tags = ["billing", "invoices", "list"]
            drivers = ["billing"]
            [[capability]]
            capability_id = "billing.summarize_spend"
            name = "Summarize Spend"
            description = "Summarize total spend per currency and status"
            safety_class = "READ"
            tags = ["billing", "summary", "analytics"]
            drivers = ["billing"]
            [policy]
            engine = "default"
            [policy.rate_limits]
            READ = [1000000000000, 0.001]
            [budgets]
            total = 0
            [limits]
            maxStreamsPerConnection = 1000000000
            maxConnectionsPerIP = \(caps)
            maxConnectionsGlobal = \(caps)
            maxConnectionsPerIdentity = \(caps)
            maxPreAuthPerSource = \(caps)
            maxPreAuthGlobal = \(caps)
            handshakeRatePerSource = { burst = \(caps), per_second = \(caps) }
            handshakeRateGlobal = { burst = \(caps), per_second = \(caps) }
            idleTimeout = 600
            """ + extra
        let path = root + "/\(name).toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// nginx 1.22 (Debian) with its own prefix: TLS 1.3 only, the sidecar's groups, client
    /// certificate required and verified against the same CA and CRL, HTTP/2, one static
    /// JSON file. Every path lives in the temp dir; `daemon off` keeps the master our child.
    /// Workers = cores, like the sidecar's event loops.
    func writeNginxConfig(port: UInt16, staticBody: [UInt8], idleConnections: Int) throws -> String {
        let prefix = root + "/nginx"
        for d in ["", "/html", "/logs", "/tmp"] {
            try FileManager.default.createDirectory(atPath: prefix + d, withIntermediateDirectories: true)
            chmod(prefix + d, 0o755)
        }
        _ = FileManager.default.createFile(atPath: prefix + "/html/invoke.json", contents: Data(staticBody))
        chmod(prefix + "/html/invoke.json", 0o644)
        let conf = """
            worker_processes \(ProcessInfo.processInfo.activeProcessorCount);
            daemon off;
            pid \(prefix)/nginx.pid;
            error_log \(prefix)/logs/error.log warn;
            events { worker_connections \(max(4096, idleConnections * 2 + 64)); }
            http {
                access_log off;
                client_body_temp_path \(prefix)/tmp/body;
                proxy_temp_path \(prefix)/tmp/proxy;
                fastcgi_temp_path \(prefix)/tmp/fastcgi;
                uwsgi_temp_path \(prefix)/tmp/uwsgi;
                scgi_temp_path \(prefix)/tmp/scgi;
                default_type application/json;
                keepalive_requests 1000000000;
                keepalive_timeout 600s;
                server {
                    listen 127.0.0.1:\(port) ssl http2;
                    server_name localhost;
                    ssl_certificate \(pki.serverCertificatePath);
                    ssl_certificate_key \(pki.serverKeyPath);
                    ssl_protocols TLSv1.3;
                    ssl_ecdh_curve X25519:prime256v1:secp384r1;
                    ssl_verify_client on;
                    ssl_client_certificate \(pki.caCertificatePath);
                    ssl_crl \(pki.crlPath);
                    ssl_session_tickets off;
                    root \(prefix)/html;
                    location / { }
                }
            }
            """
        let path = prefix + "/nginx.conf"
        try conf.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// nghttpx arguments: plain h2 frontend on loopback for h2load, TLS h2 backend to
    /// `backendPort` presenting alice's certificate (h2load cannot send one).
    func nghttpxArguments(frontend: UInt16, backend: UInt16) -> [String] {
        [
            "--conf=/dev/null",
            "--frontend=127.0.0.1,\(frontend);no-tls",
            "--backend=127.0.0.1,\(backend);;tls;sni=localhost;proto=h2",
            "--client-private-key-file=\(pki.agentKeyPath(Self.agent))",
            "--client-cert-file=\(pki.agentCertificatePath(Self.agent))",
            "--cacert=\(pki.caCertificatePath)",
            "--workers=1",
            "--log-level=WARN",
            "--errorlog-file=\(root)/nghttpx-\(backend).log",
            "--pid-file=\(root)/nghttpx-\(backend).pid",
            "--no-ocsp",
            "--no-via",
            "--no-server-push",
        ]
    }
}
