import CapgateIO
import Glibc
import Synchronization

extension Server {
    /// Wires process signals to the server through a `SignalWatcher` on the first loop:
    /// SIGTERM/SIGINT begin a graceful shutdown, SIGHUP calls `onReload` (default: re-read the
    /// configured TLS files and reload; a bad set is logged and the old one keeps serving).
    ///
    /// Call after `start()`. For process-directed signals every thread must block them, so
    /// call `SignalWatcher.blockSignals()` in `main` BEFORE creating the server (threads
    /// inherit the mask). Blocks until the watcher is registered; throws what its set-up threw.
    public func installSignalHandlers(onReload: (@Sendable () -> Void)? = nil) throws(ServerError) {
        guard let loop = loopHandles.first else { throw .invalidConfiguration("installSignalHandlers before start()") }
        let reload: @Sendable () -> Void = onReload ?? { [weak self] in
            guard let self else { return }
            do {
                try self.reloadTLSFromSource()
            } catch {
                // Already logged by reloadTLS; the old material keeps serving.
            }
        }
        let outcome = BlockingOutcome()
        let posted = loop.execute { [weak self] eventLoop in
            do throws(IOError) {
                _ = try SignalWatcher(loop: eventLoop) { signal in
                    if signal == SIGHUP {
                        self?.shared.logger.log(.info, "SIGHUP: reloading TLS material")
                        reload()
                    } else {
                        self?.shared.logger.log(.info, "signal \(signal): graceful shutdown")
                        self?.beginGracefulShutdown()
                    }
                }
                outcome.finish(nil)
            } catch {
                outcome.finish(error)
            }
        }
        guard posted else { throw .invalidConfiguration("installSignalHandlers after the loops stopped") }
        if let error = outcome.wait() { throw .io(error) }
    }
}

/// A one-shot result handed from a loop thread to a blocked caller (a POSIX semaphore: the
/// caller is a plain thread such as `main`, not an async context).
private final class BlockingOutcome: @unchecked Sendable {
    // WHY @unchecked: `error` is written once before `sem_post` and read after `sem_wait`,
    // which orders the accesses; the semaphore itself is thread-safe.
    private var error: IOError?
    private let semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

    init() { sem_init(semaphore, 0, 0) }

    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }

    func finish(_ error: IOError?) {
        self.error = error
        sem_post(semaphore)
    }

    func wait() -> IOError? {
        while sem_wait(semaphore) != 0 && errno == EINTR {}
        return error
    }
}
