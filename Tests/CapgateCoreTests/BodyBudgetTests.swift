import CapgateCore
import Dispatch
import Synchronization
import Testing

/// The budget object alone (sans-IO): reservations fit or fail whole, releases give room
/// back, the overdraft is explicit, and concurrent use from many threads loses nothing.
@Suite struct BodyBudgetTests {
    @Test func reservationsFitUpToTheLimitAndFailWhole() {
        let budget = BodyBudget(limit: 100)
        #expect(budget.tryReserve(60))
        #expect(budget.tryReserve(40))
        #expect(budget.reserved == 100)
        #expect(!budget.tryReserve(1))  // full
        #expect(budget.reserved == 100)  // a failed reservation takes nothing
        budget.release(40)
        #expect(!budget.tryReserve(41))  // does not fit: nothing partial
        #expect(budget.tryReserve(40))
        #expect(budget.reserved == 100)
    }

    @Test func zeroByteReservationAlwaysFits() {
        let budget = BodyBudget(limit: 10)
        #expect(budget.tryReserve(10))
        #expect(budget.tryReserve(0))
        #expect(budget.reserved == 10)
    }

    /// The always-admitted stream of a connection may pass the limit; nothing else fits then
    /// until enough is released.
    @Test func overdraftPassesTheLimitAndBlocksOthers() {
        let budget = BodyBudget(limit: 100)
        #expect(budget.tryReserve(90))
        budget.overdraw(50)
        #expect(budget.reserved == 140)
        #expect(!budget.tryReserve(1))
        budget.release(50)
        #expect(!budget.tryReserve(11))
        #expect(budget.tryReserve(10))
        budget.release(100)
        #expect(budget.reserved == 0)
    }

    @Test func deferralsAreCounted() {
        let budget = BodyBudget(limit: 1)
        #expect(budget.deferrals == 0)
        budget.recordDeferral()
        budget.recordDeferral()
        #expect(budget.deferrals == 2)
    }

    /// Eight threads reserve and release against one budget: the total never passes the limit
    /// (checked after every successful reservation) and ends at zero.
    @Test func concurrentReservationsNeverPassTheLimit() {
        let budget = BodyBudget(limit: 1_000)
        let overshoot = Atomic<Bool>(false)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for i in 0..<20_000 {
                let n = 1 + (i &* 7 &+ worker) % 300
                if budget.tryReserve(n) {
                    if budget.reserved > budget.limit { overshoot.store(true, ordering: .relaxed) }
                    budget.release(n)
                }
            }
        }
        let passedLimit = overshoot.load(ordering: .relaxed)
        #expect(!passedLimit)
        #expect(budget.reserved == 0)
    }
}

/// The two buffered-body limits: defaults and validation naming the key.
@Suite struct GatewayLimitsBodyBudgetTests {
    @Test func defaults() {
        let l = GatewayLimits()
        #expect(l.maxBufferedBodyBytesPerConnection == 4_194_304)
        #expect(l.maxBufferedBodyBytesGlobal == 67_108_864)
    }

    @Test func validationNamesTheKey() {
        func key(_ change: (inout GatewayLimits) -> Void) -> String? {
            var l = GatewayLimits()
            change(&l)
            do { try l.validate() } catch { return error.key }
            return nil
        }
        #expect(key { $0.maxBufferedBodyBytesPerConnection = 0 } == "maxBufferedBodyBytesPerConnection")
        #expect(key { $0.maxBufferedBodyBytesGlobal = -1 } == "maxBufferedBodyBytesGlobal")
        // A connection allowed more than the whole server is a configuration mistake.
        #expect(key { $0.maxBufferedBodyBytesPerConnection = 100_000_000 } == "maxBufferedBodyBytesPerConnection")
        #expect(key { $0.maxBufferedBodyBytesGlobal = 1_000_000 } == "maxBufferedBodyBytesPerConnection")
        #expect(key { _ in } == nil)
    }
}
