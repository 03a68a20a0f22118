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

/// pipe2(2), which Glibc's Swift overlay does not export.
@_silgen_name("pipe2") private func c_pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32
private func cloexecPipe(_ fds: inout [Int32]) -> Int32 { fds.withUnsafeMutableBufferPointer { c_pipe2($0.baseAddress!, O_CLOEXEC) } }

/// Runs a program and returns its exit status (the signal number if a signal ended it), stdout and
/// stderr. Spawned with posix_spawn and reaped with waitpid: this helper runs thousands of tool
/// processes per suite, and Foundation.Process's exit notification was once seen to never arrive
/// (under AddressSanitizer), leaving waitUntilExit blocked forever on a child already gone.
@discardableResult
func runProcess(_ exe: String, _ args: [String], stdin: Data? = nil) throws -> (status: Int32, out: Data, err: String) {
    // Close-on-exec from the start: a server another test spawns meanwhile must not inherit a pipe end.
    var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
    guard cloexecPipe(&inPipe) == 0, cloexecPipe(&outPipe) == 0, cloexecPipe(&errPipe) == 0 else {
        throw InteropError(description: "pipe: \(String(cString: strerror(errno)))")
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
    let argv: [UnsafeMutablePointer<CChar>?] = ([exe] + args).map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, exe, &actions, nil, argv, environ)
    for fd in [inPipe[0], outPipe[1], errPipe[1]] { close(fd) }
    guard rc == 0 else {
        for fd in [inPipe[1], outPipe[0], errPipe[0]] { close(fd) }
        throw InteropError(description: "cannot run \(exe): \(String(cString: strerror(rc)))")
    }
    // Feed stdin and drain both outputs together, so no pipe can fill up and block the child.
    let input = [UInt8](stdin ?? Data())
    var written = 0
    var inFD: Int32 = inPipe[1]
    if input.isEmpty { close(inFD); inFD = -1 } else { _ = fcntl(inFD, F_SETFL, fcntl(inFD, F_GETFL) | O_NONBLOCK) }
    var out = [UInt8](), err = [UInt8]()
    var open: [Int32] = [outPipe[0], errPipe[0]]
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while !open.isEmpty || inFD >= 0 {
        var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        if inFD >= 0 { fds.append(pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0)) }
        if poll(&fds, nfds_t(fds.count), -1) < 0 {
            if errno == EINTR { continue }
            break
        }
        for f in fds where f.revents != 0 {
            if f.fd == inFD {
                let n = input.withUnsafeBytes { write(inFD, $0.baseAddress! + written, input.count - written) }
                if n > 0 { written += n }
                if n < 0 && errno == EAGAIN { continue }
                if n <= 0 || written == input.count { close(inFD); inFD = -1 }
                continue
            }
            let n = chunk.withUnsafeMutableBytes { read(f.fd, $0.baseAddress!, $0.count) }
            if n > 0 {
                if f.fd == outPipe[0] { out += chunk[0 ..< n] } else { err += chunk[0 ..< n] }
            } else if n == 0 || errno != EINTR {
                close(f.fd)
                open.removeAll { $0 == f.fd }
            }
        }
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    // Exit code when it exited, else the signal number (as Foundation.Process reports it).
    let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : status & 0x7f
    return (code, Data(out), String(decoding: err, as: UTF8.self))
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
