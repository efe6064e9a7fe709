import CCurl
import Foundation
import Synchronization

/// One libcurl multi handle driven by one thread of its own.
///
/// Why a dedicated thread: a tool can be slow, and the agents' event loops and Swift's
/// cooperative pool (one thread per core) must never wait on it. Callers `await` a
/// continuation that this thread resumes when the transfer ends; nothing else blocks.
/// The multi handle pools connections across transfers (HTTP/1.1 keep-alive, HTTP/2
/// multiplexing) with the reference's bounds: at most 100 connections, 20 kept idle.
///
/// Threading: the multi handle and every submitted transfer are touched only by the loop
/// thread. Other threads talk to it through `inbox` (under a mutex) and `curl_multi_wakeup`,
/// the one libcurl call documented as safe from any thread.
final class CurlMultiLoop: @unchecked Sendable {
    static let maxConnections = 100
    static let maxIdleConnections = 20
    /// Upper bound of one `curl_multi_poll` wait while transfers run (libcurl's own timers are
    /// honoured below it); with none, the thread sleeps until a submission wakes it.
    private static let maxWaitMilliseconds: Int64 = 1000
    private static let idleWaitMilliseconds: Int64 = 60_000

    private struct Inbox {
        var added: [(UInt64, CurlTransfer)] = []
        var cancelled: [UInt64] = []
        var stopping = false
    }

    private let multi: UnsafeMutableRawPointer
    private let inbox = Mutex(Inbox())
    private let nextID = Atomic<UInt64>(1)
    /// Transfers inside the multi handle right now (tests observe cancellation with it).
    let inFlight = Atomic<Int>(0)
    /// Loop thread only.
    private var active: [UInt64: CurlTransfer] = [:]
    private var idByHandle: [UnsafeMutableRawPointer: UInt64] = [:]

    init?(name: String) {
        CurlGlobal.ensureInitialized()
        guard let m = curl_multi_init() else { return nil }
        multi = m
        _ = capgate_curl_multi_setopt_long(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, CurlMultiLoop.maxConnections)
        _ = capgate_curl_multi_setopt_long(m, CURLMOPT_MAXCONNECTS, CurlMultiLoop.maxIdleConnections)
        // The thread keeps the loop alive until `stop()`; the owner (the driver) calls it on deinit.
        let thread = Thread { [self] in run() }
        thread.name = "capgate-http-\(name)"
        thread.start()
    }

    /// Runs `transfer` and returns how it ended. Cancelling the awaiting task removes the
    /// transfer from the multi handle (its connection is closed) and returns `.cancelled`.
    func perform(_ transfer: CurlTransfer) async -> TransferOutcome {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<TransferOutcome, Never>) in
                transfer.continuation = c
                let accepted = inbox.withLock { box -> Bool in
                    guard !box.stopping else { return false }
                    box.added.append((id, transfer))
                    return true
                }
                guard accepted else {
                    transfer.continuation = nil
                    transfer.release()
                    c.resume(returning: .cancelled)
                    return
                }
                // onCancel may have run before the transfer was queued; it found nothing then.
                if Task.isCancelled { inbox.withLock { $0.cancelled.append(id) } }
                curl_multi_wakeup(multi)
            }
        } onCancel: {
            inbox.withLock { $0.cancelled.append(id) }
            curl_multi_wakeup(multi)
        }
    }

    /// Ends the thread: in-flight transfers finish as `.cancelled`, the multi handle is freed.
    func stop() {
        inbox.withLock { $0.stopping = true }
        curl_multi_wakeup(multi)
    }

    private func run() {
        var running: Int32 = 0
        while true {
            let (added, cancelled, stopping) = inbox.withLock { box in
                defer { box.added = []; box.cancelled = [] }
                return (box.added, box.cancelled, box.stopping)
            }
            for (id, t) in added {
                if curl_multi_add_handle(multi, t.easy) != CURLM_OK {
                    resume(t, .failed(code: CURLE_FAILED_INIT, message: "cannot add the transfer"))
                    continue
                }
                t.lastActivity = MonotonicClock.now()
                active[id] = t
                idByHandle[t.easy] = id
                inFlight.add(1, ordering: .relaxed)
            }
            for id in cancelled { finish(id, .cancelled) }
            if stopping {
                for id in Array(active.keys) { finish(id, .cancelled) }
                curl_multi_cleanup(multi)
                return
            }

            _ = curl_multi_perform(multi, &running)
            var queued: Int32 = 0
            while let msg = curl_multi_info_read(multi, &queued) {
                guard msg.pointee.msg == CURLMSG_DONE, let easy = msg.pointee.easy_handle,
                      let id = idByHandle[easy], let t = active[id] else { continue }
                finish(id, t.outcome(capgate_curl_msg_result(msg)))
            }

            // The inactivity timeout: no byte from the tool for the endpoint's timeout.
            let now = MonotonicClock.now()
            var nextDeadline = UInt64.max
            for (id, t) in active {
                let deadline = t.lastActivity &+ t.idleNanoseconds
                if deadline <= now { finish(id, .timedOut) } else { nextDeadline = min(nextDeadline, deadline) }
            }

            var curlWait = -1
            _ = curl_multi_timeout(multi, &curlWait)
            var wait = active.isEmpty ? CurlMultiLoop.idleWaitMilliseconds : CurlMultiLoop.maxWaitMilliseconds
            if curlWait >= 0 { wait = min(wait, Int64(curlWait)) }
            if nextDeadline != .max {
                let untilDeadline = Int64((nextDeadline - now + 999_999) / 1_000_000)
                wait = min(wait, untilDeadline)
            }
            _ = curl_multi_poll(multi, nil, 0, Int32(max(wait, 0)), nil)
        }
    }

    private func finish(_ id: UInt64, _ outcome: TransferOutcome) {
        guard let t = active.removeValue(forKey: id) else { return }
        idByHandle[t.easy] = nil
        curl_multi_remove_handle(multi, t.easy)
        inFlight.subtract(1, ordering: .relaxed)
        resume(t, outcome)
    }

    private func resume(_ t: CurlTransfer, _ outcome: TransferOutcome) {
        let c = t.continuation
        t.continuation = nil
        t.release()
        c?.resume(returning: outcome)
    }
}
