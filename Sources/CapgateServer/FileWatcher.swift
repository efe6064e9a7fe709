import CapgateIO
import Synchronization

/// Watches groups of files (TLS material, CRL, the configuration file) and calls `onChange`
/// with the groups to reload, once a change is stable (see `FileChangeDetector`).
///
/// WHY a stat(2) poll on a loop timer and not inotify: the files that matter are replaced by
/// rename (capgate pki, cert-manager, Vault agent) or by a symlink swap in ANOTHER directory
/// (Kubernetes secret volumes); inotify would need directory watches, re-arming after every
/// rename, symlink-target tracking and overflow handling, all of it easy to get subtly wrong,
/// for files that change a few times a day. Polling a handful of paths every `interval` (2 s by
/// default) costs a few microseconds, sees every one of those patterns the same way, and needs
/// no extra file descriptor or thread. The price is latency (up to two intervals, with the
/// debounce), which certificate rotation does not care about; SIGHUP reloads at once.
public final class FileWatcher: Sendable {
    private let detector: Mutex<FileChangeDetector>
    private let interval: Duration
    private let onChange: @Sendable (Set<String>) -> Void
    private let stopped = Atomic<Bool>(false)
    private let stat: @Sendable (String) -> FileFingerprint

    /// `groups`: name -> paths. The current state of the files is the baseline (what the
    /// caller has just loaded). `onChange` runs on the watcher's loop thread.
    public init(groups: [String: [String]], interval: Duration,
                stat: @escaping @Sendable (String) -> FileFingerprint = FileFingerprint.of,
                onChange: @escaping @Sendable (Set<String>) -> Void) {
        self.interval = interval
        self.onChange = onChange
        self.stat = stat
        let baseline = Dictionary(uniqueKeysWithValues: Set(groups.values.joined()).map { ($0, stat($0)) })
        detector = Mutex(FileChangeDetector(groups: groups, baseline: baseline))
    }

    /// Every watched path once, sorted.
    public var paths: [String] { detector.withLock { $0.paths } }

    /// Starts polling on `handle`'s loop. Returns false when the loop is already gone.
    @discardableResult
    public func start(on handle: EventLoopHandle) -> Bool {
        handle.execute { [weak self] loop in self?.schedule(on: loop) }
    }

    /// Stops polling after the current tick (idempotent).
    public func stop() { stopped.store(true, ordering: .releasing) }

    /// One poll: stat every path, feed the detector, call `onChange` for due groups. Public so
    /// tests can drive it without timers.
    public func poll() {
        let snapshot = snapshotNow()
        let due = detector.withLock { $0.observe(snapshot) }
        if !due.isEmpty { onChange(due) }
    }

    /// The fingerprints of every watched path, now.
    public func snapshotNow() -> [String: FileFingerprint] {
        Dictionary(uniqueKeysWithValues: paths.map { ($0, stat($0)) })
    }

    /// Someone else reloaded `group` from files whose fingerprints were `snapshot` (taken
    /// BEFORE reading them: a change after it is seen by the next poll, never lost).
    public func markApplied(_ group: String, snapshot: [String: FileFingerprint]) {
        detector.withLock { $0.markApplied(group, snapshot: snapshot) }
    }

    private func schedule(on loop: EventLoop) {
        guard !stopped.load(ordering: .acquiring) else { return }
        _ = loop.scheduleTimer(after: interval) { [weak self, weak loop] in
            guard let self, let loop, !self.stopped.load(ordering: .acquiring) else { return }
            self.poll()
            self.schedule(on: loop)
        }
    }
}
