import CapgateServer
import Foundation
import Testing

/// The watcher's debounce, with synthetic fingerprints (no files, no timers).
@Suite("File change detector")
struct FileChangeDetectorTests {
    private func fp(_ inode: UInt64, size: Int64 = 10) -> FileFingerprint {
        FileFingerprint(exists: true, device: 1, inode: inode, size: size, modifiedNanos: Int64(inode), changedNanos: 0)
    }

    @Test func changeFiresOnceAfterOneStableObservation() {
        var d = FileChangeDetector(groups: ["tls": ["cert", "key"]], baseline: ["cert": fp(1), "key": fp(2)])
        #expect(d.observe(["cert": fp(1), "key": fp(2)]).isEmpty)
        #expect(d.observe(["cert": fp(3), "key": fp(2)]).isEmpty)  // changed: wait one interval
        #expect(d.observe(["cert": fp(3), "key": fp(4)]).isEmpty)  // still moving (the key)
        #expect(d.observe(["cert": fp(3), "key": fp(4)]) == ["tls"])  // stable: reload both
        #expect(d.observe(["cert": fp(3), "key": fp(4)]).isEmpty)  // applied: no repeat
    }

    /// A refused (bad) file is not retried every poll; only its next change fires again.
    @Test func badFileIsNotRetriedUntilItChangesAgain() {
        var d = FileChangeDetector(groups: ["tls": ["cert"]], baseline: ["cert": fp(1)])
        _ = d.observe(["cert": fp(2)])
        #expect(d.observe(["cert": fp(2)]) == ["tls"])
        for _ in 0..<5 { #expect(d.observe(["cert": fp(2)]).isEmpty) }
        _ = d.observe(["cert": fp(5)])
        #expect(d.observe(["cert": fp(5)]) == ["tls"])
    }

    /// Appearing and disappearing files are changes (a CRL written later; a deleted one).
    @Test func appearanceAndDeletionAreChanges() {
        var d = FileChangeDetector(groups: ["tls": ["crl"]], baseline: [:])
        #expect(d.observe([:]).isEmpty)
        _ = d.observe(["crl": fp(7)])
        #expect(d.observe(["crl": fp(7)]) == ["tls"])
        _ = d.observe([:])
        #expect(d.observe(["crl": .missing]) == ["tls"])
    }

    /// Groups are independent; `markApplied` (a SIGHUP reload) suppresses the watcher's repeat.
    @Test func groupsAreIndependentAndMarkAppliedSuppressesRepeat() {
        var d = FileChangeDetector(groups: ["tls": ["cert"], "config": ["toml"]],
                                   baseline: ["cert": fp(1), "toml": fp(2)])
        _ = d.observe(["cert": fp(1), "toml": fp(3)])
        #expect(d.observe(["cert": fp(1), "toml": fp(3)]) == ["config"])
        _ = d.observe(["cert": fp(4), "toml": fp(3)])
        d.markApplied("tls", snapshot: ["cert": fp(4)])
        #expect(d.observe(["cert": fp(4), "toml": fp(3)]).isEmpty)
        #expect(d.paths == ["cert", "toml"])
    }

    /// Real files: rename-replacement (new inode) and in-place rewrite (size/mtime) both differ.
    @Test func fingerprintSeesRenameAndRewrite() throws {
        let dir = try OpsTempDir()
        let path = dir.file("a.pem")
        #expect(FileFingerprint.of(path) == .missing)
        try overwrite(path, "one")
        let first = FileFingerprint.of(path)
        #expect(first.exists && first.size == 3)
        try overwrite(dir.file("b.pem"), "one")
        #expect(rename(dir.file("b.pem"), path) == 0)
        let renamed = FileFingerprint.of(path)
        #expect(renamed != first && renamed.inode != first.inode)
        try overwrite(path, "three")
        #expect(FileFingerprint.of(path) != renamed)
    }
}
