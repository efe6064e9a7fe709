import CapgateFuzzing
import CapgateTesting
import Foundation
import Testing

/// Replays every seed corpus and every minimized regression through its fuzz target on
/// each `make test`, without the fuzzer toolchain: a fixed crash stays fixed.
struct CorpusReplayTests {
    static let fuzzDir = Products.packageRoot + "/fuzz"

    @Test(arguments: FuzzTarget.allCases.map(\.rawValue))
    func replay(_ name: String) throws {
        let target = try #require(FuzzTarget(rawValue: name))
        let corpus = ReplayFiles.list(Self.fuzzDir + "/corpus/" + name)
        #expect(!corpus.isEmpty, "fuzz/corpus/\(name) has no seeds")
        for file in corpus + ReplayFiles.list(Self.fuzzDir + "/regressions/" + name) {
            target.run(ReplayFiles.read(file))
        }
    }
}
