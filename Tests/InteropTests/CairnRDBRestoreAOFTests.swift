// cairn-rdb restore from an AOF: Redis-written appendonlydirs (RDB base, RESP base, a legacy single
// file) into empty Redis and Cairn servers, a point-in-time restore with --to, and a truncated last
// file restored as Redis itself loads it. Judged by DEBUG DIGEST.
import Foundation
import Testing
@testable import StorageFormat
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite(.enabled(if: RDBToolServer.available, "needs redis-server, redis-cli and the built cairn-rdb and cairn-server"))
struct CairnRDBRestoreAOFTests {
    static func fixtureDigest(_ dir: String) throws -> String {
        try String(contentsOfFile: Paths.repo("Fixtures/aof/\(dir)/digest.txt"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(arguments: ["redis70-preamble/appendonlydir", "redis70-plain/appendonlydir",
                      "redis70-plain/appendonlydir/appendonly.aof.manifest", "redis70-legacy/appendonly.aof"])
    func aofFixturesRestoreToTheirDigest(input: String) throws {
        let want = try Self.fixtureDigest(String(input.split(separator: "/")[0]))
        for cairn in [false, true] {
            let target = try RDBToolServer(cairn: cairn)
            let r = try CairnRDBBinary.run(["restore", Paths.repo("Fixtures/aof/" + input), "--server", target.address])
            #expect(r.status == 0, "\(r.err)")
            #expect(String(decoding: r.out, as: UTF8.self).contains("AOF commands (0 failed)"))
            #expect(try target.digest() == want, "\(input) into \(cairn ? "Cairn" : "Redis")")
        }
    }

    @Test func dbFilterAndRefusedOptions() throws {
        let target = try RDBToolServer(cairn: false)
        let r = try CairnRDBBinary.run(["restore", Paths.repo("Fixtures/aof/redis70-preamble/appendonlydir"), "--server", target.address, "--db", "1"])
        #expect(r.status == 0, "\(r.err)")
        #expect(String(decoding: r.out, as: UTF8.self).contains("skipped by --db"))
        // Commands run in db 1 only; one of them (MOVE db1:str 5) puts a key into db 5, as it did in Redis.
        let nonEmpty = try (0 ..< 16).filter { (Int(try target.cli(["-n", String($0), "dbsize"])) ?? 0) > 0 }
        #expect(nonEmpty == [1, 5])
        #expect(try target.cli(["-n", "5", "keys", "*"]) == "db1:str")
        let key = try CairnRDBBinary.run(["restore", Paths.repo("Fixtures/aof/redis70-plain/appendonlydir"), "--server", target.address, "--key", "x"])
        #expect(key.status == 2)
        #expect(key.err.contains("only be filtered by --db"))
        let to = try CairnRDBBinary.run(["restore", CairnRDBServerTests.fixture, "--server", target.address, "--to", "1"])
        #expect(to.status == 2)
    }

    /// The #TS: annotations of every .aof file in an appendonlydir: time, file name, offset.
    func timestamps(_ dir: String) throws -> [(time: Int64, file: String, offset: Int)] {
        var out: [(time: Int64, file: String, offset: Int)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() where name.hasSuffix(".aof") {
            let r = try AOFReader(path: dir + "/" + name)
            if r.hasRDBPreamble { continue }
            while let rec = try r.next() {
                if case .annotation(let line, let start) = rec, let t = AOFReader.timestamp(line) { out.append((t, name, start)) }
            }
        }
        return out.sorted { $0.time < $1.time }
    }

    @Test func pointInTimeRestoreStopsAtTheTimestamp() throws {
        let source = try RDBToolServer(cairn: false, extra: ["--appendonly", "yes", "--aof-timestamp-enabled", "yes",
                                                            "--aof-use-rdb-preamble", "no"])
        try source.cli(["set", "first", "1"])
        try source.cli(["rpush", "list", "a", "b"])
        // Let the clock second move on, so the next writes get their own #TS: line.
        usleep(1_100_000)
        try source.cli(["set", "second", "2"])
        try source.cli(["rpush", "list", "c"])
        let after = try source.digest()
        let aofdir = source.dir + "/appendonlydir"
        let ts = try timestamps(aofdir)
        #expect(ts.count >= 2, "\(ts)")
        let last = ts.last!
        let cut = last.time - 1

        // What Redis loads from the same history cut just before that annotation.
        let work = try makeTempDir("cairn-rdbtool-pit")
        defer { removeTree(work) }
        try FileManager.default.copyItem(atPath: aofdir, toPath: work + "/appendonlydir")
        let file = work + "/appendonlydir/" + last.file
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        try bytes.prefix(last.offset).write(to: URL(fileURLWithPath: file))
        let reference = try RDBToolServer(cairn: false, folder: work + "/appendonlydir", extra: ["--appendonly", "yes"])
        let want = try reference.digest()
        #expect(want != after)
        #expect(try reference.cli(["get", "first"]) == "1")

        let then = try RDBToolServer(cairn: true)
        let r = try CairnRDBBinary.run(["restore", aofdir, "--server", then.address, "--to", String(cut)])
        #expect(r.status == 0, "\(r.err)")
        #expect(String(decoding: r.out, as: UTF8.self).contains("stopped at #TS:\(last.time)"))
        #expect(try then.digest() == want)

        let now = try RDBToolServer(cairn: true)
        #expect(try CairnRDBBinary.run(["restore", aofdir, "--server", now.address]).status == 0)
        #expect(try now.digest() == after)
    }

    @Test func truncatedLastFileRestoresAsRedisLoadsIt() throws {
        let work = try makeTempDir("cairn-rdbtool-aof")
        defer { removeTree(work) }
        let dir = work + "/appendonlydir"
        try FileManager.default.copyItem(atPath: Paths.repo("Fixtures/aof/redis70-plain/appendonlydir"), toPath: dir)
        let incr = dir + "/appendonly.aof.2.incr.aof"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: incr))
        try bytes.prefix(bytes.count - 30).write(to: URL(fileURLWithPath: incr))

        let redis = try RDBToolServer(cairn: false, folder: dir, extra: ["--appendonly", "yes"])
        let want = try redis.digest()
        #expect(want != (try Self.fixtureDigest("redis70-plain")))
        let target = try RDBToolServer(cairn: false)
        let r = try CairnRDBBinary.run(["restore", dir, "--server", target.address])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("is truncated at offset"))
        #expect(try target.digest() == want)
    }
}
