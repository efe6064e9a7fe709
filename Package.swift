// swift-tools-version:6.0
// capgate's architecture, read bottom-up: each target depends only on targets above it in this
// file, and every layer has one comment saying what it owns (docs/design.md §1 has the same table).
//
//   1. C            system libraries (module maps) and one shim target per layer
//   2. Foundations  CapgateFormats (JSON, TOML, field reader), CapgateCore (limits), CapgateX509, CapgateIO
//   3. Kernel       AgentKernel (no networking), KernelConformance
//   4. Transport    CapgateTLS, CapgateHTTP2, CapgateConnection (server + connection core), CapgateHTTPClient
//   5. Application  CapgateWire, CapgatePKI, CapgateDrivers, CapgateStore, CapgateServer, CapgateClient
//   6. Executables  CapgateCLI, capgate, kernel-bench, capgate-bench, capgate-fuzz
//   7. Tests        CapgateTesting (test support) and one test target per source target
//
// The kernel never imports networking; the transport never imports the kernel; C names stay in
// the C and shim targets. Linux only (epoll, eventfd, signalfd): no platform is claimed.
import PackageDescription

let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")

let package = Package(
    name: "capgate",
    products: [
        // What an integrator uses: the kernel in process, its conformance suite, the typed client.
        .library(name: "AgentKernel", targets: ["AgentKernel"]),
        .library(name: "KernelConformance", targets: ["KernelConformance"]),
        .library(name: "CapgateClient", targets: ["CapgateClient"]),
        .executable(name: "capgate", targets: ["capgate"]),
        .executable(name: "kernel-bench", targets: ["KernelBench"]),
        .executable(name: "capgate-bench", targets: ["SidecarBench"]),
    ],
    dependencies: [
        // CLI parsing (capgate, capgate-bench, kernel-bench) and the logging API (docs/dependencies.md).
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // bench only: latency histograms (docs/dependencies.md).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // the metrics API and its Prometheus text exposition (docs/dependencies.md, docs/operations.md).
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // ── 1. C: Debian's libraries through module maps, and one-line shims for the macros and
        // Glibc gaps Swift cannot import, one shim target per layer so each sees only its C.
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CNghttp2", path: "Sources/CNghttp2", pkgConfig: "libnghttp2",
                       providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "CPCRE2", path: "Sources/CPCRE2", pkgConfig: "libpcre2-8",
                       providers: [.apt(["libpcre2-dev"])]),
        .systemLibrary(name: "CLibYAML", path: "Sources/CLibYAML", pkgConfig: "yaml-0.1",
                       providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        // libcurl for the HTTP driver (docs/drivers.md); only CapgateDrivers links it, never the kernel
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        // libpq for the shared store of a sidecar fleet (docs/deployment.md); only CapgatePostgres links it
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "CIOShims"),
        .target(name: "CLibcShims"),
        .target(name: "COpenSSLShims", dependencies: ["COpenSSL"]),
        .target(name: "CNghttp2Shims", dependencies: ["CNghttp2"]),

        // ── 2. Foundations: pure building blocks every upper layer shares (one of each).
        // Ordered JSON (strict reader; wire, canonical and Python writers), TOML, the strict field reader.
        .target(name: "CapgateFormats", exclude: ["README.md"]),
        // GatewayLimits, the one limits type (docs/limits.md), and its token bucket.
        .target(name: "CapgateCore", exclude: ["README.md"]),
        // The one X.509 layer: PEM/DER, the OpenSSL error queue, serials, SPIFFE IDs, SANs, CRLs.
        .target(name: "CapgateX509", dependencies: ["COpenSSL", "COpenSSLShims"], exclude: ["README.md"]),
        // Our epoll event loops: eventfd wake-ups, timers, sockets, acceptor, signals.
        .target(name: "CapgateIO", dependencies: ["CIOShims"], exclude: ["README.md"]),

        // ── 3. Kernel: the port of weaver-kernel 0.12.0 (docs/reference-semantics.md). No sockets.
        .target(name: "AgentKernel",
                dependencies: ["CapgateFormats", "COpenSSL", "COpenSSLShims", "CLibcShims", "CPCRE2", "CLibYAML"],
                exclude: ["README.md"]),
        // The reference's invariants against any `KernelAPI` (in process or over the wire).
        .target(name: "KernelConformance", dependencies: ["AgentKernel"], exclude: ["README.md"]),

        // ── 4. Transport: TLS 1.3 with mandatory client certificates, sans-IO HTTP/2, and one
        // connection core under both the server and the client. Never imports the kernel.
        .target(name: "CapgateTLS", dependencies: ["CapgateX509", "COpenSSL", "COpenSSLShims"], exclude: ["README.md"]),
        .target(name: "CapgateHTTP2", dependencies: ["CapgateCore", "CNghttp2", "CNghttp2Shims"], exclude: ["README.md"]),
        .target(name: "CapgateConnection",
                dependencies: ["CapgateIO", "CapgateTLS", "CapgateHTTP2", "CapgateCore", logging],
                exclude: ["README.md"]),
        .target(name: "CapgateHTTPClient", dependencies: ["CapgateConnection", "CapgateIO", "CapgateTLS", "CapgateHTTP2"],
                exclude: ["README.md"]),

        // ── 5. Application: the wire contract, the PKI, drivers that leave the process, the
        // server (configuration, identity mapping, the kernel service) and the typed client.
        .target(name: "CapgateWire", dependencies: ["AgentKernel"], exclude: ["README.md"]),
        .target(name: "CapgatePKI", dependencies: ["CapgateX509", "CapgateFormats", "COpenSSL", "COpenSSLShims"],
                exclude: ["README.md"]),
        .target(name: "CapgateDrivers", dependencies: ["AgentKernel", "CapgateHTTPClient", "CapgateTLS", "CCurl"],
                exclude: ["README.md"]),
        // The durable audit trail: the reference's SQLite hash chain behind the kernel's trace seam.
        .target(name: "CapgateStore", dependencies: ["AgentKernel", "CSQLite"], exclude: ["README.md"]),
        // The shared store of a sidecar fleet on PostgreSQL (libpq on threads of its own).
        .target(name: "CapgatePostgres", dependencies: ["AgentKernel", "CLibPQ"], exclude: ["README.md"]),
        // The metrics registry (swift-prometheus) and its loopback HTTP/1.1 scrape listener on a thread of its own.
        .target(name: "CapgateMetrics", dependencies: ["CapgateIO", prometheus, metrics], exclude: ["README.md"]),
        .target(name: "CapgateServer", dependencies: ["AgentKernel", "CapgateStore", "CapgatePostgres", "CapgateWire", "CapgateCore", "CapgatePKI",
                                                     "CapgateConnection", "CapgateTLS", "CapgateIO", "CapgateHTTP2",
                                                     "CapgateDrivers", "CapgateMetrics", logging],
                exclude: ["README.md"]),
        .target(name: "CapgateClient", dependencies: ["AgentKernel", "CapgateWire", "CapgateHTTPClient", "CapgateTLS"],
                exclude: ["README.md"]),

        // ── 6. Executables: parse, validate, fail fast, run.
        .target(name: "CapgateCLI", dependencies: [argumentParser], exclude: ["README.md"]),
        .executableTarget(name: "capgate", dependencies: ["CapgateServer", "CapgatePKI", "CapgateIO", "CapgateCLI", "CapgateStore",
                                                          "CapgateClient", "CapgatePostgres", argumentParser, "CapgateMetrics",
                                                          "CLibcShims", "COpenSSLShims"],
                          exclude: ["README.md"]),
        // kernel verbs in process vs the Python reference (make bench-kernel)
        .executableTarget(name: "KernelBench", dependencies: ["AgentKernel", "CapgateCLI", argumentParser],
                          path: "bench/KernelBench"),
        // sidecar vs in-process vs reference vs nginx (make bench, docs/benchmarks.md)
        .executableTarget(name: "SidecarBench",
                          dependencies: ["AgentKernel", "CapgateServer", "CapgateDrivers", "CapgateClient", "CapgateHTTPClient",
                                         "CapgateTLS", "CapgatePKI", "CapgateIO", "CapgateCLI", argumentParser,
                                         .product(name: "Histogram", package: "hdrhistogram-swift"),
                                         // the fleet point's throwaway PostgreSQL cluster
                                         "CapgateTesting"],
                          path: "bench/SidecarBench", exclude: ["README.md"]),
        // durable vs in-memory audit invoke throughput in one run (make bench-audit, docs/audit.md)
        .executableTarget(name: "audit-bench", dependencies: ["AgentKernel", "CapgateServer", "CapgateClient", "CapgatePKI"],
                          path: "bench/AuditBench"),
        // libFuzzer targets for every parser an untrusted peer or file reaches (fuzz/README.md)
        .target(name: "CapgateFuzzing",
                dependencies: ["AgentKernel", "CapgateWire", "CapgateServer", "CapgateHTTP2", "CapgateCore", "CapgateTLS",
                               "CapgateDrivers", "CapgateHTTPClient"],
                path: "fuzz/Sources/CapgateFuzzing"),
        .executableTarget(name: "capgate-fuzz", dependencies: ["CapgateFuzzing"], path: "fuzz/Driver"),

        // ── 7. Tests. CapgateTesting is the one test-support target (not a product): child processes
        // off the cooperative pool, product lookup, hostile-peer HTTP/2 frames, the test PKI on
        // CapgatePKI, a driver host on our server transport, a capturing log handler.
        .target(name: "CapgateTesting",
                dependencies: ["CapgatePKI", "CapgateCore", "AgentKernel", "CapgateConnection", "CapgateHTTP2", "CapgateTLS",
                               logging],
                exclude: ["README.md"]),
        // A child process for the signal tests (a test target cannot receive signals safely).
        .executableTarget(name: "capgate-io-signal-probe", dependencies: ["CapgateIO"],
                          path: "Tests/CapgateIOSignalProbe"),
        .testTarget(name: "CapgateFormatsTests", dependencies: ["CapgateFormats"]),
        .testTarget(name: "CapgateCoreTests", dependencies: ["CapgateCore", "CapgateTesting"]),
        .testTarget(name: "CapgateX509Tests", dependencies: ["CapgateX509", "CapgatePKI", "COpenSSL"]),
        .testTarget(name: "CapgateIOTests", dependencies: ["CapgateIO", "CapgateTesting", "capgate-io-signal-probe"]),
        .testTarget(name: "AgentKernelTests", dependencies: ["AgentKernel", "KernelConformance", "CapgateTesting"]),
        .testTarget(name: "CapgateTLSTests", dependencies: ["CapgateTLS", "CapgateTesting", "COpenSSL", "COpenSSLShims"]),
        .testTarget(name: "CapgateHTTP2Tests", dependencies: ["CapgateHTTP2", "CapgateCore", "CapgateTesting", "CNghttp2"]),
        .testTarget(name: "CapgateConnectionTests",
                    dependencies: ["CapgateTesting", "CapgateConnection", "CapgateHTTPClient", "CapgateIO", "CapgateTLS",
                                   "CapgateCore", "CapgateHTTP2", logging]),
        .testTarget(name: "CapgatePKITests", dependencies: ["CapgatePKI", "CapgateTesting", "COpenSSL"]),
        // Test support: a pass-through SQLite VFS that injects SQLITE_FULL (disk full) on demand.
        .target(name: "CSQLiteFaults", dependencies: ["CSQLite"]),
        .testTarget(name: "CapgateStoreTests", dependencies: ["CapgateStore", "AgentKernel", "CSQLite", "CapgateTesting",
                                                             "CSQLiteFaults"]),
        .testTarget(name: "CapgatePostgresTests", dependencies: ["CapgatePostgres", "AgentKernel", "CapgateTesting"]),
        .testTarget(name: "CapgateMetricsTests", dependencies: ["CapgateMetrics", "CapgateTesting"]),
        .testTarget(name: "CapgateDriversTests",
                    dependencies: ["CapgateTesting", "CapgateDrivers", "AgentKernel", "CapgateConnection"]),
        // the whole sidecar on loopback through CapgateClient (test targets depend on the
        // executables they run, so SwiftPM builds them first)
        .testTarget(name: "CapgateServerTests",
                    dependencies: ["CapgateTesting", "CapgateServer", "CapgateClient", "CapgateWire", "CapgatePKI",
                                   "KernelConformance", "AgentKernel", "CapgateHTTPClient", "CapgateTLS",
                                   "CapgateConnection", "CapgateCore", "capgate", "CapgateDrivers", "CapgateStore",
                                   "CSQLite", "CSQLiteFaults", "CapgateMetrics", logging]),
        // issue, revoke and rotate certificates end to end (gateway, watcher, capgate pki, openssl recipes)
        .testTarget(name: "CapgatePKIOpsTests",
                    dependencies: ["CapgateTesting", "CapgateServer", "CapgatePKI", "CapgateClient", "CapgateHTTPClient",
                                   "CapgateTLS", "CapgateConnection", "CapgateIO", "AgentKernel", "capgate", logging]),
        .testTarget(name: "CapgateFuzzingTests", dependencies: ["CapgateFuzzing", "CapgateTesting"]),
        // the bench harness smoke test: `make bench-smoke` only (it saturates both cores)
        .testTarget(name: "SidecarBenchTests", dependencies: ["SidecarBench", "CapgateTesting", "capgate"]),
    ]
)
