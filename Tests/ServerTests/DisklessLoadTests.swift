// repl-diskless-load on a Cairn replica, with real processes: a Redis 7.0 primary and a Cairn primary,
// each sending disk-based ($<length>) and diskless ($EOF:) transfers. swapdb always loads from the
// socket; on-empty-db only into an empty dataset (otherwise the temporary file); disabled never. A
// swapdb load whose transfer is cut keeps the old dataset; a successful one replaces it. The parameter
// reads and writes as Redis's does (differential).
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite(.enabled(if: Paths.haveRedis && Paths.haveCairn), .serialized) struct DisklessLoadTests {
    func fill(_ c: RawClient, _ tag: String, _ n: Int) throws {
        for i in 0 ..< n {
            _ = try c.send("SET \(tag):s:\(i) v\(i)")
            _ = try c.send("RPUSH \(tag):l:\(i % 7) a\(i)")
            _ = try c.send("HSET \(tag):h:\(i % 5) f\(i) \(i)")
            _ = try c.send("ZADD \(tag):z \(i) m\(i)")
            if i % 10 == 0 { _ = try c.send("XADD \(tag):x * f \(i)") }
        }
    }

    func inSync(_ p: RawClient, _ r: RawClient, _ note: String) throws {
        try waitFor("\(note): link up", timeout: 30) { try r.infoField("replication", "master_link_status") == "up" }
        try waitFor("\(note): offsets equal", timeout: 30) {
            try p.infoInteger("replication", "master_repl_offset") == r.infoInteger("replication", "slave_repl_offset")
        }
        #expect(try p.send("DEBUG DIGEST") == r.send("DEBUG DIGEST"), "\(note): digests differ")
        #expect(try p.send("DBSIZE") == r.send("DBSIZE"), "\(note): key counts differ")
    }

    /// One full sync into a Cairn replica that already holds keys (or none), in `mode`.
    func sync(primaryCairn: Bool, diskless: Bool, mode: String, replicaHasKeys: Bool, expectSocket: Bool) throws {
        let note = "\(primaryCairn ? "cairn" : "redis")->cairn diskless-sync=\(diskless) load=\(mode) keys=\(replicaHasKeys)"
        let p = try ServerProcess(cairn: primaryCairn, args: ["--repl-diskless-sync", diskless ? "yes" : "no", "--repl-diskless-sync-delay", "0"])
        let pc = try p.client()
        try fill(pc, "p", 300)
        let r = try ServerProcess(cairn: true, args: ["--repl-diskless-load", mode])
        let rc = try r.client()
        if replicaHasKeys { try fill(rc, "old", 50) }
        #expect(try rc.send("REPLICAOF 127.0.0.1 \(p.port)") == "+OK\r\n")
        try inSync(pc, rc, note)
        #expect(try rc.send("EXISTS old:s:1") == ":0\r\n", "\(note): old data survived the sync")
        // The stream goes on after the load.
        try fill(pc, "after", 20)
        try inSync(pc, rc, note + " then the stream")
        let log = r.log()
        #expect(log.contains("to parser") == expectSocket, "\(note): \(log)")
        #expect(log.contains("to disk") == !expectSocket, "\(note)")
        #expect(!log.contains("Failed trying"), "\(note)")
    }

    @Test(arguments: [false, true], [false, true])
    func swapdbLoadsFromTheSocket(primaryCairn: Bool, diskless: Bool) throws {
        try sync(primaryCairn: primaryCairn, diskless: diskless, mode: "swapdb", replicaHasKeys: true, expectSocket: true)
    }

    @Test(arguments: [false, true], [false, true])
    func onEmptyDBLoadsFromTheSocketOnlyWhenEmpty(primaryCairn: Bool, hasKeys: Bool) throws {
        try sync(primaryCairn: primaryCairn, diskless: true, mode: "on-empty-db", replicaHasKeys: hasKeys, expectSocket: !hasKeys)
    }

    @Test func disabledUsesTheFile() throws {
        try sync(primaryCairn: false, diskless: true, mode: "disabled", replicaHasKeys: false, expectSocket: false)
    }

    /// A swapdb load cut short (the primary drops the replica mid-transfer) leaves the old dataset.
    @Test(arguments: [false, true])
    func swapdbKeepsOldDataWhenTheTransferFails(primaryCairn: Bool) throws {
        let p = try ServerProcess(cairn: primaryCairn, args: ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
                                                              "--rdbcompression", "no"])
        let pc = try p.client()
        _ = try pc.send("DEBUG POPULATE 1000 master 1000")
        let r = try ServerProcess(cairn: true, args: ["--repl-diskless-load", "swapdb"])
        let rc = try r.client()
        _ = try rc.send("DEBUG POPULATE 200 replica 10")
        _ = try rc.send("SET mykey myvalue")
        // 5 ms per key: the transfer takes about five seconds.
        _ = try pc.send("CONFIG SET rdb-key-save-delay 5000")
        #expect(try rc.send("REPLICAOF 127.0.0.1 \(p.port)") == "+OK\r\n")
        try waitFor("replica loading", timeout: 20) { try rc.infoField("persistence", "loading") == "1" }
        #expect(try rc.send("GET mykey").hasPrefix("-LOADING"))
        if primaryCairn {
            // Cairn drops the replica and kills the child writing the transfer (its last reader is gone).
            _ = try pc.send("CONFIG SET repl-diskless-sync-delay 5")
            #expect(try pc.send("CLIENT KILL TYPE replica") == ":1\r\n")
        } else {
            // Redis 7.0 finishes a diskless transfer to a replica CLIENT KILL marks: end it by killing Redis.
            kill(p.process.processIdentifier, SIGKILL)
        }
        try waitFor("replica stops loading", timeout: 20) { try rc.infoField("persistence", "loading") == "0" }
        #expect(try rc.send("GET mykey") == "$7\r\nmyvalue\r\n")
        #expect(try rc.send("DBSIZE") == ":201\r\n")
        #expect(r.log().contains("Failed trying to load the MASTER synchronization DB from socket"))
        guard primaryCairn else { return }
        #expect(p.log().contains("Diskless rdb transfer, last replica dropped, killing fork child."))
        // Then a full sync that completes replaces the old data.
        _ = try pc.send("CONFIG SET rdb-key-save-delay 0")
        _ = try pc.send("CONFIG SET repl-diskless-sync-delay 0")
        try inSync(pc, rc, "after the failed attempt")
        #expect(try rc.send("GET mykey") == "$-1\r\n")
        #expect(try rc.send("DBSIZE") == ":1000\r\n")
    }

    /// Redis 7.0's async loading: a swapdb replica whose primary resyncs it in full within the same history
    /// (same replication ID) keeps serving its old keys and function libraries while the new dataset
    /// loads (async_loading:1, loading:0; REPLICAOF and CONFIG SET appendonly refused with -LOADING), then
    /// swaps. The checks of Redis's own integration/replication async-loading tests (which Redis passes with
    /// a Redis primary), here with a Cairn primary and a Cairn replica.
    @Test func asyncLoadingServesTheOldDataset() throws {
        let replicaCairn = true
        let note = "cairn replica"
        let p = try ServerProcess(cairn: true, args: ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
                                                      "--rdbcompression", "no"])
        let pc = try p.client()
        // Big values, so the transfer flows key by key (a replica enters loading with the first bytes).
        _ = try pc.send("DEBUG POPULATE 300 master 20000")
        let r = try ServerProcess(cairn: replicaCairn, args: ["--repl-diskless-load", "swapdb", "--replica-read-only", "no"])
        let rc = try r.client()
        #expect(try rc.send("REPLICAOF 127.0.0.1 \(p.port)") == "+OK\r\n")
        try inSync(pc, rc, "\(note)")
        // What only the replica holds: a key and a library.
        _ = try rc.send("SET mykey myvalue")
        let lib = "#!lua name=rlib\nredis.register_function('rf', function() return 'old' end)"
        #expect(try String(decoding: rc.send([Array("FUNCTION".utf8), Array("LOAD".utf8), Array(lib.utf8)]), as: UTF8.self) == "$4\r\nrlib\r\n", "\(note)")
        // A full resync in the same history: the link drops and the backlog no longer covers the gap.
        _ = try pc.send("CONFIG SET rdb-key-save-delay 10000")  // 10 ms per key: about 3 s of transfer
        _ = try pc.send("CONFIG SET repl-backlog-size 16384")
        _ = try pc.send("MULTI")
        _ = try pc.send("CLIENT KILL TYPE replica")
        for i in 0 ..< 10 { _ = try pc.send([Array("SET".utf8), Array("big:\(i)".utf8), [UInt8](repeating: 65, count: 16384)]) }
        _ = try pc.send("EXEC")
        try waitFor("\(note): async loading", timeout: 20) { try rc.infoField("persistence", "async_loading") == "1" }
        #expect(try rc.infoField("persistence", "loading") == "0", "\(note)")
        #expect(try rc.send("GET mykey") == "$7\r\nmyvalue\r\n", "\(note)")
        #expect(try rc.send("FCALL rf 0") == "$3\r\nold\r\n", "\(note)")
        #expect(try rc.send("DBSIZE") == ":301\r\n", "\(note)")
        #expect(try rc.send("REPLICAOF NO ONE").hasPrefix("-LOADING"), "\(note)")
        #expect(try rc.send("CONFIG SET appendonly no").hasPrefix("-LOADING"), "\(note)")
        #expect(try rc.infoField("persistence", "async_loading") == "1", "\(note)")
        // Then the swap: the primary's data, the replica's own key and library gone.
        try waitFor("\(note): load done", timeout: 30) { try rc.infoField("persistence", "async_loading") == "0" }
        _ = try pc.send("CONFIG SET rdb-key-save-delay 0")
        try inSync(pc, rc, note + " after the swap")
        #expect(try rc.send("GET mykey") == "$-1\r\n", "\(note)")
        #expect(try rc.send("FCALL rf 0").hasPrefix("-ERR Function not found"), "\(note)")
        #expect(try rc.send("DBSIZE") == ":310\r\n", "\(note)")
    }

    /// CONFIG GET/SET repl-diskless-load: the same replies as Redis, including a bad value.
    @Test func configReadsAndWritesAsRedis() throws {
        let redis = try ServerProcess(cairn: false)
        let cairn = try ServerProcess(cairn: true)
        let rc = try redis.client(), cc = try cairn.client()
        for line in ["CONFIG GET repl-diskless-load", "CONFIG SET repl-diskless-load swapdb", "CONFIG GET repl-diskless-load",
                     "CONFIG SET repl-diskless-load on-empty-db", "CONFIG GET repl-diskless-load",
                     "CONFIG SET repl-diskless-load bogus", "CONFIG SET repl-diskless-load DISABLED", "CONFIG GET repl-diskless-load"] {
            #expect(try cc.send(line) == rc.send(line), "\(line)")
        }
    }
}
