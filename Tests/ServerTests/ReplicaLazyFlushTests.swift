// replica-lazy-flush (alias slave-lazy-flush): accepted at start and by CONFIG SET/GET as on
// redis-server, and a replica with it on still drops its old dataset before loading a full sync.
// (Cairn has no lazy-free thread: the flush is done at once either way, which a client cannot tell
// from Redis's background free except by timing.)
import Foundation
import Testing
import TestSupport

@Suite(.enabled(if: Paths.haveRedis && Paths.haveCairn), .serialized) struct ReplicaLazyFlushTests {
    @Test func configAsRedis() throws {
        for cairn in [true, false] {
            let s = try ServerProcess(cairn: cairn, args: ["--replica-lazy-flush", "yes"])
            let c = try s.client()
            #expect(try c.send("CONFIG GET replica-lazy-flush") == "*2\r\n$18\r\nreplica-lazy-flush\r\n$3\r\nyes\r\n")
            #expect(try c.send("CONFIG SET slave-lazy-flush no") == "+OK\r\n")
            #expect(try c.send("CONFIG GET slave-lazy-flush") == "*2\r\n$16\r\nslave-lazy-flush\r\n$2\r\nno\r\n")
            #expect(try c.send("CONFIG SET replica-lazy-flush maybe").hasPrefix("-ERR CONFIG SET failed (possibly related to argument 'replica-lazy-flush')"))
        }
    }

    @Test func fullSyncReplacesTheOldDataset() throws {
        let p = try ServerProcess(cairn: true, args: ["--repl-diskless-sync", "no"])
        let pc = try p.client()
        for i in 0 ..< 100 { _ = try pc.send("SET p:\(i) \(i)") }
        let r = try ServerProcess(cairn: true, args: ["--replica-lazy-flush", "yes"])
        let rc = try r.client()
        for i in 0 ..< 1000 { _ = try rc.send("SET old:\(i) \(i)") }
        #expect(try rc.send("REPLICAOF 127.0.0.1 \(p.port)") == "+OK\r\n")
        try waitFor("the replica synced", timeout: 30) { try rc.infoField("replication", "master_link_status") == "up" }
        #expect(try rc.send("DBSIZE") == ":100\r\n")
        #expect(try rc.send("DEBUG DIGEST") == pc.send("DEBUG DIGEST"))
    }
}
