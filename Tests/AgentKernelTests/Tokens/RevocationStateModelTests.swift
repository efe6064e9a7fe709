import CapgateTesting
import Testing
@testable import AgentKernel

/// `RevocationState` keeps expiries as a log; this replays random operations against the
/// map-keyed model it replaced (the reference's dicts) and requires the same answers and the
/// same state, with ids that repeat and ids spelled two canonically equal ways.
@Suite struct RevocationStateModelTests {
    struct MapModel {
        var revoked: Set<String> = []
        var principalTokens: [String: [String]] = [:]
        var expiry: [String: Timestamp] = [:]

        mutating func track(_ pid: String, _ tid: String, _ t: Timestamp) {
            principalTokens[pid, default: []].append(tid)
            expiry[tid] = t
        }

        mutating func revokeAll(_ pid: String) -> Int {
            guard let ids = principalTokens.removeValue(forKey: pid) else { return 0 }
            var n = 0
            for id in ids where revoked.insert(id).inserted { n += 1 }
            return n
        }

        mutating func sweep(_ now: Timestamp) -> Int {
            let expired = expiry.filter { $0.value <= now }.map(\.key)
            for id in expired {
                expiry.removeValue(forKey: id)
                revoked.remove(id)
            }
            let gone = Set(expired)
            for (pid, ids) in principalTokens {
                let left = ids.filter { !gone.contains($0) }
                principalTokens[pid] = left.isEmpty ? nil : left
            }
            return expired.count
        }
    }

    @Test(arguments: 0..<20) func matchesTheMapModel(_ seed: Int) {
        let ids = ["a", "b", "c", "\u{E9}", "e\u{301}", "K", "\u{212A}", "tok-1", "tok-2"]
        let pids = ["p", "q", "\u{C5}", "A\u{30A}"]
        let t0 = Timestamp(microseconds: 1_767_323_045_000_000)
        var rng = SplitMix64(seed: UInt64(seed))
        var state = RevocationState()
        var model = MapModel()
        func scalars(_ m: [String: Timestamp]) -> [[Unicode.Scalar]: Timestamp] {
            Dictionary(uniqueKeysWithValues: m.map { (Array($0.key.unicodeScalars), $0.value) })
        }
        for step in 0..<400 {
            let at = t0.adding(seconds: Double(rng.below(60)))
            switch rng.below(10) {
            case 0..<5:
                let (p, t) = (pids[rng.below(pids.count)], ids[rng.below(ids.count)])
                state.track(principalID: p, tokenID: t, expiresAt: at)
                model.track(p, t, at)
            case 5:
                let t = ids[rng.below(ids.count)]
                state.revoked.insert(t)
                model.revoked.insert(t)
            case 6:
                let p = pids[rng.below(pids.count)]
                #expect(state.revokeAll(principalID: p) == model.revokeAll(p), "seed \(seed) step \(step)")
            default:
                #expect(state.sweep(now: at) == model.sweep(at), "seed \(seed) step \(step)")
            }
            #expect(scalars(state.expiry) == scalars(model.expiry), "seed \(seed) step \(step)")
            #expect(state.principalTokens == model.principalTokens, "seed \(seed) step \(step)")
            #expect(state.revoked == model.revoked, "seed \(seed) step \(step)")
        }
    }
}
