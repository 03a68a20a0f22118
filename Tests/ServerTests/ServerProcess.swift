// Test support: a real cairn-server or redis-server process on a free loopback port in its own
// temporary folder (TestSupport has the paths, the port and the raw RESP client).
import Foundation
import Testing
import StorageFormat
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A server process (Cairn or Redis) in its own temporary folder.
final class ServerProcess {
    let process = Process()
    let port: Int
    let dir: String
    let isCairn: Bool
    let logPath: String

    /// True when the folder belongs to the caller (kept at deinit).
    let sharedDir: Bool

    /// `files`: name in the server's folder → path of a file to copy there before it starts.
    /// `dir`: run in this existing folder (kept afterwards) instead of a new temporary one.
    /// `untilLoaded`: return only once the dataset is loaded (PING no longer answers -LOADING).
    /// `configFile`: a config file to start with (the first argument, as redis-server takes it).
    /// `port`: listen there (a server restarted where it was) instead of on a new free port.
    init(cairn: Bool = true, args: [String] = [], files: [String: String] = [:], dir existing: String? = nil,
         environment: [String: String] = [:], untilLoaded: Bool = true, configFile: String? = nil, port fixedPort: Int? = nil) throws {
        if let existing {
            dir = existing
            sharedDir = true
        } else {
            dir = try makeTempDir("cairn-srv")
            sharedDir = false
        }
        for (name, source) in files { try FileManager.default.copyItem(atPath: source, toPath: dir + "/" + name) }
        isCairn = cairn
        port = fixedPort ?? freeLoopbackPort()
        logPath = dir + "/server.log"
        process.executableURL = URL(fileURLWithPath: cairn ? Paths.cairnServer : Paths.redisServer)
        // DEBUG (DIGEST, RELOAD...) is refused by default in both servers (enable-debug-command no);
        // the tests use it, so it is enabled first and a test's own arguments can still override it.
        process.arguments = (configFile.map { [$0] } ?? []) + ["--enable-debug-command", "yes", "--port", String(port), "--bind", "127.0.0.1", "--dir", dir,
                             "--save", "", "--logfile", logPath] + args
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        process.standardOutput = FileHandle.nullDevice
        // stderr is kept beside the log: a runtime trap or sanitizer message lands there, not in the log.
        _ = FileManager.default.createFile(atPath: dir + "/stderr.txt", contents: nil)
        process.standardError = FileHandle(forWritingAtPath: dir + "/stderr.txt") ?? FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if !process.isRunning { throw TestFailure(description: "server exited: \(log())") }
            // Ready once PING is answered by something other than -LOADING (a dataset still loading).
            if let c = try? RawClient(port: port), let pong = try? c.send("PING"),
               !untilLoaded || !pong.hasPrefix("-LOADING") { return }
            usleep(20_000)
        }
        throw TestFailure(description: "server did not start: \(log())")
    }

    func log() -> String {
        let stderr = (try? String(contentsOfFile: dir + "/stderr.txt", encoding: .utf8)) ?? ""
        return ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "") + (stderr.isEmpty ? "" : "\n[stderr]\n" + stderr)
    }

    func client() throws -> RawClient { try RawClient(port: port) }

    /// Sends SIGTERM and waits; returns the exit status.
    @discardableResult
    func terminate() -> Int32 {
        stopping = true
        if process.isRunning && !isCairn {
            // redis-server started from the test runner does not see SIGTERM (it inherits a blocked
            // signal mask), so it would wait out the deadline: SHUTDOWN does the same work at once.
            if let c = try? RawClient(port: port) { _ = try? c.send("SHUTDOWN") }
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning && Date() < deadline { usleep(10_000) }
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Set once the test stops the server itself; a Cairn that died of a signal before that crashed.
    var stopping = false

    deinit {
        if isCairn && !stopping && !process.isRunning && process.terminationReason == .uncaughtSignal {
            Issue.record("cairn-server died of signal \(process.terminationStatus): \(log())")
        }
        terminate()
        if !sharedDir { try? FileManager.default.removeItem(atPath: dir) }
    }
}
