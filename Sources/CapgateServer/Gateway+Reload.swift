import CapgateConnection
import CapgateTLS

/// What one reload did, per part (nil: that part was not asked for / not configured).
public struct ReloadResult: Sendable {
    /// The new TLS generation, or why the new material was refused (the old one serves on).
    public var tls: Result<UInt64, TLSError>?
    /// How many identity rules are now in effect, or why the configuration file was refused.
    public var identities: Result<Int, ConfigError>?
}

extension Gateway {
    /// Watcher group names.
    static let tlsGroup = "tls"
    static let configGroup = "config"

    /// SIGHUP: reload everything (TLS material and identity rules).
    public func reload() { reload(tls: true, identities: true) }

    /// Reloads the TLS material (certificate, key, trust bundle, CRL) and/or the identity rules
    /// of the configuration file. Each part is validated completely before it is swapped in
    /// (atomically: new connections see either the old set or the new one, never a mix); a bad
    /// new file is refused with one error log line and the previous one keeps serving. Live
    /// connections keep their context, except that the ones whose client certificate the new
    /// CRL revokes are drained. Only `[[identity]]` is taken from a changed configuration file;
    /// other keys need a restart (a warning says so).
    @discardableResult
    public func reload(tls: Bool, identities: Bool) -> ReloadResult {
        reloadLock.withLock { _ in
            let watcher = watcherBox.withLock { $0 }
            // Fingerprints BEFORE reading: a change racing with this reload is seen by the
            // next poll and reloaded again, never lost.
            let snapshot = watcher?.snapshotNow()
            var result = ReloadResult()
            if tls {
                do throws(TLSError) {
                    try server.reloadTLSFromSource()
                    result.tls = .success(server.tlsGeneration)
                    metrics.recordReload(part: "tls", success: true)
                    logger.log(.info, "reload: TLS material reloaded, generation \(server.tlsGeneration)")
                    warnIfServerCertificateExpiresSoon()
                } catch {
                    result.tls = .failure(error)
                    metrics.recordReload(part: "tls", success: false)
                    logger.log(.error, "reload: TLS material refused, keeping generation \(server.tlsGeneration): \(error)")
                }
                if let snapshot { watcher?.markApplied(Self.tlsGroup, snapshot: snapshot) }
                // Refused or not, say if revocation checking is off or the CRL is going stale.
                checkRevocation()
            }
            if identities, let path = configPath {
                do throws(ConfigError) {
                    let fresh = try ServerConfig.load(path: path)
                    service.reloadIdentities(fresh.identities)
                    result.identities = .success(fresh.identities.rules.count)
                    metrics.recordReload(part: "identities", success: true)
                    logger.log(.info, "reload: \(fresh.identities.rules.count) identity rules loaded")
                    if fresh.tls != config.tls || fresh.listenHost != config.listenHost
                        || fresh.listenPort != config.listenPort {
                        logger.log(.warning, "reload: [tls] paths or [server] listen changed in \(path); "
                                   + "only identity rules are reloaded, restart to apply the rest")
                    }
                } catch {
                    result.identities = .failure(error)
                    metrics.recordReload(part: "identities", success: false)
                    logger.log(.error, "reload: configuration refused, keeping the previous identity rules: \(error)")
                }
                if let snapshot { watcher?.markApplied(Self.configGroup, snapshot: snapshot) }
            }
            return result
        }
    }

    /// The watcher: the TLS files (a CRL that does not exist yet included) and the
    /// configuration file, each group reloaded on its own.
    func makeWatcher() -> FileWatcher {
        var groups = [Self.tlsGroup: server.configuration.tls.paths]
        if let configPath { groups[Self.configGroup] = [configPath] }
        let interval = Duration.milliseconds(Int64((config.watchInterval * 1000).rounded()))
        return FileWatcher(groups: groups, interval: interval) { [weak self] due in
            guard let self else { return }
            self.logger.log(.info, "files changed (\(due.sorted().joined(separator: ", "))): reloading")
            self.reload(tls: due.contains(Self.tlsGroup), identities: due.contains(Self.configGroup))
        }
    }
}
