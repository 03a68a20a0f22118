// The real files from Redis 2.x–7.x in ../shared/fixtures/redis-assets: each valid one decodes to what
// real redis-server 7.0 holds after loading it; the corrupt ones fail with a clear error, not a crash.
import Foundation
import Testing
@testable import StorageFormat
import TestSupport

let validAssets = ["hash-zipmap.rdb", "encodings.rdb", "list-quicklist.rdb", "hash-ziplist.rdb", "zset-ziplist.rdb", "scriptbackup.rdb"]

@Suite(.enabled(if: FileManager.default.fileExists(atPath: Paths.sharedFixtures), "../shared/fixtures/redis-assets is absent"))
struct RedisAssetsTests {
    @Test(arguments: validAssets)
    func assetDecodes(file: String) throws {
        let (snap, end, _) = try canonicalFile(Paths.sharedFixtures + "/" + file)
        #expect(end != nil)
        if file != "scriptbackup.rdb" { #expect(!(snap["keys"] as! [Any]).isEmpty) }
    }

    @Test(.enabled(if: RedisOracle.snapshotAvailable, "redis-server, redis-cli or python3 missing: run tools/test"), arguments: validAssets)
    func assetMatchesRealRedis(file: String) throws {
        let dir = try makeTempDir()
        defer { removeTree(dir) }
        try FileManager.default.copyItem(atPath: Paths.sharedFixtures + "/" + file, toPath: dir + "/dump.rdb")
        let redis = try RedisOracle(dir: dir)
        defer { redis.stop() }
        let theirs = try redis.snapshot()
        let (mine, _, _) = try canonicalFile(Paths.sharedFixtures + "/" + file)
        let diffs = snapshotDifferences(mine, theirs)
        #expect(diffs.isEmpty, "\(file): \(diffs.prefix(5))")
    }

    @Test func corruptZiplistIsAClearError() throws {
        do {
            _ = try canonicalFile(Paths.sharedFixtures + "/corrupt_ziplist.rdb")
            Issue.record("corrupt_ziplist.rdb was accepted")
        } catch let e as FormatError {
            #expect(e.offset > 9)
            #expect(e.key != nil)
            #expect(e.context == "ziplist")
            #expect(!e.description.isEmpty)
        }
    }

    @Test func emptyKeysAreSkippedAsRedisDoes() throws {
        let (snap, end, skipped) = try canonicalFile(Paths.sharedFixtures + "/corrupt_empty_keys.rdb")
        #expect(end != nil)
        #expect(skipped > 0)
        #expect((snap["keys"] as! [Any]).isEmpty)
    }
}
