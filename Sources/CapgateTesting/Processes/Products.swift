import Foundation

/// Finds what SwiftPM built: the executables a test runs as child processes (`capgate`,
/// `capgate-bench`, `capgate-io-signal-probe`) and the package root (for docs/, .venv,
/// fixtures). Test targets depend on those executables so `swift build --build-tests`
/// builds them into the same directory as the test bundle; this is the one place that
/// knows the layout.
public enum Products {
    /// The package root, from this file's path (Sources/CapgateTesting/Processes/Products.swift).
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The build products directory: `<bin>` of `<bin>/capgatePackageTests.xctest` (on Linux
    /// the test bundle is a file, and the running process is it).
    public static let binDirectory: String? = {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            return nil
        }
        var parts = exe.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast()
        if let bundle = parts.firstIndex(where: { $0.hasSuffix(".xctest") }) { parts.removeSubrange(bundle...) }
        return parts.joined(separator: "/")
    }()

    /// The executable product `name` beside the test bundle, else under the package's
    /// `.build/debug`; nil when neither exists (the caller records the failure).
    public static func executable(_ name: String) -> String? {
        var candidates: [String] = []
        if let binDirectory { candidates.append(binDirectory + "/" + name) }
        candidates.append(packageRoot + "/.build/debug/" + name)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
