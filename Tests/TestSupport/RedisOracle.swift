// RedisOracle: Debian's redis-server 7.0 on a free loopback port in a temporary folder, as the
// reference the tests compare Cairn with. Commands go over one RESP connection and come back as raw
// reply bytes; redis-cli and tools/redis-snapshot.py (the whole dataset as canonical JSON) are there
// for the tests that compare with Redis's own tools. Also: redis-server run to a start-up refusal.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public final class RedisOracle {
    /// redis-server is installed.
    public static var available: Bool { access(Paths.redisServer, X_OK) == 0 }
    /// redis-server, redis-cli and python3 are installed (for `cli` and `snapshot`).
    public static var snapshotAvailable: Bool { available && which("redis-cli") != nil && which("python3") != nil }

    public let process: Process
    public let port: Int
    /// The server's folder (its `dir`).
    public let dir: String
    /// The server's log file, in `dir`.
    public let logPath: String
    private let ownsDir: Bool
    private let connection: RawClient

    /// Starts redis-server and returns once it answers (a dataset it loads at start-up loaded).
    /// - `configFile`: a config file, first on the command line (it must set no port, dir or logfile).
    /// - `dir`: the server's folder (kept afterwards); a new temporary folder (removed at the end) when nil.
    /// - `dbfilename`: the RDB file it loads at start and saves to (Redis's default, dump.rdb, when nil).
    /// - `extra`: more options, last on the command line (so they win).
    /// - `keepDefaults`: leave Redis's defaults alone; otherwise the server is isolated: bound to
    ///   127.0.0.1, no `save` points, no AOF, not daemonized.
    public init(configFile: String? = nil, dir givenDir: String? = nil, dbfilename: String? = nil,
                extra: [String] = [], keepDefaults: Bool = false) throws {
        dir = try givenDir ?? makeTempDir("cairn-oracle")
        ownsDir = givenDir == nil
        logPath = dir + "/redis.log"
        port = freeLoopbackPort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.redisServer)
        var args: [String] = configFile.map { [$0] } ?? []
        args += ["--port", String(port)]
        if !keepDefaults { args += ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"] }
        args += ["--dir", dir, "--logfile", logPath]
        if let dbfilename { args += ["--dbfilename", dbfilename] }
        process.arguments = args + extra
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if !process.isRunning {
                process.waitUntilExit()
                if ownsDir { removeTree(dir) }
                throw TestFailure(description: "redis-server exited: \(RedisOracle.log(at: logPath))")
            }
            // A reply that never comes (a command that blocks on the real server) fails the test instead of hanging it.
            // Ready once PING is answered by something other than -LOADING (a dataset still loading).
            if let c = try? RawClient(port: port, timeout: 20), let pong = try? c.send("PING"), !pong.hasPrefix("-LOADING") {
                connection = c
                return
            }
            usleep(10_000)
        }
        let log = RedisOracle.log(at: logPath)
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        if ownsDir { removeTree(dir) }
        throw TestFailure(description: "redis-server did not answer PING: \(log)")
    }

    /// `host:port` of the server.
    public var address: String { "127.0.0.1:\(port)" }

    private static func log(at path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// The server's log so far.
    public func log() -> String { RedisOracle.log(at: logPath) }

    /// Sends `args` and returns the raw bytes of the reply.
    public func run(_ args: [[UInt8]]) throws -> [UInt8] { try connection.send(args) }

    /// Sends a command line (split by `argv`) and returns the reply's raw bytes as text.
    @discardableResult
    public func run(_ line: String) throws -> String { String(decoding: try run(argv(line)), as: UTF8.self) }

    /// redis-cli's output for `args` (one connection of its own), trimmed.
    @discardableResult
    public func cli(_ args: [String], stdin: Data? = nil) throws -> String {
        let r = try runProcess(Paths.redisCLI, ["-p", String(port)] + args, stdin: stdin)
        return String(decoding: r.out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// tools/redis-snapshot.py's canonical JSON of the whole server (after RESTOREing `file`'s keys, if given).
    public func snapshot(restoring file: String? = nil) throws -> [String: Any] {
        var args = [Paths.repo("tools/redis-snapshot.py"), "--port", String(port)]
        if let file { args += ["--restore", file] }
        let r = try runProcess(which("python3")!, args)
        guard r.status == 0 else { throw TestFailure(description: "redis-snapshot.py failed: \(r.err)") }
        guard let doc = try JSONSerialization.jsonObject(with: r.out) as? [String: Any] else {
            throw TestFailure(description: "redis-snapshot.py printed no JSON object")
        }
        return doc
    }

    /// Stops the server: SHUTDOWN NOSAVE, then SIGKILL if it is still there after 5 s. (A signal such
    /// as SIGTERM can be blocked in a child started by the test runner.)
    public func stop() { stopServer(process, grace: 5) { _ = try? connection.send(argv("SHUTDOWN NOSAVE")) } }

    deinit {
        stop()
        if ownsDir { removeTree(dir) }
    }
}

/// Stops a server process the test started: `askToShutDown` (SHUTDOWN NOSAVE, however the caller sends
/// it), then SIGKILL if it is still running after `grace` seconds, and waits for it to exit.
public func stopServer(_ process: Process, grace: TimeInterval, askToShutDown: () -> Void) {
    guard process.isRunning else { return }
    askToShutDown()
    let deadline = Date().addingTimeInterval(grace)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
}

/// Runs redis-server with `arguments`, expecting it to refuse to start (killed after 5 s otherwise),
/// and returns its stdout, stderr and exit status.
public func runRealRedisServer(_ arguments: [String], stdin: String? = nil, cwd: String? = nil) throws
    -> (stdout: String, stderr: String, status: Int32) {
    let r = try runProcess("/usr/bin/timeout", ["5", Paths.redisServer] + arguments, stdin: stdin.map { Data($0.utf8) }, cwd: cwd)
    return (String(decoding: r.out, as: UTF8.self), r.err, r.status)
}
