// RDBCheck (cairn-check-rdb's logic) through its library API, on files in Fixtures/rdb and
// ../shared/fixtures/redis-assets and on broken copies made in a temporary folder: a Redis-written
// dump passes with every key and expiry counted and its checksum verified; a cut file, a duplicate
// key and Redis's own corrupt assets are reported with redis-check-rdb's lines.
import Foundation
import Testing
import StorageFormat
import TestSupport
import ToolKit

/// Runs the checker on `path`; returns it (with its findings) and the lines it printed.
func checkRDB(_ path: String) throws -> (check: RDBCheck, lines: [String]) {
    var options = RDBCheckOptions()
    options.progress = false
    let check = RDBCheck(path: path, options: options)
    var lines: [String] = []
    check.emit = { lines.append($0) }
    try check.run()
    return (check, lines)
}

@Suite struct RDBCheckTests {
    /// Keys and expiries of the Redis 7.0 fixtures, from their sidecar (Fixtures/rdb/redis70.json).
    static func sidecarCounts() throws -> (keys: Int, expires: Int) {
        let doc = try JSONSerialization.jsonObject(with: Data(readBytes(Paths.fixture("rdb/redis70.json")))) as! [String: Any]
        let keys = doc["keys"] as! [[String: Any]]
        return (keys.count, keys.filter { !($0["expire_ms"] is NSNull) }.count)
    }

    @Test(arguments: ["redis70-lzf-crc.rdb", "redis70-lzf-nocrc.rdb", "redis70-nolzf-crc.rdb", "redis70-nolzf-nocrc.rdb"])
    func redisFixturePasses(file: String) throws {
        let (check, lines) = try checkRDB(Paths.fixture("rdb/" + file))
        #expect(check.ok, "\(lines)")
        let expected = try RDBCheckTests.sidecarCounts()
        #expect(check.keysRead == expected.keys)
        #expect(check.expires == expected.expires)
        #expect(check.checksum == (file.contains("nocrc") ? .disabled : .verified))
        #expect(check.endOffset == (try readBytes(Paths.fixture("rdb/" + file))).count)
        #expect(lines.contains { $0.hasSuffix("\\o/ RDB looks OK! \\o/") }, "\(lines)")
        #expect(lines.contains("[info] \(expected.keys) keys read"))
    }

    @Test func cutFileIsReportedWhereItEnds() throws {
        let bytes = try readBytes(Paths.fixture("rdb/redis70-lzf-crc.rdb"))
        try withTempDir("cairn-rdbcheck") { dir in
            for length in [bytes.count / 2, bytes.count - 9, bytes.count - 3] {
                let path = dir + "/cut.rdb"
                try writeBytes(path, Array(bytes[0 ..< length]))
                let (check, lines) = try checkRDB(path)
                #expect(!check.ok, "cut at \(length)")
                #expect(check.problems.count == 1, "cut at \(length)")
                #expect(check.problems.first?.error.offset ?? -1 <= length, "cut at \(length)")
                #expect(check.checksum != .verified, "cut at \(length)")
                #expect(lines.contains("--- RDB ERROR DETECTED ---"), "cut at \(length): \(lines)")
                #expect(!lines.contains { $0.contains("RDB looks OK") }, "cut at \(length)")
            }
        }
    }

    /// "exp:list" renamed "exp:hash" (same length, same database) in the copy without a checksum.
    @Test func duplicateKeyIsReported() throws {
        var bytes = try readBytes(Paths.fixture("rdb/redis70-lzf-nocrc.rdb"))
        let list = Array("exp:list".utf8)
        let at = try #require((0 ... bytes.count - list.count).first { Array(bytes[$0 ..< $0 + list.count]) == list })
        bytes.replaceSubrange(at ..< at + list.count, with: Array("exp:hash".utf8))
        try withTempDir("cairn-rdbcheck") { dir in
            try writeBytes(dir + "/dup.rdb", bytes)
            let (check, lines) = try checkRDB(dir + "/dup.rdb")
            #expect(!check.ok)
            let problem = try #require(check.problems.first)
            #expect(problem.error.expected == "each key once per database", "\(lines)")
            #expect(problem.error.key == Array("exp:hash".utf8))
        }
    }

    @Test(.enabled(if: Paths.haveSharedFixtures, "../shared/fixtures/redis-assets is absent"),
          arguments: ["corrupt_empty_keys.rdb", "corrupt_ziplist.rdb"])
    func redisCorruptAssetsAreReported(file: String) throws {
        let (check, lines) = try checkRDB(Paths.sharedFixtures + "/" + file)
        #expect(!check.ok || !check.warnings.isEmpty, "\(lines)")
    }

    @Test(.enabled(if: Paths.haveSharedFixtures, "../shared/fixtures/redis-assets is absent"),
          arguments: ["encodings.rdb", "hash-zipmap.rdb", "list-quicklist.rdb", "zset-ziplist.rdb"])
    func redisAssetsPass(file: String) throws {
        let (check, lines) = try checkRDB(Paths.sharedFixtures + "/" + file)
        #expect(check.ok, "\(lines)")
        #expect(check.keysRead > 0)
    }
}
