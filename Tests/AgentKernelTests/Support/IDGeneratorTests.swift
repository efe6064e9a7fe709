import Foundation
import Synchronization
import Testing

@testable import AgentKernel

/// `RandomUUIDGenerator` over the block-buffered `IDEntropy`: ids stay version-4 UUIDs,
/// never repeat across block refills or threads, and a whole-block draw refills.
@Suite struct IDGeneratorTests {
    static func isUUIDv4(_ id: String) -> Bool {
        let b = Array(id.utf8)
        guard b.count == 36 else { return false }
        for (i, c) in b.enumerated() {
            if [8, 13, 18, 23].contains(i) {
                if c != UInt8(ascii: "-") { return false }
            } else if !((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)) {
                return false
            }
        }
        return b[14] == UInt8(ascii: "4") && "89ab".utf8.contains(b[19])
    }

    @Test func idsAcrossSeveralBlocksAreDistinctVersion4() {
        let g = RandomUUIDGenerator()
        // 128 ids per 2048-byte block: 1000 ids refill the pool about 7 times.
        let ids = (0..<1000).map { _ in g.next() }
        #expect(ids.allSatisfy(Self.isUUIDv4))
        #expect(Set(ids).count == ids.count)
    }

    @Test func concurrentCallersNeverShareBytes() async {
        let ids = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<4 { group.addTask { (0..<500).map { _ in RandomUUIDGenerator().next() } } }
            var all: [String] = []
            for await part in group { all += part }
            return all
        }
        #expect(ids.count == 2000)
        #expect(Set(ids).count == 2000)
    }

    /// Each thread draws from its own block: ids drawn on many OS threads at once (each
    /// through two refills, and threads that exit and free their blocks while others draw)
    /// are all distinct version-4 UUIDs.
    @Test func threadsWithTheirOwnBlocksNeverShareBytes() {
        let threads = 8, perThread = 300
        final class Results: Sendable { let ids = Mutex<[String]>([]) }
        let results = Results()
        let done = DispatchGroup()
        for _ in 0..<threads {
            done.enter()
            let t = Thread {
                let g = RandomUUIDGenerator()
                let ids = (0..<perThread).map { _ in g.next() }
                results.ids.withLock { $0 += ids }
                done.leave()
            }
            t.start()
        }
        done.wait()
        let ids = results.ids.withLock { $0 }
        #expect(ids.count == threads * perThread)
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy(Self.isUUIDv4))
    }

    @Test func wholeBlockDrawsRefill() {
        var a = [UInt8](repeating: 0, count: IDEntropy.blockSize)
        var b = a
        a.withUnsafeMutableBytes { IDEntropy.take($0) }
        b.withUnsafeMutableBytes { IDEntropy.take($0) }
        #expect(a != b)
        #expect(a != [UInt8](repeating: 0, count: IDEntropy.blockSize))
    }

    /// The table-driven 8-4-4-4-12 form against a digit-at-a-time model, for every byte
    /// value at every position.
    @Test func uuidFormatMatchesTheModel() {
        func model(_ b: [UInt8]) -> String {
            var s = ""
            for (i, x) in b.enumerated() {
                if [4, 6, 8, 10].contains(i) { s += "-" }
                s += String(x >> 4, radix: 16) + String(x & 0xF, radix: 16)
            }
            return s
        }
        for pos in 0..<16 {
            for v in 0...255 {
                var b = (0..<16).map { UInt8(($0 * 37 + pos) & 0xFF) }
                b[pos] = UInt8(v)
                #expect(b.withUnsafeBufferPointer(UUIDFormat.string) == model(b), "byte \(v) at \(pos)")
            }
        }
    }
}
