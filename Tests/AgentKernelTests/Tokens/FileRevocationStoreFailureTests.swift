import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import AgentKernel

/// A revocation log whose writes fail after open (docs/audit.md): the failure is counted so
/// the gateway never answers 200, the revocation stays in force in this process, and nothing
/// earlier in the file is damaged. The failure is injected by pointing the store's descriptor
/// at a read-only `/dev/null` (writes then fail with EBADF, as on a dead disk).
@Suite struct FileRevocationStoreFailureTests {
    func tempPath() -> String {
        var template = Array("/tmp/capgate-revocfail-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        return dir + "/revocations.log"
    }

    /// The descriptor this process holds on `path`, found through /proc.
    static func descriptor(of path: String) -> Int32? {
        guard let dir = opendir("/proc/self/fd") else { return nil }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            guard let fd = Int32(name) else { continue }
            var buf = [CChar](repeating: 0, count: 4096)
            let n = readlink("/proc/self/fd/\(name)", &buf, buf.count - 1)
            if n > 0 && String(cString: buf) == path { return fd }
        }
        return nil
    }

    @Test func aFailedAppendIsCountedAndLeavesEarlierRecordsIntact() throws {
        let path = tempPath()
        do {
            let s = try FileRevocationStore(path: path)
            s.revoke("kept")
            #expect(s.writeFailures == 0)
            let fd = try #require(Self.descriptor(of: path))
            let devnull = open("/dev/null", O_RDONLY)
            #expect(dup2(devnull, fd) == fd)
            close(devnull)

            s.revoke("lost")
            #expect(s.writeFailures == 1)
            #expect(s.isRevoked("lost"))  // still denied by this process
            #expect(s.persistenceError != nil)
            _ = s.revokeAll(principalID: "p")
            #expect(s.writeFailures == 2)  // every later append fails too (tail unknown: no more writes)
        }
        let reopened = try FileRevocationStore(path: path)
        #expect(reopened.isRevoked("kept"))
        #expect(!reopened.isRevoked("lost"))  // why the gateway answered 5xx: a restart loses it
        #expect(reopened.writeFailures == 0)
    }
}
