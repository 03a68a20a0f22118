// Differential testing support: run the same commands on Cairn's Engine (in process) and on a real
// Debian redis-server (over a socket), and compare the reply bytes.
import Foundation
import Testing
@testable import Engine
import StorageFormat
#if canImport(Glibc)
import Glibc
#endif

/// Splits a command line into arguments with Redis's inline rules ("quotes", \x escapes).
func argv(_ line: String) -> [[UInt8]] {
    Array(line.utf8).withUnsafeBytes { RESPRequestParser.splitArguments($0) ?? [] }
}

/// An engine and one session, driven command by command.
final class EngineHarness {
    let engine: Engine
    let session: Session

    init(config: EngineConfig = EngineConfig()) {
        engine = Engine(config: config)
        engine.updateClock()
        session = engine.newSession()
    }

    /// Runs `args` and returns the reply bytes.
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

/// A blocking RESP client for a real redis-server, returning each reply's raw bytes.
final class RedisOracle {
    static var available: Bool { access("/usr/bin/redis-server", X_OK) == 0 }
    let process: Process
    let port: Int
    let fd: Int32
    var buffer: [UInt8] = []
    let dir: String

    /// `extraArguments` are added to redis-server's command line (e.g. "--enable-debug-command", "yes").
    init(extraArguments: [String] = []) throws {
        var template = Array((NSTemporaryDirectory() + "cairn-oracle-XXXXXX").utf8CString)
        dir = String(cString: mkdtemp(&template)!)
        port = RedisOracle.freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", dir, "--logfile", dir + "/log"] + extraArguments
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
    static func freePort() -> Int {
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

    enum OracleError: Error { case cannotConnect, closed }

    /// Sends `args` and returns the raw bytes of the reply.
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

/// Runs every line on both and records each difference (command, Redis's reply, Cairn's reply).
/// Lines starting with "#" are comments. Returns the number of commands compared.
@discardableResult
func compareWithRedis(_ script: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
    let oracle = try RedisOracle()
    let cairn = EngineHarness()
    _ = try oracle.run("FLUSHALL")
    var n = 0
    for line in script.split(separator: "\n") {
        let l = line.trimmingCharacters(in: .whitespaces)
        if l.isEmpty || l.hasPrefix("#") { continue }
        let args = argv(l)
        let theirs = try oracle.run(args)
        let mine = cairn.run(args)
        #expect(String(decoding: mine, as: UTF8.self) == String(decoding: theirs, as: UTF8.self), "\(l)", sourceLocation: sourceLocation)
        n += 1
    }
    return n
}
