import CapgateMetrics

/// Every metric family the gateway exposes, declared once (docs/operations.md, "Metrics", has
/// the same table and `OperationsDocTests` pins the two together). Names follow the Prometheus
/// conventions: `capgate_` prefix, `_total` for counters, base units (`_seconds`, `_bytes`),
/// `_timestamp_seconds` for points in time. Label values are closed sets (verbs, status codes,
/// error codes, close reasons, limit keys, driver ids and CA names from the configuration);
/// the one identity label is bounded (`GatewayMetrics.maxIdentitySeries`, mapped identities only).
public enum GatewayMetricFamilies {
    static let latency = MetricFamily.Kind.histogram(MetricsRegistry.latencyBuckets)

    public static let requests = MetricFamily(
        "capgate_requests_total", .counter, labels: ["verb", "status", "code"],
        help: "Requests answered by the kernel service, by verb, HTTP status and wire error code (ok on success).")
    public static let requestDuration = MetricFamily(
        "capgate_request_duration_seconds", latency, labels: ["verb"],
        help: "Time from a complete request to its last response byte queued, by verb.")
    public static let connectionsOpen = MetricFamily(
        "capgate_connections_open", .gauge, labels: ["phase"],
        help: "Connections open now, by phase: handshaking, authenticated, draining.")
    public static let connectionsAccepted = MetricFamily(
        "capgate_connections_accepted_total", .counter,
        help: "TCP connections accepted by the listener.")
    public static let connectionsClosed = MetricFamily(
        "capgate_connections_closed_total", .counter, labels: ["reason"],
        help: "Connection ends by close reason code (the reason= of the connection closed log line).")
    public static let handshakes = MetricFamily(
        "capgate_handshakes_total", .counter, labels: ["outcome", "reason"],
        help: "TLS handshakes by outcome (success, failure) and, for failures, the close reason code.")
    public static let inFlightHandlers = MetricFamily(
        "capgate_in_flight_handlers", .gauge,
        help: "Handler tasks running now (bounded by maxInFlightGlobal).")
    public static let limitTrips = MetricFamily(
        "capgate_limit_trips_total", .counter, labels: ["limit", "code"],
        help: "Times a limit refused or ended something, by GatewayLimits key and trip code.")
    public static let streamErrors = MetricFamily(
        "capgate_http2_stream_errors_total", .counter, labels: ["code"],
        help: "Streams the HTTP/2 session reset for a protocol error that is not a limit (malformed_request, protocol_reset).")
    public static let goAways = MetricFamily(
        "capgate_http2_goaways_sent_total", .counter, labels: ["error_code"],
        help: "GOAWAY frames sent, by HTTP/2 error code.")
    public static let driverCalls = MetricFamily(
        "capgate_driver_calls_total", .counter, labels: ["driver", "outcome"],
        help: "Driver executions by driver id and outcome (ok, error, cancelled).")
    public static let driverDuration = MetricFamily(
        "capgate_driver_call_duration_seconds", latency, labels: ["driver"],
        help: "Driver execution time by driver id.")
    public static let auditDurableWait = MetricFamily(
        "capgate_audit_durable_wait_seconds", latency,
        help: "Time a traced request waited for its audit record to become durable.")
    public static let auditQueueDepth = MetricFamily(
        "capgate_audit_queue_depth", .gauge,
        help: "Audit records accepted but not yet durable (the SQLite writer's backlog).")
    public static let serverCertificateExpiry = MetricFamily(
        "capgate_server_certificate_expiry_timestamp_seconds", .gauge,
        help: "notAfter of the serving certificate, Unix seconds.")
    public static let caCertificateExpiry = MetricFamily(
        "capgate_ca_certificate_expiry_timestamp_seconds", .gauge, labels: ["ca"],
        help: "notAfter of each trust bundle CA (subject common name), Unix seconds.")
    public static let crlNextUpdate = MetricFamily(
        "capgate_crl_next_update_timestamp_seconds", .gauge,
        help: "Earliest nextUpdate of the loaded CRLs, Unix seconds (absent without a CRL).")
    public static let clientCertificateExpiry = MetricFamily(
        "capgate_client_certificate_expiry_timestamp_seconds", .gauge, labels: ["identity"],
        help: "Earliest notAfter among the client certificates a mapped SPIFFE ID presented in the last 24 hours, Unix seconds.")
    public static let reloads = MetricFamily(
        "capgate_reloads_total", .counter, labels: ["part", "outcome"],
        help: "Reloads by part (tls, identities) and outcome (success, failure).")
    public static let pausedItems = MetricFamily(
        "capgate_paused_items", .gauge, labels: ["kind"],
        help: "Kill switches in force: kind all (0 or 1), capability and principal (how many are paused).")
    public static let tlsGeneration = MetricFamily(
        "capgate_tls_generation", .gauge,
        help: "Generation of the TLS material new connections get (1, +1 per successful reload).")

    /// Every family, in the order of docs/operations.md.
    public static let all: [MetricFamily] = [
        requests, requestDuration, connectionsOpen, connectionsAccepted, connectionsClosed, handshakes, inFlightHandlers,
        limitTrips, streamErrors, goAways, driverCalls, driverDuration, auditDurableWait, auditQueueDepth,
        serverCertificateExpiry, caCertificateExpiry, crlNextUpdate, clientCertificateExpiry, reloads, pausedItems,
        tlsGeneration,
    ]

    /// Trip codes the transport counts (`ServerStats.trips`) -> the GatewayLimits key that tripped.
    /// `drainTimeout` is the server's drain bound (`ServerTransportConfig.drainTimeout`), not a
    /// GatewayLimits key; the SETTINGS-level limits (maxConcurrentStreams, windows, header table,
    /// maxSettingsEntries, maxOutboundAcks) are enforced by nghttp2 and show up as GOAWAYs.
    public static let limitOfTrip: [String: String] = [
        "header_list_too_large": "maxHeaderListBytes",
        "too_many_header_fields": "maxHeaderFields",
        "header_flood": "maxHeaderListBytes",
        "body_too_large": "maxBodyBytesPerVerb",
        "request_timeout": "requestTimeout",
        "response_stalled": "responseStallTimeout",
        "stream_limit": "maxStreamsPerConnection",
        "reset_flood": "resetBudget",
        "glitch_flood": "glitchBudget",
        "continuation_flood": "maxContinuations",
        "outbound_queue_overflow": "maxOutboundQueueFrames",
        "handshake_timeout": "handshakeTimeout",
        "first_request_timeout": "firstRequestTimeout",
        "idle_timeout": "idleTimeout",
        "drain_timeout": "drainTimeout",
        "in_flight_cap_connection": "maxInFlightPerConnection",
        "in_flight_cap_global": "maxInFlightGlobal",
    ]
}
