import Foundation
import Synchronization

/// A throwaway PostgreSQL cluster for the tests: `initdb` in a private temporary directory,
/// `postgres` on a free loopback port (password auth, SCRAM) and on a unix socket in that
/// directory (trust, for the harness's own `psql`).
///
/// Root: `initdb` and `postgres` refuse to run as root, so as root the directory is chowned to
/// the `postgres` OS user and both run as that user through `setpriv`. Clean-up on every exit
/// path: `stop()`/`remove()`, an `atexit` hook for the shared cluster, and `--pdeathsig`, so
/// the server dies with the test process even on a crash or a SIGKILL (the postmaster is
/// spawned from a thread that lives exactly as long as it does: the death signal follows the
/// spawning thread).
///
/// Missing binaries are a failure with a message, never a silent skip: `make test` installs
/// Debian's `postgresql` package first.
public final class PostgresCluster: @unchecked Sendable {
    // @unchecked: `server` only under `lock`.
    public let directory: String
    public let port: UInt16
    public let password: String
    public let passwordFile: String
    let bin: String
    private let lock = NSLock()
    private var server: Process?
    private let asPostgres: Bool
    /// fsync on: commits reach the disk, as in production (the bench compares it with SQLite's
    /// fsync); the tests run with it off.
    private let durable: Bool
    /// `enableTLS` wrote a certificate and key: `start` turns `ssl` on.
    private var tlsFiles: (cert: String, key: String)?

    /// The one cluster the suite's tests share (a fresh database per test keeps them apart).
    public static func shared() async throws -> PostgresCluster {
        if let c = sharedCluster.withLock({ $0 }) { return c }
        let c = try await PostgresCluster.create()
        return sharedCluster.withLock { existing in
            if let e = existing { c.remove(); return e }
            existing = c
            atexit { sharedCluster.withLock { $0 }?.remove() }
            return c
        }
    }

    /// The directory holding `initdb`, `postgres`, `psql`: `CAPGATE_PG_BIN`, else the newest
    /// `/usr/lib/postgresql/*/bin`.
    public static func binDirectory() throws -> String {
        if let e = ProcessInfo.processInfo.environment["CAPGATE_PG_BIN"], !e.isEmpty { return e }
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted()
        for v in versions.reversed() where FileManager.default.isExecutableFile(atPath: "\(root)/\(v)/bin/postgres") {
            return "\(root)/\(v)/bin"
        }
        throw PostgresClusterError("PostgreSQL server binaries not found (no \(root)/*/bin/postgres); install Debian's "
                                   + "`postgresql` package (`make deps` does) or set CAPGATE_PG_BIN")
    }

    /// initdb + start; `durable`: see the property.
    public static func create(durable: Bool = false) async throws -> PostgresCluster {
        let c = try PostgresCluster(bin: try binDirectory(), durable: durable)
        do {
            try await c.initdb()
            try await c.start()
        } catch {
            c.remove()
            throw error
        }
        return c
    }

    private init(bin: String, durable: Bool) throws {
        self.bin = bin
        self.durable = durable
        directory = try makeTempDirectory("pg")
        port = try freeLoopbackPort()
        password = UUID().uuidString.replacingOccurrences(of: "-", with: "")
        passwordFile = directory + "/password"
        asPostgres = geteuid() == 0
        try (password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        chmod(passwordFile, 0o600)
        if asPostgres {
            guard let pw = getpwnam("postgres") else {
                throw PostgresClusterError("running as root but there is no `postgres` OS user to run the cluster as "
                                           + "(Debian's `postgresql` package creates it)")
            }
            // The directory (0700) becomes postgres's; the password file stays readable by us (root).
            guard chown(directory, pw.pointee.pw_uid, pw.pointee.pw_gid) == 0 else {
                throw PostgresClusterError("cannot chown \(directory) to postgres: errno \(errno)")
            }
        }
    }

    /// A libpq DSN reaching `database` over TCP on loopback as the cluster's superuser
    /// (the password goes separately, from `passwordFile`).
    public func dsn(database: String = "postgres") -> String {
        "host=127.0.0.1 port=\(port) user=capgate dbname=\(database) sslmode=disable"
    }

    /// Creates a fresh database and returns its name.
    public func createDatabase(_ prefix: String = "t") async throws -> String {
        let name = prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        try await psql("CREATE DATABASE \(name)")
        return name
    }

    /// Runs one SQL command through `psql` over the unix socket (trust); throws on failure.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") async throws -> String {
        let r = try await runProcess(bin + "/psql", ["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", directory,
                                                     "-p", String(port), "-U", "capgate", "-d", database, "-c", sql])
        guard r.status == 0 else { throw PostgresClusterError("psql failed (\(r.status)): \(r.stderr)") }
        return r.stdout
    }

    private func command(_ tool: String, _ args: [String]) -> (String, [String]) {
        let setpriv = "/usr/bin/setpriv"
        if asPostgres {
            return (setpriv, ["--reuid=postgres", "--regid=postgres", "--clear-groups", "--pdeathsig=KILL", "--",
                              bin + "/" + tool] + args)
        }
        return (setpriv, ["--pdeathsig=KILL", "--", bin + "/" + tool] + args)
    }

    private func initdb() async throws {
        // The password file must be readable by the initdb user: a copy inside the directory.
        let pwCopy = directory + "/initdb-pw"
        try password.write(toFile: pwCopy, atomically: true, encoding: .utf8)
        if asPostgres, let pw = getpwnam("postgres") { chown(pwCopy, pw.pointee.pw_uid, pw.pointee.pw_gid) }
        defer { try? FileManager.default.removeItem(atPath: pwCopy) }
        let (exe, args) = command("initdb", ["-D", directory + "/data", "-U", "capgate", "--pwfile=" + pwCopy,
                                             "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                                             "--no-sync", "--no-instructions"])
        let r = try await runProcess(exe, args)
        guard r.status == 0 else { throw PostgresClusterError("initdb failed (\(r.status)): \(r.stderr)") }
    }

    /// Serves TLS from the next `start` with this certificate chain and key (PEM), written into
    /// the cluster's directory, owned by the server's user, key mode 0600 (PostgreSQL refuses a
    /// key others can read). Clients still choose: `sslmode` in their DSN.
    public func enableTLS(certificatePEM: [UInt8], keyPEM: [UInt8]) throws {
        let cert = directory + "/server.crt", key = directory + "/server.key"
        try Data(certificatePEM).write(to: URL(fileURLWithPath: cert))
        try Data(keyPEM).write(to: URL(fileURLWithPath: key))
        chmod(key, 0o600)
        if asPostgres, let pw = getpwnam("postgres") {
            for f in [cert, key] { chown(f, pw.pointee.pw_uid, pw.pointee.pw_gid) }
        }
        lock.withLock { tlsFiles = (cert, key) }
    }

    /// Starts the server (again, after `stop`) and waits until it accepts connections.
    public func start() async throws {
        var options = ["-c", "listen_addresses=127.0.0.1", "-c", durable ? "fsync=on" : "fsync=off",
                       "-c", "max_connections=200", "-c", "logging_collector=off"]
        if let tls = lock.withLock({ tlsFiles }) {
            options += ["-c", "ssl=on", "-c", "ssl_cert_file=" + tls.cert, "-c", "ssl_key_file=" + tls.key]
        }
        let (exe, args) = command("postgres", ["-D", directory + "/data", "-k", directory, "-p", String(port)] + options)
        let log = directory + "/server.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let started = DispatchSemaphore(value: 0)
        let box = Mutex<Result<Process, Error>?>(nil)
        // The spawning thread lives as long as the server: see the type's comment.
        let thread = Thread {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = args
            do {
                let out = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
                out.seekToEndOfFile()
                p.standardOutput = out
                p.standardError = out
                p.standardInput = FileHandle.nullDevice
                try p.run()
                box.withLock { $0 = .success(p) }
                started.signal()
                p.waitUntilExit()
            } catch {
                box.withLock { $0 = .failure(error) }
                started.signal()
            }
        }
        thread.start()
        try await runBlocking { started.wait() }
        let p = try box.withLock { $0! }.get()
        lock.withLock { server = p }
        for _ in 0..<200 {
            let r = try await runProcess(bin + "/pg_isready", ["-q", "-h", "127.0.0.1", "-p", String(port)])
            if r.status == 0 { return }
            if !p.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        throw PostgresClusterError("postgres did not start: \(text.suffix(2000))")
    }

    /// Fast shutdown (SIGINT): clients are disconnected; waits until the server is gone.
    public func stop() async throws {
        guard let p = lock.withLock({ let s = server; server = nil; return s }) else { return }
        kill(p.processIdentifier, SIGINT)
        try await runBlocking { p.waitUntilExit() }
    }

    /// Stops the server (blocking) and deletes the directory. Safe to call twice.
    public func remove() {
        if let p = lock.withLock({ let s = server; server = nil; return s }) {
            kill(p.processIdentifier, SIGINT)
            p.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

private let sharedCluster = Mutex<PostgresCluster?>(nil)

public struct PostgresClusterError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
