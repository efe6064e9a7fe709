import CapgateIO
import Testing

/// Tasks placed on an event loop (`LoopTaskExecutor`): where they run, that a loop-posted task
/// needs no wake-up, and that no task is stranded once the loop is gone.
@Suite(.timeLimit(.minutes(1))) struct LoopTaskExecutorTests {
    /// A task with the loop's executor as preference runs on the loop thread, before and after
    /// a suspension resumed from another thread.
    @Test func taskRunsOnTheLoopThreadAcrossSuspensions() async throws {
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown() }
        let handle = group.next()
        let executor = LoopTaskExecutor(handle: handle)
        let (before, after) = await Task(executorPreference: executor) { () async -> (Bool, Bool) in
            let first = handle.inEventLoop
            // Resumed by a plain thread-pool task: the continuation comes back to the loop.
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                Task.detached { c.resume() }
            }
            return (first, handle.inEventLoop)
        }.value
        #expect(before)
        #expect(after)
    }

    /// A task posted from the loop thread itself (no eventfd write) still runs, and promptly:
    /// the loop checks for such tasks before it sleeps.
    @Test func taskPostedFromTheLoopRunsWithoutAWakeUp() async throws {
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown() }
        let handle = group.next()
        let ran = await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            handle.execute { _ in
                // On the loop: queued without writing the eventfd.
                handle.execute { _ in c.resume(returning: handle.inEventLoop) }
            }
        }
        #expect(ran)
    }

    /// Once the loop has stopped, a task preferring it still runs to completion elsewhere.
    @Test func taskOfAStoppedLoopStillCompletes() async throws {
        let group = try EventLoopGroup(count: 1)
        let handle = group.next()
        let executor = LoopTaskExecutor(handle: handle)
        group.shutdown()
        let value = await Task(executorPreference: executor) { () async -> Int in
            await Task.yield()
            return 42
        }.value
        #expect(value == 42)
    }
}
