// RDBDecoder: the element-wise walk agrees with RDBReader's decoded values on every fixture, finds what
// Redis refuses (duplicates, broken blobs, bad LZF) through every path (inline and streamed strings,
// in-memory and spilled fingerprints), and the streaming writer's values read back.
import Foundation
import Testing
@testable import StorageFormat
import TestSupport

enum ScanFixtures {
    static func rdb(_ name: String) -> String { Paths.fixture("rdb/" + name) }
    static let redis70 = ["redis70-lzf-crc.rdb", "redis70-lzf-nocrc.rdb", "redis70-nolzf-crc.rdb", "redis70-nolzf-nocrc.rdb"]
    static let validAssets = ["hash-zipmap.rdb", "encodings.rdb", "list-quicklist.rdb", "hash-ziplist.rdb", "zset-ziplist.rdb", "scriptbackup.rdb", "rdb-preamble.aof"]
}

/// What the scanner reports for each key, and how the walk ended.
struct ScannedKey: Equatable {
    var db: Int
    var key: [UInt8]
    var type: UInt8
    var expiresAt: Int64?
    var elements: UInt64
    var largest: Int
    var dataBytes: UInt64
}

func scanAll(_ scanner: RDBDecoder) throws -> (keys: [ScannedKey], empty: Int, end: RDBScanRecord?) {
    var keys: [ScannedKey] = []
    var empty = 0
    var end: RDBScanRecord? = nil
    while let rec = try scanner.next() {
        switch rec {
        case .key(let s):
            keys.append(ScannedKey(db: s.db, key: s.keyBytes, type: s.typeCode, expiresAt: s.expiresAt, elements: s.elements,
                                   largest: s.largestElement, dataBytes: s.dataBytes))
        case .emptyKey: empty += 1
        case .end: end = rec
        default: break
        }
    }
    return (keys, empty, end)
}

/// The facts the scanner should report, computed from RDBReader's materialised value.
func expectedFacts(_ e: RDBEntry) -> (elements: UInt64, largest: Int, dataBytes: UInt64) {
    switch e.value {
    case .string(let s): return (1, s.count, UInt64(s.count))
    case .list(let a), .set(let a): return (UInt64(a.count), a.map(\.count).max() ?? 0, UInt64(a.reduce(0) { $0 + $1.count }))
    case .sortedSet(let m): return (UInt64(m.count), m.map(\.member.count).max() ?? 0, UInt64(m.reduce(0) { $0 + $1.member.count }))
    case .hash(let f):
        return (UInt64(f.count), f.map { max($0.field.count, $0.value.count) }.max() ?? 0, UInt64(f.reduce(0) { $0 + $1.field.count + $1.value.count }))
    case .stream(let s): return (s.length, 0, 0)
    case .module: return (0, 0, 0)
    }
}

/// An RDB file assembled from raw pieces (for values no writer produces), with a valid CRC64.
func handMadeRDB(version: Int = 10, _ body: [UInt8]) -> [UInt8] {
    var b = Array(String(format: "REDIS%04d", version).utf8) + [0xFE, 0x00] + body + [0xFF]
    let crc = b.withUnsafeBytes { CRC64.update(0, $0) }
    withUnsafeBytes(of: crc.littleEndian) { b.append(contentsOf: $0) }
    return b
}

/// An RDB string in raw form (no integer or LZF encoding).
func rawString(_ s: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    let n = s.count
    if n < 64 { out.append(UInt8(n)) } else if n < 16384 { out += [UInt8(n >> 8) | 0x40, UInt8(n & 255)] } else {
        out.append(0x80)
        withUnsafeBytes(of: UInt32(n).bigEndian) { out.append(contentsOf: $0) }
    }
    return out + s
}

func lengthBytes(_ n: Int) -> [UInt8] { rawString([UInt8](repeating: 0, count: n)).dropLast(n).map { $0 } }

/// An RDB string in LZF form.
func lzfString(_ s: [UInt8]) -> [UInt8] {
    let c = s.withUnsafeBytes { LZF.compress($0, maxOutput: s.count + 64)! }
    return [0xC3] + lengthBytes(c.count) + lengthBytes(s.count) + c
}

@Suite struct RDBDecoderTests {
    @Test(arguments: ScanFixtures.redis70)
    func agreesWithTheReaderOnRedisFixtures(file: String) throws {
        try compareWithReader(ScanFixtures.rdb(file))
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: Paths.sharedFixtures)), arguments: ScanFixtures.validAssets)
    func agreesWithTheReaderOnRedisAssets(file: String) throws {
        try compareWithReader(Paths.sharedFixtures + "/" + file)
    }

    func compareWithReader(_ path: String) throws {
        let reader = try RDBReader(path: path)
        var entries: [RDBEntry] = []
        var readerEnd: RDBRecord? = nil
        while let r = try reader.next() {
            if case .entry(let e) = r { entries.append(e) }
            if case .end = r { readerEnd = r }
        }
        let (keys, _, end) = try scanAll(try RDBDecoder(path: path))
        #expect(keys.count == entries.count)
        for (k, e) in zip(keys, entries) {
            #expect(k.key == e.key && k.db == e.db && k.type == e.typeCode && k.expiresAt == e.expiresAt)
            let f = expectedFacts(e)
            #expect(k.elements == f.elements, "\(ByteText.quoted(k.key)) elements")
            if case .stream = e.value { continue }
            #expect(k.largest == f.largest, "\(ByteText.quoted(k.key)) largest element")
            #expect(k.dataBytes == f.dataBytes, "\(ByteText.quoted(k.key)) data bytes")
        }
        if case .end(let c1, let v1) = end, case .end(let c2, let v2) = readerEnd {
            #expect(c1 == c2 && v1 == v2)
        } else {
            Issue.record("no end record")
        }
    }

    @Test func sampleEntriesOfEveryVersionScan() throws {
        for version in 9 ... 12 {
            let bytes = try writeRDB(sampleEntries(), options: RDBWriterOptions(version: version))
            let (keys, empty, end) = try scanAll(try RDBDecoder(bytes: bytes))
            #expect(keys.count == sampleEntries().count)
            #expect(empty == 0)
            if case .end(_, let verified) = end { #expect(verified) } else { Issue.record("no end") }
            // The same bytes through a gzip-like piecewise source and a mapped file give the same facts.
            let dir = NSTemporaryDirectory() + "scan-\(getpid())-\(version).rdb"
            try Data(bytes).write(to: URL(fileURLWithPath: dir))
            defer { unlink(dir) }
            #expect(try scanAll(try RDBDecoder(path: dir)).keys == keys)
        }
    }

    @Test func corruptZiplistNamesKeyTypeAndOffset() throws {
        let path = Paths.sharedFixtures + "/corrupt_ziplist.rdb"
        guard FileManager.default.fileExists(atPath: path) else { return }
        let s = try RDBDecoder(path: path)
        do {
            _ = try scanAll(s)
            Issue.record("accepted")
        } catch let e as FormatError {
            #expect(e.key == Array("key:000000000091".utf8))
            // The decoder names the type by code; cairn-check-rdb prints "type 13 (hash-ziplist) value: ziplist".
            #expect(e.typeCode == 13 && e.context.contains("ziplist"))
            #expect(e.offset > 400 && e.offset < 1415)
            #expect(s.currentType == 13)
            #expect(s.phase == .readValue)
        }
    }

    @Test func emptyAggregatesAreReportedNotFatal() throws {
        let path = Paths.sharedFixtures + "/corrupt_empty_keys.rdb"
        guard FileManager.default.fileExists(atPath: path) else { return }
        let (keys, empty, end) = try scanAll(try RDBDecoder(path: path))
        #expect(keys.isEmpty)
        #expect(empty == 9)
        #expect(end != nil)
    }

    // MARK: - Duplicates

    func expectDuplicate(_ bytes: [UInt8], budget: Int = 16 << 20, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        var o = RDBDecoder.Options()
        o.fingerprintBudget = budget
        do {
            _ = try scanAll(try RDBDecoder(bytes: bytes, options: o))
            Issue.record("a duplicate \(what) was accepted", sourceLocation: sourceLocation)
        } catch let e as FormatError {
            #expect("\(e)".contains(what) || "\(e)".contains("repeats"), "\(e)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func duplicateMembersAreFoundInEveryEncoding() throws {
        func b(_ s: String) -> [UInt8] { Array(s.utf8) }
        // Hash table set (type 2) with "12" as an int encoding and as raw text: Redis compares text.
        expectDuplicate(handMadeRDB([2] + rawString(b("s")) + [2, 0xC0, 12] + rawString(b("12"))), "set member")
        // Hash (type 4), zset (type 5).
        expectDuplicate(handMadeRDB([4] + rawString(b("h")) + [2] + rawString(b("f")) + rawString(b("1")) + rawString(b("f")) + rawString(b("2"))), "hash field")
        var z: [UInt8] = [5] + rawString(b("z")) + [2]
        for m in ["m", "m"] { z += rawString(b(m)); withUnsafeBytes(of: (1.5).bitPattern.littleEndian) { z += $0 } }
        expectDuplicate(handMadeRDB(z), "sorted set member")
        // Listpack hash and zset, listpack set (v11).
        var lp = ListpackEncoder()
        for s in ["f", "v", "g", "w", "f", "x"] { lp.append(b(s)) }
        expectDuplicate(handMadeRDB([16] + rawString(b("h")) + rawString(lp.finish())), "hash field")
        var lps = ListpackEncoder()
        for s in ["a", "7", "7"] { lps.append(b(s)) }
        expectDuplicate(handMadeRDB(version: 11, [20] + rawString(b("s")) + rawString(lps.finish())), "set member")
        // A member of 2 MB stored raw (streamed through) and the same bytes LZF-compressed (decompressed whole).
        var rng = TestRNG(seed: 5)
        let big = (0 ..< (2 << 20)).map { _ in UInt8(ascii: "a") + UInt8(rng.next() % 4) }
        expectDuplicate(handMadeRDB([2] + rawString(b("bigset")) + [2] + rawString(big) + lzfString(big)), "set member")
        // Unique ones pass.
        let ok = handMadeRDB([2] + rawString(b("s")) + [2, 0xC0, 12] + rawString(b("13")))
        #expect(try scanAll(try RDBDecoder(bytes: ok)).keys.count == 1)
    }

    @Test func duplicatesAreFoundAfterSpillingToDisk() throws {
        func b(_ s: String) -> [UInt8] { Array(s.utf8) }
        let n = 60_000
        var body: [UInt8] = [2] + rawString(b("set")) + lengthBytes(n)
        for i in 0 ..< n - 1 { body += rawString(b("member:\(i)")) }
        let unique = handMadeRDB(body + rawString(b("member:last")))
        let repeated = handMadeRDB(body + rawString(b("member:3")))
        var o = RDBDecoder.Options()
        o.fingerprintBudget = 1 << 16   // a 4096-slot table: the members spill many times
        #expect(try scanAll(try RDBDecoder(bytes: unique, options: o)).keys.count == 1)
        expectDuplicate(repeated, budget: 1 << 16, "set member")
    }

    @Test func duplicateKeysAreFoundWithTheirNames() throws {
        func b(_ s: String) -> [UInt8] { Array(s.utf8) }
        var body: [UInt8] = []
        for i in 0 ..< 20_000 { body += [0] + rawString(b("key:\(i)")) + [0xC0, 1] }
        let unique = handMadeRDB(body)
        let repeated = handMadeRDB(body + [0] + rawString(b("key:17")) + [0xC0, 2])
        var o = RDBDecoder.Options()
        o.fingerprintBudget = 1 << 15   // spills the key log many times
        let s1 = try RDBDecoder(bytes: unique, options: o)
        _ = try scanAll(s1)
        #expect(try s1.duplicateKeyAfterEnd() == nil)
        let s2 = try RDBDecoder(bytes: repeated, options: o)
        _ = try scanAll(s2)
        let fp = try #require(try s2.duplicateKeyAfterEnd())
        let found = try RDBDecoder.findKeys(withFingerprint: fp, source: MemorySource(repeated))
        #expect(found.map(\.key) == [b("key:17"), b("key:17")])
        #expect(found[0].offset < found[1].offset)
        // The same key in two databases is not a duplicate.
        let twoDBs = handMadeRDB([0] + rawString(b("k")) + [0xC0, 1, 0xFE, 0x01, 0] + rawString(b("k")) + [0xC0, 1])
        let s3 = try RDBDecoder(bytes: twoDBs)
        _ = try scanAll(s3)
        #expect(try s3.duplicateKeyAfterEnd() == nil)
    }

    // MARK: - Strings through every path

    @Test func largeStringsStreamThroughAndLZFIsValidated() throws {
        func b(_ s: String) -> [UInt8] { Array(s.utf8) }
        var rng = TestRNG(seed: 9)
        let raw3MB = (0 ..< (3 << 20)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let text6MB = (0 ..< (6 << 20)).map { i in UInt8(ascii: "a") + UInt8((i / 7 + Int(rng.next() % 2)) % 26) }
        let file = handMadeRDB([0] + rawString(b("raw")) + rawString(raw3MB) + [0] + rawString(b("lzf")) + lzfString(text6MB))
        let (keys, _, _) = try scanAll(try RDBDecoder(bytes: file))
        #expect(keys.map(\.largest) == [3 << 20, 6 << 20])
        // Claim one byte more than the big LZF stream holds (the streamed decoder): refused.
        let ulenAt = 11 + 1 + 4 + 5 + (3 << 20) + 1 + 4 + 1 + 5
        var broken = file
        #expect(broken[ulenAt] == 0x80)
        broken[ulenAt + 4] &+= 1
        let crc = broken.withUnsafeBytes { CRC64.update(0, UnsafeRawBufferPointer(rebasing: $0[0 ..< broken.count - 8])) }
        broken.replaceSubrange(broken.count - 8 ..< broken.count, with: withUnsafeBytes(of: crc.littleEndian) { Array($0) })
        #expect(throws: FormatError.self) { _ = try scanAll(try RDBDecoder(bytes: broken)) }
    }

    @Test func streamedLZFDecoderAcceptsExactlyWhatLiblzfAccepts() throws {
        var rng = TestRNG(seed: 21)
        for round in 0 ..< 300 {
            let n = 20 + Int(rng.next() % 5000)
            let input = (0 ..< n).map { i in UInt8(ascii: "a") + UInt8((i / (1 + round % 9) + Int(rng.next() % 3)) % 26) }
            var c = try #require(input.withUnsafeBytes { LZF.compress($0, maxOutput: n + 64) })
            var ulen = n
            switch round % 4 {
            case 1: c[Int(rng.next() % UInt64(c.count))] ^= UInt8(1 + rng.next() % 255)
            case 2: c.removeLast(1 + Int(rng.next() % UInt64(min(c.count, 8))))
            case 3: ulen += Int(rng.next() % 5) - 2
            default: break
            }
            let viaLib: [UInt8]? = try? c.withUnsafeBytes { try LZF.decompress($0, originalLength: max(ulen, 0), baseOffset: 0) }
            var out: [UInt8] = []
            var stream = RDBLZFStream(originalLength: max(ulen, 0), baseOffset: 0)
            defer { stream.release() }
            var ok = true
            do {
                var p = 0
                while p < c.count {
                    let k = min(c.count - p, 1 + Int(rng.next() % 700))
                    try c.withUnsafeBytes { try stream.feed(UnsafeRawBufferPointer(rebasing: $0[p ..< p + k])) { out.append(contentsOf: $0) } }
                    p += k
                }
                try stream.finish { out.append(contentsOf: $0) }
            } catch { ok = false }
            #expect(ok == (viaLib != nil), "round \(round)")
            if ok, let viaLib { #expect(out == viaLib, "round \(round)") }
        }
    }

    @Test func fingerprintsDoNotDependOnHowBytesArrive() {
        var rng = TestRNG(seed: 3)
        for n in [17, 31, 64, 1000, 70_000] {
            let bytes = (0 ..< n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let whole = bytes.withUnsafeBytes { RDBFingerprint.of($0) }
            var f = RDBFingerprint()
            var p = 0
            while p < n {
                let k = min(n - p, 1 + Int(rng.next() % 50))
                bytes.withUnsafeBytes { f.update(UnsafeRawBufferPointer(rebasing: $0[p ..< p + k])) }
                p += k
            }
            #expect(f.finish() == whole, "\(n) bytes")
        }
        // Integers and the strings that spell them strictly fingerprint alike; others do not.
        #expect(Array("123".utf8).withUnsafeBytes { RDBFingerprint.ofCanonical($0) } == RDBFingerprint.of(int: 123))
        #expect(Array("0123".utf8).withUnsafeBytes { RDBFingerprint.ofCanonical($0) } != RDBFingerprint.of(int: 123))
    }

    @Test func fingerprintLogFindsARepeatAcrossRuns() throws {
        for budget in [1 << 12, 1 << 20] {
            var rng = TestRNG(seed: UInt64(budget))
            let values = (0 ..< 50_000).map { _ in rng.next() }
            let log = RDBFingerprintLog(budgetBytes: budget)
            for v in values { try log.append(v) }
            #expect(try log.finish() == nil)
            for v in values { try log.append(v) }
            try log.append(values[12_345])
            #expect(try log.finish() == values[12_345])
        }
    }

    // MARK: - Structure

    @Test func typesNewerThanTheFileAreRefused() throws {
        var lp = ListpackEncoder()
        lp.append(Array("a".utf8))
        let setListpackInV10 = handMadeRDB(version: 10, [20] + rawString(Array("s".utf8)) + rawString(lp.finish()))
        #expect(throws: FormatError.self) { _ = try scanAll(try RDBDecoder(bytes: setListpackInV10)) }
        var o = RDBDecoder.Options()
        o.strictTypeVersions = false
        #expect(try scanAll(try RDBDecoder(bytes: setListpackInV10, options: o)).keys.count == 1)
    }

    @Test func everyTruncationAndFlipEndsWithAnOffsetNotACrash() throws {
        let bytes = try writeRDB(sampleEntries(), options: RDBWriterOptions(version: 10))
        var rng = TestRNG(seed: 77)
        for cut in stride(from: 9, to: bytes.count, by: max(1, bytes.count / 400)) {
            do {
                _ = try scanAll(try RDBDecoder(bytes: Array(bytes[0 ..< cut])))
                Issue.record("truncation at \(cut) accepted")
            } catch let e as FormatError {
                #expect(e.offset <= cut)
            }
        }
        for _ in 0 ..< 400 {
            var b = bytes
            b[9 + Int(rng.next() % UInt64(b.count - 9))] ^= UInt8(1 + rng.next() % 255)
            do { _ = try scanAll(try RDBDecoder(bytes: b)) } catch let e as FormatError { #expect(e.offset >= 0 && e.offset <= b.count) }
        }
    }

    @Test func resyncFindsTheNextKeyAfterADamagedValue() throws {
        let bytes = try writeRDB(sampleEntries(), options: RDBWriterOptions(version: 10))
        let reader = try RDBReader(bytes: bytes)
        var offsets: [Int] = []
        while let r = try reader.next() { if case .entry(let e) = r { offsets.append(e.offset) } }
        // Break the length of the "biglist" value (the 10th key) and look for the next record after it.
        let victim = offsets[8]
        var damaged = bytes
        let window = UnsafeMutableRawBufferPointer.allocate(byteCount: damaged.count, alignment: 16)
        defer { window.deallocate() }
        damaged[victim + 10] ^= 0xFF
        window.copyBytes(from: damaged)
        var at = victim + 1
        var found: Int? = nil
        while at < damaged.count {
            if case .plausible(_, let start) = RDBResync.trial(window: window, windowOffset: 0, at: at, fileSize: damaged.count,
                                                               dialect: RDBDialect(family: .redis, version: 10), db: 0) {
                found = start
                break
            }
            at += 1
        }
        #expect(found == offsets[9])
    }

    // MARK: - Streaming writer

    @Test func streamedValuesReadBack() throws {
        var bytes: [UInt8] = []
        let w = try RDBWriter(options: RDBWriterOptions(version: 10)) { bytes.append(contentsOf: $0) }
        try w.writeHeader()
        try w.writeSelectDB(0)
        func b(_ s: String) -> [UInt8] { Array(s.utf8) }
        try w.beginValue(.hash, key: b("h"), count: 3000, expiresAt: 4_102_444_800_000)
        for i in 0 ..< 3000 { try b("f\(i)").withUnsafeBytes { f in try b("v\(i)").withUnsafeBytes { try w.appendHashField(f, value: $0) } } }
        try w.endValue()
        try w.beginValue(.set, key: b("s"), count: 2)
        for m in ["x", "y"] { try b(m).withUnsafeBytes { try w.appendSetMember($0) } }
        try w.endValue()
        try w.beginValue(.sortedSet, key: b("z"), count: 2)
        try b("hi").withUnsafeBytes { try w.appendSortedSetMember($0, score: 2) }
        try b("lo").withUnsafeBytes { try w.appendSortedSetMember($0, score: 1) }
        try w.endValue()
        try w.beginValue(.list, key: b("l"), count: 2)
        for m in ["a", "b"] { try b(m).withUnsafeBytes { try w.appendListElement($0) } }
        try w.endValue()
        try w.finish()
        let (entries, _, end) = try readAll(bytes)
        #expect(entries.count == 4)
        if case .hash(let f) = entries[0].value { #expect(f.count == 3000 && f[2999] == RDBHashField(field: b("f2999"), value: b("v2999"))) }
        #expect(entries[0].expiresAt == 4_102_444_800_000)
        #expect(entries[1].value == .set([b("x"), b("y")]))
        #expect(entries[3].value == .list([b("a"), b("b")]))
        if case .end(_, let verified) = end { #expect(verified) }
        // Counts are enforced.
        let w2 = try RDBWriter(options: RDBWriterOptions(version: 10)) { _ in }
        try w2.beginValue(.set, key: b("s"), count: 2)
        try b("x").withUnsafeBytes { try w2.appendSetMember($0) }
        #expect(throws: RDBWriteError.self) { try w2.endValue() }
        #expect(throws: RDBWriteError.self) { try b("x").withUnsafeBytes { try w2.appendHashField($0, value: $0) } }
    }
}

@Suite struct RDBCRC64WideTests {
    @Test func wideCRCEqualsTheReferenceAtEverySize() {
        var rng = TestRNG(seed: 42)
        let data = (0 ..< (600 << 10)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        data.withUnsafeBytes { all in
            for n in [0, 1, 7, 8, 131_071, 131_072, 131_073, 262_144 + 5, 600 << 10] {
                for start in [0, 3] where start + n <= all.count {
                    let piece = UnsafeRawBufferPointer(rebasing: all[start ..< start + n])
                    #expect(CRC64.updateWide(0x1234, piece) == CRC64.update(0x1234, piece), "\(n) bytes from \(start)")
                }
            }
        }
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC64.updateWide(0, $0) } == 0xe9c6_d914_c4b8_d9ca)
    }
}

@Suite struct RDBDecoderDialectTests {
    func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// A file with a given magic and body, and a valid checksum.
    func file(_ magic: String, _ body: [UInt8]) -> [UInt8] {
        var f = Array(magic.utf8) + body + [0xFF]
        let crc = f.withUnsafeBytes { CRC64.update(0, $0) }
        withUnsafeBytes(of: crc.littleEndian) { f.append(contentsOf: $0) }
        return f
    }

    @Test func valkeyHashWithFieldTTLsAndItsDialect() throws {
        // VALKEY080: type 22 is HASH_2 (field, value, ms64 expiry; -1 = none).
        var body: [UInt8] = [0xFE, 0x00, 22] + rawString(b("h")) + [2]
        body += rawString(b("f1")) + rawString(b("v1"))
        withUnsafeBytes(of: Int64(4_102_444_800_000).littleEndian) { body += $0 }
        body += rawString(b("f2")) + rawString(b("v2"))
        withUnsafeBytes(of: Int64(-1).littleEndian) { body += $0 }
        let s = try RDBDecoder(bytes: file("VALKEY080", body))
        #expect(s.dialect == RDBDialect(family: .valkey, version: 80))
        var ttl = -1
        while let r = try s.next() { if case .key(let k) = r { ttl = k.fieldsWithTTL; #expect(k.elements == 2) } }
        #expect(ttl == 1)
        // The same type under a REDIS0011 magic is a type that version cannot hold.
        #expect(throws: FormatError.self) { _ = try scanAll(try RDBDecoder(bytes: file("REDIS0011", body))) }
    }

    @Test func moduleValuesAndAuxAreWalkedAndNamed() throws {
        // Module id for "cairntest" encver 1, then opcodes: UINT 5, STRING "abc", DOUBLE, FLOAT, EOF.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var id: UInt64 = 0
        for c in "cairntest" { id = id << 6 | UInt64(alphabet.firstIndex(of: c)!) }
        id = id << 10 | 1
        var idBytes: [UInt8] = [0x81]
        withUnsafeBytes(of: id.bigEndian) { idBytes += $0 }
        var ops: [UInt8] = [2, 5, 5] + rawString(b("abc")) + [4] + [UInt8](repeating: 0, count: 8) + [3, 0, 0, 0, 0, 0]
        var body: [UInt8] = [0xF7] + idBytes + [2, 1] + ops      // MODULE_AUX before keys
        body += [0xFE, 0x00, 7] + rawString(b("m")) + idBytes + ops
        var seenAux = false, name: String? = nil
        let s = try RDBDecoder(bytes: file("REDIS0010", body))
        while let r = try s.next() {
            if case .moduleAux(let mid, let when, _) = r { seenAux = mid == id && when == 1 }
            if case .key(let k) = r { name = k.moduleName }
        }
        #expect(seenAux)
        #expect(name == "cairntest")
        // An unknown opcode inside is refused with its offset.
        ops[0] = 9
        body = [0xFE, 0x00, 7] + rawString(b("m")) + idBytes + ops
        #expect(throws: FormatError.self) { _ = try scanAll(try RDBDecoder(bytes: file("REDIS0010", body))) }
    }
}
