// swift-tools-version:6.0
// The package graph is the architecture diagram: dependencies point one way.
//   C wrappers (COpenSSL, CNghttp2, CPCRE2) and per-layer shims (CIOShims, COpenSSLShims, CNghttp2Shims, CLibcShims)
//     -> AgentKernel (pure kernel: no sockets; libcrypto for HMAC/CSPRNG, PCRE2 for redaction)
//     -> KernelConformance (black-box invariants against any `KernelAPI`)
//     -> capgate (CLI)
import PackageDescription

let package = Package(
    name: "capgate",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "AgentKernel", targets: ["AgentKernel"]),
        .executable(name: "capgate", targets: ["capgate"]),
        .executable(name: "kernel-bench", targets: ["KernelBench"]),
        // pki
        .library(name: "CapgatePKI", targets: ["CapgatePKI"]),
        // HTTP/2 session + gateway limits
        .library(name: "CapgateCore", targets: ["CapgateCore"]),
        .library(name: "CapgateHTTP2", targets: ["CapgateHTTP2"]),
        // io (event loop)
        .library(name: "CapgateIO", targets: ["CapgateIO"]),
        // connection (server transport) + mTLS HTTP/2 client
        .library(name: "CapgateConnection", targets: ["CapgateConnection"]),
        .library(name: "CapgateHTTPClient", targets: ["CapgateHTTPClient"]),
        // bench: sidecar vs in-process vs reference vs nginx (make bench, docs/benchmarks.md)
        .executable(name: "capgate-bench", targets: ["SidecarBench"]),
    ],
    dependencies: [
        // CLI parsing (capgate, capgate-bench, kernel-bench) and the logging API; docs/dependencies.md.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // bench: latency histograms (docs/dependencies.md)
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // test support (a target, not a product): child processes off the cooperative pool,
        // product lookup, hostile-peer HTTP/2 frames + HPACK, the test PKI on CapgatePKI, a driver
        // host on our server transport serving Swift drivers, a capturing log handler
        .target(name: "CapgateTesting",
                dependencies: ["CapgatePKI", "CapgateCore", "AgentKernel", "CapgateConnection", "CapgateHTTP2", "CapgateTLS",
                               .product(name: "Logging", package: "swift-log")],
                exclude: ["README.md"]),
        // fuzz: libFuzzer targets for every parser an untrusted peer or file reaches (fuzz/README.md)
        .target(name: "CapgateFuzzing",
                dependencies: ["AgentKernel", "CapgateWire", "CapgateServer", "CapgateHTTP2", "CapgateCore", "CapgateTLS",
                               "CapgateDrivers"],
                path: "fuzz/Sources/CapgateFuzzing"),
        .executableTarget(name: "capgate-fuzz", dependencies: ["CapgateFuzzing"], path: "fuzz/Driver"),
        .testTarget(name: "CapgateFuzzingTests", dependencies: ["CapgateFuzzing", "CapgateTesting"]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CNghttp2", path: "Sources/CNghttp2", pkgConfig: "libnghttp2",
                       providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "CPCRE2", path: "Sources/CPCRE2", pkgConfig: "libpcre2-8",
                       providers: [.apt(["libpcre2-dev"])]),
        // libyaml (Debian's libyaml-dev): YAML policy files (the reference's `from_yaml`); docs/dependencies.md
        .systemLibrary(name: "CLibYAML", path: "Sources/CLibYAML", pkgConfig: "yaml-0.1",
                       providers: [.apt(["libyaml-dev"])]),
        // C shims, one per layer, so each target sees only the C it uses
        .target(name: "CIOShims"),
        .target(name: "COpenSSLShims", dependencies: ["COpenSSL"]),
        .target(name: "CNghttp2Shims", dependencies: ["CNghttp2"]),
        .target(name: "CLibcShims"),
        // formats: ordered JSON (strict reader, wire/canonical/Python writers), TOML, the strict
        // field reader; pure Swift below the kernel so PKI and the fuzzers need not import the kernel
        .target(name: "CapgateFormats", exclude: ["README.md"]),
        .testTarget(name: "CapgateFormatsTests", dependencies: ["CapgateFormats"]),
        .target(name: "AgentKernel", dependencies: ["CapgateFormats", "COpenSSL", "CPCRE2", "COpenSSLShims", "CLibcShims", "CLibYAML"]),
        .target(name: "KernelConformance", dependencies: ["AgentKernel"]),
        // wire: the one verb list, request shapes and decoding, error codes and statuses
        .target(name: "CapgateWire", dependencies: ["AgentKernel"], exclude: ["README.md"]),
        // client: typed verb calls over the mTLS HTTP/2 client
        .target(name: "CapgateClient", dependencies: ["AgentKernel", "CapgateWire", "CapgateHTTPClient", "CapgateTLS"],
                exclude: ["README.md"]),
        // server: identity mapping, the kernel service, connections, configuration
        .target(name: "CapgateServer", dependencies: ["AgentKernel", "CapgateWire", "CapgateCore", "CapgatePKI",
                                                     "CapgateConnection", "CapgateTLS", "CapgateIO", "CapgateHTTP2",
                                                     "CapgateDrivers", .product(name: "Logging", package: "swift-log")],
                exclude: ["README.md"]),
        // cli: swift-argument-parser with the tools' exit-code and message conventions
        .target(name: "CapgateCLI", dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "capgate", dependencies: ["CapgateServer", "CapgatePKI", "CapgateIO", "CapgateCLI",
                                                          .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "KernelBench", dependencies: ["AgentKernel", "CapgateCLI",
                                                              .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "bench/KernelBench"),
        // TLS layer: OpenSSL 3 contexts, sans-IO engine, SPIFFE peer identity
        // x509: the one X.509 layer under TLS and PKI (PEM, OpenSSL errors, serials, SPIFFE IDs, CRLs)
        .target(name: "CapgateX509", dependencies: ["COpenSSL", "COpenSSLShims"], exclude: ["README.md"]),
        // x509 tests; CapgatePKI issues their material (the test PKI)
        .testTarget(name: "CapgateX509Tests", dependencies: ["CapgateX509", "CapgatePKI", "COpenSSL"]),
        .target(name: "CapgateTLS", dependencies: ["CapgateX509", "COpenSSL", "COpenSSLShims"], exclude: ["README.md"]),
        .testTarget(name: "CapgateTLSTests", dependencies: ["CapgateTLS", "CapgateTesting", "COpenSSL", "COpenSSLShims"]),
        .testTarget(name: "AgentKernelTests",
                    dependencies: ["AgentKernel", "KernelConformance", "CapgateTesting"],
                    exclude: []),
        // pki: dev/operator PKI on OpenSSL 3 (CA, SPIFFE agent and server leaves, CRL, on-disk layout)
        .target(name: "CapgatePKI", dependencies: ["CapgateX509", "COpenSSL", "COpenSSLShims", "CapgateFormats"]),
        .testTarget(name: "CapgatePKITests", dependencies: ["CapgatePKI", "CapgateTesting", "COpenSSL"]),
        // HTTP/2 session + gateway limits: CapgateCore (limits, token bucket) -> CapgateHTTP2
        // (sans-IO nghttp2 session); hostile-peer frame builder for tests in CapgateTesting.
        .target(name: "CapgateCore", exclude: ["README.md"]),
        .target(name: "CapgateHTTP2", dependencies: ["CapgateCore", "CNghttp2", "CNghttp2Shims"],
                exclude: ["README.md"]),
        .testTarget(name: "CapgateCoreTests", dependencies: ["CapgateCore", "CapgateTesting"]),
        .testTarget(name: "CapgateHTTP2Tests",
                    dependencies: ["CapgateHTTP2", "CapgateCore", "CapgateTesting", "CNghttp2"]),
        // io (event loop): epoll loop, timers, sockets, acceptor, signals; depends on CIOShims only
        .target(name: "CapgateIO", dependencies: ["CIOShims"], exclude: ["README.md"]),
        .testTarget(name: "CapgateIOTests", dependencies: ["CapgateIO", "CapgateTesting", "capgate-io-signal-probe"]),
        .executableTarget(name: "capgate-io-signal-probe", dependencies: ["CapgateIO"],
                          path: "Tests/CapgateIOSignalProbe"),
        // connection: ServerConnection/Server compose IO + TLS + HTTP/2 (never the kernel);
        // CapgateHTTPClient is the multiplexed mTLS HTTP/2 client (tests, bench, tools)
        .target(name: "CapgateConnection",
                dependencies: ["CapgateIO", "CapgateTLS", "CapgateHTTP2", "CapgateCore",
                               .product(name: "Logging", package: "swift-log")],
                exclude: ["README.md"]),
        .target(name: "CapgateHTTPClient", dependencies: ["CapgateConnection", "CapgateIO", "CapgateTLS", "CapgateHTTP2"],
                exclude: ["README.md"]),
        // drivers that reach other processes: driver hosts over mTLS HTTP/2 (docs/drivers.md)
        .target(name: "CapgateDrivers", dependencies: ["AgentKernel", "CapgateHTTPClient", "CapgateTLS"]),
        .testTarget(name: "CapgateDriversTests",
                    dependencies: ["CapgateTesting", "CapgateDrivers", "AgentKernel",
                                   "CapgateConnection"]),
        // pki-ops: issue/revoke/rotate end to end (gateway, watcher, capgate pki CLI, openssl recipes)
        .testTarget(name: "CapgatePKIOpsTests",
                    dependencies: ["CapgateTesting", "CapgateServer", "CapgatePKI", "CapgateClient", "CapgateHTTPClient", "CapgateTLS",
                                   "CapgateConnection", "CapgateIO", "AgentKernel", "capgate",
                                   .product(name: "Logging", package: "swift-log")]),
        // gateway integration tests: the whole sidecar on loopback through CapgateClient
        .testTarget(name: "CapgateServerTests",
                    dependencies: ["CapgateTesting", "CapgateServer", "CapgateClient", "CapgateWire", "CapgatePKI", "KernelConformance",
                                   "AgentKernel", "CapgateHTTPClient", "CapgateTLS", "CapgateConnection", "CapgateCore",
                                   "capgate", "CapgateDrivers",
                                   .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "CapgateConnectionTests",
                    dependencies: ["CapgateTesting", "CapgateConnection", "CapgateHTTPClient", "CapgateIO", "CapgateTLS",
                                   "CapgateCore", "CapgateHTTP2", .product(name: "Logging", package: "swift-log")]),
        // bench: capgate-bench drives `capgate serve`, nginx and nghttpx/h2load; writes bench/reports
        .executableTarget(name: "SidecarBench",
                          dependencies: ["AgentKernel", "CapgateServer", "CapgateClient", "CapgateHTTPClient",
                                         "CapgateTLS", "CapgatePKI", "CapgateIO",
                                         .product(name: "Histogram", package: "hdrhistogram-swift"),
                                         "CapgateCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "bench/SidecarBench", exclude: ["README.md"]),
        .testTarget(name: "SidecarBenchTests", dependencies: ["SidecarBench", "CapgateTesting", "capgate"]),
    ]
)
