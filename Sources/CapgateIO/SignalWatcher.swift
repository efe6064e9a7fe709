import CIOShims
import Glibc

/// Delivers SIGTERM/SIGINT/SIGHUP to a loop callback through a signalfd.
///
/// Why a signalfd: a classic signal handler runs on an arbitrary thread at an
/// arbitrary point and may only touch async-signal-safe state, which in
/// Swift means globals (docs/platform-notes.md: avoid them in signal paths). With the
/// signals blocked, the kernel queues them and the loop reads them as data,
/// then the callback runs as ordinary loop code.
///
/// Required set-up: call `SignalWatcher.blockSignals()` on the main thread
/// before any other thread exists (before `EventLoopGroup`). A process-wide
/// signal goes to some thread that does not block it; if any thread leaves
/// it unblocked, the default action (terminate) wins over the signalfd.
public final class SignalWatcher: EventHandler {
    /// The signals a server treats as "shut down" (TERM, INT) or "reload" (HUP).
    public static let defaultSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP]

    /// Blocks `signals` in the calling thread; threads created afterwards
    /// inherit the mask.
    public static func blockSignals(_ signals: [Int32] = defaultSignals) throws(IOError) {
        let rc = signals.withUnsafeBufferPointer { capgate_block_signals($0.baseAddress, Int32($0.count)) }
        if rc != 0 { throw IOError(errno: rc, call: "pthread_sigmask(SIG_BLOCK)") }
    }

    /// Undoes `blockSignals` in the calling thread (tests, tools).
    public static func unblockSignals(_ signals: [Int32] = defaultSignals) throws(IOError) {
        let rc = signals.withUnsafeBufferPointer { capgate_unblock_signals($0.baseAddress, Int32($0.count)) }
        if rc != 0 { throw IOError(errno: rc, call: "pthread_sigmask(SIG_UNBLOCK)") }
    }

    private let socket: Socket
    private weak var loop: EventLoop?
    private let onSignal: (Int32) -> Void

    /// Creates the signalfd and registers it on `loop` (call on the loop's
    /// thread). Also blocks `signals` in the loop thread itself, so a
    /// thread-directed signal reaches the signalfd even if the caller forgot
    /// `blockSignals`; process-directed ones still need every thread blocked.
    public init(signals: [Int32] = SignalWatcher.defaultSignals, loop: EventLoop,
                onSignal: @escaping (Int32) -> Void) throws(IOError) {
        try Self.blockSignals(signals)
        let fd = try Syscall.checked("signalfd") {
            Int(signals.withUnsafeBufferPointer { capgate_signalfd($0.baseAddress, Int32($0.count)) })
        }
        socket = Socket(adopting: Int32(fd))
        self.loop = loop
        self.onSignal = onSignal
        try loop.register(Int32(fd), interest: .read, handler: self)
    }

    public func readable() {
        // Drain every queued signal: edge-triggered, no second notification.
        while socket.isOpen {
            let result = try? Syscall.nonBlocking("read(signalfd)") {
                Int(capgate_signalfd_read(socket.descriptor))
            }
            guard case .processed(let signal)? = result else { return }
            onSignal(Int32(signal))
        }
    }

    public func writable() {}

    public func hangup() { close() }

    /// Stops watching; the signals stay blocked (queued, not delivered).
    public func close() {
        guard socket.isOpen else { return }
        loop?.deregister(socket.descriptor)
        socket.close()
    }
}
