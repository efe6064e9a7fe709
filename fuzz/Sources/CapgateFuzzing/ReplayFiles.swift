import Foundation

/// Reads corpus and regression files for replay (tests and the non-fuzzer driver).
public enum ReplayFiles {
    /// The files under `path` (recursively, sorted), or `path` itself if it is a file.
    /// Dictionary files (`*.dict`) and READMEs are not inputs.
    public static func list(_ path: String) -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return [] }
        guard isDir.boolValue else { return [path] }
        let items = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String]) ?? []
        return items.sorted().map { path + "/" + $0 }.filter { p in
            var d: ObjCBool = false
            FileManager.default.fileExists(atPath: p, isDirectory: &d)
            return !d.boolValue && !p.hasSuffix(".dict") && !p.hasSuffix("README.md")
        }
    }

    public static func read(_ file: String) -> [UInt8] {
        (try? Data(contentsOf: URL(fileURLWithPath: file))).map { [UInt8]($0) } ?? []
    }
}
