// Test support for the Server module (copied from Tests/EngineTests/Differential.swift, since test
// targets cannot share files): an in-process Engine with CONFIG registered, a client for a real
// redis-server, and a runner for redis-server start-up errors.
import Foundation
import Testing
@testable import Engine
@testable import Server
import StorageFormat
#if canImport(Glibc)
import Glibc
#endif

/// Splits a command line into arguments with Redis's inline rules ("quotes", \x escapes).
func argv(_ line: String) -> [[UInt8]] {
    Array(line.utf8).withUnsafeBytes { RESPRequestParser.splitArguments($0) ?? [] }
}

/// An engine with CONFIG over `config`, and one session.
final class ConfigHarness {
    let engine: Engine
    let session: Session
    let config: ServerConfig

    init(config: ServerConfig = ServerConfig()) {
        self.config = config
        engine = Engine(config: config.engineConfig)
        engine.register(configCommands(config))
        engine.updateClock()
        session = engine.newSession()
    }

    @discardableResult
    func run(_ args: [[UInt8]]) -> [UInt8] {
        engine.updateClock()
        session.out.removeAll()
        engine.execute(session, args)
        let r = session.out
        session.out.removeAll()
        return r
    }

    @discardableResult
    func run(_ line: String) -> String { String(decoding: run(argv(line)), as: UTF8.self) }
}

func makeTempDir() -> String {
    var template = Array((NSTemporaryDirectory() + "cairn-config-XXXXXX").utf8CString)
    return String(cString: mkdtemp(&template)!)
}

/// A blocking RESP client for a real redis-server started with `arguments` (a config file path
/// and/or options), returning each reply's raw bytes.
final class RedisOracle {
    static var available: Bool { access("/usr/bin/redis-server", X_OK) == 0 }
    let process: Process
    let port: Int
    let fd: Int32
    var buffer: [UInt8] = []
    let dir: String

    /// `configFile` (if any) must set no port/dir; the oracle adds --port, --dir, --logfile, --save "".
    init(configFile: String? = nil, extra: [String] = [], dir givenDir: String? = nil) throws {
        dir = givenDir ?? makeTempDir()
        port = RedisOracle.freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        var args: [String] = []
        if let configFile { args.append(configFile) }
        args += ["--port", String(port), "--dir", dir, "--logfile", dir + "/log"] + extra
        process.arguments = args
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var fd: Int32 = -1
        for _ in 0 ..< 500 {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = UInt16(port).bigEndian
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            if r == 0 { break }
            close(fd)
            fd = -1
            usleep(10_000)
        }
        guard fd >= 0 else { throw OracleError.cannotConnect }
        // A reply that never comes (a command that blocks on the real server) fails the test instead of hanging it.
        var tv = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        self.fd = fd
    }

    /// A port nothing listens on (bound to 0 and released), so the oracle never reaches another
    /// agent's or test's server by accident.
    static func freePort() -> Int { freeLoopbackPort() }

    enum OracleError: Error { case cannotConnect, closed }

    func run(_ args: [[UInt8]]) throws -> [UInt8] {
        var req: [UInt8] = []
        RESPEncoder.arrayHeader(args.count, to: &req)
        for a in args { RESPEncoder.bulk(a, to: &req) }
        var sent = 0
        while sent < req.count {
            let n = req.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, req.count - sent, 0) }
            if n <= 0 { throw OracleError.closed }
            sent += n
        }
        while true {
            if let end = replyEnd(buffer, 0) {
                let r = Array(buffer[0 ..< end])
                buffer.removeFirst(end)
                return r
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
            if n <= 0 { throw OracleError.closed }
            buffer.append(contentsOf: chunk[0 ..< n])
        }
    }

    @discardableResult
    func run(_ line: String) throws -> String { String(decoding: try run(argv(line)), as: UTF8.self) }

    deinit {
        _ = try? run(argv("SHUTDOWN NOSAVE"))
        close(fd)
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// The index just past one complete RESP reply starting at `i`, or nil if incomplete.
func replyEnd(_ b: [UInt8], _ i: Int) -> Int? {
    guard i < b.count else { return nil }
    var j = i + 1
    while j + 1 < b.count && !(b[j] == 13 && b[j + 1] == 10) { j += 1 }
    guard j + 1 < b.count else { return nil }
    let line = String(decoding: b[(i + 1) ..< j], as: UTF8.self)
    let next = j + 2
    switch b[i] {
    case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
        let n = Int(line) ?? -1
        if n < 0 { return next }
        return b.count >= next + n + 2 ? next + n + 2 : nil
    case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "|"):
        var n = Int(line) ?? -1
        if n < 0 { return next }
        if b[i] == UInt8(ascii: "%") || b[i] == UInt8(ascii: "|") { n *= 2 }
        var k = next
        for _ in 0 ..< n {
            guard let e = replyEnd(b, k) else { return nil }
            k = e
        }
        return k
    default:
        return next
    }
}

/// The elements of a flat RESP2 array of bulk strings (a CONFIG GET reply) as name → value pairs.
func configPairs(_ reply: [UInt8]) -> [String: String] {
    var out: [String: String] = [:]
    var items: [String] = []
    var i = 0
    // Skip the array header.
    while i + 1 < reply.count && !(reply[i] == 13 && reply[i + 1] == 10) { i += 1 }
    i += 2
    while i < reply.count {
        guard let end = replyEnd(reply, i) else { break }
        var j = i + 1
        while !(reply[j] == 13 && reply[j + 1] == 10) { j += 1 }
        items.append(String(decoding: reply[(j + 2) ..< (end - 2)], as: UTF8.self))
        i = end
    }
    var k = 0
    while k + 1 < items.count { out[items[k]] = items[k + 1]; k += 2 }
    return out
}

/// Runs redis-server with `arguments` (expecting it to fail at start-up) and returns stdout, stderr
/// and the exit status.
func runRealRedisServer(_ arguments: [String], stdin: String? = nil, cwd: String? = nil) throws
    -> (stdout: String, stderr: String, status: Int32) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    p.arguments = ["5", "/usr/bin/redis-server"] + arguments
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let out = Pipe(), err = Pipe(), input = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try? input.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self), p.terminationStatus)
}

/// Polls `condition` every 100 ms for up to `seconds`; true as soon as it holds.
func waitUntil(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(100_000)
    }
    return try condition()
}
