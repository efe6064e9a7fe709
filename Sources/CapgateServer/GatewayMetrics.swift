import AgentKernel
import CapgateConnection
import CapgateMetrics
import CapgateStore
import CapgateWire
import Foundation
import Prometheus
import Synchronization

/// The gateway's metrics (docs/operations.md, "Metrics"): what is recorded where it happens
/// (requests, driver calls, audit waits, reloads) and what is read from the transport and the
/// stores at scrape time (connections, handshakes, limit trips, GOAWAYs, certificate expiry,
/// the audit queue). One registry per gateway.
public final class GatewayMetrics: Sendable {
    public let registry = MetricsRegistry()
    typealias F = GatewayMetricFamilies

    /// At most this many client identities get a certificate-expiry series (the soonest to
    /// expire first): the label stays bounded whatever the identity rules match.
    public static let maxIdentitySeries = 1000
    /// A client certificate counts for its identity's earliest expiry while it was seen on a
    /// request within this many seconds: a certificate rotated out stops counting a day later.
    public static let clientCertificateWindow: Int64 = 86_400
    /// Bound on the (identity, serial) pairs remembered for that.
    static let maxClientCertificates = 10_000

    private struct SeenCertificate: Equatable {
        var notAfter: Int64
        var lastSeen: Int64
    }

    /// (identity, serial): a struct, so the per-request look-up allocates no key array.
    private struct CertificateKey: Hashable {
        var identity: String
        var serial: String
    }

    /// (identity, serial) of mapped identities -> notAfter and when last seen; and the identity
    /// series exported at the previous scrape (removed once their identity drops out).
    private let clientCertificates = Mutex<(seen: [CertificateKey: SeenCertificate], exported: [String: Prometheus.Gauge])>(([:], [:]))

    private let accepted: CounterDeltas
    private let closed: CounterDeltas
    private let handshakes: CounterDeltas
    private let trips: CounterDeltas
    private let streamErrors: CounterDeltas
    private let goAways: CounterDeltas
    private let requests: MetricHandles<Prometheus.Counter>
    private let requestDuration: MetricHandles<ValueHistogram>
    private let driverCalls: MetricHandles<Prometheus.Counter>
    private let driverDuration: MetricHandles<ValueHistogram>
    private let auditWait: ValueHistogram
    private let connectionsOpen: MetricHandles<Prometheus.Gauge>
    /// Per verb, the handles of its `200 ok` series, taken from `requests`/`requestDuration` on
    /// first use. WHY: looking them up there costs two label arrays, two array hashes and two
    /// locks per request, a few percent of an `explain`; this is one string lookup. Bounded by
    /// the verb list (only a routed verb answers 200 ok).
    private let okSeries = Mutex<[String: (requests: Prometheus.Counter, duration: ValueHistogram)]>([:])

    public init() {
        requests = registry.counters(F.requests)
        requestDuration = registry.histograms(F.requestDuration)
        driverCalls = registry.counters(F.driverCalls)
        driverDuration = registry.histograms(F.driverDuration)
        auditWait = registry.histogram(F.auditDurableWait)
        connectionsOpen = registry.gauges(F.connectionsOpen)
        accepted = CounterDeltas(registry, F.connectionsAccepted)
        closed = CounterDeltas(registry, F.connectionsClosed)
        handshakes = CounterDeltas(registry, F.handshakes)
        trips = CounterDeltas(registry, F.limitTrips)
        streamErrors = CounterDeltas(registry, F.streamErrors)
        goAways = CounterDeltas(registry, F.goAways)
    }

    // MARK: - Pushed

    /// One answered request (`KernelRequestHandler`).
    public func record(_ r: RequestRecord) {
        if r.status == 200 && r.code == "ok" {
            let series = okSeries.withLock { $0[r.verb] } ?? {
                let made = (requests: requests([r.verb, "200", "ok"]), duration: requestDuration([r.verb]))
                okSeries.withLock { $0[r.verb] = made }
                return made
            }()
            series.requests.increment()
            series.duration.record(r.seconds)
        } else {
            requests([r.verb, r.statusLabel, r.code]).increment()
            requestDuration([r.verb]).record(r.seconds)
        }
        if r.principal != nil { observeClientCertificate(r.peer) }
    }

    /// Remembers the certificate a mapped identity presented (for the earliest-expiry gauge).
    public func observeClientCertificate(_ peer: PeerInfo, now: Int64 = Int64(Date().timeIntervalSince1970)) {
        let key = CertificateKey(identity: peer.spiffeID, serial: peer.certificateSerialHex)
        let sighting = SeenCertificate(notAfter: peer.certificateNotAfter, lastSeen: now)
        clientCertificates.withLock { t in
            if let known = t.seen[key] {
                if known != sighting { t.seen[key] = sighting }  // mostly the same second: no write
            } else if t.seen.count < Self.maxClientCertificates {
                t.seen[key] = sighting
            }
        }
    }

    /// Per mapped identity, the earliest notAfter among the certificates it presented within
    /// `clientCertificateWindow` (the soonest `maxIdentitySeries`); older sightings are forgotten
    /// and the series of an identity no longer seen is removed.
    public func collectClientCertificates(now: Int64 = Int64(Date().timeIntervalSince1970)) {
        clientCertificates.withLock { t in
            t.seen = t.seen.filter { now - $0.value.lastSeen <= Self.clientCertificateWindow }
            var earliest: [String: Int64] = [:]
            for (key, cert) in t.seen { earliest[key.identity] = min(earliest[key.identity] ?? .max, cert.notAfter) }
            let kept = earliest.sorted { ($0.value, $0.key) < ($1.value, $1.key) }.prefix(Self.maxIdentitySeries)
            var exported: [String: Prometheus.Gauge] = [:]
            for (identity, notAfter) in kept {
                let gauge = registry.gauge(F.clientCertificateExpiry, [("identity", identity)])
                gauge.set(notAfter)
                exported[identity] = gauge
            }
            for (identity, gauge) in t.exported where exported[identity] == nil {
                registry.prometheus.unregisterGauge(gauge)
            }
            t.exported = exported
        }
    }

    /// One driver execution (`MeasuredDriver`).
    public func recordDriverCall(driver: String, outcome: String, seconds: Double) {
        driverCalls([driver, outcome]).increment()
        driverDuration([driver]).record(seconds)
    }

    /// One wait for an audit record to become durable (`KernelService.awaitDurableAudit`).
    public func recordAuditWait(seconds: Double) {
        auditWait.record(seconds)
    }

    public func recordReload(part: String, success: Bool) {
        registry.counter(F.reloads, [("part", part), ("outcome", success ? "success" : "failure")]).increment()
    }

    // MARK: - Pulled at scrape time

    /// Reads the transport, the audit store and the certificate trackers before each scrape.
    /// Weak references: a scrape after the gateway is gone reads nothing.
    func collect(from gateway: Gateway) {
        registry.addCollector { [weak gateway, self] in
            guard let gateway else { return }
            collectTransport(gateway.server.stats)
            collectCertificates(gateway)
            if let store = gateway.kernel.traces as? SQLiteTraceStore {
                registry.gauge(F.auditQueueDepth).set(Int64(store.backlog))
            } else {
                registry.gauge(F.auditQueueDepth).set(Int64(0))
            }
            registry.gauge(F.tlsGeneration).set(Int64(gateway.server.tlsGeneration))
            let paused = gateway.service.killSwitches.current
            registry.gauge(F.pausedItems, [("kind", "all")]).set(Int64(paused.all == nil ? 0 : 1))
            registry.gauge(F.pausedItems, [("kind", "capability")]).set(Int64(paused.capabilities.count))
            registry.gauge(F.pausedItems, [("kind", "principal")]).set(Int64(paused.principals.count))
        }
        // Every verb's success series and latency histogram exist from the first scrape (0),
        // so dashboards and rate() have a start point.
        for verb in Verb.allCases {
            _ = requests([verb.rawValue, "200", "ok"])
            _ = requestDuration([verb.rawValue])
        }
        for part in ["tls", "identities"] {
            for outcome in ["success", "failure"] {
                _ = registry.counter(F.reloads, [("part", part), ("outcome", outcome)])
            }
        }
    }

    func collectTransport(_ s: ServerStats) {
        let authenticated = max(0, s.active - s.preAuthActive - s.draining)
        for (phase, n) in [("handshaking", s.preAuthActive), ("authenticated", authenticated), ("draining", s.draining)] {
            connectionsOpen([phase]).set(Int64(n))
        }
        registry.gauge(F.inFlightHandlers).set(Int64(s.inFlightHandlers))
        accepted.observe([], total: s.accepted)
        for (reason, n) in s.closedByReason { closed.observe([reason], total: n) }
        handshakes.observe(["success", "none"], total: s.established)
        for (reason, n) in s.handshakeFailures { handshakes.observe(["failure", reason], total: n) }
        for (code, limit) in F.limitOfTrip { trips.observe([limit, code], total: s.trips[code] ?? 0) }
        for (code, n) in s.trips where F.limitOfTrip[code] == nil { streamErrors.observe([code], total: n) }
        // Admission refusals the transport counts in their own fields.
        trips.observe(["maxConnectionsPerIP", "per_ip_cap"], total: s.rejectedPerIP)
        trips.observe(["maxConnectionsGlobal", "global_cap"], total: s.rejectedGlobal)
        trips.observe(["maxConnectionsPerIdentity", "per_identity_cap"], total: s.rejectedPerIdentity)
        trips.observe(["maxPreAuthPerSource", "preauth_evicted_source"], total: s.preAuthEvictedSource)
        trips.observe(["maxPreAuthGlobal", "preauth_evicted_global"], total: s.preAuthEvictedGlobal)
        trips.observe(["handshakeRatePerSource", "handshake_rate_limited_source"], total: s.handshakeRateLimitedSource)
        trips.observe(["handshakeRateGlobal", "handshake_rate_limited_global"], total: s.handshakeRateLimitedGlobal)
        trips.observe(["maxConnectionAge", "max_connection_age"], total: s.closedByReason["max_connection_age"] ?? 0)
        for code in ["NO_ERROR", "ENHANCE_YOUR_CALM"] { goAways.observe([code], total: s.goAwaysSent[code] ?? 0) }
        for (code, n) in s.goAwaysSent { goAways.observe([code], total: n) }
    }

    func collectCertificates(_ gateway: Gateway) {
        registry.gauge(F.serverCertificateExpiry).set(gateway.server.serverCertificateNotAfter)
        for ca in gateway.server.trustAnchorExpiries {
            registry.gauge(F.caCertificateExpiry, [("ca", ca.name)]).set(ca.notAfter)
        }
        if let next = gateway.server.crlNextUpdate { registry.gauge(F.crlNextUpdate).set(next) }
        collectClientCertificates()
    }
}

/// What one answered request was, for the metrics and the access log. Built from the verb
/// list, the identity map and the answer: never from the body, a token or a header.
public struct RequestRecord: Sendable {
    /// Wall clock when the complete request reached the handler.
    public var startedAt: Date
    public var peer: PeerInfo
    public var streamID: Int32
    /// The verb's name, or `unknown` when the path names none.
    public var verb: String
    /// The principal the identity maps to; nil for an unmapped identity.
    public var principal: String?
    /// The HTTP status sent; nil when nothing was sent (the stream was reset first).
    public var status: Int?
    /// `ok`, or the wire error code (`invalid_request`, ...), `cancelled` when reset.
    public var code: String
    public var reasonCode: String?
    public var seconds: Double
    public var bytesIn: Int
    public var bytesOut: Int

    var statusLabel: String { status.map(String.init) ?? "none" }

    public init(startedAt: Date, peer: PeerInfo, streamID: Int32, verb: String, principal: String?, status: Int?,
                code: String, reasonCode: String?, seconds: Double, bytesIn: Int, bytesOut: Int) {
        self.startedAt = startedAt
        self.peer = peer
        self.streamID = streamID
        self.verb = verb
        self.principal = principal
        self.status = status
        self.code = code
        self.reasonCode = reasonCode
        self.seconds = seconds
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
    }
}
