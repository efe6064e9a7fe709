import ArgumentParser
import CLibcShims
import COpenSSLShims
import CapgateServer
import Foundation

/// Exit codes of every command: 0 done, 1 the operation failed (message on stderr),
/// 2 usage error (CommandLineEntry).
func fail(_ message: String, code: Int32 = 2) -> Never {
    FileHandle.standardError.write(("capgate: " + message + "\n").data(using: .utf8)!)
    exit(code)
}

struct Capgate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capgate",
        abstract: "The capgate sidecar: the agent capability kernel behind mTLS HTTP/2.",
        discussion: "Exit status: 0 done, 1 the operation failed (message on stderr), 2 usage error.",
        subcommands: [Serve.self, CheckConfig.self, Doctor.self, Status.self, Pause.self, Resume.self, Paused.self,
                      PKICommand.self, AuditCommand.self, StoreCommand.self])

    /// `capgate` alone is a usage error (exit 2), not a request for help.
    func run() throws {
        throw ValidationError("a command is required: serve, check-config, doctor, status, pause, resume, paused, pki, "
                              + "audit or store (see capgate --help)")
    }
}

/// `capgate serve`: validate, build, bind, then serve until SIGTERM/SIGINT (SIGHUP reloads).
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the kernel over mTLS HTTP/2 until SIGTERM or SIGINT (SIGHUP reloads TLS material).",
        discussion: """
            Without --config, capgate prepares a demo under --state-dir (a dev PKI, a client \
            certificate, a kernel secret, a configuration) and prints a curl command that works.
            """)

    @Option(help: ArgumentHelp("The server configuration (TOML; see `capgate check-config`).", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("The listen address; overrides the configuration's [server] listen. "
                               + "Without --config the default is 127.0.0.1:8443.", valueName: "host:port"))
    var listen: String?

    @Option(help: ArgumentHelp("The state directory; overrides the configuration's. Without --config "
                               + "the demo is written here, by default ./.capgate.", valueName: "dir"))
    var stateDir: String?

    @Option(help: ArgumentHelp("The Prometheus metrics listener (plain HTTP, loopback addresses only), or `off`; "
                               + "overrides the configuration's [metrics] listen. Without --config the default "
                               + "is \(MetricsSettings.defaultListen).", valueName: "host:port"))
    var metricsListen: String?

    @Flag(help: ArgumentHelp("Also accept TLS clients that offer no ALPN at all (they must then speak HTTP/2 "
                             + "directly); a client offering ALPN without h2 is still refused. Only for TLS scanners "
                             + "that cannot offer ALPN (make scan); off by default."))
    var allowMissingALPN = false

    func run() throws {
        Self.recycleOpenSSLBlocksPerThread()
        do {
            var config: ServerConfig
            if let path = self.config {
                config = try ServerConfig.load(path: path)
                if let dir = stateDir { config.stateDir = dir }
            } else {
                let (host, port) = try ServerConfig.parseListen(listen ?? "127.0.0.1:8443", key: "--listen")
                config = try DemoConfig.prepare(stateDir: stateDir ?? "./.capgate", host: host, port: port)
            }
            if let l = listen, self.config != nil {
                (config.listenHost, config.listenPort) = try ServerConfig.parseListen(l, key: "--listen")
            }
            try applyMetricsListen(&config)
            config.tls.allowMissingALPN = allowMissingALPN
            Self.keepHeapTopForBursts()
            let gateway = try Gateway(config: config, configPath: self.config)
            gateway.metrics.registry.bootstrapSwiftMetrics()
            let port = try gateway.start()
            try gateway.installSignalHandlers()
            if self.config == nil {
                // Unbuffered: the command must show up at once, also when stdout is a pipe.
                let curl = DemoConfig.curlExample(stateDir: config.stateDir, host: config.listenHost, port: Int(port))
                FileHandle.standardOutput.write("capgate demo ready. Try:\n  \(curl)\n".data(using: .utf8)!)
            }
            gateway.waitUntilStopped()
            print("capgate stopped")
        } catch {
            fail("\(error)", code: 1)
        }
    }
}

extension Serve {
    /// Free heap a thread's malloc arena keeps instead of handing it back to the kernel.
    static let retainedHeapTopBytes = 4 * 1024 * 1024

    /// WHY: every request runs in its own Swift task, whose frames and slabs come from the
    /// event loop thread's malloc arena. With glibc's default (128 KiB, raised only after an
    /// mmapped block is freed), a burst of concurrent requests (h2load 4x16) freed enough at
    /// the heap's top to trim it after every burst, and the next burst faulted the same pages
    /// back in: 2.5 page faults and about a quarter of the server's CPU per `explain`. At
    /// 4 MiB the pages stay (16x16 stayed at zero faults); the cost is at most that much free
    /// memory per busy arena. Set here, by the process that owns the allocator, not by the
    /// library a host could embed. A refusal only keeps glibc's default.
    static func keepHeapTopForBursts() {
        _ = capgate_malloc_set_trim_threshold(retainedHeapTopBytes)
    }

    /// WHY: the kernel's requests and OpenSSL's handshakes share each event loop thread's
    /// malloc arena. After the verb loads of make bench the loop arenas held ~27 MiB free in
    /// ~70,000 holes between live store entries, and glibc's FIFO small bins handed each
    /// handshake the oldest of them: ~0.25 ms more CPU per full mTLS handshake (1.06 vs 0.82 ms)
    /// than on a fresh process. OpenSSL's small blocks now go through a bounded per-thread LIFO
    /// cache (COpenSSLShims/ossl_block_cache.c, Sources/CapgateTLS/README.md). Installed first,
    /// before OpenSSL's first allocation (the demo's PKI, the configuration's certificates); a
    /// refusal keeps OpenSSL's default allocator and changes nothing else.
    static func recycleOpenSSLBlocksPerThread() {
        _ = capgate_ossl_cache_install()
    }

    /// `--metrics-listen` wins; without it the demo (no --config) serves metrics on the
    /// embedded default, optional (a busy port is a warning), and a configuration file keeps
    /// its `[metrics]`.
    func applyMetricsListen(_ config: inout ServerConfig) throws {
        if let value = metricsListen {
            if value == "off" {
                config.metrics = MetricsSettings()
            } else {
                let (host, port) = try ServerConfig.parseListen(value, key: "--metrics-listen")
                config.metrics.listenHost = host
                config.metrics.listenPort = port
                config.metrics.optional = false
            }
        } else if self.config == nil {
            let (host, port) = try ServerConfig.parseListen(MetricsSettings.defaultListen, key: "--metrics-listen")
            config.metrics.listenHost = host
            config.metrics.listenPort = port
            config.metrics.optional = true
        }
    }
}

/// `capgate check-config FILE`: load and validate everything `serve` would, bind nothing.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a server configuration as `serve` would, without binding; print a summary.")

    @Argument(help: ArgumentHelp("The server configuration (TOML) to validate.", valueName: "file"))
    var file: String

    func run() throws {
        do {
            let config = try ServerConfig.load(path: file)
            print("ok: " + Self.summary(config))
            // `serve` would start without revocation checking: say so (issue 14 finding 11).
            let crlExists = config.tls.crl.map { FileManager.default.fileExists(atPath: $0) } ?? false
            if let message = RevocationWarnings.revocationOffMessage(crlOptional: config.tls.crlOptional,
                                                                     crlPath: config.tls.crl, checking: crlExists) {
                print("warning: \(message)")
            }
        } catch {
            fail("\(file): \(error)", code: 1)
        }
    }

    /// The one-line summary of a loaded configuration (also `capgate doctor`'s first line).
    static func summary(_ config: ServerConfig) -> String {
        "\(config.capabilities.count) capabilities, \(config.drivers.count) drivers, "
            + "\(config.identities.rules.count) identity rules, listen \(config.listenHost):\(config.listenPort)"
    }
}
