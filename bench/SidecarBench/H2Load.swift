import Foundation

/// The cross-check with a load generator nobody here wrote: h2load (nghttp2-client) in
/// plain HTTP/2 against nghttpx (nghttp2-proxy), which presents alice's client certificate to
/// the server over TLS 1.3 + h2. The proxy hop is in every h2load number, for the sidecar and
/// for nginx alike, so compare h2load ratios with h2load ratios.
enum H2Load {
    static var available: Bool { which("h2load") != nil && which("nghttpx", extra: ["/usr/sbin/nghttpx"]) != nil }

    static func version() -> String? {
        guard let h = which("h2load"),
              let out = ReferenceRunner.capture(h, ["--version"]) else { return nil }
        return out.split(separator: "\n").first.map(String.init)
    }

    /// One point: `connections` x `streams` for `seconds` after `warmup`.
    static func run(target: String, verb: String, frontend: UInt16, path: String, body: [UInt8]?,
                    connections: Int, streams: Int, seconds: Double, warmup: Double, workspace: Workspace,
                    meter: Meter?) -> PointResult {
        var args = ["-c", String(connections), "-m", String(streams), "-t", "1",
                    // h2load wants integral durations or a unit: milliseconds.
                    "-D", "\(Int(seconds * 1000))ms", "--warm-up-time=\(Int(warmup * 1000))ms"]
        if let body {
            let file = workspace.root + "/h2load-\(verb).json"
            _ = FileManager.default.createFile(atPath: file, contents: Data(body))
            args += ["-d", file, "-H", "content-type: application/json"]
        }
        args.append("http://127.0.0.1:\(frontend)\(path)")
        var result = PointResult(target: target, verb: verb, connections: connections, streams: streams, latency: nil,
                                 meanLatencyNs: nil, throughput: 0, requests: 0, errors: 0, firstError: nil,
                                 seconds: seconds, cpuSeconds: nil, cpuSource: nil, peakRSSKiB: nil,
                                 note: "h2load -> nghttpx -> server (one extra proxy hop)")
        guard let h2load = which("h2load") else {
            result.firstError = "h2load not installed"
            return result
        }
        // The meter window includes h2load's warm-up: h2load gives no hook between the two.
        meter?.start()
        let out = ReferenceRunner.capture(h2load, args) ?? ""
        if let m = meter?.stop() {
            result.cpuSeconds = m.cpu
            result.cpuSource = "/proc (window includes h2load's \(warmup) s warm-up)"
            result.peakRSSKiB = m.peakKiB
        }
        parse(out, into: &result)
        if result.requests == 0 && result.firstError == nil { result.firstError = "h2load: \(out.suffix(500))" }
        return result
    }

    static func parse(_ out: String, into r: inout PointResult) {
        if let m = match(#"finished in ([\d.]+)s, ([\d.]+) req/s"#, out) {
            r.seconds = Double(m[0]) ?? r.seconds
            r.throughput = Double(m[1]) ?? 0
        }
        if let m = match(#"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored"#, out) {
            r.requests = Int(m[3]) ?? 0
            r.errors = (Int(m[4]) ?? 0) + (Int(m[5]) ?? 0)
            if let ok = Int(m[3]) { r.requests = ok }
        }
        if let m = match(#"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx"#, out) {
            let bad = (Int(m[2]) ?? 0) + (Int(m[3]) ?? 0)
            if bad > 0 { r.errors += bad; r.firstError = r.firstError ?? "\(bad) non-2xx responses" }
        }
        if let m = match(#"time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)"#, out) {
            r.meanLatencyNs = nanos(m[2])
        }
    }

    /// "123.45us" / "1.23ms" / "1.2s" -> nanoseconds.
    static func nanos(_ s: String) -> Double? {
        for (suffix, scale) in [("us", 1e3), ("ms", 1e6), ("ns", 1.0), ("s", 1e9)] where s.hasSuffix(suffix) {
            return Double(s.dropLast(suffix.count)).map { $0 * scale }
        }
        return nil
    }

    static func match(_ pattern: String, _ text: String) -> [String]? {
        guard let re = try? NSRegularExpression(pattern: pattern),
              let m = re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
        return (1..<m.numberOfRanges).compactMap { Range(m.range(at: $0), in: text).map { String(text[$0]) } }
    }
}
