// Cairn writes, real Redis 7.0 reads: each fixture is read, written back with Cairn's writer, loaded
// by Debian's redis-server, and compared key by key (type, TTL, value, encoding) with the sidecar.
// Cairn's DUMP payloads are RESTOREd into real Redis and compared the same way.
import Foundation
import Testing
@testable import StorageFormat
import TestSupport

/// Reads `input` and writes every record with Cairn's writer to `output` (function libraries only
/// where the version holds them).
func rewrite(_ input: String, to output: String, options: RDBWriterOptions) throws {
    let r = try RDBReader(path: input)
    var bytes: [UInt8] = []
    let w = try RDBWriter(options: options) { bytes.append(contentsOf: $0) }
    try w.writeHeader()
    while let rec = try r.next() {
        switch rec {
        case .aux(let k, let v): try w.writeAux(k, v)
        case .selectDB(let db): try w.writeSelectDB(db)
        case .resizeDB(let a, let b): try w.writeResizeDB(dbSize: a, expiresSize: b)
        case .function(let code): if options.version >= 10 { try w.writeFunction(code: code) }
        case .moduleAux(let m, let when): try w.writeModuleAux(m, when: when)
        case .slotInfo: break
        case .entry(let e): try w.writeEntry(key: e.key, value: e.value, expiresAt: e.expiresAt, idle: e.idle, freq: e.freq)
        case .end: try w.finish()
        }
    }
    try Data(bytes).write(to: URL(fileURLWithPath: output))
}

@Suite(.enabled(if: RedisOracle.snapshotAvailable, "redis-server, redis-cli or python3 missing: run tools/test"))
struct RoundTripThroughRedisTests {
    @Test(arguments: [(fixtureFiles[0], true), (fixtureFiles[1], false), (fixtureFiles[2], true)])
    func cairnFileLoadsIntoRedis(file: String, compression: Bool) throws {
        let dir = try makeTempDir()
        defer { removeTree(dir) }
        var options = RDBWriterOptions(version: 10)
        options.compression = compression
        try rewrite(Paths.repo("Fixtures/rdb/" + file), to: dir + "/dump.rdb", options: options)
        let redis = try RedisOracle(dir: dir)
        defer { redis.stop() }
        let theirs = try redis.snapshot()
        let sidecar = try loadJSON(Paths.repo("Fixtures/rdb/redis70.json")) as! [String: Any]
        let diffs = snapshotDifferences(theirs, sidecar, compareEncoding: true)
        #expect(diffs.isEmpty, "\(diffs.prefix(5))")
        // redis-check-rdb agrees the file is sound.
        let check = try runProcess(which("redis-check-rdb")!, [dir + "/dump.rdb"])
        #expect(check.status == 0, "\(String(decoding: check.out, as: UTF8.self))")
    }

    @Test func version9FileLoadsIntoRedis70() throws {
        // Redis 7.0 reads every older version; a v9 file (plain encodings, stream v1) must load.
        let dir = try makeTempDir()
        defer { removeTree(dir) }
        var options = RDBWriterOptions(version: 9)
        options.compression = true
        try rewrite(Paths.repo("Fixtures/rdb/redis70-lzf-crc.rdb"), to: dir + "/dump.rdb", options: options)
        #expect(try RDBReader(path: dir + "/dump.rdb").dialect == RDBDialect(family: .redis, version: 9))
        let redis = try RedisOracle(dir: dir)
        defer { redis.stop() }
        let theirs = try redis.snapshot()
        let sidecar = try loadJSON(Paths.repo("Fixtures/rdb/redis70.json")) as! [String: Any]
        // RDB 9 has no field for a stream's max-deleted id, entries-added or a group's entries-read:
        // Redis derives them, so compare streams without those. (For an empty v1 stream Redis 7.0 even
        // derives a first id of UINT64_MAX-UINT64_MAX.)
        func dropStreamMeta(_ s: [String: Any]) -> [String: Any] {
            var s = s
            s["functions"] = []
            s["keys"] = (s["keys"] as! [[String: Any]]).map { k in
                guard k["type"] as? String == "stream", var v = k["value"] as? [String: Any] else { return k }
                var k = k
                v["max_deleted_id"] = nil
                v["entries_added"] = nil
                if v["length"] as? Int == 0 { v["first_id"] = nil }
                v["groups"] = (v["groups"] as! [[String: Any]]).map { var g = $0; g["entries_read"] = nil; return g }
                k["value"] = v
                return k
            }
            return s
        }
        let diffs = snapshotDifferences(dropStreamMeta(theirs), dropStreamMeta(sidecar), compareEncoding: true)
        #expect(diffs.isEmpty, "\(diffs.prefix(5))")
    }

    @Test func cairnDumpPayloadsRestoreIntoRedis() throws {
        let dir = try makeTempDir()
        defer { removeTree(dir) }
        let r = try RDBReader(path: Paths.repo("Fixtures/rdb/redis70-lzf-crc.rdb"))
        var items: [[String: Any]] = []
        while let rec = try r.next() {
            guard case .entry(let e) = rec else { continue }
            let payload = try DumpPayload.encode(e.value, version: 10)
            items.append(["db": e.db, "key": hex(e.key), "payload": hex(payload), "ttl_ms": 0,
                          "expire_ms": e.expiresAt.map { $0 as Any } ?? NSNull()])
        }
        let file = dir + "/dumps.json"
        try JSONSerialization.data(withJSONObject: items).write(to: URL(fileURLWithPath: file))
        let redis = try RedisOracle(dir: dir, dbfilename: "none.rdb")
        defer { redis.stop() }
        let theirs = try redis.snapshot(restoring: file)
        var sidecar = try loadJSON(Paths.repo("Fixtures/rdb/redis70.json")) as! [String: Any]
        sidecar["functions"] = []
        let diffs = snapshotDifferences(theirs, sidecar, compareEncoding: true)
        #expect(diffs.isEmpty, "\(diffs.prefix(5))")
    }
}
