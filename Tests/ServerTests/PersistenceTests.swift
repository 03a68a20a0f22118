// RDB persistence through real processes: Cairn's dump.rdb loads into Debian's redis-server with the
// same contents, Redis's dump.rdb loads into Cairn, BGSAVE forks under write load, MISCONF after a
// failed save, saving on SIGTERM, refusing corrupt or unsupported files without touching them.
import Foundation
import Testing
@testable import StorageFormat
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// tools/redis-snapshot.py's canonical JSON of a running server (Cairn or Redis).
func snapshot(port: Int) throws -> String {
    let r = try run("/usr/bin/env", ["python3", Paths.repo("tools/redis-snapshot.py"), "--port", String(port)])
    guard r.status == 0 else { throw TestFailure(description: "snapshot failed: \(r.out)") }
    return r.out
}

/// A dataset of every type the engine holds, in both small and large encodings, with expiries.
func loadDataset(_ c: RawClient) throws {
    var cmds: [String] = [
        "SET str:int 12345", "SET str:neg -7", "SET str:text hello", "SET str:big \"" + String(repeating: "abc", count: 100) + "\"",
        "SET str:ttl v PX 500000000", "HSET h:small f1 v1 f2 2", "RPUSH l:small a b 1 2", "SADD s:ints 1 2 3 -5",
        "SADD s:strs a b c", "ZADD z:small 1 a 2.5 b -1 c", "PEXPIREAT h:small 4102444800000", "SELECT 3", "SET db3:key x", "SELECT 0",
    ]
    for i in 0 ..< 700 { cmds.append("HSET h:big f\(i) v\(i)") }
    for i in 0 ..< 600 { cmds.append("SADD s:big \(i)") }
    for i in 0 ..< 200 { cmds.append("ZADD z:big \(i) m\(i)") }
    for i in 0 ..< 3000 { cmds.append("RPUSH l:big element-\(i)") }
    var req: [UInt8] = []
    for c in cmds { req += RawClient.encode(argv(c)) }
    try c.write(req)
    for _ in cmds { _ = try c.readReply() }
}

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis, "needs cairn-server built and redis-server installed"))
struct PersistenceTests {
    @Test func cairnDumpLoadsIntoRedisWithTheSameContents() throws {
        let cairn = try ServerProcess()
        let c = try cairn.client()
        try loadDataset(c)
        #expect(try c.send("SAVE") == "+OK\r\n")
        let mine = try snapshot(port: cairn.port)
        let digest = try c.send("DEBUG DIGEST")
        #expect(digest.utf8.count == 43 && digest != "+0000000000000000000000000000000000000000\r\n")
        // Real Redis loads Cairn's file: same contents, key by key, and the same DEBUG DIGEST.
        let redis = try ServerProcess(cairn: false, args: ["--enable-debug-command", "yes"], files: ["dump.rdb": cairn.dir + "/dump.rdb"])
        let theirs = try snapshot(port: redis.port)
        #expect(mine == theirs)
        #expect(try redis.client().send("DEBUG DIGEST") == digest)
        #expect(mine.contains("h:small".utf8.map { String(format: "%02x", $0) }.joined()))
        let check = try run("/usr/bin/redis-check-rdb", [cairn.dir + "/dump.rdb"])
        #expect(check.status == 0, "\(check.out)")
    }

    @Test func redisDumpLoadsIntoCairnWithTheSameContents() throws {
        let redis = try ServerProcess(cairn: false, args: ["--enable-debug-command", "yes"])
        try loadDataset(try redis.client())
        #expect(try redis.client().send("SAVE") == "+OK\r\n")
        let theirs = try snapshot(port: redis.port)
        let cairn = try ServerProcess(files: ["dump.rdb": redis.dir + "/dump.rdb"])
        #expect(try snapshot(port: cairn.port) == theirs)
        #expect(try cairn.client().send("DEBUG DIGEST") == redis.client().send("DEBUG DIGEST"))
        #expect(cairn.log().contains("Done loading RDB, keys loaded: 15"))
    }

    @Test func restartKeepsEverythingAndDropsExpiredKeys() throws {
        let dir: String
        let before: String
        do {
            let s = try ServerProcess(args: ["--save", "3600 1"])
            let c = try s.client()
            try loadDataset(c)
            before = try snapshot(port: s.port)
            // Taken first: a snapshot can outlast a short TTL on a slow (sanitizer) build.
            _ = try c.send("SET short v PX 1000")
            #expect(try c.send("EXISTS short") == ":1\r\n")
            usleep(1_100_000)
            // SIGTERM with save points configured writes the final snapshot.
            #expect(s.terminate() == 0)
            #expect(s.log().contains("Saving the final RDB snapshot before exiting."))
            dir = s.dir + "-copy"
            try? FileManager.default.removeItem(atPath: dir)
            try FileManager.default.copyItem(atPath: s.dir, toPath: dir)
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let again = try ServerProcess(args: ["--dir", dir])
        let after = try snapshot(port: again.port)
        // The key that expired is gone; everything else is identical.
        #expect(after == before)
        #expect(!after.contains("73686f7274"))
        #expect(try again.client().send("DBSIZE") == ":14\r\n")
    }

    @Test func backgroundSavesUnderWriteLoadAreAllValid() throws {
        let s = try ServerProcess()
        let admin = try s.client()
        try loadDataset(admin)
        let writer = try s.client()
        var saves = 0
        var i = 0
        while saves < 200 {
            // Writes between forks, so every snapshot sees a changing dataset.
            var req: [UInt8] = []
            for _ in 0 ..< 50 {
                req += RawClient.encode(argv("SET k\(i % 500) v\(i)"))
                req += RawClient.encode(argv("RPUSH l:big x\(i)"))
                i += 1
            }
            try writer.write(req)
            for _ in 0 ..< 100 { _ = try writer.readReply() }
            let r = try admin.send("BGSAVE")
            if r == "+Background saving started\r\n" {
                saves += 1
                // Wait for this child to finish, then check the file it wrote.
                var info = ""
                repeat {
                    usleep(5_000)
                    info = try admin.send("INFO persistence")
                } while info.contains("rdb_bgsave_in_progress:1")
                #expect(info.contains("rdb_last_bgsave_status:ok"))
                let reader = try RDBReader(path: s.dir + "/dump.rdb")
                var keys = 0
                var verified = false
                while let rec = try reader.next() {
                    if case .entry = rec { keys += 1 }
                    if case .end(_, let v) = rec { verified = v }
                }
                #expect(verified)
                #expect(keys >= 13)
            } else {
                #expect(r == "-ERR Background save already in progress\r\n")
            }
        }
        #expect(try admin.send("INFO stats").contains("total_forks:\(saves)"))
    }

    @Test func clientsGetLoadingWhileABigFileLoads() throws {
        // Real Redis writes a big file (DEBUG POPULATE), Cairn starts on it.
        let redis = try ServerProcess(cairn: false, args: ["--enable-debug-command", "yes"])
        let rc = try redis.client()
        _ = try rc.send("DEBUG POPULATE 1500000 key 64")
        _ = try rc.send("SAVE")
        let cairn = try ServerProcess(files: ["dump.rdb": redis.dir + "/dump.rdb"], untilLoaded: false)
        let c = try cairn.client()
        var sawLoading = false
        var reply = ""
        repeat {
            // INFO answers during the load; if the GET right after it is still refused, the INFO
            // must have reported the load in progress.
            let info = try c.send("INFO persistence")
            reply = try c.send("GET key:7")
            if reply.hasPrefix("-LOADING Redis is loading the dataset in memory") {
                sawLoading = true
                #expect(info.contains("loading:1"))
                usleep(20_000)
            }
        } while reply.hasPrefix("-LOADING")
        #expect(sawLoading, "the load finished before any command could see -LOADING")
        #expect(reply.hasPrefix("$64\r\nvalue:7"))
        #expect(try c.send("DBSIZE") == ":1500000\r\n")
        #expect(try c.send("INFO persistence").contains("loading:0"))
    }

    @Test func bgsaveScheduleAndShutdownVariants() throws {
        let s = try ServerProcess()
        let c = try s.client()
        try loadDataset(c)
        #expect(try c.send("BGSAVE") == "+Background saving started\r\n")
        let second = try c.send("BGSAVE SCHEDULE")
        #expect(second == "+Background saving scheduled\r\n" || second == "+Background saving started\r\n")
        #expect(try c.send("BGSAVE FOO") == "-ERR syntax error\r\n")
        #expect(try c.send("SHUTDOWN ABORT") == "-ERR No shutdown in progress.\r\n")
        #expect(try c.send("SHUTDOWN SAVE NOSAVE") == "-ERR syntax error\r\n")
        var info = ""
        repeat { usleep(20_000); info = try c.send("INFO persistence") } while info.contains("rdb_bgsave_in_progress:1")
        _ = try c.send("SET after 1")
        // SHUTDOWN NOSAVE: the last write is not saved even with save points set.
        try c.write(RawClient.encode(argv("SHUTDOWN NOSAVE")))
        #expect(c.isClosedByServer())
        let reader = try RDBReader(path: s.dir + "/dump.rdb")
        var keys: [[UInt8]] = []
        while let rec = try reader.next() { if case .entry(let e) = rec { keys.append(e.key) } }
        #expect(!keys.contains(Array("after".utf8)))
        #expect(keys.contains(Array("h:small".utf8)))
    }

    @Test func failedBackgroundSaveRefusesWritesUntilOneSucceeds() throws {
        let s = try ServerProcess(args: ["--save", "3600 1"])
        let c = try s.client()
        #expect(try c.send("SET a 1") == "+OK\r\n")
        // A directory where dump.rdb should go: the child's final rename fails.
        try FileManager.default.createDirectory(atPath: s.dir + "/dump.rdb/x", withIntermediateDirectories: true)
        #expect(try c.send("BGSAVE") == "+Background saving started\r\n")
        var info = ""
        repeat { usleep(10_000); info = try c.send("INFO persistence") } while info.contains("rdb_bgsave_in_progress:1")
        #expect(info.contains("rdb_last_bgsave_status:err"))
        #expect(try c.send("SET a 2").hasPrefix("-MISCONF Redis is configured to save RDB snapshots"))
        #expect(try c.send("GET a") == "$1\r\n1\r\n")
        try FileManager.default.removeItem(atPath: s.dir + "/dump.rdb")
        #expect(try c.send("BGSAVE") == "+Background saving started\r\n")
        repeat { usleep(10_000); info = try c.send("INFO persistence") } while info.contains("rdb_bgsave_in_progress:1")
        #expect(info.contains("rdb_last_bgsave_status:ok"))
        #expect(try c.send("SET a 2") == "+OK\r\n")
    }

    @Test func corruptFileStopsStartupAndIsLeftUntouched() throws {
        let redis = try ServerProcess(cairn: false)
        try loadDataset(try redis.client())
        _ = try redis.client().send("SAVE")
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: redis.dir + "/dump.rdb")))
        bytes[bytes.count / 2] ^= 0xFF
        let dir = redis.dir + "-corrupt"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/dump.rdb"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Paths.cairnServer)
        p.arguments = ["--port", String(freeLoopbackPort()), "--dir", dir, "--logfile", dir + "/log"]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus != 0)
        let log = (try? String(contentsOfFile: dir + "/log", encoding: .utf8)) ?? ""
        // As Redis: the reason, the checker's report on the file, and the line saying the server stops.
        #expect(log.contains("Internal error in RDB reading offset"))
        #expect(log.contains("--- RDB ERROR DETECTED ---"))
        #expect(log.contains("Terminating server after rdb file reading failure."))
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/dump.rdb"))) == bytes)
    }

    /// The Redis 7.0 dumps in Fixtures/rdb (every type, streams with groups and pending entries, a function
    /// library; with and without LZF and checksum) load into cairn-server as into redis-server: the same
    /// keys and values, the same DEBUG DIGEST, the same FUNCTION LIST, and the library's function runs.
    @Test(arguments: ["redis70-lzf-crc.rdb", "redis70-lzf-nocrc.rdb", "redis70-nolzf-crc.rdb", "redis70-nolzf-nocrc.rdb"])
    func redisFixtureWithStreamsAndFunctionsLoadsLikeRedis(file: String) throws {
        let fixture = Paths.fixture("rdb/" + file)
        let redis = try ServerProcess(cairn: false, args: ["--enable-debug-command", "yes"], files: ["dump.rdb": fixture])
        let cairn = try ServerProcess(files: ["dump.rdb": fixture])
        let (c, r) = (try cairn.client(), try redis.client())
        #expect(try c.send("DBSIZE") == r.send("DBSIZE"))
        #expect(try c.send("DEBUG DIGEST") == r.send("DEBUG DIGEST"))
        #expect(try snapshot(port: cairn.port) == snapshot(port: redis.port))
        #expect(try c.send("FUNCTION LIST WITHCODE") == r.send("FUNCTION LIST WITHCODE"))
        #expect(try c.send("FCALL cairn_echo 0 hello") == "$5\r\nhello\r\n")
        #expect(try c.send("XINFO STREAM stream:main FULL") == r.send("XINFO STREAM stream:main FULL"))
    }
}

/// The real files from Redis 2.x–7.x in ../shared/fixtures/redis-assets load into cairn-server with
/// the same contents (and DEBUG DIGEST) as into Debian's redis-server.

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis && FileManager.default.fileExists(atPath: Paths.sharedFixtures),
                "needs cairn-server, redis-server and ../shared/fixtures/redis-assets"))
struct RedisAssetsLoadTests {
    @Test(arguments: ["hash-zipmap.rdb", "encodings.rdb", "list-quicklist.rdb", "hash-ziplist.rdb", "zset-ziplist.rdb", "scriptbackup.rdb"])
    func assetLoadsLikeRedis(file: String) throws {
        let redis = try ServerProcess(cairn: false, args: ["--enable-debug-command", "yes"], files: ["dump.rdb": Paths.sharedFixtures + "/" + file])
        let cairn = try ServerProcess(files: ["dump.rdb": Paths.sharedFixtures + "/" + file])
        #expect(try snapshot(port: cairn.port) == snapshot(port: redis.port))
        #expect(try cairn.client().send("DEBUG DIGEST") == redis.client().send("DEBUG DIGEST"))
    }
}

/// What Redis's own suite (integration/rdb, unit/aofrw, unit/shutdown, integration/corrupt-dump)
/// observes of persistence, checked against Cairn directly.
@Suite(.enabled(if: Paths.haveCairn, "needs cairn-server built"))
struct PersistenceSuiteParityTests {
    @Test func runningChildReportsKeysProcessedAndCopyOnWrite() throws {
        let s = try ServerProcess()
        let c = try s.client()
        #expect(try c.infoField("persistence", "current_save_keys_total") == "0")
        var req: [UInt8] = []
        for i in 0 ..< 4000 { req += RawClient.encode(argv("SET key\(i) " + String(repeating: "A", count: 500))) }
        try c.write(req)
        for _ in 0 ..< 4000 { _ = try c.readReply() }
        _ = try c.send("CONFIG SET rdb-key-save-delay 1000")
        #expect(try c.send("BGSAVE") == "+Background saving started\r\n")
        #expect(try c.infoField("persistence", "current_save_keys_total") == "4000")
        for i in 0 ..< 64 { _ = try c.send(argv("SETRANGE key\(i) 0 " + String(repeating: "B", count: 500))) }
        try waitFor("a progress report", timeout: 20) {
            let keys = Int(try (c.infoField("persistence", "current_save_keys_processed") ?? "")) ?? 0
            let cow = Int(try (c.infoField("persistence", "current_cow_size") ?? "")) ?? 0
            return keys > 0 && cow > 0
        }
        #expect(try c.infoField("persistence", "current_fork_perc") != "0.00")
        _ = try c.send("CONFIG SET rdb-key-save-delay 0")
        try c.write(RawClient.encode(argv("SHUTDOWN NOSAVE")))
    }

    @Test func bgrewriteaofWithTheAOFOffWritesABaseThatDebugLoadaofLoads() throws {
        let s = try ServerProcess()
        let c = try s.client()
        _ = try c.send("SET a 1")
        // Scheduled behind a BGSAVE, it starts once that ends, though the AOF is off.
        _ = try c.send("CONFIG SET rdb-key-save-delay 200000")
        _ = try c.send("BGSAVE")
        #expect(try c.send("BGREWRITEAOF") == "+Background append only file rewriting scheduled\r\n")
        _ = try c.send("CONFIG SET rdb-key-save-delay 0")
        try waitFor("the rewrite", timeout: 20) {
            try c.persistenceIdle()
                && c.infoField("persistence", "rdb_bgsave_in_progress") == "0"
        }
        #expect(try c.infoField("persistence", "aof_rewrites") == "1")
        let manifest = try String(contentsOfFile: s.dir + "/appendonlydir/appendonly.aof.manifest", encoding: .utf8)
        #expect(manifest.contains("type b") && !manifest.contains("type i"), "\(manifest)")
        _ = try c.send("SET b 1")
        #expect(try c.send("DEBUG LOADAOF") == "+OK\r\n")
        #expect(try c.send("KEYS *") == "*1\r\n$1\r\na\r\n")
    }

    @Test func shutdownAbortCancelsASignalAndASecondSigintExitsAtOnce() throws {
        let s = try ServerProcess(args: ["--save", "3600 1"])
        let c = try s.client()
        let pid = s.process.processIdentifier
        _ = try c.send("DEBUG PAUSE-CRON 1")
        kill(pid, SIGTERM)
        usleep(50_000)
        #expect(try c.send("SHUTDOWN ABORT") == "+OK\r\n")
        #expect(s.log().contains("Shutdown manually aborted."))
        _ = try c.send("DEBUG PAUSE-CRON 0")
        #expect(try c.send("PING") == "+PONG\r\n")
        for i in 0 ..< 20 { _ = try c.send("SET k\(i) v") }
        _ = try c.send("CONFIG SET rdb-key-save-delay 100000")
        let temp = s.dir + "/temp-\(pid).rdb"
        kill(pid, SIGINT)
        try waitFor("the shutdown save", timeout: 20) { FileManager.default.fileExists(atPath: temp) }
        kill(pid, SIGINT)
        s.stopping = true
        s.process.waitUntilExit()
        #expect(s.process.terminationStatus == 1)
        #expect(!FileManager.default.fileExists(atPath: temp))
        #expect(s.log().contains("You insist on shutting down the server. Exiting now."))
    }

    @Test func corruptRestorePayloadIsLoggedInRedisWords() throws {
        let s = try ServerProcess()
        let c = try s.client()
        _ = try c.send("DEBUG SET-SKIP-CHECKSUM-VALIDATION 1")
        // A CONFIG SET does not reset what DEBUG set.
        _ = try c.send("CONFIG SET sanitize-dump-payload yes")
        // An empty zipmap (type 9): Redis's zipmap check refuses it.
        let payload: [UInt8] = [0x09, 0x02, 0x00, 0xFF, 0x09, 0x00, 0xC0, 0xF1, 0xB8, 0x67, 0x4C, 0x16, 0xAC, 0xE3]
        let reply = String(decoding: try c.send([Array("RESTORE".utf8), Array("k".utf8), Array("0".utf8), payload]), as: UTF8.self)
        #expect(reply == "-ERR Bad data format\r\n")
        #expect(s.log().contains("Zipmap integrity check failed."))
        // A quicklist whose only plain node is empty.
        let empty: [UInt8] = [0x12, 0x01, 0x01, 0x00, 0x0a, 0x00, 0x8f, 0xc6, 0xc0, 0x57, 0x1c, 0x0a, 0xb3, 0x3c]
        #expect(String(decoding: try c.send([Array("RESTORE".utf8), Array("l".utf8), Array("0".utf8), empty]), as: UTF8.self)
                == "-ERR Bad data format\r\n")
    }

    @Test func lcsRefusesATableLargerThanProtoMaxBulkLen() throws {
        let s = try ServerProcess()
        let c = try s.client()
        _ = try c.send("SETRANGE k 423324 1450173551")
        #expect(try c.send("LCS k k") == "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n")
        #expect(try c.send("PING") == "+PONG\r\n")
    }
}
