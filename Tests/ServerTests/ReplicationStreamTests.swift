// The replication stream a SYNC client receives, compared command by command with Debian's
// redis-server: what each write propagates as (absolute expiries, pops with the count taken, SWAPDB
// before the DEL of a key it exposed expired, transactions in MULTI/EXEC), and blocked clients that
// must stay blocked when the key they wait on holds the wrong type or has expired.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Attaches to `port` with SYNC, skips the RDB bulk, and reads the commands that follow.
private final class StreamReader {
    let client: RawClient

    init(port: Int) throws {
        client = try RawClient(port: port)
        try client.write(Array("SYNC\r\n".utf8))
        try client.skipRDBPayload()
    }

    /// The next command, lower-cased name first, with 13-digit Unix-ms timestamps written as TS.
    func next() throws -> String {
        let reply = try client.readReply()
        var parts: [String] = []
        var i = reply.firstIndex(of: 10)! + 1
        while i < reply.count {
            let eol = reply[i...].firstIndex(of: 10)!
            let n = Int(String(decoding: reply[(i + 1) ..< eol - 1], as: UTF8.self))!
            parts.append(String(decoding: reply[(eol + 1) ..< (eol + 1 + n)], as: UTF8.self))
            i = eol + 1 + n + 2
        }
        parts[0] = parts[0].lowercased()
        return parts.map { $0.count == 13 && $0.allSatisfy(\.isNumber) ? "TS" : $0 }.joined(separator: " ")
    }

    /// Commands up to and including `SET <marker> done`.
    func until(_ marker: String) throws -> [String] {
        var out: [String] = []
        while true {
            let c = try next()
            if c == "ping" { continue }
            out.append(c)
            if c == "set \(marker) done" { return out }
        }
    }
}

@Suite(.enabled(if: Paths.haveRedis && Paths.haveCairn)) struct ReplicationStreamTests {
    /// Runs `script` on a fresh server of each kind with a SYNC client attached; returns both streams.
    func streams(_ script: (RawClient, Int) throws -> Void) throws -> [[String]] {
        var out: [[String]] = []
        for cairn in [true, false] {
            let s = try ServerProcess(cairn: cairn, args: ["--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "3600"])
            let c = try s.client()
            let stream = try StreamReader(port: s.port)
            try script(c, s.port)
            _ = try c.send("SET marker done")
            out.append(try stream.until("marker"))
        }
        return out
    }

    /// A replica must not get replies on its link (it would take them for stream): an attached SYNC client
    /// that sends a command with a reply is disconnected, with Redis's log line, and the others go on.
    @Test func aReplicaCommandWithAReplyDisconnectsIt() throws {
        for cairn in [true, false] {
            let s = try ServerProcess(cairn: cairn, args: ["--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "3600"])
            let c = try s.client()
            let stream = try StreamReader(port: s.port)
            _ = try c.send("SET k done")
            #expect(try stream.until("k").last == "set k done")
            try stream.client.write(Array("*1\r\n$4\r\nPING\r\n".utf8))
            #expect(stream.client.isClosedByServer(), "\(cairn ? "cairn" : "redis")")
            #expect(try c.send("PING") == "+PONG\r\n")
            try waitFor("\(cairn ? "cairn" : "redis"): the log line", timeout: 10) {
                s.log().contains("Replica generated a reply to command 'ping', disconnecting it")
            }
        }
    }

    @Test func writesPropagateAsRedis() throws {
        let both = try streams { c, _ in
            for line in ["SET a 1 EX 100", "SET a 1 PX 100000", "SET a 1 PXAT 99999999999999", "SETEX b 100 x", "EXPIRE b 200",
                         "RPUSH l a b c", "LMPOP 1 l LEFT COUNT 10", "ZADD z 1 a 2 b", "ZMPOP 1 z MIN COUNT 5", "ZADD z 1 a",
                         "ZMPOP 1 z MAX", "SADD s 1 2 3", "SPOP s 3", "INCRBYFLOAT f 1.5", "SELECT 3", "SET in3 x",
                         "MULTI", "SET t1 1", "SET t2 2", "EXEC", "SELECT 0", "FLUSHDB", "GETDEL nothere", "GETEX a PERSIST"] {
                _ = try c.send(line)
            }
        }
        #expect(both[0] == both[1])
    }

    /// PUBLISH and SPUBLISH go down the replication stream (a replica's subscribers get them, as
    /// Sentinel's hello messages do), alone, inside a transaction and in another database.
    @Test func publishPropagatesAsRedis() throws {
        let both = try streams { c, _ in
            for line in ["PUBLISH ch hello", "SPUBLISH sch hi", "MULTI", "PUBLISH ch in-tx", "SET k v", "EXEC",
                         "MULTI", "PUBLISH ch alone", "EXEC", "SELECT 2", "PUBLISH ch db2", "SET k2 v", "SELECT 0"] {
                _ = try c.send(line)
            }
        }
        #expect(both[0] == both[1])
        #expect(both[1].contains("publish ch hello"))
    }

    /// …but not into the AOF: a transaction's PUBLISH leaves its one write unwrapped there, and a
    /// transaction of PUBLISHes leaves nothing (the same bytes as redis-server's incremental file).
    @Test func publishStaysOutOfTheAOF() throws {
        var files: [String] = []
        for cairn in [true, false] {
            let s = try ServerProcess(cairn: cairn, args: ["--appendonly", "yes"])
            let c = try s.client()
            for line in ["MULTI", "PUBLISH ch x", "SET k v", "EXEC", "MULTI", "PUBLISH a 1", "PUBLISH b 2", "EXEC", "PUBLISH c 3", "SET z 1"] {
                _ = try c.send(line)
            }
            let dir = s.dir + "/appendonlydir"
            let incr = try #require(try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".incr.aof") })
            try waitFor("the AOF written", timeout: 5) { (try? String(contentsOfFile: dir + "/" + incr, encoding: .utf8))?.contains("$1\r\nz\r\n") == true }
            files.append(try String(contentsOfFile: dir + "/" + incr, encoding: .utf8))
        }
        #expect(files[0] == files[1])
    }

    /// Stream writes in their deterministic forms: XADD with the ID it generated and an approximate
    /// trim made exact, XREADGROUP as XCLAIM … LASTID (or XGROUP SETID with NOACK), XCLAIM and
    /// XAUTOCLAIM as XCLAIM, XGROUP subcommands as sent. Delivery times (the clock) are masked.
    @Test func streamWritesPropagateAsRedis() throws {
        let both = try streams { c, _ in
            for line in ["XADD s 1-1 a 1", "XADD s 5-* b 2", "XADD s 5-* c 3", "XADD s MAXLEN ~ 1 6-0 d 4", "XGROUP CREATE s g 0",
                         "XGROUP CREATE s g2 $ MKSTREAM", "XGROUP CREATE n g 0 MKSTREAM", "XREADGROUP GROUP g alice COUNT 2 STREAMS s >",
                         "XREADGROUP GROUP g bob NOACK STREAMS s >", "XREADGROUP GROUP g2 carol STREAMS s >",
                         "XCLAIM s g dave 0 5-0 JUSTID", "XDEL s 5-1", "XAUTOCLAIM s g erin 0 0 JUSTID", "XACK s g 5-0",
                         "XGROUP CREATECONSUMER s g frank", "XGROUP DELCONSUMER s g frank", "XGROUP SETID s g 0 ENTRIESREAD 0",
                         "XGROUP DESTROY s g2", "XTRIM s MINID ~ 9", "XTRIM s MAXLEN 0", "XSETID s 9-9", "XGROUP CREATECONSUMER s g alice"] {
                _ = try c.send(line)
            }
        }
        func masked(_ cmds: [String]) -> [String] {
            cmds.map { $0.split(separator: " ").map { w in w.count == 13 && w.allSatisfy(\.isNumber) ? "<ms>" : String(w) }.joined(separator: " ") }
        }
        #expect(masked(both[0]) == masked(both[1]))
    }

    @Test func blockedClientStaysBlockedOnWrongTypeAndExpiredKeys() throws {
        var results: [[String]] = []
        for cairn in [true, false] {
            let s = try ServerProcess(cairn: cairn, args: ["--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "3600"])
            let c = try s.client()
            let stream = try StreamReader(port: s.port)
            let waiter = try s.client()
            let id = try waiter.send("CLIENT ID")
            // LPUSH, DEL and SET in one transaction: the waiter must not get WRONGTYPE, and stays blocked.
            try waiter.write(RawClient.encode(argv("BLPOP list 0")))
            #expect(waitFor(timeout: 5) { (try? c.send("CLIENT LIST"))?.contains("flags=b") == true })
            for line in ["MULTI", "LPUSH list a", "DEL list", "SET list foo", "EXEC"] { _ = try c.send(line) }
            _ = try c.send("DEL list")
            _ = try c.send("LPUSH list b")
            let served = String(decoding: try waiter.readReply(), as: UTF8.self)
            // A key that expires inside the transaction that fills it wakes nobody either.
            _ = try c.send("DEBUG SET-ACTIVE-EXPIRE 0")
            try waiter.write(RawClient.encode(argv("BRPOP k 0")))
            #expect(waitFor(timeout: 5) { (try? c.send("CLIENT LIST"))?.contains("flags=b") == true })
            for line in ["MULTI", "RPUSH k hello", "PEXPIRE k 100", "DEBUG SLEEP 0.2", "EXEC"] { _ = try c.send(line) }
            let stillBlocked = try c.send("CLIENT LIST").contains("flags=b")
            let number = id.split(separator: "\r\n")[0].dropFirst()
            _ = try c.send("CLIENT UNBLOCK \(number)")
            let unblocked = String(decoding: try waiter.readReply(), as: UTF8.self)
            _ = try c.send("SET marker done")
            results.append([served, "still blocked: \(stillBlocked)", unblocked] + (try stream.until("marker")))
        }
        #expect(results[0] == results[1])
        #expect(results[0][0] == "*2\r\n$4\r\nlist\r\n$1\r\nb\r\n")
        #expect(results[0][1] == "still blocked: true")
    }
}
