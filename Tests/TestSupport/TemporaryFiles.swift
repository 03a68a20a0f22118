// Temporary folders (created with mkdtemp, removed with their contents) and whole-file byte helpers.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A fresh, empty folder under the system's temporary folder, named `<prefix>-XXXXXX`. Remove it with
/// `removeTree`.
public func makeTempDir(_ prefix: String = "cairn-test") throws -> String {
    var template = Array((NSTemporaryDirectory() + prefix + "-XXXXXX").utf8CString)
    guard let p = mkdtemp(&template) else {
        throw TestFailure(description: "mkdtemp \(prefix): \(String(cString: strerror(errno)))")
    }
    return String(cString: p)
}

/// Removes a file or a folder with everything in it; nothing when it is not there.
public func removeTree(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// Runs `body` with a fresh temporary folder, removed afterwards whatever happens.
public func withTempDir<R>(_ prefix: String = "cairn-test", _ body: (String) throws -> R) throws -> R {
    let dir = try makeTempDir(prefix)
    defer { removeTree(dir) }
    return try body(dir)
}

/// The whole content of a file.
public func readBytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

/// Writes `bytes` as the whole content of a file (created or replaced).
public func writeBytes(_ path: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

/// Copies a file or folder to `to`, replacing whatever was there.
public func copyTree(_ from: String, _ to: String) throws {
    removeTree(to)
    try FileManager.default.copyItem(atPath: from, toPath: to)
}
