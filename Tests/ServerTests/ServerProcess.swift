// Test support: a real cairn-server or redis-server process on a free loopback port, and a raw
// RESP client over a real socket that returns each reply's exact bytes.
import Foundation
import Testing
import StorageFormat
#if canImport(Glibc)
import Glibc
#endif

enum Paths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The cairn-server built beside the running tests (any --scratch-path), else `.build/debug`'s.
    static let cairnServer: String = {
        var dirs: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { dirs.append(exe) }
        dirs += CommandLine.arguments.filter { $0.contains(".xctest") }
        for d in dirs {
            var url = URL(fileURLWithPath: d).deletingLastPathComponent()
            while url.path != "/" && url.path.contains(".xctest") { url.deleteLastPathComponent() }
            let candidate = url.appendingPathComponent("cairn-server").path
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return root.appendingPathComponent(".build/debug/cairn-server").path
    }()
    static let redisServer = "/usr/bin/redis-server"
    static let redisCLI = "/usr/bin/redis-cli"
    static var haveRedis: Bool { access(redisServer, X_OK) == 0 && access(redisCLI, X_OK) == 0 }
    static var haveCairn: Bool { access(cairnServer, X_OK) == 0 }
}

func freeLoopbackPort() -> Int {
    let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(s) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

struct TestFailure: Error, CustomStringConvertible { var description: String }

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
    init(cairn: Bool = true, args: [String] = [], files: [String: String] = [:], dir existing: String? = nil,
         environment: [String: String] = [:], untilLoaded: Bool = true, configFile: String? = nil) throws {
        if let existing {
            dir = existing
            sharedDir = true
        } else {
            var template = Array((NSTemporaryDirectory() + "cairn-srv-XXXXXX").utf8CString)
            dir = String(cString: mkdtemp(&template)!)
            sharedDir = false
        }
        for (name, source) in files { try FileManager.default.copyItem(atPath: source, toPath: dir + "/" + name) }
        isCairn = cairn
        port = freeLoopbackPort()
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

/// A blocking RESP client over a real TCP socket.
final class RawClient {
    private(set) var fd: Int32
    var buffer: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if r != 0 {
            // deinit runs for an initializer that throws once every property is set: close here and
            // mark the descriptor gone, or deinit would close the same number again (by then another
            // thread's pipe or socket: the "Bad file descriptor" flakes of concurrent tests).
            close(fd)
            fd = -1
            throw TestFailure(description: "connect failed")
        }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { if fd >= 0 { close(fd) } }

    func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw TestFailure(description: "send failed: \(n < 0 ? String(cString: strerror(errno)) : "nothing sent")") }
            sent += n
        }
    }

    static func encode(_ args: [[UInt8]]) -> [UInt8] {
        var req: [UInt8] = []
        RESPEncoder.arrayHeader(args.count, to: &req)
        for a in args { RESPEncoder.bulk(a, to: &req) }
        return req
    }

    /// Reads one complete reply's bytes.
    func readReply() throws -> [UInt8] {
        while true {
            if let end = replyEnd(buffer, 0) {
                let r = Array(buffer[0 ..< end])
                buffer.removeFirst(end)
                return r
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let why = n == 0 ? "closed by the server" : String(cString: strerror(errno))
                throw TestFailure(description: "connection \(why) (have \(String(decoding: buffer, as: UTF8.self)))")
            }
            buffer.append(contentsOf: chunk[0 ..< n])
        }
    }

    /// True once the server has closed the connection (reads until EOF, within the timeout).
    func isClosedByServer() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 4096, 0) }
            if n == 0 { return true }
            // A server that closes with our unread bytes still queued resets the connection instead.
            if n < 0 { return errno == ECONNRESET }
            buffer.append(contentsOf: chunk[0 ..< n])
        }
    }

    func send(_ args: [[UInt8]]) throws -> [UInt8] {
        try write(RawClient.encode(args))
        return try readReply()
    }

    @discardableResult
    func send(_ line: String) throws -> String { String(decoding: try send(argv(line)), as: UTF8.self) }
}

// argv(_:) and replyEnd(_:_:) are in ServerTestSupport.swift.
