@testable import CapgateMetrics
import CapgateTesting
import Foundation
import Glibc
import Testing

/// The scrape listener: loopback only, GET /metrics only, the registry's exposition with the
/// Prometheus content type; and the registry's delta counters.
@Suite(.timeLimit(.minutes(1)))
struct MetricsEndpointTests {
    static let requests = MetricFamily("capgate_test_requests_total", .counter, labels: ["verb"], help: "Test requests.")

    /// One HTTP/1.1 exchange on a fresh connection; returns the whole answer.
    static func exchange(port: UInt16, _ request: String) throws -> String {
        try PlainHTTP.exchange(port: port, request)
    }

    @Test func servesTheExpositionOnLoopbackAndNothingElse() throws {
        let registry = MetricsRegistry()
        registry.counter(Self.requests, [("verb", "health")]).increment(by: Int64(3))
        let endpoint = try MetricsEndpoint(host: "127.0.0.1", port: 0) { registry.exposition() }
        defer { endpoint.stop() }
        #expect(endpoint.port != 0)

        let ok = try Self.exchange(port: endpoint.port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(ok.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(ok.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
        #expect(ok.contains("# HELP capgate_test_requests_total Test requests.\n"))
        #expect(ok.contains("# TYPE capgate_test_requests_total counter\n"))
        #expect(ok.contains("capgate_test_requests_total{verb=\"health\"} 3\n"))

        #expect(try Self.exchange(port: endpoint.port, "GET /other HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 404 "))
        #expect(try Self.exchange(port: endpoint.port, "POST /metrics HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 405 "))
        #expect(try Self.exchange(port: endpoint.port, "garbage\r\n\r\n").hasPrefix("HTTP/1.1 400 "))
        // A query string is ignored (some scrapers add one).
        #expect(try Self.exchange(port: endpoint.port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n").hasPrefix("HTTP/1.1 200 "))
    }

    @Test func refusesNonLoopbackAddresses() {
        for host in ["0.0.0.0", "::", "10.0.0.1", "192.168.1.1", "example.org", "::ffff:127.0.0.1"] {
            #expect(throws: MetricsEndpointError.self, "\(host)") {
                _ = try MetricsEndpoint(host: host, port: 0) { [] }
            }
        }
        #expect(MetricsEndpoint.loopbackAddress("127.0.0.1") != nil)
        #expect(MetricsEndpoint.loopbackAddress("127.3.2.1") != nil)
        #expect(MetricsEndpoint.loopbackAddress("::1") != nil)
        #expect(MetricsEndpoint.loopbackAddress("localhost") != nil)
    }

    @Test func stopReleasesThePort() throws {
        let first = try MetricsEndpoint(host: "127.0.0.1", port: 0) { [] }
        let port = first.port
        first.stop()
        first.stop()  // idempotent
        let second = try MetricsEndpoint(host: "127.0.0.1", port: port) { [] }
        second.stop()
    }

    @Test func counterDeltasAddOnlyWhatGrew() {
        let registry = MetricsRegistry()
        let deltas = CounterDeltas(registry, Self.requests)
        deltas.observe(["a"], total: 0)
        #expect(registry.prometheus.emitToString().contains("capgate_test_requests_total{verb=\"a\"} 0\n"))
        deltas.observe(["a"], total: 5)
        deltas.observe(["a"], total: 7)
        deltas.observe(["a"], total: 6)  // a total never goes down; if it did, nothing is subtracted
        #expect(registry.prometheus.emitToString().contains("capgate_test_requests_total{verb=\"a\"} 7\n"))
    }

    @Test func collectorsRunBeforeEachScrape() {
        let registry = MetricsRegistry()
        let gauge = MetricFamily("capgate_test_value", .gauge, help: "A test value.")
        let n = ManagedCounter()
        registry.addCollector { registry.gauge(gauge).set(Int64(n.next())) }
        #expect(String(decoding: registry.exposition(), as: UTF8.self).contains("capgate_test_value 1.0\n"))
        #expect(String(decoding: registry.exposition(), as: UTF8.self).contains("capgate_test_value 2.0\n"))
    }
}

final class ManagedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func next() -> Int { lock.lock(); defer { lock.unlock() }; n += 1; return n }
}
