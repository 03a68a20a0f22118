// RealRedis: starts Debian's redis-server on a free loopback port in a temporary folder, for interop
// tests, and reads its whole dataset through tools/redis-snapshot.py (a small RESP client).
import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum Repo {
    /// The repository root (this file is Tests/InteropTests/RealRedis.swift).
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func path(_ rel: String) -> String { root.appendingPathComponent(rel).path }
    static let sharedFixtures = root.deletingLastPathComponent().appendingPathComponent("shared/fixtures/redis-assets").path
    /// The build's products folder (where the test bundle itself is), whatever the scratch path.
    static let binDir: String = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // The bundle may be run from inside (…/X.xctest/Contents/MacOS) on some platforms.
        while dir.path.contains(".xctest") { dir = dir.deletingLastPathComponent() }
        return dir.path
    }()
    /// A tool built with the tests (cairn-rdb, cairn-check-rdb…), next to the test bundle.
    static func tool(_ name: String) -> String {
        let candidate = binDir + "/" + name
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : path(".build/debug/" + name)
    }
}

struct InteropError: Error, CustomStringConvertible {
    var description: String
}

/// Runs a program and returns its exit status, stdout and stderr.
@discardableResult
func runProcess(_ exe: String, _ args: [String], stdin: Data? = nil) throws -> (status: Int32, out: Data, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    if stdin != nil { p.standardInput = Pipe() } else { p.standardInput = FileHandle.nullDevice }
    try p.run()
    if let stdin, let w = p.standardInput as? Pipe {
        w.fileHandleForWriting.write(stdin)
        try w.fileHandleForWriting.close()
    }
    // Drain both pipes concurrently so a large output cannot block the child.
    nonisolated(unsafe) var errData = Data()
    let done = DispatchSemaphore(value: 0)
    let t = Thread {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        done.signal()
    }
    t.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    done.wait()  // the semaphore orders the thread's write before this read
    return (p.terminationStatus, outData, String(decoding: errData, as: UTF8.self))
}

func which(_ name: String) -> String? {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin", "/usr/sbin"] {
        let p = dir + "/" + name
        if access(p, X_OK) == 0 { return p }
    }
    return nil
}

final class RealRedis {
    static var available: Bool { which("redis-server") != nil && which("redis-cli") != nil && which("python3") != nil }

    let port: Int
    let dir: String
    let process: Process

    /// Starts redis-server on `dir`/`dbfilename` (loading it if present) and waits until it answers PING.
    init(dir: String, dbfilename: String = "dump.rdb", extra: [String] = []) throws {
        self.dir = dir
        port = RealRedis.freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: which("redis-server")!)
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--dbfilename", dbfilename,
                             "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", dir + "/redis.log"] + extra
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if !process.isRunning {
                throw InteropError(description: "redis-server exited: \(log())")
            }
            if let r = try? runProcess(which("redis-cli")!, ["-p", String(port), "ping"]),
               String(decoding: r.out, as: UTF8.self).hasPrefix("PONG") {
                return
            }
            usleep(20_000)
        }
        stop()
        throw InteropError(description: "redis-server did not answer PING: \(log())")
    }

    func log() -> String { (try? String(contentsOfFile: dir + "/redis.log", encoding: .utf8)) ?? "" }

    /// tools/redis-snapshot.py's canonical JSON of the whole server.
    func snapshot(restoring file: String? = nil) throws -> [String: Any] {
        var args = [Repo.path("tools/redis-snapshot.py"), "--port", String(port)]
        if let file { args += ["--restore", file] }
        let r = try runProcess(which("python3")!, args)
        guard r.status == 0 else { throw InteropError(description: "redis-snapshot.py failed: \(r.err)") }
        return try JSONSerialization.jsonObject(with: r.out) as! [String: Any]
    }

    func cli(_ args: [String]) throws -> String {
        let r = try runProcess(which("redis-cli")!, ["-p", String(port)] + args)
        return String(decoding: r.out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops the server: SHUTDOWN NOSAVE, then SIGKILL if it is still there after 5 s. (A signal from
    /// Process.terminate() can be blocked in a child started by the test runner.)
    func stop() {
        guard process.isRunning else { return }
        _ = try? runProcess(which("redis-cli")!, ["-p", String(port), "shutdown", "nosave"])
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }

    static func freePort() -> Int {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(s) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

/// A fresh temporary directory, removed by `cleanup`.
func makeTempDir(_ prefix: String = "cairn-test") throws -> String {
    var template = Array((NSTemporaryDirectory() + prefix + "-XXXXXX").utf8CString)
    guard let p = mkdtemp(&template) else { throw InteropError(description: "mkdtemp failed") }
    return String(cString: p)
}

func removeTree(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}
