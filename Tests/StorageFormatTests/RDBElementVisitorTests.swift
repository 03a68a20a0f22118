// RDBReader.nextWalking: the element-wise walk hands out exactly what RDBReader.next() decodes — same
// records, same keys, same values in the same order — for every encoding (plain, listpack, ziplist,
// intset, zipmap, quicklist, streams, hash field TTLs, Valkey's HASH_2) and every fixture; it refuses
// what next() refuses, at the same offset; and it skips empty aggregates as next() does.
import Foundation
import Testing
@testable import StorageFormat
import TestSupport

/// Every record of a walk, keys rebuilt from their elements (RDBValueBuilder).
func walkAll(_ reader: RDBReader) throws -> [RDBRecord] {
    var out: [RDBRecord] = []
    let builder = RDBValueBuilder()
    var begun = 0, ended = 0
    final class Counter: RDBElementVisitor {
        let next: RDBValueBuilder
        var begun = 0, ended = 0
        init(_ next: RDBValueBuilder) { self.next = next }
        func beginValue(_ h: RDBKeyHeader) throws { begun += 1; try next.beginValue(h) }
        func string(_ v: UnsafeRawBufferPointer) throws { try next.string(v) }
        func listElement(_ e: UnsafeRawBufferPointer) throws { try next.listElement(e) }
        func setMember(_ m: UnsafeRawBufferPointer) throws { try next.setMember(m) }
        func sortedSetMember(_ m: UnsafeRawBufferPointer, score: Double) throws { try next.sortedSetMember(m, score: score) }
        func hashField(_ f: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64) throws {
            try next.hashField(f, value: value, expiresAt: expiresAt)
        }
        func streamNode(_ n: RDBStreamNode) throws { try next.streamNode(n) }
        func streamEnd(_ s: RDBStream) throws { try next.streamEnd(s) }
        func module(_ m: RDBModuleValue) throws { try next.module(m) }
        func endValue() throws { ended += 1; try next.endValue() }
    }
    let counter = Counter(builder)
    while let r = try reader.nextWalking({ _ in counter }) {
        switch r {
        case .record(let rec):
            out.append(rec)
        case .key(let h):
            let e = builder.entry!
            #expect(e.key == h.key && e.db == h.db && e.typeCode == h.typeCode && e.expiresAt == h.expiresAt)
            #expect(e.offset == h.offset)
            // The count announced before the elements, when there is one, is the number handed out.
            if let n = h.count {
                switch e.value {
                case .list(let a), .set(let a): #expect(a.count == n)
                case .sortedSet(let a): #expect(a.count == n)
                case .hash(let a): #expect(a.count == n)
                default: Issue.record("a count for a \(e.value.typeName)")
                }
            }
            out.append(.entry(e))
        }
    }
    begun = counter.begun
    ended = counter.ended
    #expect(begun == ended)
    return out
}

func readRecords(_ reader: RDBReader) throws -> [RDBRecord] {
    var out: [RDBRecord] = []
    while let r = try reader.next() { out.append(r) }
    return out
}

/// Both ways over the same bytes: equal records, or the same error.
func expectWalkMatchesRead(_ bytes: [UInt8], options: RDBReader.Options = RDBReader.Options(), _ label: String) {
    var read: Result<[RDBRecord], FormatError>
    var walked: Result<[RDBRecord], FormatError>
    do { read = .success(try readRecords(try RDBReader(bytes: bytes, options: options))) } catch let e as FormatError { read = .failure(e) } catch {
        Issue.record("\(label): \(error)"); return
    }
    do { walked = .success(try walkAll(try RDBReader(bytes: bytes, options: options))) } catch let e as FormatError { walked = .failure(e) } catch {
        Issue.record("\(label): \(error)"); return
    }
    switch (read, walked) {
    case (.success(let a), .success(let b)):
        #expect(a == b, "\(label)")
    case (.failure(let a), .failure(let b)):
        #expect(a.offset == b.offset && a.expected == b.expected && a.found == b.found && a.key == b.key, "\(label): \(a) vs \(b)")
    default:
        Issue.record("\(label): read \(read), walk \(walked)")
    }
}

@Suite struct RDBElementVisitorTests {
    @Test(arguments: [9, 10, 11, 12])
    func everyEncodingWalksAsItReads(version: Int) throws {
        var entries = sampleEntries()
        if version == 12 {
            // Field TTLs: listpack_ex when small, metadata when large.
            entries.append(RDBEntry(db: 3, key: Array("ttlsmall".utf8), value: .hash([RDBHashField(field: [1], value: [2], expiresAt: 4_102_444_800_000),
                                                                                       RDBHashField(field: [3], value: Array("77".utf8))]), typeCode: 0))
            entries.append(RDBEntry(db: 3, key: Array("ttlbig".utf8), value: .hash((0 ..< 600).map {
                RDBHashField(field: Array("f\($0)".utf8), value: [1], expiresAt: $0 % 2 == 0 ? 4_102_444_800_000 + Int64($0) : 0)
            }), typeCode: 0))
        }
        let bytes = try writeRDB(entries, options: RDBWriterOptions(version: version))
        expectWalkMatchesRead(bytes, "version \(version)")
        // Plain encodings too: thresholds at 0 put every aggregate in its hashtable / skiplist form.
        var plain = RDBWriterOptions(version: version)
        plain.hashMaxListpackEntries = 0; plain.zsetMaxListpackEntries = 0; plain.setMaxIntsetEntries = 0; plain.setMaxListpackEntries = 0
        expectWalkMatchesRead(try writeRDB(entries, options: plain), "plain, version \(version)")
    }

    @Test func everyFixtureWalksAsItReads() throws {
        var paths = ScanFixtures.redis70.map { ScanFixtures.rdb($0) }
        for a in ScanFixtures.validAssets + ["corrupt_ziplist.rdb", "corrupt_empty_keys.rdb"] where a.hasSuffix(".rdb") {
            let p = Paths.sharedFixtures + "/" + a
            if FileManager.default.fileExists(atPath: p) { paths.append(p) }
        }
        #expect(paths.count >= 4)
        for p in paths {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: p)))
            expectWalkMatchesRead(bytes, p)
            var keepEmpty = RDBReader.Options()
            keepEmpty.skipEmptyAggregates = false
            expectWalkMatchesRead(bytes, options: keepEmpty, p + " (empty aggregates kept)")
        }
    }

    @Test func valkeyHash2AndOldScoresWalkAsTheyRead() throws {
        var valkey = Array("VALKEY080".utf8) + [0xFE, 0, 22, 1, 0x68, 2]
        valkey += [1, 0x61, 1, 0x62] + withUnsafeBytes(of: Int64(4_102_444_800_000).littleEndian, Array.init)
        valkey += [1, 0x63, 1, 0x64] + withUnsafeBytes(of: Int64(-1).littleEndian, Array.init)
        valkey += [0xFF] + Array(repeating: 0, count: 8)
        expectWalkMatchesRead(valkey, "valkey")
        // RDB 4: type 3 zset with ASCII scores (and the NaN code, refused), no checksum.
        let zset = Array("REDIS0004".utf8) + [0xFE, 0, 3, 1, 0x7A, 2, 1, 0x61, 3] + Array("1.5".utf8) + [1, 0x62, 254, 0xFF]
        expectWalkMatchesRead(zset, "ascii scores")
        let nan = Array("REDIS0004".utf8) + [0xFE, 0, 3, 1, 0x7A, 1, 1, 0x61, 253, 0xFF]
        expectWalkMatchesRead(nan, "nan score")
    }

    @Test func truncationsAndCorruptionFailAsReadFails() throws {
        let entries = Array(sampleEntries().filter { $0.key.count < 9 })
        let bytes = try writeRDB(entries, options: RDBWriterOptions(version: 10))
        for cut in stride(from: 0, to: bytes.count - 1, by: 7) {
            expectWalkMatchesRead(Array(bytes[0 ..< cut]), "cut at \(cut)")
        }
        var rng = SystemRandomNumberGenerator()
        var o = RDBReader.Options()
        o.verifyChecksum = false
        for i in 0 ..< 1500 {
            var b = bytes
            for _ in 0 ..< Int.random(in: 1 ... 3, using: &rng) {
                b[Int.random(in: 9 ..< b.count, using: &rng)] = UInt8.random(in: 0 ... 255, using: &rng)
            }
            expectWalkMatchesRead(b, options: o, "corruption \(i)")
        }
    }

    @Test func replayHandsOutWhatTheValueHolds() throws {
        for e in sampleEntries() {
            let b = RDBValueBuilder()
            try e.value.replay(RDBKeyHeader(db: e.db, key: e.key, typeCode: 0), into: b)
            #expect(b.value == e.value)
        }
    }
}
