// swift-tools-version:6.0
// The package graph is the architecture diagram: dependencies point one way.
//   C wrappers (COpenSSL, CNghttp2, CPCRE2, CShims)
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
        // YAML policy files (the reference's `from_yaml`); see docs/dependencies.md.
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        // bench: latency histograms (docs/dependencies.md)
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // test support: blocking work off the cooperative pool, child processes
        .target(name: "CapgateTestSupport", path: "Tests/CapgateTestSupport"),
        // fuzz: libFuzzer targets for every parser an untrusted peer or file reaches (fuzz/README.md)
        .target(name: "CapgateFuzzing",
                dependencies: ["AgentKernel", "CapgateWire", "CapgateServer", "CapgateHTTP2", "CapgateCore", "CapgateTLS",
                               "CapgateDrivers"],
                path: "fuzz/Sources/CapgateFuzzing"),
        .executableTarget(name: "capgate-fuzz", dependencies: ["CapgateFuzzing"], path: "fuzz/Driver"),
        .testTarget(name: "CapgateFuzzingTests", dependencies: ["CapgateFuzzing"]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CNghttp2", path: "Sources/CNghttp2", pkgConfig: "libnghttp2",
                       providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "CPCRE2", path: "Sources/CPCRE2", pkgConfig: "libpcre2-8",
                       providers: [.apt(["libpcre2-dev"])]),
        .target(name: "CShims", dependencies: ["COpenSSL", "CNghttp2"]),
        // libcurl for the HTTP driver (docs/drivers.md); only CapgateDrivers links it, never the kernel
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "AgentKernel", dependencies: ["COpenSSL", "CPCRE2", "CShims", .product(name: "Yams", package: "Yams")]),
        .target(name: "KernelConformance", dependencies: ["AgentKernel"]),
        // wire: the one verb list, request shapes and decoding, error codes and statuses
        .target(name: "CapgateWire", dependencies: ["AgentKernel"], exclude: ["README.md"]),
        // client: typed verb calls over the mTLS HTTP/2 client
        .target(name: "CapgateClient", dependencies: ["AgentKernel", "CapgateWire", "CapgateHTTPClient", "CapgateTLS"],
                exclude: ["README.md"]),
        // server: identity mapping, the kernel service, connections, configuration
        .target(name: "CapgateServer", dependencies: ["AgentKernel", "CapgateWire", "CapgateCore", "CapgatePKI",
                                                     "CapgateConnection", "CapgateTLS", "CapgateIO", "CapgateHTTP2",
                                                     "CapgateDrivers"],
                exclude: ["README.md"]),
        .executableTarget(name: "capgate", dependencies: ["CapgateServer", "CapgatePKI", "CapgateIO"]),
        .executableTarget(name: "KernelBench", dependencies: ["AgentKernel"],
                          path: "bench/KernelBench"),
        // TLS layer: OpenSSL 3 contexts, sans-IO engine, SPIFFE peer identity
        .target(name: "CapgateTLS", dependencies: ["COpenSSL", "CShims"], exclude: ["README.md"]),
        .testTarget(name: "CapgateTLSTests", dependencies: ["CapgateTLS", "COpenSSL", "CShims"]),
        .testTarget(name: "AgentKernelTests",
                    dependencies: ["AgentKernel", "KernelConformance"],
                    exclude: []),
        // pki: dev/operator PKI on OpenSSL 3 (CA, SPIFFE agent and server leaves, CRL, on-disk layout)
        .target(name: "CapgatePKI", dependencies: ["COpenSSL", "CShims", "AgentKernel"]),
        .testTarget(name: "CapgatePKITests", dependencies: ["CapgatePKI", "COpenSSL"]),
        // HTTP/2 session + gateway limits: CapgateCore (limits, token bucket) -> CapgateHTTP2
        // (sans-IO nghttp2 session); CapgateH2Testing = hostile-peer frame builder for tests.
        .target(name: "CapgateCore", exclude: ["README.md"]),
        .target(name: "CapgateHTTP2", dependencies: ["CapgateCore", "CNghttp2", "CShims"],
                exclude: ["README.md"]),
        .target(name: "CapgateH2Testing"),
        .testTarget(name: "CapgateCoreTests", dependencies: ["CapgateCore"]),
        .testTarget(name: "CapgateHTTP2Tests",
                    dependencies: ["CapgateHTTP2", "CapgateCore", "CapgateH2Testing", "CNghttp2"]),
        // io (event loop): epoll loop, timers, sockets, acceptor, signals; depends on CShims only
        .target(name: "CapgateIO", dependencies: ["CShims"], exclude: ["README.md"]),
        .testTarget(name: "CapgateIOTests", dependencies: ["CapgateIO", "capgate-io-signal-probe"]),
        .executableTarget(name: "capgate-io-signal-probe", dependencies: ["CapgateIO"],
                          path: "Tests/CapgateIOSignalProbe"),
        // connection: ServerConnection/Server compose IO + TLS + HTTP/2 (never the kernel);
        // CapgateHTTPClient is the multiplexed mTLS HTTP/2 client (tests, bench, tools)
        .target(name: "CapgateConnection",
                dependencies: ["CapgateIO", "CapgateTLS", "CapgateHTTP2", "CapgateCore"],
                exclude: ["README.md"]),
        .target(name: "CapgateHTTPClient", dependencies: ["CapgateIO", "CapgateTLS", "CapgateHTTP2"]),
        // drivers that reach other processes: driver hosts over mTLS HTTP/2, HTTP tools over libcurl (docs/drivers.md)
        .target(name: "CapgateDrivers", dependencies: ["AgentKernel", "CapgateHTTPClient", "CapgateTLS", "CCurl"],
                exclude: ["README.md"]),
        // test support: a driver host on our server transport serving Swift drivers
        .target(name: "CapgateDriverHostTesting",
                dependencies: ["AgentKernel", "CapgateConnection", "CapgateCore", "CapgateHTTP2", "CapgatePKI", "CapgateTLS"],
                path: "Tests/CapgateDriverHostTesting"),
        .testTarget(name: "CapgateDriversTests",
                    dependencies: ["CapgateTestSupport", "CapgateDriverHostTesting", "CapgateDrivers", "AgentKernel",
                                   "CapgateConnection"]),
        // pki-ops: issue/revoke/rotate end to end (gateway, watcher, capgate pki CLI, openssl recipes)
        .testTarget(name: "CapgatePKIOpsTests",
                    dependencies: ["CapgateTestSupport", "CapgateServer", "CapgatePKI", "CapgateClient", "CapgateHTTPClient", "CapgateTLS",
                                   "CapgateConnection", "CapgateIO", "AgentKernel", "capgate"]),
        // gateway integration tests: the whole sidecar on loopback through CapgateClient
        .testTarget(name: "CapgateServerTests",
                    dependencies: ["CapgateTestSupport", "CapgateServer", "CapgateClient", "CapgateWire", "CapgatePKI", "KernelConformance",
                                   "AgentKernel", "CapgateHTTPClient", "CapgateTLS", "CapgateConnection", "CapgateCore",
                                   "capgate", "CapgateDriverHostTesting", "CapgateDrivers"]),
        .testTarget(name: "CapgateConnectionTests",
                    dependencies: ["CapgateTestSupport", "CapgateConnection", "CapgateHTTPClient", "CapgateIO", "CapgateTLS",
                                   "CapgateCore", "COpenSSL"]),
        // bench: capgate-bench drives `capgate serve`, nginx and nghttpx/h2load; writes bench/reports
        .executableTarget(name: "SidecarBench",
                          dependencies: ["AgentKernel", "CapgateServer", "CapgateDrivers", "CapgateClient", "CapgateHTTPClient",
                                         "CapgateTLS", "CapgatePKI", "CapgateIO",
                                         .product(name: "Histogram", package: "hdrhistogram-swift")],
                          path: "bench/SidecarBench", exclude: ["README.md"]),
        .testTarget(name: "SidecarBenchTests", dependencies: ["SidecarBench", "capgate"]),
    ]
)
