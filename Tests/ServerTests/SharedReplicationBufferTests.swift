// The replication stream held once for the backlog and every replica (Redis 7.0's shared replication
// buffer), on both servers: while a replica waits for its snapshot the backlog keeps everything written
// since, past repl-backlog-size, and a partial resync is served from that far back; a second waiting
// replica does not double the memory; once no replica needs the old bytes they go. And a replica moved
// to another primary and back continues the stream in the database it had selected.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite(.enabled(if: Paths.haveRedis && Paths.haveCairn), .serialized) struct SharedReplicationBufferTests {
    /// A raw replica: REPLCONF capa psync2, then PSYNC; returns the client and the first reply line.
    func psync(_ port: Int, _ replid: String, _ offset: Int) throws -> (RawClient, String) {
        let r = try RawClient(port: port)
        #expect(try r.send("REPLCONF capa psync2") == "+OK\r\n")
        try r.write(RawClient.encode(argv("PSYNC \(replid) \(offset)")))
        return (r, String(decoding: try r.readReply(), as: UTF8.self))
    }

    func write(_ c: RawClient, _ count: Int, _ tag: String) throws {
        let value = [UInt8](repeating: UInt8(ascii: "v"), count: 10_000)
        for i in 0 ..< count { #expect(try c.send([Array("SET".utf8), Array("\(tag)\(i)".utf8), value]) == Array("+OK\r\n".utf8)) }
    }

    @Test func waitingReplicasHoldTheStreamOnce() throws {
        for cairn in [true, false] {
            let who = cairn ? "cairn" : "redis"
            let s = try ServerProcess(cairn: cairn, args: ["--repl-backlog-size", "16384", "--repl-diskless-sync", "no",
                                                           "--repl-diskless-sync-delay", "0", "--save", "",
                                                           "--client-output-buffer-limit", "replica 0 0 0"])
            let c = try s.client()
            _ = try c.send("SET first 1")
            // Every key of the snapshot takes a second: the replicas wait for it as long as the test runs.
            #expect(try c.send("CONFIG SET rdb-key-save-delay 1000000") == "+OK\r\n")
            let (r1, full) = try psync(s.port, "?", -1)
            #expect(full.hasPrefix("+FULLRESYNC"), "\(who): \(full)")
            let replid = String(full.split(separator: " ")[1])
            try write(c, 200, "a:") // about 2 MB
            let histlen = try c.infoInteger("replication", "repl_backlog_histlen")
            #expect(histlen > 2_000_000, "\(who): the backlog keeps what the waiting replica needs (\(histlen))")
            let mem1 = try c.infoInteger("memory", "mem_total_replication_buffers")
            #expect(mem1 > 2_000_000 && mem1 < 3_000_000, "\(who): \(mem1)")

            // A second replica attaches to the same snapshot: 1 MB more costs about 1 MB, not 2.
            let (r2, full2) = try psync(s.port, "?", -1)
            #expect(full2.hasPrefix("+FULLRESYNC"), "\(who): \(full2)")
            try write(c, 100, "b:")
            let mem2 = try c.infoInteger("memory", "mem_total_replication_buffers")
            #expect(mem2 - mem1 > 900_000 && mem2 - mem1 < 1_300_000, "\(who): \(mem1) -> \(mem2)")

            // A partial resync from 2 MB back, far beyond repl-backlog-size, is accepted.
            let offset = try c.infoInteger("replication", "master_repl_offset") - 2_000_000
            let (r3, cont) = try psync(s.port, replid, offset)
            #expect(cont.hasPrefix("+CONTINUE"), "\(who): \(cont)")
            #expect(try c.infoInteger("stats", "sync_partial_ok") == 1, "\(who)")

            // With every replica gone the backlog shrinks back towards its configured size.
            for r in [r1, r2, r3] { shutdown(r.fd, Int32(SHUT_RDWR)) }
            try waitFor("\(who): the replicas leave", timeout: 10) { try c.infoInteger("replication", "connected_slaves") == 0 }
            try waitFor("\(who): the buffer shrinks", timeout: 10) {
                try c.infoInteger("replication", "repl_backlog_histlen") < 200_000
                    && c.infoInteger("memory", "mem_total_replication_buffers") < 200_000
            }
        }
    }

    /// A replica pointed at another primary (here one that is down) and back resumes with +CONTINUE,
    /// and the stream goes on in the database the primary selected before the break.
    @Test func aReplicaMovedAndBackKeepsTheStreamDatabase() throws {
        for cairn in [true, false] {
            let who = cairn ? "cairn" : "redis"
            let p = try ServerProcess(cairn: cairn, args: ["--save", ""])
            let pc = try p.client()
            let r = try ServerProcess(cairn: cairn, args: ["--save", "", "--replicaof", "127.0.0.1", String(p.port)])
            let rc = try r.client()
            #expect(try pc.send("SELECT 9") == "+OK\r\n")
            #expect(try pc.send("SET before 1") == "+OK\r\n")
            try waitFor("\(who): in sync", timeout: 30) {
                try rc.infoField("replication", "master_link_status") == "up"
                    && rc.infoInteger("replication", "slave_repl_offset") == pc.infoInteger("replication", "master_repl_offset")
            }
            let nowhere = freeLoopbackPort()
            #expect(try rc.send("REPLICAOF 127.0.0.1 \(nowhere)") == "+OK\r\n")
            #expect(try pc.send("SET during 1") == "+OK\r\n")
            #expect(try rc.send("REPLICAOF 127.0.0.1 \(p.port)") == "+OK\r\n")
            #expect(try pc.send("SET after 1") == "+OK\r\n")
            try waitFor("\(who): in sync again", timeout: 30) {
                try rc.infoField("replication", "master_link_status") == "up"
                    && rc.infoInteger("replication", "slave_repl_offset") == pc.infoInteger("replication", "master_repl_offset")
            }
            #expect(try pc.infoInteger("stats", "sync_partial_ok") == 1, "\(who)")
            #expect(try rc.send("SELECT 9") == "+OK\r\n")
            #expect(try rc.send("MGET before during after") == "*3\r\n$1\r\n1\r\n$1\r\n1\r\n$1\r\n1\r\n", "\(who)")
            #expect(try rc.send("SELECT 0") == "+OK\r\n")
            #expect(try rc.send("DBSIZE") == ":0\r\n", "\(who)")
        }
    }
}
