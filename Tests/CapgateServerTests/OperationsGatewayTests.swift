import AgentKernel
import CapgateClient
import CapgateConnection
import CapgateServer
import CapgateTesting
import CapgateWire
import Foundation
import Glibc
import Testing

/// docs/operations.md against a live gateway: the metrics endpoint moves with requests, driver
/// calls and audit waits; a non-loopback metrics address stops start-up; the access log has one
/// JSON line per request with the documented fields and nothing from a body, a token or the
/// secret; `[metrics]` and `[access_log]` parse as docs/configuration.md says.
@Suite(.timeLimit(.minutes(2)))
struct OperationsGatewayTests {
    static let canary = "canary-swift-ops-91c2-never-logged"

    /// `GET /metrics` over plain HTTP/1.1 on loopback; returns the body.
    static func scrape(_ port: UInt16) throws -> String {
        let text = try PlainHTTP.exchange(port: port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        guard text.hasPrefix("HTTP/1.1 200 OK"), let split = text.range(of: "\r\n\r\n") else {
            throw FixtureError("unexpected metrics answer: \(text.prefix(200))")
        }
        return String(text[split.upperBound...])
    }

    /// Scrapes until `ready` holds or 10 s passed, then returns the last scrape. Why: a request is
    /// counted when its answer has been handed to the transport, which can be just after the
    /// client already read it; the assertions then run on the settled numbers.
    static func scrape(_ port: UInt16, until ready: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let text = try scrape(port)
            if ready(text) || ContinuousClock.now >= deadline { return text }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The value of the sample line `series` (name with its labels, as exposed), 0 when absent.
    static func sample(_ text: String, _ series: String) -> Double {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1)) ?? .nan
        }
        return 0
    }

    @Test func metricsMoveWithRequestsDriversAndAudit() async throws {
        try await withGateway(configure: { $0.metrics.listenHost = "127.0.0.1"; $0.metrics.listenPort = 0 }) { gw in
            let port = try #require(gw.gateway.metricsPort)
            let before = try Self.scrape(port)
            #expect(before.contains("# TYPE capgate_requests_total counter"))
            #expect(before.contains("# TYPE capgate_request_duration_seconds histogram"))
            #expect(Self.sample(before, "capgate_limit_trips_total{limit=\"maxBodyBytesPerVerb\",code=\"body_too_large\"}") == 0)
            #expect(Self.sample(before, "capgate_server_certificate_expiry_timestamp_seconds") > 1.7e9)

            let alice = try gw.client("alice")
            _ = try await alice.listCapabilities()
            _ = try await alice.listCapabilities()
            let grant = try await alice.grantCapability(Demo.request("billing.list_invoices"), justification: "")
            _ = try await alice.invoke(grant.token, args: Demo.listInvoices)

            let after = try await Self.scrape(port) {
                Self.sample($0, "capgate_requests_total{verb=\"invoke\",status=\"200\",code=\"ok\"}") >= 1
                    && Self.sample($0, "capgate_requests_total{verb=\"list_capabilities\",status=\"200\",code=\"ok\"}") >= 2
            }
            #expect(Self.sample(after, "capgate_requests_total{verb=\"list_capabilities\",status=\"200\",code=\"ok\"}") == 2)
            #expect(Self.sample(after, "capgate_requests_total{verb=\"invoke\",status=\"200\",code=\"ok\"}") == 1)
            #expect(Self.sample(after, "capgate_request_duration_seconds_count{verb=\"list_capabilities\"}") == 2)
            #expect(Self.sample(after, "capgate_driver_calls_total{driver=\"billing\",outcome=\"ok\"}") == 1)
            #expect(Self.sample(after, "capgate_driver_call_duration_seconds_count{driver=\"billing\"}") == 1)
            #expect(Self.sample(after, "capgate_audit_durable_wait_seconds_count") >= 2)  // grant + invoke
            #expect(Self.sample(after, "capgate_handshakes_total{outcome=\"success\",reason=\"none\"}") >= 1)
            #expect(Self.sample(after, "capgate_connections_open{phase=\"authenticated\"}") >= 1)
            #expect(Self.sample(after, "capgate_client_certificate_expiry_timestamp_seconds{identity=\"\(demoID("alice"))\"}") > 1.7e9)
            #expect(after.contains("capgate_ca_certificate_expiry_timestamp_seconds{ca=\""))
            #expect(Self.sample(after, "capgate_reloads_total{part=\"tls\",outcome=\"success\"}") == 0)

            gw.gateway.reload(tls: true, identities: false)
            let reloaded = try Self.scrape(port)
            #expect(Self.sample(reloaded, "capgate_reloads_total{part=\"tls\",outcome=\"success\"}") == 1)
            #expect(Self.sample(reloaded, "capgate_tls_generation") == 2)

            #expect(Self.sample(reloaded, "capgate_paused_items{kind=\"capability\"}") == 0)
            _ = try await gw.client("ops").pause(.capability("tasks.list"), reason: "metrics test")
            let paused = try await Self.scrape(port) {
                Self.sample($0, "capgate_requests_total{verb=\"pause_capability\",status=\"200\",code=\"ok\"}") >= 1
            }
            #expect(Self.sample(paused, "capgate_paused_items{kind=\"capability\"}") == 1)
            #expect(Self.sample(paused, "capgate_paused_items{kind=\"all\"}") == 0)
            #expect(Self.sample(paused, "capgate_requests_total{verb=\"pause_capability\",status=\"200\",code=\"ok\"}") == 1)
            #expect(!paused.contains("tasks.list"))  // counts, never which
        }
    }

    @Test func aNonLoopbackMetricsAddressStopsStartUp() throws {
        let dir = try makeTempDirectory("ops")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = try DemoConfig.prepare(stateDir: dir, host: "127.0.0.1", port: 0)
        config.eventLoops = 1
        config.metrics.listenHost = "0.0.0.0"
        config.metrics.listenPort = 0
        let gateway = try Gateway(config: config, logger: CollectingLogger().asLogger)
        #expect {
            try gateway.start()
        } throws: { error in
            "\(error)".contains("metrics.listen") && "\(error)".contains("not a loopback address")
        }
        gateway.waitUntilStopped()
    }

    @Test func accessLogHasTheFieldsAndNothingSecret() async throws {
        let dir = try makeTempDirectory("ops-log")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/access.log"
        var signature = ""
        var secret = ""
        try await withGateway(configure: { $0.accessLog.destination = .file(path) }) { gw in
            secret = try gw.secret
            let alice = try gw.client("alice")
            var request = Demo.request("billing.list_invoices")
            request.goal = Self.canary
            let grant = try await alice.grantCapability(request, justification: "because \(Self.canary)")
            signature = grant.token.signature
            _ = try await alice.invoke(grant.token, args: ["operation": "list_invoices", "customer_id": .string(Self.canary)])
            _ = try await alice.requestCapabilities(goal: Self.canary)
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!signature.isEmpty && !secret.isEmpty)
        #expect(!text.contains(Self.canary))
        #expect(!text.contains(signature))
        #expect(!text.contains(secret))
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        let invoke = try #require(lines.first { $0.contains("\"verb\":\"invoke\"") })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(invoke.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["time", "connection", "stream", "peer", "remote", "principal", "verb", "status", "code",
                                     "reason_code", "latency_seconds", "bytes_in", "bytes_out", "tls_version", "tls_cipher"])
        #expect(object["peer"] as? String == demoID("alice"))
        #expect(object["principal"] as? String == "alice")
        #expect(object["status"] as? Int == 200)
        #expect(object["code"] as? String == "ok")
        #expect(object["reason_code"] is NSNull)
        #expect(object["tls_version"] as? String == "TLSv1.3")
        #expect((object["tls_cipher"] as? String)?.hasPrefix("TLS_") == true)
        #expect((object["bytes_in"] as? Int ?? 0) > Self.canary.count)
        #expect((object["bytes_out"] as? Int ?? 0) > 0)
        #expect((object["stream"] as? Int ?? 0) > 0)
        #expect((object["connection"] as? Int ?? 0) >= 1)
    }

    @Test func metricsAndAccessLogParse() throws {
        let base = try String(contentsOfFile: ConfigurationTests.example, encoding: .utf8)
        let dir = packageRoot + "/docs/examples"
        let c = try ServerConfig.parse(base + "\n[metrics]\nlisten = \"127.0.0.1:9999\"\n\n[access_log]\npath = \"logs/access.log\"\n",
                                       baseDirectory: dir)
        #expect(c.metrics.listenHost == "127.0.0.1" && c.metrics.listenPort == 9999 && !c.metrics.optional)
        #expect(c.accessLog.destination == .file(dir + "/logs/access.log"))
        let plain = try ServerConfig.parse(base, baseDirectory: dir)
        #expect(plain.metrics.listenHost == nil && plain.accessLog.destination == nil)
        let stderr = try ServerConfig.parse(base + "\n[access_log]\nenabled = true\n", baseDirectory: dir)
        #expect(stderr.accessLog.destination == .stderr)
        let off = try ServerConfig.parse(base + "\n[access_log]\nenabled = false\npath = \"stderr\"\n", baseDirectory: dir)
        #expect(off.accessLog.destination == nil)
        #expect(throws: ConfigError.self) { try ServerConfig.parse(base + "\n[metrics]\nlisten = \"nope\"\n", baseDirectory: dir) }
        #expect(throws: ConfigError.self) { try ServerConfig.parse(base + "\n[metrics]\nlisen = \"127.0.0.1:1\"\n", baseDirectory: dir) }
        #expect(throws: ConfigError.self) { try ServerConfig.parse(base + "\n[access_log]\nformat = \"json\"\n", baseDirectory: dir) }
    }

    /// Per identity the earliest notAfter among its certificates seen within a day; a
    /// certificate unused for longer stops counting, and an identity with none left loses its series.
    @Test func clientCertificateExpiryIsTheEarliestRecentOne() {
        let metrics = GatewayMetrics()
        func peer(_ id: String, serial: String, notAfter: Int64) -> PeerInfo {
            PeerInfo(spiffeID: id, trustDomain: "capgate.local", certificateNotAfter: notAfter, certificateSerialHex: serial,
                     remoteAddress: "127.0.0.1:1")
        }
        let t0: Int64 = 1_800_000_000
        metrics.observeClientCertificate(peer("spiffe://capgate.local/a", serial: "01", notAfter: t0 + 500), now: t0)
        metrics.observeClientCertificate(peer("spiffe://capgate.local/a", serial: "02", notAfter: t0 + 900), now: t0 + 100)
        metrics.observeClientCertificate(peer("spiffe://capgate.local/b", serial: "03", notAfter: t0 + 700), now: t0)
        metrics.collectClientCertificates(now: t0 + 200)
        var text = metrics.registry.prometheus.emitToString()
        #expect(Self.sample(text, "capgate_client_certificate_expiry_timestamp_seconds{identity=\"spiffe://capgate.local/a\"}") == Double(t0 + 500))
        #expect(Self.sample(text, "capgate_client_certificate_expiry_timestamp_seconds{identity=\"spiffe://capgate.local/b\"}") == Double(t0 + 700))
        // A day after serial 01's last use only serial 02 counts; b was not seen since: gone.
        metrics.observeClientCertificate(peer("spiffe://capgate.local/a", serial: "02", notAfter: t0 + 900), now: t0 + 86_400)
        metrics.collectClientCertificates(now: t0 + 86_450)
        text = metrics.registry.prometheus.emitToString()
        #expect(Self.sample(text, "capgate_client_certificate_expiry_timestamp_seconds{identity=\"spiffe://capgate.local/a\"}") == Double(t0 + 900))
        #expect(!text.contains("spiffe://capgate.local/b"))
    }

    /// `capgate serve --metrics-listen` on a non-loopback address refuses to start (exit 1).
    @Test func serveRefusesANonLoopbackMetricsListen() async throws {
        let capgate = try #require(Products.executable("capgate"), "the capgate executable is not built next to the test bundle")
        let dir = try makeTempDirectory("ops-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try await runProcess(capgate, ["serve", "--state-dir", dir, "--listen", "127.0.0.1:0",
                                                 "--metrics-listen", "0.0.0.0:0"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("metrics.listen") && run.stderr.contains("not a loopback address"), "\(run.stderr)")
    }

    /// Scrapes until `series` reaches `atLeast` (connection ends are counted on the loop,
    /// after the client saw its answer); bounded.
    static func awaitSample(_ port: UInt16, _ series: String, atLeast: Double) async throws -> Double {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let v = sample(try scrape(port), series)
            if v >= atLeast || ContinuousClock.now > deadline { return v }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The transport's own numbers: a drain at the streams-per-connection cap is a NO_ERROR
    /// GOAWAY and a `stream_limit_drained` end; a peer that hangs up mid-handshake is a
    /// handshake failure with its close reason.
    @Test func goAwaysConnectionEndsAndHandshakeFailuresAreCounted() async throws {
        try await withGateway(configure: {
            $0.metrics.listenHost = "127.0.0.1"
            $0.metrics.listenPort = 0
            $0.limits.maxStreamsPerConnection = 2
        }) { gw in
            let port = try #require(gw.gateway.metricsPort)
            for _ in 0..<2 {
                // The second stream reaches the cap: served, then GOAWAY(NO_ERROR) and a drain.
                let alice = try gw.client("alice")
                _ = try await alice.listCapabilities()
                _ = try await alice.listCapabilities()
            }
            #expect(try await Self.awaitSample(port, "capgate_http2_goaways_sent_total{error_code=\"NO_ERROR\"}", atLeast: 2) >= 2)
            #expect(try await Self.awaitSample(port, "capgate_connections_closed_total{reason=\"stream_limit_drained\"}",
                                               atLeast: 1) >= 1)

            // TCP connect, then close before any TLS byte (the TLS layer reports tls_handshake_failed).
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = gw.port.bigEndian
            sa.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            #expect(rc == 0)
            let failed = "capgate_handshakes_total{outcome=\"failure\",reason=\"tls_handshake_failed\"}"
            let got = try await Self.awaitSample(port, failed, atLeast: 1)
            let text = try Self.scrape(port)
            #expect(got == 1, "\(text.split(separator: "\n").filter { $0.contains("handshakes") || $0.contains("closed_total") })")
            #expect(Self.sample(text, "capgate_handshakes_total{outcome=\"success\",reason=\"none\"}") >= 2)
            #expect(Self.sample(text, "capgate_connections_accepted_total") >= 3)
        }
    }
}
