import Foundation

/// Machine, commit and tool versions for results.json: a number without its context cannot
/// be cited.
enum Environment {
    static func commit() -> String {
        let hash = ReferenceRunner.capture("/usr/bin/git", ["rev-parse", "--short", "HEAD"])?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
        let dirty = ReferenceRunner.capture("/usr/bin/git", ["status", "--porcelain", "--untracked-files=no"])?
            .trimmingCharacters(in: .whitespacesAndNewlines).isEmpty == false
        return dirty ? hash + "-dirty" : hash
    }

    static func loadAverage() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?")
            .split(separator: " ").prefix(3).joined(separator: " ")
    }

    static func machine() -> MachineInfo {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "?"
        let memKiB = Double(ProcStats.statusKiBFile("/proc/meminfo", "MemTotal"))
        var uts = utsname()
        uname(&uts)
        let release = withUnsafeBytes(of: &uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return MachineInfo(cores: ProcessInfo.processInfo.activeProcessorCount, cpuModel: model,
                           memoryGiB: (memKiB / 1_048_576 * 10).rounded() / 10, kernel: release,
                           loadAverageAtStart: loadAverage(), loadAverageAtEnd: nil)
    }

    static func versions(python: String) -> [String: String] {
        var v: [String: String] = [:]
        func first(_ s: String?) -> String? {
            s?.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if let s = first(ReferenceRunner.capture("/usr/bin/env", ["swift", "--version"])) { v["swift"] = s }
        if let s = first(ReferenceRunner.capture("/usr/bin/env", ["openssl", "version"])) { v["openssl"] = s }
        for pkg in ["libnghttp2-14", "nginx-light", "nginx-core", "nginx", "nghttp2-client", "nghttp2-proxy", "libssl3"] {
            if let s = first(ReferenceRunner.capture("/usr/bin/dpkg-query", ["-W", "-f", "${Version}", pkg])), !s.isEmpty {
                v["debian " + pkg] = s
            }
        }
        if FileManager.default.isExecutableFile(atPath: python),
           let s = first(ReferenceRunner.capture(python, ["--version"])) { v["python"] = s }
        if let s = H2Load.version() { v["h2load"] = s }
        return v
    }
}

extension ProcStats {
    /// "Field:   123 kB" lines of /proc/meminfo-style files.
    static func statusKiBFile(_ path: String, _ field: String) -> Int {
        guard let s = try? String(contentsOfFile: path, encoding: .utf8) else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? 0
        }
        return 0
    }
}

/// Number formatting shared by the terminal, the report and the plots.
enum Fmt {
    static func ns(_ v: UInt64) -> String { ns(Double(v)) }

    static func ns(_ v: Double) -> String {
        if v >= 1e9 { return String(format: "%.2f s", v / 1e9) }
        if v >= 1e6 { return String(format: "%.2f ms", v / 1e6) }
        if v >= 1e4 { return String(format: "%.0f µs", v / 1e3) }
        if v >= 1e3 { return String(format: "%.1f µs", v / 1e3) }
        return String(format: "%.0f ns", v)
    }

    static func rate(_ v: Double) -> String {
        if v >= 1e5 { return String(format: "%.0fk", v / 1e3) }
        if v >= 1e4 { return String(format: "%.1fk", v / 1e3) }
        return String(format: "%.0f", v)
    }

    static func ratio(_ v: Double) -> String {
        if v >= 100 { return String(format: "%.0fx", v) }
        if v >= 10 { return String(format: "%.1fx", v) }
        if v >= 0.1 { return String(format: "%.2fx", v) }
        return String(format: "%.2gx", v)
    }
}
