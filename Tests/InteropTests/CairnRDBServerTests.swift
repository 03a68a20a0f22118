// cairn-rdb against live servers: `resp` piped through `redis-cli --pipe`, `diff` of a real Redis
// server against its own dump.rdb, `restore` into empty Cairn and Redis servers. Real processes
// (Debian's redis-server 7.0 with DEBUG enabled, the cairn-server built with the tests), equality
// judged by DEBUG DIGEST.
import Foundation
import Testing
@testable import StorageFormat
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A redis-server or cairn-server on a free loopback port in its own temporary folder.
final class RDBToolServer {
    let port: Int
    let dir: String
    let process = Process()

    static var cairnPath: String { Paths.tool("cairn-server") }
    static var available: Bool {
        RedisOracle.snapshotAvailable && CairnRDBBinary.available && access(cairnPath, X_OK) == 0
    }

    /// `dump`: a file copied in as dump.rdb, which the server loads at start. `folder`: a folder
    /// (e.g. an appendonlydir) copied in under its own name. `extra`: more arguments (later ones win).
    init(cairn: Bool, dump: String? = nil, folder: String? = nil, extra: [String] = []) throws {
        dir = try makeTempDir("cairn-rdbtool")
        if let dump { try FileManager.default.copyItem(atPath: dump, toPath: dir + "/dump.rdb") }
        if let folder {
            try FileManager.default.copyItem(atPath: folder, toPath: dir + "/" + URL(fileURLWithPath: folder).lastPathComponent)
        }
        port = freeLoopbackPort()
        process.executableURL = URL(fileURLWithPath: cairn ? RDBToolServer.cairnPath : which("redis-server")!)
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--dbfilename", "dump.rdb",
                             "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", dir + "/server.log",
                             "--enable-debug-command", "yes"] + extra
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if !process.isRunning { throw TestFailure(description: "server exited: \(log())") }
            if (try? cli(["ping"])) == "PONG" { return }
            usleep(20_000)
        }
        stop()
        throw TestFailure(description: "server did not answer PING: \(log())")
    }

    var address: String { "127.0.0.1:\(port)" }

    func log() -> String { (try? String(contentsOfFile: dir + "/server.log", encoding: .utf8)) ?? "" }

    @discardableResult
    func cli(_ args: [String], stdin: Data? = nil) throws -> String {
        let r = try runProcess(which("redis-cli")!, ["-p", String(port)] + args, stdin: stdin)
        return String(decoding: r.out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func digest() throws -> String { try cli(["debug", "digest"]) }

    func keyCount() throws -> Int {
        var n = 0
        for db in 0 ..< 16 { n += Int(try cli(["-n", String(db), "dbsize"])) ?? 0 }
        return n
    }

    func stop() {
        stopServer(process, grace: 5) { _ = try? runProcess(which("redis-cli")!, ["-p", String(port), "shutdown", "nosave"]) }
    }

    deinit {
        stop()
        removeTree(dir)
    }
}

/// The differences of a `diff --json` document as "kind db key" strings.
func diffKinds(_ out: Data) throws -> Set<String> {
    let doc = try JSONSerialization.jsonObject(with: out) as! [String: Any]
    return Set((doc["differences"] as! [[String: Any]]).map { d in
        "\(d["kind"]!) \(d["db"]!) \(String(decoding: bytesOfJSONString(d["key"] as! String), as: UTF8.self))"
    })
}

@Suite(.enabled(if: RDBToolServer.available, "needs redis-server, redis-cli and the built cairn-rdb and cairn-server"))
struct CairnRDBServerTests {
    static let fixture = Paths.repo("Fixtures/rdb/redis70-lzf-crc.rdb")

    @Test(arguments: [false, true])
    func respPipedIntoRedisGivesTheSameDigest(commands: Bool) throws {
        let source = try RDBToolServer(cairn: false, dump: Self.fixture)
        let target = try RDBToolServer(cairn: false)
        #expect(try source.keyCount() == 56)
        let resp = try CairnRDBBinary.run(["resp", Self.fixture] + (commands ? ["--commands"] : []))
        #expect(resp.status == 0, "\(resp.err)")
        let piped = try target.cli(["--pipe"], stdin: resp.out)
        #expect(piped.contains("errors: 0"), "\(piped)")
        #expect(try target.keyCount() == 56)
        #expect(try target.digest() == source.digest())
        // Stream groups, PELs and consumers (which DEBUG DIGEST leaves out) came across too.
        let diff = try CairnRDBBinary.run(["diff", Self.fixture, "--server", target.address])
        #expect(diff.status == 0, "\(String(decoding: diff.out, as: UTF8.self))")
        if commands {
            // Type commands, big aggregates in chunks of 64: list:long (2500 items) takes 40 RPUSHes.
            let text = String(decoding: resp.out, as: UTF8.self)
            #expect(text.components(separatedBy: "$5\r\nRPUSH\r\n$9\r\nlist:long\r\n").count - 1 == 40)
            #expect(!text.contains("RESTORE"))
        }
    }

    @Test func diffOfARedisServerAgainstItsOwnDump() throws {
        let server = try RDBToolServer(cairn: false, dump: Self.fixture)
        // More data of its own, then its own dump.
        try server.cli(["rpush", "extra:list"] + (0 ..< 500).map { "item-\($0)" })
        try server.cli(["-n", "5", "set", "db5:key", "five"])
        #expect(try server.cli(["save"]) == "OK")
        let dump = server.dir + "/before.rdb"
        try FileManager.default.copyItem(atPath: server.dir + "/dump.rdb", toPath: dump)

        let same = try CairnRDBBinary.run(["diff", dump, "--server", server.address])
        #expect(same.status == 0, "\(String(decoding: same.out, as: UTF8.self))")
        #expect(String(decoding: same.out, as: UTF8.self).hasPrefix("no differences (58 keys"))

        // One of each kind of difference.
        try server.cli(["set", "str:short", "changed"])                       // value
        try server.cli(["del", "list:long"])                                  // missing
        try server.cli(["-n", "3", "set", "newkey", "x"])                     // extra
        try server.cli(["pexpireat", "exp:int", "4102444900000"])             // ttl changed
        try server.cli(["persist", "exp:hash"])                               // ttl removed
        try server.cli(["expire", "str:lzf", "100000"])                       // ttl added
        try server.cli(["-n", "2", "del", "counter"])
        try server.cli(["-n", "2", "rpush", "counter", "a"])                  // type
        try server.cli(["rpush", "extra:list", "one more"])                   // value (a list grew)
        let expected: Set<String> = ["value 0 str:short", "missing 0 list:long", "extra 3 newkey", "ttl 0 exp:int",
                                     "ttl 0 exp:hash", "ttl 0 str:lzf", "type 2 counter", "value 0 extra:list"]

        let live = try CairnRDBBinary.run(["diff", dump, "--server", server.address, "--json"])
        #expect(live.status == 1)
        #expect(try diffKinds(live.out) == expected)
        let text = try CairnRDBBinary.run(["diff", dump, "--server", server.address])
        #expect(text.status == 1)
        let lines = String(decoding: text.out, as: UTF8.self)
        #expect(lines.contains("type    db=2 key=\"counter\" string -> list"))
        #expect(lines.contains("8 differences: 1 missing, 1 extra, 1 type, 2 value, 3 ttl"))

        // The same differences between the two dumps.
        #expect(try server.cli(["save"]) == "OK")
        let files = try CairnRDBBinary.run(["diff", dump, server.dir + "/dump.rdb", "--json"])
        #expect(files.status == 1)
        #expect(try diffKinds(files.out) == expected)
        // Filters narrow both sides.
        let narrowed = try CairnRDBBinary.run(["diff", dump, server.dir + "/dump.rdb", "--json", "--db", "2"])
        #expect(try diffKinds(narrowed.out) == ["type 2 counter"])
        let ttlOnly = try CairnRDBBinary.run(["diff", dump, "--server", server.address, "--json", "--key", "^exp:"])
        #expect(try diffKinds(ttlOnly.out) == ["ttl 0 exp:int", "ttl 0 exp:hash"])
        // A TTL within the tolerance counts as equal.
        try server.cli(["pexpireat", "exp:int", "4102444800500"])
        let tolerant = try CairnRDBBinary.run(["diff", dump, "--server", server.address, "--json", "--key", "^exp:int$"])
        #expect(tolerant.status == 0)
        let strict = try CairnRDBBinary.run(["diff", dump, "--server", server.address, "--json", "--key", "^exp:int$", "--ttl-tolerance", "0"])
        #expect(strict.status == 1)
    }

    @Test func restoreIntoEmptyCairnAndRedisGivesTheSourceDigest() throws {
        // The source: Redis with the fixture's data less its streams (Cairn has no streams yet), plus
        // a big list and a 1 MB string, saved to its own dump.
        let source = try RDBToolServer(cairn: false, dump: Self.fixture)
        for k in ["stream:main", "stream:multinode", "stream:empty", "exp:stream"] { try source.cli(["del", k]) }
        try source.cli(["rpush", "big:list"] + (0 ..< 3000).map { "element-\($0)" })
        try source.cli(["-n", "4", "-x", "set", "big:string"], stdin: Data(String(repeating: "0123456789abcdef", count: 65536).utf8))
        #expect(try source.cli(["save"]) == "OK")
        let dump = source.dir + "/dump.rdb"
        let want = try source.digest()
        let keys = try source.keyCount()
        #expect(keys == 54)

        let cairn = try RDBToolServer(cairn: true)
        let dry = try CairnRDBBinary.run(["restore", dump, "--server", cairn.address, "--dry-run"])
        #expect(dry.status == 0, "\(dry.err)")
        #expect(String(decoding: dry.out, as: UTF8.self).contains("would restore \(keys) keys"))
        #expect(try cairn.keyCount() == 0)

        let intoCairn = try CairnRDBBinary.run(["restore", dump, "--server", cairn.address, "--verify"])
        #expect(intoCairn.status == 0, "\(intoCairn.err)")
        let report = String(decoding: intoCairn.out, as: UTF8.self)
        #expect(report.contains("restored \(keys) keys (\(keys) as RESTORE payloads of RDB 10, 0 as type commands), 0 failed"))
        #expect(report.contains("verify: no differences"))
        #expect(intoCairn.err.contains("runs version 7.0.15"))
        #expect(try cairn.digest() == want)

        // Into Redis from the gzipped dump, values over 4 KB as type commands in chunks.
        let redis = try RDBToolServer(cairn: false)
        let gz = try Gzip.compress(Array(try Data(contentsOf: URL(fileURLWithPath: dump))))
        try Data(gz).write(to: URL(fileURLWithPath: redis.dir + "/backup.rdb.gz"))
        let intoRedis = try CairnRDBBinary.run(["restore", redis.dir + "/backup.rdb.gz", "--server", redis.address,
                                                "--max-payload", "4096", "--verify"])
        #expect(intoRedis.status == 0, "\(intoRedis.err)")
        let r2 = String(decoding: intoRedis.out, as: UTF8.self)
        #expect(r2.contains("restored \(keys) keys"))
        #expect(!r2.contains(", 0 as type commands"), "\(r2)")
        #expect(try redis.digest() == want)

        // Restoring again over the data replaces it (REPLACE; DEL before type commands): same digest.
        let again = try CairnRDBBinary.run(["restore", dump, "--server", redis.address, "--commands"])
        #expect(again.status == 0, "\(again.err)")
        #expect(try redis.digest() == want)
    }

    @Test func restoreOfTheFixtureWithStreams() throws {
        let source = try RDBToolServer(cairn: false, dump: Self.fixture)
        let redis = try RDBToolServer(cairn: false)
        let r = try CairnRDBBinary.run(["restore", Self.fixture, "--server", redis.address, "--verify"])
        #expect(r.status == 0, "\(r.err)")
        #expect(try redis.digest() == source.digest())

        // Cairn holds streams too: every key arrives, with Redis's digest.
        let cairn = try RDBToolServer(cairn: true)
        let c = try CairnRDBBinary.run(["restore", Self.fixture, "--server", cairn.address])
        #expect(c.status == 0, "\(c.err)")
        #expect(String(decoding: c.out, as: UTF8.self).contains("restored 56 keys"))
        #expect(try cairn.digest() == source.digest())

        // A subset by filters: db 2's keys only.
        let subset = try RDBToolServer(cairn: true)
        let s = try CairnRDBBinary.run(["restore", Self.fixture, "--server", subset.address, "--db", "2"])
        #expect(s.status == 0, "\(s.err)")
        #expect(try subset.keyCount() == 5)
        #expect(try subset.cli(["-n", "2", "get", "counter"]) == "-77")
    }
}
