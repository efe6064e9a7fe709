import CoreMetrics
import Prometheus
import Synchronization

/// What one metric family is: its name, its help text (the `# HELP` line), its type and, for a
/// histogram, its bucket bounds. Every family capgate exposes is declared once as one of these
/// (the catalogue lives next to the code that records it, `GatewayMetricFamilies` in the
/// server), so a name cannot be registered twice with two types or two help texts (the
/// Prometheus registry treats that as a programming error and stops the process).
public struct MetricFamily: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case counter
        case gauge
        /// Bucket upper bounds in the family's base unit (seconds for `_seconds`).
        case histogram([Double])

        /// The Prometheus type name (`counter`, `gauge`, `histogram`), as the docs table shows it.
        public var typeName: String {
            switch self {
            case .counter: "counter"
            case .gauge: "gauge"
            case .histogram: "histogram"
            }
        }
    }

    public let name: String
    public let help: String
    public let kind: Kind
    /// The label names every series of this family carries (docs/operations.md lists them).
    public let labels: [String]

    public init(_ name: String, _ kind: Kind, labels: [String] = [], help: String) {
        self.name = name
        self.kind = kind
        self.labels = labels
        self.help = help
    }

    var descriptor: MetricNameDescriptor {
        // The registry joins the parts with "_"; our names are already whole.
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}

/// One Prometheus registry and the pull collectors that refresh it before each scrape.
///
/// WHY a registry per gateway and not `MetricsSystem.bootstrap`: the swift-metrics global can be
/// set once per process, while tests run many gateways in one process and each must see only
/// its own numbers. `capgate serve` additionally bootstraps swift-metrics with a factory on the
/// same registry, so a library's swift-metrics instrumentation lands in the same exposition.
///
/// Two ways a number gets here: pushed where it happens (a request's verb, status and
/// latency: `counter(_:_:)`, `histogram(_:_:)`), or pulled at scrape time from counters the
/// transport keeps anyway (`addCollector`, with `CounterDeltas` turning their totals into
/// counter increments), so the event loops pay nothing extra for metrics.
public final class MetricsRegistry: Sendable {
    public let prometheus = PrometheusCollectorRegistry()
    private let collectors = Mutex<[@Sendable () -> Void]>([])
    /// Serializes scrapes: collectors compute deltas against the previous scrape.
    private let scrapeLock = Mutex<Void>(())

    public init() {}

    public func counter(_ family: MetricFamily, _ labels: [(String, String)] = []) -> Prometheus.Counter {
        precondition(family.kind == .counter, "\(family.name) is not a counter")
        return prometheus.makeCounter(descriptor: family.descriptor, labels: labels)
    }

    public func gauge(_ family: MetricFamily, _ labels: [(String, String)] = []) -> Prometheus.Gauge {
        precondition(family.kind == .gauge, "\(family.name) is not a gauge")
        return prometheus.makeGauge(descriptor: family.descriptor, labels: labels)
    }

    public func histogram(_ family: MetricFamily, _ labels: [(String, String)] = []) -> ValueHistogram {
        guard case .histogram(let buckets) = family.kind else { preconditionFailure("\(family.name) is not a histogram") }
        return prometheus.makeValueHistogram(descriptor: family.descriptor, labels: labels, buckets: buckets)
    }

    /// Makes this registry the process's swift-metrics backend, so libraries instrumented with
    /// swift-metrics land in the same exposition. Once per process (`capgate serve` only);
    /// tests never call it. Their names must not collide with capgate's (`capgate_` prefix).
    public func bootstrapSwiftMetrics() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: prometheus))
    }

    /// Runs before every scrape, in registration order, on the scraping thread.
    public func addCollector(_ collect: @escaping @Sendable () -> Void) {
        collectors.withLock { $0.append(collect) }
    }

    /// The text exposition (format 0.0.4) after running every collector.
    public func exposition() -> [UInt8] {
        scrapeLock.withLock { _ in
            for collect in collectors.withLock({ $0 }) { collect() }
            return prometheus.emitToBuffer()
        }
    }

    /// Latency buckets in seconds: 100 µs to 10 s, for requests, driver calls and audit waits.
    public static let latencyBuckets: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                  0.1, 0.25, 0.5, 1, 2.5, 5, 10]
}

/// Turns totals that only grow (the transport's own counters, read at scrape time) into
/// Prometheus counter increments: each collect adds what grew since the previous one. A total
/// that went DOWN (it cannot, short of a bug) is ignored rather than making the counter lie.
public final class CounterDeltas: Sendable {
    private let series: MetricHandles<Prometheus.Counter>
    private let last = Mutex<[[String]: Int]>([:])

    public init(_ registry: MetricsRegistry, _ family: MetricFamily) {
        self.series = registry.counters(family)
    }

    /// `labelValues` in the family's label order.
    public func observe(_ labelValues: [String], total: Int) {
        let grew: Int = last.withLock { table in
            let before = table[labelValues] ?? 0
            guard total >= before else { return 0 }
            table[labelValues] = total
            return total - before
        }
        // Registered even at 0, so the series exists from the first scrape (rate() needs a start).
        let c = series(labelValues)
        if grew > 0 { c.increment(by: Int64(grew)) }
    }
}

/// The series of one family by label values, made once and then found without the registry.
///
/// WHY: the registry validates the name, the label names and the help text and hashes the
/// label set on every `makeCounter`/`makeValueHistogram` (tens of microseconds in a debug
/// build); the per-request path (`GatewayMetrics.record`) must only find its handle and bump
/// it. Label values are closed sets, so the table stays small.
public final class MetricHandles<Handle: Sendable>: Sendable {
    private let table = Mutex<[[String]: Handle]>([:])
    private let make: @Sendable ([(String, String)]) -> Handle
    private let labelNames: [String]

    init(_ family: MetricFamily, make: @escaping @Sendable ([(String, String)]) -> Handle) {
        self.labelNames = family.labels
        self.make = make
    }

    /// The series with these label values (in the family's label order).
    public func callAsFunction(_ labelValues: [String]) -> Handle {
        if let h = table.withLock({ $0[labelValues] }) { return h }
        let made = make(Array(zip(labelNames, labelValues)))  // outside our lock; the registry dedups
        return table.withLock { t in
            if let h = t[labelValues] { return h }
            t[labelValues] = made
            return made
        }
    }
}

extension MetricsRegistry {
    public func counters(_ family: MetricFamily) -> MetricHandles<Prometheus.Counter> {
        MetricHandles(family) { [self] in counter(family, $0) }
    }

    public func histograms(_ family: MetricFamily) -> MetricHandles<ValueHistogram> {
        MetricHandles(family) { [self] in histogram(family, $0) }
    }

    public func gauges(_ family: MetricFamily) -> MetricHandles<Prometheus.Gauge> {
        MetricHandles(family) { [self] in gauge(family, $0) }
    }
}
