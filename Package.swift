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
        // io (event loop)
        .library(name: "CapgateIO", targets: ["CapgateIO"]),
    ],
    targets: [
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CNghttp2", path: "Sources/CNghttp2", pkgConfig: "libnghttp2",
                       providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "CPCRE2", path: "Sources/CPCRE2", pkgConfig: "libpcre2-8",
                       providers: [.apt(["libpcre2-dev"])]),
        .target(name: "CShims", dependencies: ["COpenSSL", "CNghttp2"]),
        .target(name: "AgentKernel", dependencies: ["COpenSSL", "CPCRE2", "CShims"]),
        .target(name: "KernelConformance", dependencies: ["AgentKernel"]),
        .executableTarget(name: "capgate", dependencies: ["AgentKernel"]),
        .executableTarget(name: "KernelBench", dependencies: ["AgentKernel"],
                          path: "bench/KernelBench"),
        .testTarget(name: "AgentKernelTests",
                    dependencies: ["AgentKernel", "KernelConformance"],
                    exclude: []),
        // io (event loop): epoll loop, timers, sockets, acceptor, signals; depends on CShims only
        .target(name: "CapgateIO", dependencies: ["CShims"], exclude: ["README.md"]),
        .testTarget(name: "CapgateIOTests", dependencies: ["CapgateIO", "capgate-io-signal-probe"]),
        .executableTarget(name: "capgate-io-signal-probe", dependencies: ["CapgateIO"],
                          path: "Tests/CapgateIOSignalProbe"),
    ]
)
