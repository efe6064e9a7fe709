import Foundation

/// Where the sidecar's time goes: `perf record -e cpu-clock` (a software clock, so it works in
/// VMs without hardware counters) on the capgate process while the saturating invoke load
/// runs, then `perf report` by shared object and by symbol, symbols demangled with
/// swift-demangle, and samples grouped into layers (TLS, HTTP/2, Linux, allocator, kernel
/// verbs, JSON...).
enum Profiler {
    // No -g: the report uses self time per symbol; call graphs of a 256-stream load made
    // perf itself the bottleneck on 2 cores.
    static func profileSidecar(pid: Int32, label: String, seconds: Double, workspace: Workspace,
                               notes: ([String]) -> Void, load: (Double) async -> Void) async -> ProfileResult? {
        guard let perf = which("perf") else {
            notes(["no profile: perf not installed (linux-perf)"])
            return nil
        }
        let data = workspace.root + "/perf-\(pid)-\(label.hashValue & 0xffff).data"
        // Load first, perf second: after an idle spell the server's Swift concurrency pool
        // threads are gone, and the threads it creates under the new load were missed by a
        // perf attached to the idle process (the kernel work then vanished from the profile).
        await load(1)
        let recorder: ChildProcess
        do {
            recorder = try await ChildProcess.spawn(name: "perf", executable: perf,
                                                    arguments: ["record", "-e", "cpu-clock", "-F", "999", "-p", String(pid),
                                                                "-o", data],
                                                    logPath: workspace.root + "/perf.log")
        } catch {
            notes(["no profile: \(error)"])
            return nil
        }
        await load(seconds)
        // SIGINT: perf writes its data and exits (it has no duration of its own with -p).
        kill(recorder.pid, SIGINT)
        recorder.process.waitUntilExit()
        let size = (try? FileManager.default.attributesOfItem(atPath: data)[.size] as? Int) ?? 0
        guard size > 0 else {
            notes(["no profile: perf record failed: \(recorder.log.suffix(500))"])
            return nil
        }
        // Symbols down to 0.01% so the layers cover (almost) every sample; the table shows 25.
        let common = ["report", "-i", data, "--stdio"]
        let byDSO = parse(ReferenceRunner.capture(perf, common + ["--percent-limit", "0.3", "--sort", "dso"]) ?? "", fields: 1)
        let bySym = parse(ReferenceRunner.capture(perf, common + ["--percent-limit", "0.01", "--sort", "dso,sym"]) ?? "", fields: 2)
        let names = demangle(bySym.map { $0.1.count > 1 ? $0.1[1] : "" })
        var layers: [String: Double] = [:]
        var symbols: [ProfileResult.Entry] = []
        for (i, (pct, cols)) in bySym.enumerated() {
            let dso = cols[0]
            let sym = i < names.count ? names[i] : (cols.count > 1 ? cols[1] : "?")
            layers[layer(dso: dso, symbol: sym), default: 0] += pct
            if symbols.count < 25 { symbols.append(.init(name: "\(short(sym)) [\(dso)]", percent: pct)) }
        }
        let covered = layers.values.reduce(0, +)
        if covered < 99.95 { layers["(symbols below 0.01% each)", default: 0] += 100 - covered }
        return ProfileResult(
            tool: "perf record -e cpu-clock -F 999 (software clock, self time)",
            point: label, seconds: seconds,
            byObject: byDSO.map { .init(name: $0.1[0], percent: $0.0) },
            bySymbol: symbols,
            byLayer: layers.sorted { $0.value > $1.value }.map { .init(name: $0.key, percent: ($0.value * 10).rounded() / 10) })
    }

    /// `perf report --stdio` rows: "  12.34%  dso  [.] symbol".
    static func parse(_ text: String, fields: Int) -> [(Double, [String])] {
        var out: [(Double, [String])] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard let pctEnd = t.firstIndex(of: "%"), let pct = Double(t[..<pctEnd]) else { continue }
            let rest = t[t.index(after: pctEnd)...].trimmingCharacters(in: .whitespaces)
            if fields == 1 {
                out.append((pct, [rest]))
            } else {
                // "dso  [.] symbol" or "dso  [k] symbol"
                let parts = rest.components(separatedBy: "  ").filter { !$0.isEmpty }
                let dso = parts.first?.trimmingCharacters(in: .whitespaces) ?? "?"
                var sym = parts.dropFirst().joined(separator: "  ").trimmingCharacters(in: .whitespaces)
                if sym.hasPrefix("[.] ") || sym.hasPrefix("[k] ") { sym = String(sym.dropFirst(4)) }
                out.append((pct, [dso, sym]))
            }
        }
        return out
    }

    /// One swift-demangle process for all names (stdin, one per line).
    static func demangle(_ names: [String]) -> [String] {
        guard let tool = which("swift-demangle", extra: ["/opt/swift/usr/bin/swift-demangle"]) else { return names }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        do { try p.run() } catch { return names }
        let text = names.joined(separator: "\n") + "\n"
        input.fileHandleForWriting.write(Data(text.utf8))
        try? input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return lines.count >= names.count ? Array(lines.prefix(names.count)) : names
    }

    static func short(_ s: String) -> String {
        var t = s
        // "generic specialization <Int> of Foo.bar()" -> "Foo.bar()": the report wants the function.
        if let of = t.range(of: "> of ", options: .backwards), t.hasPrefix("generic") || t.hasPrefix("function signature") {
            t = String(t[of.upperBound...])
        }
        return t.count > 110 ? String(t.prefix(107)) + "..." : t
    }

    /// Groups a sample into the layer the report talks about.
    static func layer(dso: String, symbol s: String) -> String {
        if dso.contains("libssl") || dso.contains("libcrypto") { return "TLS: OpenSSL (AES-GCM, record layer, handshakes)" }
        if dso.contains("nghttp2") { return "HTTP/2: nghttp2 (framing, HPACK)" }
        if dso.hasPrefix("[kernel") || dso.contains("kallsyms") { return "Linux kernel (syscalls, loopback TCP, epoll, scheduling)" }
        if dso.contains("libc.so") || dso.contains("libc-") {
            if ["malloc", "free", "realloc", "calloc", "cfree", "_int_", "tcache", "arena"].contains(where: s.contains) {
                return "allocator (glibc malloc/free)"
            }
            return "libc (memcpy, string ops, misc)"
        }
        if dso.contains("swift_Concurrency") || dso.contains("dispatch") { return "Swift concurrency runtime" }
        if dso.contains("libswiftCore") || dso.contains("Foundation") {
            if ["retain", "release", "swift_bridgeObject", "swift_allocObject", "swift_dealloc"].contains(where: s.contains) {
                return "Swift runtime: ARC + object allocation"
            }
            return "Swift stdlib (String, Dictionary, Array, hashing...)"
        }
        if s.contains("AgentKernel.JSON") || s.contains("JSONParser") || s.contains("JSONWriter") || s.contains("serialized") {
            return "JSON encode/decode (AgentKernel.JSON*)"
        }
        if s.contains("CapgateWire") { return "wire request decoding (CapgateWire)" }
        if s.contains("AgentKernel") { return "kernel verbs (AgentKernel: policy, tokens, firewall, handles, traces)" }
        if s.contains("CapgateServer") { return "service glue (CapgateServer)" }
        if ["CapgateIO", "CapgateConnection", "CapgateHTTP2", "CapgateTLS", "CapgateCore"].contains(where: s.contains) {
            return "transport glue (event loop, TLS engine, h2 session)"
        }
        if ["retain", "release", "swift_"].contains(where: s.contains) { return "Swift runtime: ARC + object allocation" }
        // Generic stdlib code specialized into the binary (no module of ours in the name).
        if s.contains("Swift.") || s.hasPrefix("(extension in Swift)") {
            return "Swift stdlib (String, Dictionary, Array, hashing...)"
        }
        return "other (\(dso))"
    }
}
