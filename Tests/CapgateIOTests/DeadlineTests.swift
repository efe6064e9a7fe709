import CapgateIO
import Testing

@Suite struct DeadlineTests {
    @Test func additionSaturates() {
        #expect(Deadline(nanoseconds: .max - 1) + .seconds(5) == Deadline(nanoseconds: .max))
        #expect(Deadline(nanoseconds: 5) + .seconds(-1) == Deadline(nanoseconds: 0))
        #expect(Deadline(nanoseconds: 1_000) + .milliseconds(2) == Deadline(nanoseconds: 2_001_000))
    }

    @Test func remainingIsZeroWhenPast() {
        let d = Deadline(nanoseconds: 100)
        #expect(d.nanosecondsRemaining(from: Deadline(nanoseconds: 40)) == 60)
        #expect(d.nanosecondsRemaining(from: Deadline(nanoseconds: 400)) == 0)
    }

    @Test func nowIsMonotonic() {
        let a = Deadline.now()
        let b = Deadline.now()
        #expect(a <= b)
    }
}
