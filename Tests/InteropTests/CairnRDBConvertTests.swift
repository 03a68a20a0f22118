// cairn-rdb convert from JSON and from an AOF, and restore from JSON: the built binary on the
// fixtures. JSON → RDB must give back what `json`/`jsonl` printed of the original (the only loss the
// layouts imply on the fixtures: a stream group's pending entries); an AOF → RDB must load into a
// real redis-server 7.0 with the DEBUG DIGEST real Redis reported for that AOF (digest.txt).
import Foundation
import Testing
@testable import StorageFormat
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The JSON text with each stream group's pending count blanked: the one thing the layouts do not carry back.
func withoutPendingCounts(_ d: Data) -> String {
    String(decoding: d, as: UTF8.self).replacingOccurrences(of: "\"pending\":[0-9]+", with: "\"pending\":_", options: .regularExpression)
}

let rdbFixtures = ["redis70-lzf-crc.rdb", "redis70-lzf-nocrc.rdb", "redis70-nolzf-crc.rdb", "redis70-nolzf-nocrc.rdb"]

@Suite(.enabled(if: CairnRDBBinary.available, "build the package first (tools/test does)"))
struct CairnRDBConvertJSONTests {
    @Test(arguments: rdbFixtures, ["json", "jsonl"])
    func jsonRoundTripGivesBackTheSameDump(fixture: String, layout: String) throws {
        let dir = try makeTempDir("cairn-convert-json")
        defer { removeTree(dir) }
        let original = Paths.repo("Fixtures/rdb/" + fixture)
        let printed = try CairnRDBBinary.run([layout, original])
        #expect(printed.status == 0, "\(printed.err)")
        // No extension: the input is recognised by its content.
        try printed.out.write(to: URL(fileURLWithPath: dir + "/dump"))
        let r = try CairnRDBBinary.run(["convert", dir + "/dump", dir + "/back.rdb"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("wrote 56 keys"), "\(r.err)")
        #expect(r.err.contains("group \"group-b\" had 5 pending entries"), "\(r.err)")
        let again = try CairnRDBBinary.run([layout, dir + "/back.rdb"])
        #expect(again.status == 0, "\(again.err)")
        #expect(withoutPendingCounts(again.out) == withoutPendingCounts(printed.out))
        #expect(again.out != printed.out, "the pending counts should be the one difference")
        if layout == "jsonl" {
            // Types, databases and TTLs came back: the file-level diff sees only the stream's PEL.
            let diff = try CairnRDBBinary.run(["diff", original, dir + "/back.rdb", "--json"])
            #expect(try diffKinds(diff.out) == ["value 0 stream:main"])
        }
        let end = try readAll(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/back.rdb")))).end
        if case .end(_, let verified)? = end { #expect(verified) } else { Issue.record("no EOF in the written file") }
    }

    @Test func jsonlFromStandardInputToEveryVersion() throws {
        let dir = try makeTempDir("cairn-convert-json")
        defer { removeTree(dir) }
        let printed = try CairnRDBBinary.run(["jsonl", Paths.repo("Fixtures/rdb/redis70-lzf-crc.rdb")])
        for version in [11, 12] {
            let r = try runProcess(CairnRDBBinary.path, ["convert", "-", dir + "/v\(version).rdb", "--to-version", String(version)], stdin: printed.out)
            #expect(r.status == 0, "\(r.err)")
            #expect(try RDBReader(path: dir + "/v\(version).rdb").dialect.version == version)
            let again = try CairnRDBBinary.run(["jsonl", dir + "/v\(version).rdb"])
            #expect(withoutPendingCounts(again.out) == withoutPendingCounts(printed.out))
        }
    }

    @Test func hashFieldTTLsAndTypesComeBackFromJSONL() throws {
        let dir = try makeTempDir("cairn-convert-json")
        defer { removeTree(dir) }
        let lines = """
            {"db":3,"key":"h\\u00ff","type":"hash","expiry":4102444800000,"value":{"a":"1","b\\u0000":"2"},"field_expiry":{"a":4102444800123}}
            {"db":3,"key":"s","type":"set","expiry":null,"value":["x","y"]}
            {"db":4,"key":"z","type":"zset","expiry":null,"value":{"m":"-inf","n":1.5,"o":"inf"}}

            """
        try Data(lines.utf8).write(to: URL(fileURLWithPath: dir + "/in.jsonl"))
        let refused = try CairnRDBBinary.run(["convert", dir + "/in.jsonl", dir + "/v10.rdb"])
        #expect(refused.status == 2, "hash field TTLs need RDB 12: \(refused.err)")
        #expect(access(dir + "/v10.rdb", F_OK) != 0)
        let r = try CairnRDBBinary.run(["convert", dir + "/in.jsonl", dir + "/v12.rdb", "--to-version", "12"])
        #expect(r.status == 0, "\(r.err)")
        let entries = try readAll(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/v12.rdb")))).entries
        #expect(entries.count == 3)
        #expect(entries[0].db == 3 && entries[0].key == [0x68, 0xff] && entries[0].expiresAt == 4_102_444_800_000)
        #expect(entries[0].value == .hash([RDBHashField(field: [0x61], value: [0x31], expiresAt: 4_102_444_800_123),
                                           RDBHashField(field: [0x62, 0], value: [0x32])]))
        #expect(entries[1].value == .set([[0x78], [0x79]]))
        #expect(entries[2].db == 4)
        #expect(entries[2].value == .sortedSet([RDBScoredMember(member: [0x6d], score: -.infinity),
                                                RDBScoredMember(member: [0x6e], score: 1.5),
                                                RDBScoredMember(member: [0x6f], score: .infinity)]))
    }

    @Test func unusableJSONIsRefusedWithAnOffset() throws {
        let dir = try makeTempDir("cairn-convert-json")
        defer { removeTree(dir) }
        try Data("[{\"a\":\"1\",\"b\":[\"x\",2]}]".utf8).write(to: URL(fileURLWithPath: dir + "/bad.json"))
        let bad = try CairnRDBBinary.run(["convert", dir + "/bad.json", dir + "/out.rdb"])
        #expect(bad.status == 1)
        #expect(bad.err.contains("offset"), "\(bad.err)")
        #expect(access(dir + "/out.rdb", F_OK) != 0)
        let module = "{\"db\":0,\"key\":\"m\",\"type\":\"module\",\"expiry\":null,\"value\":{\"module\":\"MBbloom--\",\"encver\":1,\"bytes\":40}}\n{\"db\":0,\"key\":\"k\",\"type\":\"string\",\"expiry\":null,\"value\":\"v\"}\n"
        try Data(module.utf8).write(to: URL(fileURLWithPath: dir + "/module.jsonl"))
        let refused = try CairnRDBBinary.run(["convert", dir + "/module.jsonl", dir + "/out.rdb"])
        #expect(refused.status == 1)
        #expect(refused.err.contains("--lossy"), "\(refused.err)")
        let lossy = try CairnRDBBinary.run(["convert", dir + "/module.jsonl", dir + "/out.rdb", "--lossy"])
        #expect(lossy.status == 0, "\(lossy.err)")
        #expect(lossy.err.contains("module type MBbloom--"))
        #expect(try readAll(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/out.rdb")))).entries.map(\.key) == [[0x6b]])
        let help = try CairnRDBBinary.run(["convert", "--help"])
        #expect(String(decoding: help.out, as: UTF8.self).contains("prefer jsonl"))
    }
}

@Suite(.enabled(if: RDBToolServer.available, "needs redis-server, redis-cli and the built cairn-rdb and cairn-server"))
struct CairnRDBConvertServerTests {
    @Test(arguments: ["redis70-preamble/appendonlydir", "redis70-plain/appendonlydir",
                      "redis70-plain/appendonlydir/appendonly.aof.manifest", "redis70-legacy/appendonly.aof"])
    func aofFixturesConvertToTheirDigest(input: String) throws {
        let want = try CairnRDBRestoreAOFTests.fixtureDigest(String(input.split(separator: "/")[0]))
        let dir = try makeTempDir("cairn-convert-aof")
        defer { removeTree(dir) }
        // A copy, to check the input is left as it was (Redis would move a legacy file into a directory).
        let source = String(input.split(separator: "/")[0])
        try FileManager.default.copyItem(atPath: Paths.repo("Fixtures/aof/" + source), toPath: dir + "/" + source)
        let before = try FileManager.default.subpathsOfDirectory(atPath: dir + "/" + source).sorted()
        let r = try CairnRDBBinary.run(["convert", dir + "/" + input, dir + "/out.rdb"])
        #expect(r.status == 0, "\(r.err)")
        #expect(try FileManager.default.subpathsOfDirectory(atPath: dir + "/" + source).sorted() == before)
        let redis = try RDBToolServer(cairn: false, dump: dir + "/out.rdb")
        #expect(try redis.digest() == want, "\(input)")
        #expect(redis.log().contains("DB loaded from disk"))
    }

    /// A key an AOF expires while it is replayed (RPUSH, PEXPIREAT in the past, RPUSH) is kept
    /// during the replay, as Redis loads it, and is gone from the output, as from a loaded server.
    @Test func keyExpiredDuringTheReplayIsNotConverted() throws {
        let dir = try makeTempDir("cairn-convert-expired")
        defer { removeTree(dir) }
        try FileManager.default.createDirectory(atPath: dir + "/appendonlydir", withIntermediateDirectories: true)
        var incr = ""
        for args in [["RPUSH", "list", "foo"], ["PEXPIREAT", "list", "1000"], ["RPUSH", "list", "bar"], ["SET", "k", "v"]] {
            incr += "*\(args.count)\r\n" + args.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
        }
        try Data(incr.utf8).write(to: URL(fileURLWithPath: dir + "/appendonlydir/appendonly.aof.1.incr.aof"))
        try Data("file appendonly.aof.1.incr.aof seq 1 type i\n".utf8).write(to: URL(fileURLWithPath: dir + "/appendonlydir/appendonly.aof.manifest"))
        let r = try CairnRDBBinary.run(["convert", dir + "/appendonlydir", dir + "/out.rdb"])
        #expect(r.status == 0, "\(r.err)")
        let printed = String(decoding: try CairnRDBBinary.run(["jsonl", dir + "/out.rdb"]).out, as: UTF8.self)
        #expect(!printed.contains("\"list\"") && printed.contains("\"k\""), "\(printed)")
    }

    @Test func pointInTimeConversionStopsAtTheTimestamp() throws {
        let fixture = Paths.repo("Fixtures/aof/redis70-plain/appendonlydir")
        // The last #TS: annotation of the live files (the INCR opened after the clock moved on).
        let incr = "appendonly.aof.2.incr.aof"
        var stamp: (time: Int64, offset: Int)?
        let reader = try AOFReader(path: fixture + "/" + incr)
        while let rec = try reader.next() {
            if case .annotation(let line, let start) = rec, let t = AOFReader.timestamp(line) { stamp = (t, start) }
        }
        let last = try #require(stamp)

        // What real Redis loads from the same history cut just before that annotation.
        let work = try makeTempDir("cairn-convert-pit")
        defer { removeTree(work) }
        try FileManager.default.copyItem(atPath: fixture, toPath: work + "/appendonlydir")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixture + "/" + incr))
        try bytes.prefix(last.offset).write(to: URL(fileURLWithPath: work + "/appendonlydir/" + incr))
        let reference = try RDBToolServer(cairn: false, folder: work + "/appendonlydir", extra: ["--appendonly", "yes"])
        let want = try reference.digest()
        let full = try CairnRDBRestoreAOFTests.fixtureDigest("redis70-plain")
        #expect(want != full)

        let r = try CairnRDBBinary.run(["convert", fixture, work + "/then.rdb", "--to", String(last.time - 1)])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("stopped at #TS:\(last.time)"), "\(r.err)")
        #expect(try RDBToolServer(cairn: false, dump: work + "/then.rdb").digest() == want)

        // At or after the last annotation, the whole history.
        let all = try CairnRDBBinary.run(["convert", fixture, work + "/now.rdb", "--to", String(last.time)])
        #expect(all.status == 0, "\(all.err)")
        #expect(try RDBToolServer(cairn: false, dump: work + "/now.rdb").digest() == full)
        // --to means nothing for an RDB input.
        let refused = try CairnRDBBinary.run(["convert", CairnRDBServerTests.fixture, work + "/x.rdb", "--to", "1"])
        #expect(refused.status == 2)
    }

    @Test(arguments: ["json", "jsonl"])
    func jsonRestoresIntoRedisAndVerifies(layout: String) throws {
        let source = try RDBToolServer(cairn: false, dump: CairnRDBServerTests.fixture)
        let dir = try makeTempDir("cairn-restore-json")
        defer { removeTree(dir) }
        let printed = try CairnRDBBinary.run([layout, CairnRDBServerTests.fixture])
        try printed.out.write(to: URL(fileURLWithPath: dir + "/dump." + layout))
        let target = try RDBToolServer(cairn: false)
        let r = try CairnRDBBinary.run(["restore", dir + "/dump." + layout, "--server", target.address, "--verify"])
        #expect(r.status == 0, "\(r.err)")
        let out = String(decoding: r.out, as: UTF8.self)
        #expect(out.contains("restored 56 keys"), "\(out)")
        #expect(out.contains("loaded 1 function libraries"), "\(out)")
        #expect(out.contains("verify: no differences"), "\(out)")
        #expect(try target.keyCount() == 56)
        // The fixture's library came with the keys: real Redis runs its function.
        #expect(try target.cli(["fcall", "cairn_echo", "0", "from-json"]) == "from-json")
        if layout == "jsonl" {
            // Databases, types and TTLs as in the source; DEBUG DIGEST leaves stream groups out.
            #expect(try target.digest() == source.digest())
            #expect(try target.cli(["pexpiretime", "exp:int"]) == source.cli(["pexpiretime", "exp:int"]))
        } else {
            // rdbtools' layout: databases renumbered in order, sets as lists, no TTLs (documented).
            #expect(try target.cli(["type", "set:strings"]) == "list")
            #expect(try target.cli(["pttl", "exp:int"]) == "-1")
        }
    }

    /// The function library of a Redis dump survives json/jsonl → RDB: real Redis loads the converted file
    /// and runs the library's function; `resp` output carries it as the AOF rewrite does (FUNCTION LOAD).
    @Test(arguments: ["json", "jsonl"])
    func functionLibrariesSurviveConversion(layout: String) throws {
        let dir = try makeTempDir("cairn-convert-functions")
        defer { removeTree(dir) }
        let printed = try CairnRDBBinary.run([layout, CairnRDBServerTests.fixture])
        let text = String(decoding: printed.out, as: UTF8.self)
        #expect(text.contains("redis.register_function('cairn_echo'"), "the library's code is printed")
        try printed.out.write(to: URL(fileURLWithPath: dir + "/dump"))
        let r = try CairnRDBBinary.run(["convert", dir + "/dump", dir + "/back.rdb"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("and 1 function libraries"), "\(r.err)")
        let check = try CheckRDB.run([dir + "/back.rdb"])
        #expect(check.out.contains("[info] 1 function library read (cairnlib)"), "\(check.out)")
        let redis = try RDBToolServer(cairn: false, dump: dir + "/back.rdb")
        #expect(try redis.cli(["fcall", "cairn_echo", "0", "converted"]) == "converted")
        // Below RDB 10 there is no FUNCTION2: refused, or dropped with --lossy.
        let old = try CairnRDBBinary.run(["convert", dir + "/dump", dir + "/v9.rdb", "--to-version", "9"])
        #expect(old.status != 0)
        #expect(old.err.contains("function libraries need RDB version 10"), "\(old.err)")
        let resp = try CairnRDBBinary.run(["resp", CairnRDBServerTests.fixture])
        let commands = String(decoding: resp.out, as: UTF8.self)
        #expect(commands.contains("*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n"), "resp carries the library")
    }
}
