// What Redis's own test harness needs from a server before it can drive it, checked against Debian's
// redis-server: the start-up banner with ` PID: <pid>`, the Unix socket listener, the hidden testing
// parameters, and the DEBUG subcommands the suite calls (byte-identical replies).
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A RESP connection over the server's Unix socket.
private func unixSocketSend(_ path: String, _ request: String) throws -> String {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure(description: "socket: errno \(errno)") }
    defer { close(fd) }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
        let bytes = Array(path.utf8)
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
    }
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard rc == 0 else { throw TestFailure(description: "connect \(path): errno \(errno)") }
    var tv = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    let req = RawClient.encode(argv(request))
    _ = req.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var buffer: [UInt8] = []
    while replyEnd(buffer, 0) == nil {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
        guard n > 0 else { throw TestFailure(description: "unix socket closed") }
        buffer += chunk[0 ..< n]
    }
    return String(decoding: buffer, as: UTF8.self)
}

@Suite(.enabled(if: Paths.haveRedis && Paths.haveCairn)) struct SuiteDrivingTests {
    @Test(arguments: [true, false]) func bannerShowsPidAndPort(cairn: Bool) throws {
        let s = try ServerProcess(cairn: cairn, args: ["--always-show-logo", "yes"])
        let log = s.log()
        #expect(log.contains(" PID: \(s.process.processIdentifier)"), "\(log)")
        #expect(log.contains("Port: \(s.port)"))
        #expect(log.contains("Running in standalone mode"))
        // Without the logo (log to a file, no always-show-logo): one line says the same.
        let quiet = try ServerProcess(cairn: cairn)
        #expect(quiet.log().contains("Running mode=standalone, port=\(quiet.port)."), "\(quiet.log())")
        #expect(!quiet.log().contains(" PID: "))
    }

    @Test func unixSocketServesLikeRedis() throws {
        var lines: [String] = []
        for cairn in [true, false] {
            let dir = try makeTempDir()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let path = dir + "/socket"
            let s = try ServerProcess(cairn: cairn, args: ["--unixsocket", path, "--unixsocketperm", "700"])
            #expect(try unixSocketSend(path, "PING") == "+PONG\r\n")
            var st = stat()
            #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o700)
            let list = try unixSocketSend(path, "CLIENT LIST")
            let fields = list.split(separator: " ").filter { $0.hasPrefix("addr=") || $0.hasPrefix("laddr=") || $0.hasPrefix("flags=") }
            lines.append(fields.joined(separator: " ").replacingOccurrences(of: dir, with: "DIR"))
            _ = s
        }
        #expect(lines[0] == lines[1])
        #expect(lines[0] == "addr=DIR/socket:0 laddr=DIR/socket:0 flags=U")
    }

    @Test func debugSubcommandsReplyAsRedis() throws {
        let commands = ["DEBUG PROTOCOL string", "DEBUG PROTOCOL integer", "DEBUG PROTOCOL double", "DEBUG PROTOCOL bignum",
                        "DEBUG PROTOCOL null", "DEBUG PROTOCOL array", "DEBUG PROTOCOL set", "DEBUG PROTOCOL map",
                        "DEBUG PROTOCOL attrib", "DEBUG PROTOCOL push", "DEBUG PROTOCOL verbatim", "DEBUG PROTOCOL true",
                        "DEBUG PROTOCOL false", "DEBUG PROTOCOL nope", "DEBUG QUICKLIST-PACKED-THRESHOLD 1b",
                        "DEBUG QUICKLIST-PACKED-THRESHOLD 0", "DEBUG QUICKLIST-PACKED-THRESHOLD abc",
                        "DEBUG SET-SKIP-CHECKSUM-VALIDATION 1", "DEBUG REPLYBUFFER resizing 0",
                        "DEBUG REPLYBUFFER peak-reset-time never", "DEBUG PAUSE-CRON 1", "DEBUG PAUSE-CRON 0",
                        "DEBUG AOF-FLUSH-SLEEP 0", "DEBUG LOG hello", "DEBUG CHANGE-REPL-ID", "DEBUG STRUCTSIZE",
                        "DEBUG LISTPACK nokey", "DEBUG QUICKLIST nokey", "RPUSH l a b", "DEBUG QUICKLIST l",
                        "DEBUG LISTPACK l", "HSET h a b", "DEBUG LISTPACK h", "DEBUG QUICKLIST h", "DEBUG JMAP",
                        "DEBUG NO-SUCH-THING 1", "DEBUG CONFIG-REWRITE-FORCE-ALL", "DEBUG RELOAD bogus", "DEBUG RELOAD", "DEBUG RELOAD NOSAVE",
                        "LRANGE l 0 -1", "HGETALL h",
                        "CONFIG GET key-load-delay", "CONFIG GET rdb-key-save-delay", "CONFIG SET key-load-delay 0",
                        "CONFIG GET loading-process-events-interval-bytes", "CONFIG GET *-delay", "CONFIG GET use-exit-on-panic"]
        var replies: [[String]] = []
        for cairn in [true, false] {
            let s = try ServerProcess(cairn: cairn, args: ["--use-exit-on-panic", "yes"])
            let c = try s.client()
            var out: [String] = []
            for resp in [2, 3] {
                _ = try c.send("HELLO \(resp)")
                for cmd in commands {
                    var reply = try c.send(cmd)
                    // A RESP3 attribute or push comes before the reply it goes with.
                    if reply.hasPrefix("|") || reply.hasPrefix(">") { reply += String(decoding: try c.readReply(), as: UTF8.self) }
                    out.append("\(resp) \(cmd) -> \(reply)")
                }
            }
            replies.append(out)
        }
        for (a, b) in zip(replies[0], replies[1]) { #expect(a == b) }
        // The checksum switch really changes RESTORE: a payload with a wrong CRC is taken once it is on.
        let s = try ServerProcess()
        let c = try s.client()
        _ = try c.send("SET k v")
        var payload = try c.send(["DUMP", "k"].map { Array($0.utf8) })
        let body = Array(payload[payload.firstIndex(of: 10)! + 1 ..< payload.count - 2])
        var bad = body
        bad[bad.count - 1] ^= 0xff
        #expect(String(decoding: try c.send([Array("RESTORE".utf8), Array("k2".utf8), Array("0".utf8), bad]), as: UTF8.self)
                == "-ERR DUMP payload version or checksum are wrong\r\n")
        _ = try c.send("DEBUG SET-SKIP-CHECKSUM-VALIDATION 1")
        #expect(String(decoding: try c.send([Array("RESTORE".utf8), Array("k2".utf8), Array("0".utf8), bad]), as: UTF8.self) == "+OK\r\n")
        payload = try c.send("GET k2".split(separator: " ").map { Array($0.utf8) })
        #expect(String(decoding: payload, as: UTF8.self) == "$1\r\nv\r\n")
    }

    @Test func keySaveDelaySlowsTheSnapshotChild() throws {
        let s = try ServerProcess(args: ["--rdb-key-save-delay", "100000"])
        let c = try s.client()
        _ = try c.send("DEBUG POPULATE 100")
        _ = try c.send("BGSAVE")
        // 100 keys at 0.1 s each: the child is still running a second later.
        usleep(1_000_000)
        #expect(try c.send("INFO persistence").contains("rdb_bgsave_in_progress:1"))
        _ = try c.send("CONFIG SET rdb-key-save-delay 0")
    }

    @Test func pauseCronStopsActiveExpiry() throws {
        let s = try ServerProcess()
        let c = try s.client()
        _ = try c.send("DEBUG PAUSE-CRON 1")
        _ = try c.send("PSETEX k 50 v")
        usleep(400_000)
        // Nothing touched the key: the periodic expiry did not run.
        #expect(try c.send("DBSIZE") == ":1\r\n")
        _ = try c.send("DEBUG PAUSE-CRON 0")
        #expect(waitFor(timeout: 3) { (try? c.send("DBSIZE")) == ":0\r\n" })
    }
}
