// A Cairn replica restarted from its own RDB continues with a partial resync: the file keeps its
// primary's replication ID and offset (aux fields repl-id, repl-offset, repl-stream-db, as Redis 7.0
// writes them), so PSYNC asks for the next byte and a Redis or Cairn primary answers +CONTINUE.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite(.enabled(if: Paths.haveRedis && Paths.haveCairn), .serialized) struct ReplicaRestartTests {
    @Test(arguments: [false, true])
    func restartedReplicaResyncsPartially(primaryCairn: Bool) throws {
        let p = try ServerProcess(cairn: primaryCairn, args: ["--repl-diskless-sync-delay", "0"])
        let pc = try p.client()
        let dir = try makeTempDir("cairn-replica-restart")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["--replicaof", "127.0.0.1", String(p.port), "--save", "900 1"]
        var r: ServerProcess? = try ServerProcess(cairn: true, args: args, dir: dir)
        for i in 0 ..< 20 { _ = try pc.send("SET k\(i) v\(i)") }
        _ = try pc.send("SELECT 2")
        _ = try pc.send("SET in2 x")
        try waitFor("first sync", timeout: 20) {
            try r!.client().infoInteger("replication", "slave_repl_offset") == pc.infoInteger("replication", "master_repl_offset")
        }
        #expect(try pc.infoInteger("stats", "sync_full") == 1)
        _ = r!.terminate() // SHUTDOWN: saves, with the replication aux fields
        r = nil
        _ = try pc.send("SET in2 y") // still in database 2: the restarted replica must apply it there
        let again = try ServerProcess(cairn: true, args: args, dir: dir)
        let rc = try again.client()
        try waitFor("partial resync", timeout: 20) { try pc.infoInteger("stats", "sync_partial_ok") == 1 }
        #expect(try pc.infoInteger("stats", "sync_full") == 1)
        try waitFor("offsets equal", timeout: 20) {
            try rc.infoInteger("replication", "slave_repl_offset") == pc.infoInteger("replication", "master_repl_offset")
        }
        #expect(try pc.send("DEBUG DIGEST") == rc.send("DEBUG DIGEST"))
        _ = try rc.send("SELECT 2")
        #expect(try rc.send("GET in2") == "$1\r\ny\r\n")
    }

    /// A primary restarted from its own RDB keeps its old replication ID as master_replid2 (valid up to
    /// the saved offset) and continues its offsets, so its replica resyncs partially; keys that expired
    /// while it was down become DELs in its backlog, which the replica applies. Checked against Redis
    /// 7.0 doing the same with the same replica.
    @Test(arguments: [false, true])
    func restartedPrimaryServesAPartialResync(primaryCairn: Bool) throws {
        let dir = try makeTempDir("cairn-primary-restart")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pargs = ["--save", "3600 1", "--repl-diskless-sync-delay", "0", "--repl-timeout", "3600", "--repl-ping-replica-period", "3600"]
        var p: ServerProcess? = try ServerProcess(cairn: primaryCairn, args: pargs, dir: dir)
        let port = p!.port
        var pc = try p!.client()
        let r = try ServerProcess(cairn: true, args: ["--replicaof", "127.0.0.1", String(port), "--repl-timeout", "3600"])
        let rc = try r.client()
        _ = try pc.send("DEBUG SET-ACTIVE-EXPIRE 0")
        for i in 0 ..< 50 { _ = try pc.send("SET k\(i) v\(i)") }
        for i in 0 ..< 16 { _ = try pc.send("SELECT \(i)"); _ = try pc.send("SET gone\(i) x PX 50") }
        try waitFor("replica caught up", timeout: 20) {
            try rc.infoInteger("replication", "slave_repl_offset") == pc.infoInteger("replication", "master_repl_offset")
        }
        let replid = try #require(try pc.infoField("replication", "master_replid"))
        let offset = try pc.infoInteger("replication", "master_repl_offset")
        // The primary has the replica's ACK of it (else a shutdown asks for one: REPLCONF GETACK moves
        // the offset on).
        try waitFor("acknowledged", timeout: 10) { try pc.send("INFO replication").contains(",offset=\(offset),") }
        usleep(100_000) // the sixteen keys expire while the primary is down
        p!.stopping = true
        _ = p!.terminate()
        p = nil
        p = try ServerProcess(cairn: primaryCairn, args: pargs, dir: dir, port: port)
        pc = try p!.client()
        try waitFor("replica back", timeout: 20) { try rc.infoField("replication", "master_link_status") == "up" }
        #expect(try pc.infoField("replication", "master_replid2") == replid)
        #expect(try pc.infoInteger("replication", "second_repl_offset") == offset + 1)
        #expect(try pc.infoInteger("stats", "sync_partial_ok") == 1)
        #expect(try pc.infoInteger("stats", "sync_full") == 0)
        #expect(try pc.infoInteger("persistence", "rdb_last_load_keys_expired") == 16)
        let histlen = try pc.infoInteger("replication", "repl_backlog_histlen")
        #expect(histlen > 0)
        #expect(try pc.infoInteger("replication", "master_repl_offset") == offset + histlen)
        try waitFor("replica applied the DELs", timeout: 20) {
            try rc.infoInteger("replication", "slave_repl_offset") == pc.infoInteger("replication", "master_repl_offset")
        }
        #expect(try pc.send("DEBUG DIGEST") == rc.send("DEBUG DIGEST"))
        #expect(try rc.send("DBSIZE") == ":50\r\n")
    }
}
