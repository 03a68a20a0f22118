// The server over real sockets: RESP2/RESP3, pipelining, inline commands, protocol errors, pub/sub,
// transactions, clean shutdown — each compared with Debian's redis-server where bytes matter.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite(.enabled(if: Paths.haveCairn, "build cairn-server first (tools/test does)"))
struct ProtocolTests {
    /// Raw request bytes and the exact reply bytes: the same from both servers, and the connection
    /// closed after a protocol error as Redis does.
    @Test(.enabled(if: Paths.haveRedis), arguments: [
        "PING\r\n",
        "ECHO \"a b\" \r\n",
        "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n",
        "\r\n\r\nPING\r\n",
        "*0\r\n*-1\r\nPING\r\n",
        "*1\r\n$x\r\n",
        "*a\r\n",
        "*1\r\nPING\r\n",
        "*1\r\n$-5\r\n",
        "ECHO \"unbalanced\r\n",
        "ECHO 'a'b\r\n",
        "*3\r\n$3\r\nSET\r\n$1\r\n",
        "NOSUCH a b\r\nPING x y\r\n",
        "*2\r\n$5\r\nHELLO\r\n$1\r\n4\r\n",
        "*1\r\n$5\r\nMULTI\r\n*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nEXEC\r\n",
        "MULTI\r\nNOSUCH\r\nPING\r\nEXEC\r\n",
        "EXEC\r\nDISCARD\r\nMULTI\r\nMULTI\r\nDISCARD\r\n",
        "SUBSCRIBE a b\r\nPING\r\nECHO x\r\nUNSUBSCRIBE b a\r\nPING\r\n",
        "SUBSCRIBE a\r\nUNSUBSCRIBE\r\nUNSUBSCRIBE\r\nPING\r\n",
        "PSUBSCRIBE a* \r\nPUNSUBSCRIBE\r\nPUNSUBSCRIBE\r\nUNSUBSCRIBE\r\n",
        "PUBLISH nobody hello\r\nPUBSUB NUMSUB a b\r\nPUBSUB NUMPAT\r\nPUBSUB CHANNELS\r\nPUBSUB FOO\r\n",
        "AUTH x\r\nAUTH a b c\r\n",
        "CLIENT SETNAME my-name\r\nCLIENT GETNAME\r\nCLIENT SETNAME \"a b\"\r\nCLIENT FOO\r\nCLIENT ID x\r\n",
        "CLIENT REPLY OFF\r\nPING\r\nCLIENT REPLY ON\r\nPING\r\nCLIENT REPLY SKIP\r\nPING\r\nPING\r\n",
        "COMMAND COUNT x\r\nCOMMAND GETKEYS\r\nCOMMAND FOO\r\n",
        "RESET\r\n",
        "QUIT\r\nPING\r\n",
    ])
    func rawBytesMatchRedis(request: String) throws {
        let cairn = try ServerProcess(cairn: true)
        let redis = try ServerProcess(cairn: false)
        let mine = try exchange(port: cairn.port, request)
        let theirs = try exchange(port: redis.port, request)
        #expect(String(decoding: mine.bytes, as: UTF8.self) == String(decoding: theirs.bytes, as: UTF8.self))
        #expect(mine.closed == theirs.closed)
    }

    /// Sends raw bytes, then collects everything the server sends until it closes or goes quiet.
    func exchange(port: Int, _ request: String) throws -> (bytes: [UInt8], closed: Bool) {
        let c = try RawClient(port: port)
        var tv = timeval(tv_sec: 0, tv_usec: 300_000)
        setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        try c.write(Array(request.utf8))
        let closed = c.isClosedByServer()
        return (c.buffer, closed)
    }

    @Test func helloSwitchesToRESP3() throws {
        let s = try ServerProcess()
        let c = try s.client()
        let id = try c.send("CLIENT ID").trimmingCharacters(in: .whitespacesAndNewlines).dropFirst()
        #expect(try c.send("HELLO 3") == "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:\(id)\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n")
        #expect(try c.send("ECHO x") == "$1\r\nx\r\n")
        #expect(try c.send("CLIENT GETNAME") == "_\r\n")
        #expect(try c.send("HELLO 2") .hasPrefix("*14\r\n"))
        #expect(try c.send("CLIENT GETNAME") == "$-1\r\n")
    }

    @Test func slowSubscriberIsClosedAtTheOutputBufferLimit() throws {
        let s = try ServerProcess(args: ["--client-output-buffer-limit", "pubsub 1mb 256kb 60"])
        let sub = try s.client()
        let pub = try s.client()
        _ = try sub.send("SUBSCRIBE firehose")
        let payload = String(repeating: "x", count: 100_000)
        for _ in 0 ..< 300 { _ = try pub.send(["PUBLISH", "firehose", payload].map { Array($0.utf8) }) }
        // The subscriber never read: the server must have dropped it, and still serve others.
        #expect(sub.isClosedByServer())
        #expect(try pub.send("CLIENT LIST").components(separatedBy: "id=").count == 2)
        #expect(s.log().contains("scheduled to be closed ASAP for overcoming of output buffer limits"))
    }

    @Test func slowlogRecordsCommandsOverTheThreshold() throws {
        let s = try ServerProcess()
        let c = try s.client()
        #expect(try c.send("SLOWLOG LEN") == ":0\r\n")
        #expect(try c.send("CONFIG SET slowlog-log-slower-than 0") == "+OK\r\n")
        _ = try c.send("SET foo bar")
        _ = try c.send("CLIENT SETNAME slowpoke")
        let entry = try c.send("SLOWLOG GET 1")
        #expect(entry.hasPrefix("*1\r\n*6\r\n:"))
        #expect(entry.contains("$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$8\r\nslowpoke\r\n"))
        #expect(entry.hasSuffix("$8\r\nslowpoke\r\n") || entry.hasSuffix("$0\r\n\r\n"))
        #expect(try c.send("SLOWLOG LEN") != ":0\r\n")
        #expect(try c.send("SLOWLOG GET -2") == "-ERR count should be greater than or equal to -1\r\n")
        #expect(try c.send("SLOWLOG RESET") == "+OK\r\n")
        #expect(try c.send("CONFIG SET slowlog-log-slower-than -1") == "+OK\r\n")
        _ = try c.send("SET foo baz")
        #expect(try c.send("SLOWLOG LEN") == ":1\r\n") // the CONFIG SET itself, logged before it took effect
    }

    @Test func pipelineOfManyCommands() throws {
        let s = try ServerProcess()
        let c = try s.client()
        var req: [UInt8] = []
        for i in 0 ..< 5000 { req += RawClient.encode([Array("ECHO".utf8), Array("v\(i)".utf8)]) }
        try c.write(req)
        for i in 0 ..< 5000 {
            #expect(String(decoding: try c.readReply(), as: UTF8.self) == "$\("v\(i)".utf8.count)\r\nv\(i)\r\n")
        }
    }

    @Test func pubsubDeliversAcrossConnections() throws {
        let s = try ServerProcess()
        let sub = try s.client()
        let pub = try s.client()
        #expect(try sub.send("SUBSCRIBE news") == "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n")
        #expect(try sub.send("PSUBSCRIBE n*") == "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:2\r\n")
        #expect(try pub.send("PUBLISH news hello") == ":2\r\n")
        #expect(String(decoding: try sub.readReply(), as: UTF8.self) == "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n")
        #expect(String(decoding: try sub.readReply(), as: UTF8.self) == "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$5\r\nhello\r\n")
        // RESP3 subscribers get push frames.
        let sub3 = try s.client()
        _ = try sub3.send("HELLO 3")
        #expect(try sub3.send("SUBSCRIBE news") == ">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n")
        #expect(try pub.send("PUBLISH news x") == ":3\r\n")
        #expect(try sub3.send("PING") == ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$1\r\nx\r\n")
    }

    @Test func watchAbortsOnAnotherClientsWrite() throws {
        let s = try ServerProcess()
        let a = try s.client()
        let b = try s.client()
        #expect(try a.send("WATCH k") == "+OK\r\n")
        #expect(try b.send("PUBLISH x y") == ":0\r\n")
        #expect(try a.send("MULTI") == "+OK\r\n")
        #expect(try a.send("PING") == "+QUEUED\r\n")
        #expect(try a.send("EXEC") == "*1\r\n+PONG\r\n")
    }

    @Test func sigtermExitsCleanlyWithRedisLogLines() throws {
        let s = try ServerProcess()
        #expect(s.terminate() == 0)
        let log = s.log()
        #expect(log.contains("Received SIGTERM scheduling shutdown..."))
        // pid:M DD Mon YYYY HH:MM:SS.mmm * message
        let first = log.split(separator: "\n").first.map(String.init) ?? ""
        let pattern = #"^[0-9]+:M [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} [*#.-] "#
        #expect(first.range(of: pattern, options: .regularExpression) != nil, "\(first)")
    }

    @Test func shutdownCommandStopsTheServer() throws {
        let s = try ServerProcess()
        let c = try s.client()
        try c.write(RawClient.encode(argv("SHUTDOWN NOSAVE")))
        #expect(c.isClosedByServer())
        let deadline = Date().addingTimeInterval(5)
        while s.process.isRunning && Date() < deadline { usleep(10_000) }
        #expect(!s.process.isRunning)
    }

    @Test func infoHasRedisSectionsAndFields() throws {
        let s = try ServerProcess()
        let c = try s.client()
        let info = try c.send("INFO")
        for field in ["# Server", "redis_version:", "tcp_port:\(s.port)", "# Clients", "connected_clients:1", "# Memory", "used_memory:",
                      "# Persistence", "rdb_changes_since_last_save:", "# Stats", "total_commands_processed:", "# Replication",
                      "role:master", "# CPU", "used_cpu_sys:", "# Keyspace", "# Errorstats"] {
            #expect(info.contains(field), "\(field)")
        }
        _ = try c.send("NOSUCH")
        #expect(try c.send("INFO errorstats").contains("errorstat_ERR:count=1"))
        #expect(try c.send("INFO commandstats").contains("cmdstat_info:calls="))
    }
}
