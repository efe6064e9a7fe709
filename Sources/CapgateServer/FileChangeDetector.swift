#if canImport(Glibc)
import Glibc
#endif

/// What stat(2) says about one path: enough to notice a replaced or rewritten file.
///
/// Inode + device catch atomic replacement (`rename(2)` of a temp file, what `capgate pki` and
/// most tools do, and the `..data` symlink swap of Kubernetes secret volumes, since stat follows
/// symlinks); size + mtime + ctime (nanoseconds) catch in-place rewrites. A missing file is a
/// state too, so a CRL that appears later is a change.
public struct FileFingerprint: Sendable, Hashable {
    public var exists: Bool
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    public var modifiedNanos: Int64
    public var changedNanos: Int64

    public static let missing = FileFingerprint(exists: false, device: 0, inode: 0, size: 0, modifiedNanos: 0,
                                                changedNanos: 0)

    public init(exists: Bool, device: UInt64, inode: UInt64, size: Int64, modifiedNanos: Int64, changedNanos: Int64) {
        self.exists = exists
        self.device = device
        self.inode = inode
        self.size = size
        self.modifiedNanos = modifiedNanos
        self.changedNanos = changedNanos
    }

    /// stat(2) of `path` (following symlinks); `.missing` when it cannot be stat'ed.
    public static func of(_ path: String) -> FileFingerprint {
        var st = stat()
        guard stat(path, &st) == 0 else { return .missing }
        return FileFingerprint(
            exists: true, device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
            modifiedNanos: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
            changedNanos: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec))
    }
}

/// The sans-IO core of `FileWatcher`: given successive snapshots of named groups of files,
/// says which groups changed AND then stayed unchanged for one more snapshot (debounce).
///
/// WHY debounce per group, not per file: an operator (or `capgate pki server`) replaces the
/// certificate and its key one after the other; reloading between the two would only produce
/// a refused "key does not match" reload and a scary log line. Waiting until the whole group
/// is stable for one poll interval reloads once, with both files new.
///
/// After a change fired, its snapshot becomes the baseline whether the reload succeeded or
/// not: a bad file is refused ONCE (one log line), and retried only when it changes again.
public struct FileChangeDetector: Sendable {
    /// Group name -> its paths (a path may be in several groups).
    public let groups: [String: [String]]
    private var applied: [String: [FileFingerprint]]
    private var pending: [String: [FileFingerprint]] = [:]

    /// `baseline`: the fingerprints of what is currently loaded.
    public init(groups: [String: [String]], baseline: [String: FileFingerprint]) {
        self.groups = groups
        applied = groups.mapValues { paths in paths.map { baseline[$0] ?? .missing } }
    }

    /// Every watched path once.
    public var paths: [String] { Array(Set(groups.values.joined())).sorted() }

    /// Feeds one snapshot (path -> fingerprint; absent paths count as missing). Returns the
    /// groups that changed and were stable since the previous snapshot: reload them now.
    public mutating func observe(_ snapshot: [String: FileFingerprint]) -> Set<String> {
        var due: Set<String> = []
        for (group, paths) in groups {
            let current = paths.map { snapshot[$0] ?? .missing }
            if current == applied[group] {
                pending[group] = nil
            } else if current == pending[group] {
                applied[group] = current
                pending[group] = nil
                due.insert(group)
            } else {
                pending[group] = current
            }
        }
        return due
    }

    /// Records that `group` was (re)loaded from these fingerprints by someone else (SIGHUP),
    /// so the watcher does not reload it a second time.
    public mutating func markApplied(_ group: String, snapshot: [String: FileFingerprint]) {
        guard let paths = groups[group] else { return }
        applied[group] = paths.map { snapshot[$0] ?? .missing }
        pending[group] = nil
    }
}
