import Testing
@testable import StorageFormat
import TestSupport

@Suite struct DumpPayloadTests {
    /// Redis 7.0's DUMP of `SET k 1` (FORMATS.md §10).
    @Test func redisPayloadOfSmallIntegerString() throws {
        let payload = hexBytes("00 C0 01 0A 00 26 78 E7 B6 D1 01 11 FC")
        #expect(try DumpPayload.encode(.string(Array("1".utf8))) == payload)
        let (type, value) = try DumpPayload.decode(payload)
        #expect(type == 0)
        #expect(value == .string(Array("1".utf8)))
    }

    /// Bodies of Redis 7.0 DUMP payloads (FORMATS.md §10), without the CRC.
    @Test(arguments: [
        ("10 15 15 00 00 00 04 00 82 66 31 03 82 76 31 03 82 66 32 03 64 01 FF 0A 00",
         RDBValue.hash([RDBHashField(field: Array("f1".utf8), value: Array("v1".utf8)), RDBHashField(field: Array("f2".utf8), value: Array("100".utf8))])),
        ("11 14 14 00 00 00 04 00 81 6D 02 83 31 2E 35 04 81 6E 02 02 01 FF 0A 00",
         RDBValue.sortedSet([RDBScoredMember(member: Array("m".utf8), score: 1.5), RDBScoredMember(member: Array("n".utf8), score: 2)])),
        ("12 01 02 0C 0C 00 00 00 02 00 81 61 02 01 01 FF 0A 00", RDBValue.list([Array("a".utf8), Array("1".utf8)])),
        ("0B 0E 02 00 00 00 03 00 00 00 01 00 02 00 03 00 0A 00", RDBValue.set([Array("1".utf8), Array("2".utf8), Array("3".utf8)])),
    ])
    func redisPayloadBodiesEncodeIdentically(body: String, value: RDBValue) throws {
        let expected = hexBytes(body)
        let mine = try DumpPayload.encode(value)
        #expect(Array(mine.dropLast(8)) == expected)
        #expect(try DumpPayload.decode(mine).value == value)
    }

    @Test func rejectsBadChecksumAndNewerVersion() throws {
        var p = try DumpPayload.encode(.string(Array("hello".utf8)))
        p[p.count - 1] ^= 1
        do { _ = try DumpPayload.decode(p); Issue.record("accepted") } catch let e as DumpPayload.Rejection {
            #expect(e.message == "ERR DUMP payload version or checksum are wrong")
        }
        let v12 = try DumpPayload.encode(.string(Array("hello".utf8)), version: 12)
        #expect(throws: DumpPayload.Rejection.self) { _ = try DumpPayload.decode(v12, maxVersion: 10) }
        #expect(try DumpPayload.decode(v12, maxVersion: 12).value == .string(Array("hello".utf8)))
    }

    @Test func rejectsBadBodyWithRedisText() throws {
        // A valid footer around a truncated listpack.
        var body: [UInt8] = [0x10, 0x05, 0x15, 0, 0, 0, 4, 0x0A, 0x00]
        let crc = body.withUnsafeBytes { CRC64.update(0, $0) }
        withUnsafeBytes(of: crc.littleEndian) { body.append(contentsOf: $0) }
        do { _ = try DumpPayload.decode(body); Issue.record("accepted") } catch let e as DumpPayload.Rejection {
            #expect(e.message == "Bad data format")
            #expect(e.cause != nil)
        }
    }
}
