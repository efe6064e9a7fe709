import Foundation

/// A small pool of PostgreSQL connections, each confined to a dedicated thread of its own.
///
/// Why threads: libpq's calls block, and nothing may block an event loop or the cooperative
/// pool. A caller `await`s `run`; its job is queued, a worker runs it on its connection and
/// resumes the caller's continuation (as the audit writer does, docs/audit.md).
///
/// Fail closed, never wait forever: a worker without a connection reconnects before each job;
/// while the server is unreachable, reconnects back off (50 ms doubling to 2 s) and a job
/// arriving inside the back-off fails at once with `connectionLost` instead of queueing.
public final class PostgresPool: @unchecked Sendable {
    // @unchecked: `jobs`, `closing` and `nextAttempt` only under `cond`; each connection
    // is touched only by its worker thread.
    private typealias Job = (PostgresConnection?, PostgresError?) -> Void

    public let settings: PostgresSettings
    private let cond = NSCondition()
    private var jobs: [Job] = []
    private var closing = false
    private var running = 0
    private var nextAttempt = DispatchTime.now().uptimeNanoseconds
    private var backoffNanos: UInt64 = 0
    private let stopped = DispatchSemaphore(value: 0)

    public init(_ settings: PostgresSettings) {
        self.settings = settings
        let n = max(1, settings.poolSize)
        running = n
        for i in 0..<n {
            let t = Thread { [self] in worker() }
            t.name = "capgate-pg-\(i)"
            t.start()
        }
    }

    /// Stops the workers once the queued jobs ran; later `run`s fail.
    public func close() {
        cond.lock()
        let already = closing
        closing = true
        cond.broadcast()
        cond.unlock()
        if !already { stopped.wait() }
    }

    /// Runs `body` on a pooled connection, off every event loop and the cooperative pool.
    public func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws(PostgresError) -> T)
        async throws(PostgresError) -> T {
        let result: Result<T, PostgresError> = await withCheckedContinuation { k in
            submit { conn, error in
                guard let conn else { k.resume(returning: .failure(error!)); return }
                do throws(PostgresError) { k.resume(returning: .success(try body(conn))) } catch {
                    k.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    /// The blocking form, for the CLI (`capgate store migrate`) and start-up: never call it
    /// from an event loop or a task.
    public func runBlocking<T>(_ body: @escaping (PostgresConnection) throws(PostgresError) -> T) throws(PostgresError) -> T {
        let done = DispatchSemaphore(value: 0)
        var result: Result<T, PostgresError>!
        submit { conn, error in
            if let conn {
                do throws(PostgresError) { result = .success(try body(conn)) } catch { result = .failure(error) }
            } else {
                result = .failure(error!)
            }
            done.signal()
        }
        done.wait()
        return try result.get()
    }

    private func submit(_ job: @escaping Job) {
        cond.lock()
        if closing {
            cond.unlock()
            job(nil, PostgresError("the PostgreSQL pool is closed", connectionLost: true))
            return
        }
        jobs.append(job)
        cond.signal()
        cond.unlock()
    }

    private func worker() {
        var conn: PostgresConnection?
        while true {
            cond.lock()
            while jobs.isEmpty && !closing { cond.wait() }
            if jobs.isEmpty {
                running -= 1
                let last = running == 0
                cond.unlock()
                if last { stopped.signal() }
                return
            }
            let job = jobs.removeFirst()
            let waitUntil = nextAttempt
            cond.unlock()
            if conn == nil || conn?.isConnected == false {
                conn = nil
                if DispatchTime.now().uptimeNanoseconds < waitUntil {
                    job(nil, PostgresError("PostgreSQL is unreachable (reconnecting)", connectionLost: true))
                    continue
                }
                do throws(PostgresError) {
                    conn = try PostgresConnection(settings)
                    connected()
                } catch {
                    failedToConnect()
                    job(nil, error)
                    continue
                }
            }
            job(conn, nil)
            if conn?.isConnected == false { conn = nil }
        }
    }

    private func connected() {
        cond.lock()
        backoffNanos = 0
        cond.unlock()
    }

    private func failedToConnect() {
        cond.lock()
        backoffNanos = PostgresLink.nextBackoff(after: backoffNanos, cap: 2_000_000_000)
        nextAttempt = DispatchTime.now().uptimeNanoseconds + backoffNanos
        cond.unlock()
    }
}
