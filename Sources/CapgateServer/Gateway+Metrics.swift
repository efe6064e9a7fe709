import CapgateMetrics

extension Gateway {
    /// The bound port of the metrics listener; nil when none runs.
    public var metricsPort: UInt16? { metricsEndpoint.withLock { $0?.port } }

    /// Binds `[metrics] listen` (loopback only, `MetricsEndpoint`); a bind failure or a
    /// non-loopback address stops start-up with the reason.
    func startMetricsEndpoint() throws {
        guard let host = config.metrics.listenHost else { return }
        let registry = metrics.registry
        let endpoint: MetricsEndpoint
        do {
            endpoint = try MetricsEndpoint(host: host, port: UInt16(config.metrics.listenPort)) { registry.exposition() }
        } catch {
            guard config.metrics.optional else { throw ConfigError("metrics.listen", error.description) }
            logger.log(.warning, "metrics listener not started: \(error)")
            return
        }
        metricsEndpoint.withLock { $0 = endpoint }
        logger.log(.info, "metrics on http://\(host.contains(":") ? "[\(host)]" : host):\(endpoint.port)/metrics")
    }

    func stopMetricsEndpoint() {
        let endpoint = metricsEndpoint.withLock { e -> MetricsEndpoint? in
            defer { e = nil }
            return e
        }
        endpoint?.stop()
    }
}
