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
}
