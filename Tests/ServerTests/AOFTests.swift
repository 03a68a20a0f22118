// The AOF end to end: a real cairn-server with appendonly yes, its appendonlydir read back by a
// restarted cairn-server and by Debian's redis-server 7.0 (same DEBUG DIGEST), Redis's own
// appendonlydir read by Cairn, runtime CONFIG SET appendonly, the legacy single file, timestamp
// annotations, and a cut at every byte of the last command.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

func digest(_ c: RawClient) throws -> String {
    let r = try c.send("DEBUG DIGEST")
    guard r.hasPrefix("+") else { throw TestFailure(description: "DEBUG DIGEST: \(r)") }
    return String(r.dropFirst().prefix(40))
}

/// Waits until no AOF rewrite is running or scheduled.
func waitForRewrite(_ c: RawClient) throws {
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
        if try c.persistenceIdle() { return }
        usleep(20_000)
    }
    throw TestFailure(description: "AOF rewrite did not finish")
}

/// Writes every deterministic-form case: relative expiries, SPOP, INCRBYFLOAT, blocking pops served
/// at once, MPOP, RESTORE with a relative TTL, transactions, databases, MOVE/SWAPDB/COPY/FLUSHDB.
/// Runs in databases `db`, `db + 3`, `db + 5`, `db + 6`, `db + 7`.
func propagationWorkload(_ c: RawClient, db: Int = 0) throws {
    _ = try c.send("SELECT \(db)")
    let members = (1 ... 60).map { "m\($0)" }.joined(separator: " ")
    let lines = [
        "SADD big \(members)", "SPOP big", "SPOP big 3", "SADD small 1 2 3", "SPOP small 10", "SADD ints 1 2 3 4 5 6", "SPOP ints 2",
        "SETEX t1 1000 v1", "PSETEX t2 1000000 v2", "SET t3 v3 EX 1000", "SET t4 v4 PX 1000000 GET", "SET t5 v5 EXAT 4102444800",
        "SET k1 x", "EXPIRE k1 1000", "PEXPIRE k1 2000000 GT", "SET k2 x", "EXPIREAT k2 4102444800", "SET k3 x", "EXPIRE k3 -1",
        "SET k4 x", "PEXPIREAT k4 1000", "GETEX t1 EX 500", "GETEX t3 PERSIST", "GETDEL t2", "SET t6 x", "GETEX t6 PXAT 1000",
        "INCRBYFLOAT f 0.1", "INCRBYFLOAT f 0.2", "INCRBYFLOAT f 1e3", "SET f2 5", "EXPIRE f2 1000", "INCRBYFLOAT f2 1.5",
        "HINCRBYFLOAT h fl 1.1", "HINCRBYFLOAT h fl 2.2",
        "RPUSH bl a b c d e f g", "BLPOP nothing bl 0", "BRPOP bl 0", "BLMOVE bl bl2 LEFT RIGHT 0", "BRPOPLPUSH bl2 bl 0",
        "LMPOP 2 nope bl LEFT COUNT 2", "BLMPOP 0 1 bl RIGHT", "ZADD bz 1 a 2 b 3 c 4 d 5 e 6 f", "BZPOPMIN bz 0",
        "BZPOPMAX bz 0", "ZMPOP 1 bz MIN COUNT 2", "BZMPOP 0 1 bz MAX COUNT 1",
        "MULTI", "SET m1 1", "INCR m1", "SPOP big", "EXPIRE m1 1000", "EXEC",
        "MULTI", "SET m2 1", "EXEC", "MULTI", "GET m2", "EXEC",
        "SELECT \(db + 5)", "SET in5 x", "SET in5b y", "MOVE in5 \(db + 6)", "SWAPDB \(db + 5) \(db + 6)", "SELECT \(db + 7)",
        "SET gone 1", "FLUSHDB", "SELECT \(db)", "SET src hello", "COPY src copied DB \(db + 3)", "RENAME t4 t4renamed", "LPUSH wl1 1 2 3", "LREM wl1 0 2", "ZADD z 1.5 x 2.5 y",
        "ZINCRBY z 0.1 x", "HSET hh a 1 b 2", "HDEL hh a", "SETRANGE sr 3 abc", "APPEND sr zz",
    ]
    for l in lines {
        let r = try c.send(l)
        if r.hasPrefix("-") { throw TestFailure(description: "\(l) → \(r)") }
    }
    // RESTORE with a relative TTL (binary payload).
    let raw = try c.send([Array("DUMP".utf8), Array("src".utf8)])
    let header = raw.firstIndex(of: 10)!
    let bytes = Array(raw[(header + 1) ..< (raw.count - 2)])
    let r = String(decoding: try c.send([Array("RESTORE".utf8), Array("restored".utf8), Array("5000000".utf8), bytes]), as: UTF8.self)
    if r != "+OK\r\n" { throw TestFailure(description: "RESTORE → \(r)") }
    _ = try c.send("SELECT 0")
}

/// Runs cairn-server in `dir` expecting it to refuse to start: returns its exit status and log, or
/// nil (after killing it) when it was still running after `seconds`.
func runCairnExpectingRefusal(_ args: [String], dir: String, seconds: Double = 10) throws -> (status: Int32, log: String)? {
    let p = Process()
    let logPath = dir + "/refusal.log"
    try? FileManager.default.removeItem(atPath: logPath)
    p.executableURL = URL(fileURLWithPath: Paths.cairnServer)
    p.arguments = ["--port", String(freeLoopbackPort()), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--logfile", logPath] + args
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    let deadline = Date().addingTimeInterval(seconds)
    while p.isRunning && Date() < deadline { usleep(10_000) }
    if p.isRunning {
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        return nil
    }
    return (p.terminationStatus, (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")
}

@Suite(.serialized, .enabled(if: Paths.haveCairn && Paths.haveRedis, "needs cairn-server built and redis-server installed"))
struct AOFTests {
    /// Cairn writes an appendonlydir (with a rewrite in the middle); a restarted Cairn and a real
    /// Redis 7.0 both load it to the same DEBUG DIGEST.
    @Test(arguments: [("yes", "always"), ("no", "everysec")])
    func everyWriteReplaysToTheSameDataset(preamble: String, fsync: String) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["--appendonly", "yes", "--appendfsync", fsync, "--aof-use-rdb-preamble", preamble]
        var expected = ""
        do {
            let cairn = try ServerProcess(args: args, dir: dir)
            let c = try cairn.client()
            for line in differentialScript(seed: 7, count: 1500) { _ = try c.send(line) }
            _ = try c.send("EXEC") // close a transaction the script may have left open
            try propagationWorkload(c, db: 0)
            #expect(try c.send("BGREWRITEAOF") == "+Background append only file rewriting started\r\n")
            try propagationWorkload(c, db: 8)
            try waitForRewrite(c)
            for line in differentialScript(seed: 8, count: 1500) { _ = try c.send(line) }
            _ = try c.send("EXEC")
            expected = try digest(c)
            #expect(try c.infoField("persistence", "aof_rewrites") == "1")
            #expect(try c.infoField("persistence", "aof_last_bgrewrite_status") == "ok")
            #expect(cairn.terminate() == 0)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/appendonlydir").sorted()
        let baseSuffix = preamble == "yes" ? ".base.rdb" : ".base.aof"
        #expect(files == ["appendonly.aof.2\(baseSuffix)", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"])
        let manifest = try String(contentsOfFile: dir + "/appendonlydir/appendonly.aof.manifest", encoding: .utf8)
        #expect(manifest == "file appendonly.aof.2\(baseSuffix) seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n")

        do {
            let again = try ServerProcess(args: args, dir: dir)
            #expect(try digest(again.client()) == expected, "restarted Cairn: \(again.log())")
            again.terminate()
        }
        let redis = try ServerProcess(cairn: false, args: args + ["--enable-debug-command", "yes"], dir: dir)
        #expect(try digest(redis.client()) == expected, "Redis loading Cairn's appendonlydir")
        _ = try? redis.client().send("SHUTDOWN NOSAVE")
    }

    /// Redis 7.0 writes an appendonlydir (RDB preamble or plain commands, after a rewrite); Cairn
    /// loads it to the same digest.
    @Test(arguments: ["yes", "no"])
    func redisAppendonlydirLoadsIntoCairn(preamble: String) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["--appendonly", "yes", "--aof-use-rdb-preamble", preamble, "--aof-timestamp-enabled", preamble == "no" ? "yes" : "no"]
        var expected = ""
        do {
            let redis = try ServerProcess(cairn: false, args: args + ["--enable-debug-command", "yes"], dir: dir)
            let c = try redis.client()
            for line in differentialScript(seed: 21, count: 1000) { _ = try c.send(line) }
            _ = try c.send("EXEC")
            try propagationWorkload(c, db: 0)
            _ = try c.send("BGREWRITEAOF")
            try waitForRewrite(c)
            try propagationWorkload(c, db: 8)
            for line in differentialScript(seed: 22, count: 1000) { _ = try c.send(line) }
            _ = try c.send("EXEC")
            expected = try digest(c)
            _ = try? c.send("SHUTDOWN")
            redis.terminate()
        }
        let cairn = try ServerProcess(args: args, dir: dir)
        #expect(try digest(cairn.client()) == expected, "\(cairn.log())")
    }

    /// The appendonlydirs real Redis 7.0 wrote (Fixtures/aof: RDB preamble, plain with timestamps
    /// and history files, a legacy single file) load into Cairn with Redis's DEBUG DIGEST.
    @Test(arguments: ["redis70-preamble", "redis70-plain", "redis70-legacy"])
    func redisWrittenFixturesLoad(name: String) throws {
        let fixture = Paths.fixture("aof/\(name)")
        let expected = try String(contentsOfFile: fixture + "/digest.txt", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for item in try FileManager.default.contentsOfDirectory(atPath: fixture) where item == "appendonlydir" || item == "appendonly.aof" {
            try FileManager.default.copyItem(atPath: fixture + "/" + item, toPath: dir + "/" + item)
        }
        let cairn = try ServerProcess(args: ["--appendonly", "yes"], dir: dir)
        #expect(try digest(cairn.client()) == expected, "\(cairn.log())")
        #expect(try digest(cairn.client()) != "0000000000000000000000000000000000000000")
    }

    /// CONFIG SET appendonly yes at runtime starts a rewrite; the AOF is on when it ends, and a restart
    /// with appendonly yes finds everything.
    @Test func configSetAppendonlyTurnsTheAOFOn() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var expected = ""
        do {
            let cairn = try ServerProcess(dir: dir)
            let c = try cairn.client()
            for i in 0 ..< 200 { _ = try c.send("SET before:\(i) \(i)") }
            #expect(try c.infoField("persistence", "aof_enabled") == "0")
            #expect(try c.send("CONFIG SET appendonly yes") == "+OK\r\n")
            #expect(try c.infoField("persistence", "aof_enabled") == "1")
            for i in 0 ..< 200 { _ = try c.send("RPUSH after \(i)") }
            try waitForRewrite(c)
            for i in 0 ..< 50 { _ = try c.send("SADD later \(i)") }
            expected = try digest(c)
            let manifest = try String(contentsOfFile: dir + "/appendonlydir/appendonly.aof.manifest", encoding: .utf8)
            #expect(manifest == "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n")
            #expect(try c.send("CONFIG SET appendonly no") == "+OK\r\n")
            #expect(try c.infoField("persistence", "aof_enabled") == "0")
            _ = try c.send("SET not-logged 1")
            cairn.terminate()
        }
        let again = try ServerProcess(args: ["--appendonly", "yes"], dir: dir)
        #expect(try digest(again.client()) == expected, "\(again.log())")
    }

    /// A single-file appendonly.aof (Redis 6 style) is moved into appendonlydir as BASE 1 and loaded.
    @Test func legacySingleFileIsUpgraded() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var legacy: [UInt8] = []
        for i in 0 ..< 20 { legacy += RawClient.encode(argv("RPUSH list \(i)")) }
        legacy += RawClient.encode(argv("SELECT 2")) + RawClient.encode(argv("SET two 2"))
        _ = FileManager.default.createFile(atPath: dir + "/appendonly.aof", contents: Data(legacy))
        let cairn = try ServerProcess(args: ["--appendonly", "yes"], dir: dir)
        let c = try cairn.client()
        #expect(try c.send("LLEN list") == ":20\r\n")
        _ = try c.send("SELECT 2")
        #expect(try c.send("GET two") == "$1\r\n2\r\n")
        _ = try c.send("SET three 3")
        let manifest = try String(contentsOfFile: dir + "/appendonlydir/appendonly.aof.manifest", encoding: .utf8)
        #expect(manifest == "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n")
        #expect(access(dir + "/appendonly.aof", F_OK) != 0)
        let expected = try digest(c)
        cairn.terminate()
        let redis = try ServerProcess(cairn: false, args: ["--appendonly", "yes", "--enable-debug-command", "yes"], dir: dir)
        #expect(try digest(redis.client()) == expected)
        _ = try? redis.client().send("SHUTDOWN NOSAVE")
    }

    /// As in Redis, a key whose expiry passes while an AOF loads is kept (later writes still reach
    /// it) and expires after loading: RPUSH, PEXPIREAT in the past, RPUSH leaves no list.
    @Test func keyExpiredInTheAOFExpiresAfterLoading() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/appendonlydir", withIntermediateDirectories: true)
        let incr = RawClient.encode(argv("RPUSH list foo")) + RawClient.encode(argv("PEXPIREAT list 1000"))
            + RawClient.encode(argv("RPUSH list bar"))
        _ = FileManager.default.createFile(atPath: dir + "/appendonlydir/appendonly.aof.1.incr.aof", contents: Data(incr))
        _ = FileManager.default.createFile(atPath: dir + "/appendonlydir/appendonly.aof.manifest",
                                           contents: Data("file appendonly.aof.1.incr.aof seq 1 type i\n".utf8))
        let cairn = try ServerProcess(args: ["--appendonly", "yes"], dir: dir)
        let c = try cairn.client()
        #expect(try c.send("LLEN list") == ":0\r\n")
        #expect(try c.send("EXISTS list") == ":0\r\n")
    }

    /// FLUSHDB and FLUSHALL reach the AOF even on empty databases, and SET … PXAT is logged in
    /// Redis's form, as in Redis.
    @Test func flushesOfEmptyDatabasesAndSetPXATAreLoggedAsInRedis() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cairn = try ServerProcess(args: ["--appendonly", "yes", "--appendfsync", "always"], dir: dir)
        let c = try cairn.client()
        for cmd in ["FLUSHDB", "FLUSHDB", "FLUSHALL", "FLUSHALL"] { #expect(try c.send(cmd) == "+OK\r\n") }
        // SET with any expiry, a PXAT given in lower case included, is logged as SET key value PXAT ms.
        #expect(try c.send("SET px v pxat 99999999999999 get") == "$-1\r\n")
        let text = try String(contentsOfFile: dir + "/appendonlydir/appendonly.aof.1.incr.aof", encoding: .utf8)
        #expect(text.components(separatedBy: "FLUSHDB").count == 3, "\(text)")
        #expect(text.components(separatedBy: "FLUSHALL").count == 3, "\(text)")
        #expect(text.hasSuffix("*5\r\n$3\r\nSET\r\n$2\r\npx\r\n$1\r\nv\r\n$4\r\nPXAT\r\n$14\r\n99999999999999\r\n"), "\(text)")
    }

    /// Redis's multi-part bookkeeping: a rewrite with the AOF off writes only a BASE (every INCR goes
    /// to HISTORY); DEBUG LOADAOF works with the AOF off and restarts the INCR numbering from the
    /// manifest's lines; turning the AOF on again continues from there.
    @Test func rewriteWithTheAOFOffAndNumbersAfterReload() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cairn = try ServerProcess(args: ["--appendonly", "yes"], dir: dir)
        let c = try cairn.client()
        let manifestPath = dir + "/appendonlydir/appendonly.aof.manifest"
        _ = try c.send("SET a 1")
        #expect(try c.send("BGREWRITEAOF").hasPrefix("+"))
        try waitForRewrite(c)
        #expect(try String(contentsOfFile: manifestPath, encoding: .utf8)
                == "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n")
        _ = try c.send("SET b 2")
        #expect(try c.send("CONFIG SET appendonly no") == "+OK\r\n")
        #expect(try c.send("BGREWRITEAOF").hasPrefix("+"))
        try waitForRewrite(c)
        #expect(try String(contentsOfFile: manifestPath, encoding: .utf8) == "file appendonly.aof.3.base.rdb seq 3 type b\n")
        let before = try digest(c)
        #expect(try c.send("DEBUG LOADAOF") == "+OK\r\n")
        #expect(try digest(c) == before)
        #expect(try c.send("CONFIG SET appendonly yes") == "+OK\r\n")
        try waitForRewrite(c)
        #expect(try String(contentsOfFile: manifestPath, encoding: .utf8)
                == "file appendonly.aof.4.base.rdb seq 4 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n")
        #expect(try c.infoField("stats", "total_forks") == "3")
    }

    /// A BGREWRITEAOF scheduled behind a BGSAVE runs when the BGSAVE ends, with the AOF off too.
    @Test func rewriteScheduledBehindABGSAVERunsWithTheAOFOff() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cairn = try ServerProcess(dir: dir)
        let c = try cairn.client()
        _ = try c.send("SET k v")
        _ = try c.send("CONFIG SET rdb-key-save-delay 300000")
        #expect(try c.send("BGSAVE").hasPrefix("+"))
        #expect(try c.send("BGREWRITEAOF") == "+Background append only file rewriting scheduled\r\n")
        #expect(try c.infoField("persistence", "aof_rewrite_scheduled") == "1")
        _ = try c.send("CONFIG SET rdb-key-save-delay 0")
        try waitForRewrite(c)
        #expect(try c.infoField("persistence", "aof_rewrites") == "1")
        #expect(try String(contentsOfFile: dir + "/appendonlydir/appendonly.aof.manifest", encoding: .utf8)
                == "file appendonly.aof.1.base.rdb seq 1 type b\n")
    }

    /// An upgrade interrupted after the manifest was written but before the old file was moved is
    /// finished at start; a listed file that is missing stops start-up with Redis's log line.
    @Test func interruptedUpgradeAndMissingFile() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/appendonlydir", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/appendonly.aof", contents: Data(RawClient.encode(argv("SET k1 v1"))))
        _ = FileManager.default.createFile(atPath: dir + "/appendonlydir/appendonly.aof.manifest",
                                           contents: Data("file appendonly.aof seq 1 type b\n".utf8))
        do {
            let cairn = try ServerProcess(args: ["--appendonly", "yes"], dir: dir)
            #expect(try cairn.client().send("GET k1") == "$2\r\nv1\r\n")
            #expect(access(dir + "/appendonly.aof", F_OK) != 0 && access(dir + "/appendonlydir/appendonly.aof", F_OK) == 0)
            #expect(try String(contentsOfFile: dir + "/appendonlydir/appendonly.aof.manifest", encoding: .utf8)
                    == "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n")
            cairn.terminate()
        }
        unlink(dir + "/appendonlydir/appendonly.aof.1.incr.aof")
        let refused = try runCairnExpectingRefusal(["--appendonly", "yes"], dir: dir)
        #expect(refused != nil && refused!.status != 0)
        #expect(refused?.log.contains("Unable to obtain the AOF file appendonly.aof.1.incr.aof length. stat: No such file or directory") == true,
                "\(refused?.log ?? "")")
    }

    /// aof-timestamp-enabled writes #TS: annotations, and both servers skip them when loading.
    @Test func timestampAnnotationsAreWrittenAndSkipped() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["--appendonly", "yes", "--aof-timestamp-enabled", "yes"]
        let cairn = try ServerProcess(args: args, dir: dir)
        let c = try cairn.client()
        _ = try c.send("SET a 1")
        _ = try c.send("INCR a")
        let expected = try digest(c)
        cairn.terminate()
        let incr = try String(contentsOfFile: dir + "/appendonlydir/appendonly.aof.1.incr.aof", encoding: .utf8)
        #expect(incr.hasPrefix("#TS:"), "\(incr.debugDescription)")
        let again = try ServerProcess(args: args, dir: dir)
        #expect(try digest(again.client()) == expected)
        again.terminate()
        let redis = try ServerProcess(cairn: false, args: args + ["--enable-debug-command", "yes"], dir: dir)
        #expect(try digest(redis.client()) == expected)
        _ = try? redis.client().send("SHUTDOWN NOSAVE")
    }

    /// Cutting the incr file at every byte inside its last command: with aof-load-truncated yes the
    /// server starts without that command and the file is cut back to the last whole command; with no
    /// it refuses to start, saying why. The same cut inside an open MULTI drops the whole transaction.
    @Test func truncationAtEveryByteOfTheLastCommand() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let cairn = try ServerProcess(args: ["--appendonly", "yes"], dir: dir)
            let c = try cairn.client()
            for i in 0 ..< 10 { _ = try c.send("SET k\(i) v\(i)") }
            _ = try c.send("MULTI"); _ = try c.send("SET tx1 a"); _ = try c.send("SET tx2 b"); _ = try c.send("EXEC")
            _ = try c.send("SET last value-of-the-last-command")
            cairn.terminate()
        }
        let incrPath = dir + "/appendonlydir/appendonly.aof.1.incr.aof"
        let full = Array(try Data(contentsOf: URL(fileURLWithPath: incrPath)))
        let lastCommand = RawClient.encode(argv("SET last value-of-the-last-command"))
        #expect(Array(full.suffix(lastCommand.count)) == lastCommand)
        let lastStart = full.count - lastCommand.count
        let exec = RawClient.encode(argv("EXEC"))
        let multiStart = full.count - lastCommand.count - exec.count - 2 * RawClient.encode(argv("SET tx1 a")).count
            - RawClient.encode(argv("MULTI")).count
        var loaded = 0, refused = 0
        for cut in (lastStart + 1) ..< full.count {
            try Data(full[0 ..< cut]).write(to: URL(fileURLWithPath: incrPath))
            // aof-load-truncated no: a clear refusal.
            if let r = try runCairnExpectingRefusal(["--appendonly", "yes", "--aof-load-truncated", "no"], dir: dir) {
                #expect(r.status == 1)
                #expect(r.log.contains("Unexpected end of file reading the append only file appendonly.aof.1.incr.aof"), "\(r.log)")
                refused += 1
            } else {
                Issue.record("started with a truncated AOF and aof-load-truncated no (cut \(cut) of \(full.count))")
            }
            // aof-load-truncated yes: loads what is whole and cuts the file back.
            let s = try ServerProcess(args: ["--appendonly", "yes"], dir: dir)
            let c = try s.client()
            #expect(try c.send("GET last") == "$-1\r\n")
            #expect(try c.send("GET k9") == "$2\r\nv9\r\n")
            #expect(try c.send("GET tx2") == "$1\r\nb\r\n")
            s.terminate()
            #expect(s.log().contains("!!! Truncating the AOF appendonly.aof.1.incr.aof at offset \(lastStart) !!!"))
            let after = Array(try Data(contentsOf: URL(fileURLWithPath: incrPath)))
            #expect(after == Array(full[0 ..< lastStart]))
            loaded += 1
        }
        #expect(loaded == lastCommand.count - 1 && refused == loaded)
        // A cut inside the transaction (after MULTI and a whole SET) drops all of it.
        let insideTx = multiStart + RawClient.encode(argv("MULTI")).count + RawClient.encode(argv("SET tx1 a")).count + 3
        try Data(full[0 ..< insideTx]).write(to: URL(fileURLWithPath: incrPath))
        let s = try ServerProcess(args: ["--appendonly", "yes"], dir: dir)
        let c = try s.client()
        #expect(try c.send("GET tx1") == "$-1\r\n")
        #expect(try c.send("GET k9") == "$2\r\nv9\r\n")
        s.terminate()
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: incrPath))) == Array(full[0 ..< multiStart]))
    }

    /// Corruption in the middle of a file stops start-up with the file, the offset and the reason.
    @Test func corruptionInTheMiddleStopsStartup() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let cairn = try ServerProcess(args: ["--appendonly", "yes"], dir: dir)
            let c = try cairn.client()
            for i in 0 ..< 5 { _ = try c.send("SET k\(i) v\(i)") }
            cairn.terminate()
        }
        let incrPath = dir + "/appendonlydir/appendonly.aof.1.incr.aof"
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: incrPath)))
        let second = RawClient.encode(argv("SELECT 0")).count + RawClient.encode(argv("SET k0 v0")).count
        bytes[second] = UInt8(ascii: "x")
        try Data(bytes).write(to: URL(fileURLWithPath: incrPath))
        if let r = try runCairnExpectingRefusal(["--appendonly", "yes"], dir: dir) {
            #expect(r.status == 1)
            #expect(r.log.contains("Bad file format reading the append only file appendonly.aof.1.incr.aof at offset \(second)"), "\(r.log)")
        } else {
            Issue.record("started with a corrupt AOF")
        }
        // The file is left as it was.
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: incrPath))) == bytes)
    }

    /// BGSAVE and BGREWRITEAOF share the one child: each refuses or schedules while the other runs.
    @Test func rewriteAndSnapshotTakeTurns() throws {
        let cairn = try ServerProcess(args: ["--appendonly", "yes"])
        let c = try cairn.client()
        var batch: [UInt8] = []
        let value = String(repeating: "v", count: 100)
        for i in 0 ..< 50000 { batch += RawClient.encode(argv("SET key:\(i) \(value)")) }
        try c.write(batch)
        for _ in 0 ..< 50000 { _ = try c.readReply() }
        #expect(try c.send("BGREWRITEAOF") == "+Background append only file rewriting started\r\n")
        let bg = try c.send("BGSAVE")
        let sch = try c.send("BGSAVE SCHEDULE")
        if try c.infoField("persistence", "aof_rewrite_in_progress") == "1" {
            #expect(bg.hasPrefix("-ERR An AOF log rewriting in progress"), "\(bg)")
        }
        #expect(sch == "+Background saving scheduled\r\n" || sch == "+Background saving started\r\n")
        try waitForRewrite(c)
        #expect(try c.infoField("persistence", "aof_last_bgrewrite_status") == "ok")
        #expect(try c.infoField("persistence", "aof_base_size").map { Int($0)! > 0 } == true)
    }

    /// Redis's rewrite rule: once the AOF passes auto-aof-rewrite-min-size and has grown by
    /// auto-aof-rewrite-percentage over the last base, a rewrite starts by itself.
    @Test func automaticRewriteOnGrowth() throws {
        let cairn = try ServerProcess(args: ["--appendonly", "yes", "--auto-aof-rewrite-min-size", "64kb",
                                             "--auto-aof-rewrite-percentage", "100"])
        let c = try cairn.client()
        // Random letters, so the RDB base does not compress them away.
        for i in 0 ..< 200 {
            let value = String((0 ..< 1000).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement()! })
            _ = try c.send("SET key:\(i % 20) \(value)")
        }
        let deadline = Date().addingTimeInterval(10)
        while try c.infoField("persistence", "aof_rewrites") == "0" && Date() < deadline { usleep(50_000) }
        #expect(try c.infoField("persistence", "aof_rewrites") != "0")
        try waitForRewrite(c)
        // The new base holds 20 keys, far less than the 200 writes logged before.
        let base = Int(try c.infoField("persistence", "aof_base_size") ?? "0")!
        #expect(base > 20 * 1000 && base < 64 * 1024, "base \(base)")
        #expect(cairn.log().contains("Starting automatic rewriting of AOF on"))
    }

    /// A failing AOF write (here a file-size limit, as a full disk would do): write commands get
    /// -MISCONF, reads keep working, INFO says err; when the limit goes the server recovers by itself
    /// and nothing acknowledged is lost.
    @Test(.enabled(if: access("/usr/bin/prlimit", X_OK) == 0))
    func writeErrorsRefuseWritesUntilTheDiskRecovers() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["--appendonly", "yes", "--appendfsync", "everysec"]
        var expected = ""
        do {
            let cairn = try ServerProcess(args: args, dir: dir)
            let c = try cairn.client()
            #expect(try c.send("SET a 1") == "+OK\r\n")
            let incr = dir + "/appendonlydir/appendonly.aof.1.incr.aof"
            let size = (try FileManager.default.attributesOfItem(atPath: incr)[.size] as? Int) ?? 0
            func prlimit(_ limit: String) throws {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
                // Only the soft limit, so it can be lifted again without privileges.
                p.arguments = ["--pid", String(cairn.process.processIdentifier), "--fsize=\(limit):unlimited"]
                try p.run()
                p.waitUntilExit()
            }
            try prlimit(String(size + 1000))
            // This write is acknowledged, then its AOF write fails (it stays buffered and is retried).
            #expect(try c.send("SET big \(String(repeating: "y", count: 5000))") == "+OK\r\n")
            var refused = ""
            let deadline = Date().addingTimeInterval(5)
            while Date() < deadline {
                refused = try c.send("SET b 2")
                if refused.hasPrefix("-") { break }
                usleep(20_000)
            }
            #expect(refused == "-MISCONF Errors writing to the AOF file: File too large\r\n")
            #expect(try c.infoField("persistence", "aof_last_write_status") == "err")
            #expect(try c.send("GET a") == "$1\r\n1\r\n")
            // The file never holds half a command.
            let during = (try FileManager.default.attributesOfItem(atPath: incr)[.size] as? Int) ?? -1
            #expect(during == size)
            try prlimit("unlimited")
            let recover = Date().addingTimeInterval(5)
            while try c.infoField("persistence", "aof_last_write_status") != "ok" && Date() < recover { usleep(50_000) }
            #expect(try c.send("SET b 2") == "+OK\r\n")
            #expect(cairn.log().contains("AOF write error looks solved, Redis can write again."))
            expected = try digest(c)
            cairn.terminate()
        }
        let again = try ServerProcess(args: args, dir: dir)
        let c = try again.client()
        #expect(try digest(c) == expected)
        #expect(try c.send("STRLEN big") == ":5000\r\n")
    }

    /// A verbatim write is logged from the client's own request bytes only when they are exactly the
    /// record's bytes; a request with leading zeros in its lengths or junk where a CRLF belongs (both
    /// accepted, as Redis accepts them) is encoded afresh, so the AOF always loads.
    @Test func requestsAreLoggedOnlyInTheirCanonicalForm() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["--appendonly", "yes"]
        var expected = ""
        do {
            let cairn = try ServerProcess(args: args, dir: dir)
            let c = try cairn.client()
            try c.write(Array("*3\r\n$3\r\nSET\r\n$01\r\na\r\n$1\r\n1\r\n".utf8))
            #expect(try c.readReply() == Array("+OK\r\n".utf8))
            try c.write(Array("*03\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2XY".utf8))
            #expect(try c.readReply() == Array("+OK\r\n".utf8))
            try c.write(Array("*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\nx\r\n".utf8))
            #expect(try c.readReply() == Array(":1\r\n".utf8))
            try c.write(Array("SET inline 3\r\n".utf8))
            #expect(try c.readReply() == Array("+OK\r\n".utf8))
            expected = try digest(c)
            cairn.terminate()
        }
        let incr = try String(contentsOfFile: dir + "/appendonlydir/appendonly.aof.1.incr.aof", encoding: .utf8)
        #expect(incr == "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n" + "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
            + "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n" + "*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\nx\r\n"
            + "*3\r\n$3\r\nSET\r\n$6\r\ninline\r\n$1\r\n3\r\n")
        let again = try ServerProcess(args: args, dir: dir)
        #expect(try digest(again.client()) == expected)
    }
}
