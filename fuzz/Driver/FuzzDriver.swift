import CapgateFuzzing

// capgate-fuzz: one binary for every target, chosen by the FUZZ_TARGET environment
// variable (fuzz/run sets it). Built with `-DFUZZING` and `-sanitize=fuzzer,address` it is
// a libFuzzer binary; the normal build is a replay driver that runs files or directories
// given as arguments through the target, for reproducing a crash without the fuzzer.
//
// Why this file is not `main.swift` and has no top-level statements: `--sanitize=fuzzer`
// makes SwiftPM compile every executable target with `-parse-as-library` (libFuzzer
// supplies `main`), and the parser rejects top-level statements even inside an inactive
// `#if` branch. A single non-`main.swift` file gets `-parse-as-library` in the normal build
// too, so the replay driver is an `@main` type that only exists without FUZZING.

#if canImport(Glibc)
import Glibc
#endif

func selectedTarget() -> FuzzTarget {
    guard let raw = getenv("FUZZ_TARGET"), let t = FuzzTarget(rawValue: String(cString: raw)) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        print("set FUZZ_TARGET to one of: \(names)")
        exit(2)
    }
    return t
}

#if FUZZING
/// Chosen once, before the first input (a lazily initialised global `let` is thread-safe).
let fuzzTarget = selectedTarget()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#else
/// Replays files (or every file under directories) given as arguments through the target.
@main
enum ReplayDriver {
    static func main() {
        let target = selectedTarget()
        var count = 0
        for path in CommandLine.arguments.dropFirst() {
            for file in ReplayFiles.list(path) {
                target.run(ReplayFiles.read(file))
                count += 1
            }
        }
        print("replayed \(count) inputs through \(target.rawValue)")
    }
}
#endif
