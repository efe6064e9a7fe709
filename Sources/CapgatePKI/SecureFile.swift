import COpenSSLShims
#if canImport(Glibc)
import Glibc
#endif

/// File-system primitives for the PKI directory. Why not `FileManager`: we need the exact
/// syscalls that make key files safe — `open(O_CREAT|O_EXCL|O_NOFOLLOW, 0600)` plus `fchmod`
/// (so the process umask can neither widen nor narrow the mode), write to a temporary name,
/// `fsync`, then `rename` (readers see the old or the new file, never half a key).
/// Public for the gateway's own small state files (the kill switches), which need the same
/// atomic replacement.
public enum SecureFile {
    /// Largest file the PKI reads (PEM, CRL, index): far above any legitimate content, small
    /// enough that a planted huge file cannot exhaust memory.
    static let maxReadBytes = 4 << 20

    /// Atomically replaces `path` with `bytes`, created with exactly `mode`.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws(PKIError) {
        let tmp = "\(path).tmp-\(randomSuffix())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw .io(operation: "open", path: tmp, errno: errno) }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        try writeSynced(fd, bytes, mode: mode, path: tmp)
        guard rename(tmp, path) == 0 else { throw .io(operation: "rename", path: path, errno: errno) }
        ok = true
        syncDirectory(of: path)
    }

    /// Reads a whole regular file, refusing anything larger than `maxReadBytes`.
    public static func read(_ path: String) throws(PKIError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw e == ENOENT ? .notFound(path: path) : .io(operation: "open", path: path, errno: e)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(operation: "fstat", path: path, errno: errno) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .io(operation: "read (not a regular file)", path: path, errno: EINVAL) }
        guard Int(st.st_size) <= maxReadBytes else { throw .io(operation: "read (file too large)", path: path, errno: EFBIG) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "read", path: path, errno: errno)
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            guard out.count <= maxReadBytes else { throw .io(operation: "read (file too large)", path: path, errno: EFBIG) }
        }
        return out
    }

    /// Reads a private key file after checking no one but the owner can access it (the
    /// OpenSSH rule): a key that leaked to group/others must not be used silently.
    static func readSecret(_ path: String) throws(PKIError) -> [UInt8] {
        if let mode = permissions(of: path), mode & 0o077 != 0 {
            throw .insecurePermissions(path: path, mode: UInt32(mode))
        }
        return try read(path)
    }

    /// True when something exists at `path` (a dangling symlink counts: never overwrite it).
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Permission bits (0o777 mask) of `path`, nil when it does not exist.
    static func permissions(of path: String) -> mode_t? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return st.st_mode & 0o777
    }

    /// Creates `path` (and missing parents) with `mode`; an existing directory is accepted
    /// as is (an operator may have chosen tighter or shared permissions on purpose).
    static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws(PKIError) {
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw .io(operation: "mkdir (not a directory)", path: path, errno: ENOTDIR) }
            return
        }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectory(String(path[..<slash]), mode: mode)
        }
        if mkdir(path, mode) != 0 && errno != EEXIST { throw .io(operation: "mkdir", path: path, errno: errno) }
        _ = chmod(path, mode)  // umask-safe, as for files
    }

    /// fchmod, write everything, fsync, close (always).
    private static func writeSynced(_ fd: Int32, _ bytes: [UInt8], mode: mode_t, path: String) throws(PKIError) {
        defer { close(fd) }
        // fchmod after open: the umask applied to open's mode; set the mode we mean.
        guard fchmod(fd, mode) == 0 else { throw .io(operation: "fchmod", path: path, errno: errno) }
        try writeAll(fd, bytes, path: path)
        guard fsync(fd) == 0 else { throw .io(operation: "fsync", path: path, errno: errno) }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(PKIError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "write", path: path, errno: errno)
            }
            offset += n
        }
    }

    /// fsync the parent directory so the rename itself survives a crash.
    private static func syncDirectory(of path: String) {
        let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let fd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }

    private static func randomSuffix() -> String {
        var bytes = [UInt8](repeating: 0, count: 8)
        _ = capgate_random_bytes(&bytes, Int32(bytes.count))
        return bytes.map { String($0, radix: 16) }.joined()
    }

    /// Runs `body` while holding an exclusive `flock` on `DIR/.lock`, so two `capgate pki`
    /// commands (or the gateway's first start racing one) cannot interleave index updates.
    static func withLock<T>(directory: String, _ body: () throws(PKIError) -> T) throws(PKIError) -> T {
        let path = directory + "/.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            let e = errno
            throw e == ENOENT ? .notFound(path: directory) : .io(operation: "open", path: path, errno: e)
        }
        defer { close(fd) }  // closing releases the lock
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw .io(operation: "flock", path: path, errno: errno) }
        }
        return try body()
    }
}
