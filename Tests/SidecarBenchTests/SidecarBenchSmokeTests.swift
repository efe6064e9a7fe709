import CapgateTesting
import Foundation
import Testing

/// Keeps `make bench` working without running it: the real harness binary, against the real
/// `capgate serve` child, with ~0.2 s per point and two cheap verbs, no nginx, h2load,
/// reference or profile (those need tools CI may lack). Asserts the report has every point
/// and that no point failed; never asserts a number (no time gates).
///
/// Run on its own by `make bench-smoke` (`make test` excludes this suite by name): it
/// saturates both cores for ~14 s, and in parallel with the whole suite it starved the
/// transport tests' handshake and request timeouts on a 2-core machine.
@Suite("capgate-bench smoke", .serialized)
struct SidecarBenchSmokeTests {
    @Test
    func quickRunWritesEveryPoint() throws {
        let out = NSTemporaryDirectory() + "capgate-bench-smoke-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: out) }
        try Self.runBench(["--quick", "--seconds", "0.2", "--warmup", "0.1", "--no-nginx", "--no-h2load", "--no-reference",
                           "--no-profile", "--verbs", "request_capabilities,explain", "--idle-connections", "20",
                           "--handshake-seconds", "0.3", "--out", out])

        let dirs = try FileManager.default.contentsOfDirectory(atPath: out)
        let dir = out + "/" + (try #require(dirs.first { $0.hasSuffix("-quick") }))
        let (run, keys) = try Self.results(dir)
        var expected: Set<String> = ["health/health/1x1", "health/health/1x16", "health/health/16x16",
                                     "repeat-sidecar/invoke_summary/1x1", "repeat-sidecar/request_capabilities/1x16",
                                     // Issue 16's JSON points on the invoke frame (no tool needed).
                                     "json/encode_frame/0x1", "json/decode_frame/0x1", "json/client_decode_frame/0x1"]
        for verb in ["request_capabilities", "explain"] {
            // kernel-mem: the kernel with in-memory stores, issue 16's goal-1 point.
            expected.formUnion(["kernel/\(verb)/0x1", "kernel/\(verb)/0x16", "kernel-mem/\(verb)/0x1", "service/\(verb)/0x1",
                                "sidecar/\(verb)/1x1", "sidecar/\(verb)/1x16", "sidecar/\(verb)/16x16"])
        }
        // The HTTP-driver point needs nginx as its tool; without it the run notes the skip.
        if FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx") {
            expected.formUnion(["tool-direct/invoke_http/0x1", "tool-direct/invoke_http/0x16", "kernel/invoke_http/0x1",
                                "kernel/invoke_http/0x16", "service/invoke_http/0x1", "sidecar/invoke_http/1x1",
                                "sidecar/invoke_http/16x16"])
        }
        #expect(keys == expected)
        let handshakes = try #require(run["handshakes"] as? [[String: Any]])
        #expect(handshakes.count == 1 && (handshakes.first?["handshakes"] as? Int ?? 0) > 0)
        let idle = try #require(run["idleMemory"] as? [[String: Any]])
        #expect(idle.count == 1 && (idle.first?["rssAfterKiB"] as? Int ?? 0) > 0)
        let report = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
        #expect(report.contains("## Headline ratios") && report.contains("## Goals of issue 6"))
        for svg in ["throughput.svg", "p50-by-verb.svg", "latency-explain.svg"] {
            let text = try String(contentsOfFile: dir + "/" + svg, encoding: .utf8)
            #expect(text.hasPrefix("<svg") && text.contains("</svg>"), "\(svg) is not an SVG")
        }
    }

    /// `--handshakes-only --handshakes-after-load s`: the handshake point on the fresh
    /// sidecar, the verb and health loads at the three concurrencies, the handshakes again.
    @Test
    func handshakesAfterLoadMeasuresTwiceAroundTheLoad() throws {
        let out = try makeTempDirectory("bench-handshakes")
        defer { try? FileManager.default.removeItem(atPath: out) }
        try Self.runBench(["--handshakes-only", "--handshakes-after-load", "0.2", "--no-nginx", "--verbs", "explain",
                           "--handshake-seconds", "0.3", "--out", out])
        let dirs = try FileManager.default.contentsOfDirectory(atPath: out)
        let (run, keys) = try Self.results(out + "/" + (try #require(dirs.first)))
        #expect(keys == ["sidecar/explain/1x1", "sidecar/explain/1x16", "sidecar/explain/16x16",
                         "health/health/1x1", "health/health/1x16", "health/health/16x16"])
        let handshakes = try #require(run["handshakes"] as? [[String: Any]])
        #expect(handshakes.map { $0["target"] as? String } == ["capgate", "capgate-after-load"])
        #expect(handshakes.allSatisfy { ($0["handshakes"] as? Int ?? 0) > 0 && ($0["errors"] as? Int) == 0 })
    }

    /// `--handshakes-only --handshake-rounds 2`: capgate and nginx alternate, both up, and each
    /// point carries the client's CPU too (without nginx there is nothing to alternate with).
    @Test
    func handshakeRoundsAlternateWithNginx() throws {
        let out = try makeTempDirectory("bench-handshake-rounds")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let nginx = FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx")
        try Self.runBench(["--handshakes-only", "--handshake-rounds", "2", "--handshake-seconds", "0.3", "--out", out]
                          + (nginx ? [] : ["--no-nginx"]))
        let dirs = try FileManager.default.contentsOfDirectory(atPath: out)
        let (run, _) = try Self.results(out + "/" + (try #require(dirs.first)))
        let handshakes = try #require(run["handshakes"] as? [[String: Any]])
        #expect(handshakes.map { $0["target"] as? String }
                == (nginx ? ["capgate", "nginx", "capgate", "nginx"] : ["capgate"]))
        #expect(handshakes.allSatisfy { ($0["handshakes"] as? Int ?? 0) > 0 && ($0["errors"] as? Int) == 0 })
        #expect(handshakes.allSatisfy { ($0["clientCPUSeconds"] as? Double ?? 0) > 0 })
    }

    /// `--only fleet` (make bench-fleet): a throwaway PostgreSQL, two fleet sidecars and one on
    /// SQLite; every fleet point measured without errors, its own report, and --publish-docs
    /// replaces only the fleet section of an existing page (twice: still one section).
    @Test
    func fleetOnlyRunWritesItsPointsAndSplicesItsSection() throws {
        let out = try makeTempDirectory("bench-fleet")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let docs = out + "/benchmarks.md"
        try "# page\n\n## Before\n\nkept\n\n## Where the time goes\n\nkept too\n".write(toFile: docs, atomically: true,
                                                                                         encoding: .utf8)
        for _ in 0..<2 {
            try Self.runBench(["--only", "fleet", "--quick", "--seconds", "0.2", "--warmup", "0.1", "--out", out + "/reports",
                               "--publish-docs", docs])
        }
        let dirs = try FileManager.default.contentsOfDirectory(atPath: out + "/reports")
        let dir = out + "/reports/" + (try #require(dirs.first { $0.hasSuffix("-fleet-quick") }))
        let (run, keys) = try Self.results(dir)
        var expected: Set<String> = []
        for target in ["fleet-sqlite-1", "fleet-postgres-2"] {
            for verb in ["grant_capability", "invoke_summary"] { expected.formUnion(["\(target)/\(verb)/2x1", "\(target)/\(verb)/16x16"]) }
        }
        #expect(keys == expected, "notes: \(run["notes"] ?? "")")
        let report = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
        #expect(report.contains("## Fleet: 2 sidecars on PostgreSQL vs 1 on SQLite"))
        let page = try String(contentsOfFile: docs, encoding: .utf8)
        #expect(page.components(separatedBy: "## Fleet: 2 sidecars").count == 2, "\(page)")
        #expect(page.hasPrefix("# page\n\n## Before\n\nkept\n\n<!-- fleet point") && page.hasSuffix("## Where the time goes\n\nkept too\n"),
                "\(page)")
    }

    /// Runs the built capgate-bench against the built capgate and expects it to succeed.
    static func runBench(_ arguments: [String]) throws {
        let bench = try #require(Products.executable("capgate-bench"), "capgate-bench is not built")
        let capgate = try #require(Products.executable("capgate"), "capgate is not built")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bench)
        p.arguments = arguments + ["--capgate", capgate]
        let log = Pipe()
        p.standardError = log
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let stderr = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "capgate-bench failed: \(stderr.suffix(2000))")
    }

    /// A report directory's results.json and its points as `target/verb/CxS`; every point must
    /// have made requests without an error.
    static func results(_ dir: String) throws -> (run: [String: Any], keys: Set<String>) {
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/results.json"))
        let run = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let points = try #require(run["points"] as? [[String: Any]])
        var keys: Set<String> = []
        for point in points {
            let key = "\(point["target"]!)/\(point["verb"]!)/\(point["connections"]!)x\(point["streams"]!)"
            keys.insert(key)
            #expect((point["requests"] as? Int ?? 0) > 0, "no requests at \(key)")
            #expect((point["errors"] as? Int) == 0 && point["firstError"] == nil, "errors at \(key): \(point["firstError"] ?? "")")
        }
        return (run, keys)
    }
}
