import Testing
@testable import StorageFormat

/// Values of every kind, sized to hit both the compact and the plain encodings.
func sampleEntries() -> [RDBEntry] {
    func b(_ s: String) -> [UInt8] { Array(s.utf8) }
    var entries: [RDBEntry] = []
    var n = 0
    func add(_ key: String, _ v: RDBValue, db: Int = 0, expires: Int64? = nil) {
        entries.append(RDBEntry(db: db, key: b(key), value: v, typeCode: 0, expiresAt: expires))
        n += 1
    }
    add("int", .string(b("12345")))
    add("negint", .string(b("-2147483648")))
    add("bigint", .string(b("12345678901")))
    add("leadingzero", .string(b("007")))
    add("empty", .string([]))
    add("lzf", .string(Array(repeating: UInt8(ascii: "a"), count: 500)), expires: 4_102_444_800_000)
    add("binary", .string((0 ... 255).map { UInt8($0) }))
    add("smalllist", .list([b("a"), b("1"), b("-5"), b("x")]))
    add("biglist", .list((0 ..< 5000).map { b("element-number-\($0)-padding-padding") }))
    add("intset", .set([b("3"), b("1"), b("2"), b("-70000")]))
    add("bigintset", .set((0 ..< 600).map { b(String($0)) }))
    add("strset", .set([b("a"), b("b"), b("c")]))
    add("bigstrset", .set((0 ..< 200).map { b("m\($0)") }))
    add("smallzset", .sortedSet([RDBScoredMember(member: b("m"), score: 1.5), RDBScoredMember(member: b("n"), score: 2),
                                  RDBScoredMember(member: b("i"), score: .infinity), RDBScoredMember(member: b("j"), score: -.infinity),
                                  RDBScoredMember(member: b("k"), score: -0.1)]))
    add("bigzset", .sortedSet((0 ..< 300).map { RDBScoredMember(member: b("z\($0)"), score: Double($0) / 7) }))
    add("smallhash", .hash([RDBHashField(field: b("f1"), value: b("v1")), RDBHashField(field: b("f2"), value: b("100"))]), db: 1)
    add("bighash", .hash((0 ..< 700).map { RDBHashField(field: b("f\($0)"), value: b("v\($0)")) }), db: 1)
    add("longvalhash", .hash([RDBHashField(field: b("f"), value: Array(repeating: 120, count: 100))]), db: 2, expires: 4_102_444_800_001)
    return entries
}

/// Writes `entries` as an RDB file of `options.version` and returns the bytes.
func writeRDB(_ entries: [RDBEntry], options: RDBWriterOptions) throws -> [UInt8] {
    var bytes: [UInt8] = []
    let w = try RDBWriter(options: options) { bytes.append(contentsOf: $0) }
    try w.writeHeader()
    try w.writeStandardAux(ctime: 1_700_000_000, usedMem: 1_000_000)
    var db = -1
    for e in entries {
        if e.db != db {
            db = e.db
            try w.writeSelectDB(db)
            try w.writeResizeDB(dbSize: UInt64(entries.filter { $0.db == db }.count), expiresSize: 0)
        }
        try w.writeEntry(key: e.key, value: e.value, expiresAt: e.expiresAt)
    }
    try w.finish()
    return bytes
}

func readAll(_ bytes: [UInt8]) throws -> (entries: [RDBEntry], aux: [[UInt8]: [UInt8]], end: RDBRecord?) {
    let r = try RDBReader(bytes: bytes)
    var entries: [RDBEntry] = []
    var aux: [[UInt8]: [UInt8]] = [:]
    var end: RDBRecord? = nil
    while let rec = try r.next() {
        switch rec {
        case .entry(let e): entries.append(e)
        case .aux(let k, let v): aux[k] = v
        case .end: end = rec
        default: break
        }
    }
    return (entries, aux, end)
}

/// Values compare as sets where Redis does not keep order (sets; zsets sort on write).
func canonical(_ v: RDBValue) -> RDBValue {
    switch v {
    case .set(let a): return .set(a.sorted { $0.lexicographicallyPrecedes($1) })
    case .sortedSet(let a): return .sortedSet(a.sorted { $0.member.lexicographicallyPrecedes($1.member) })
    default: return v
    }
}

@Suite struct RDBRoundTripTests {
    @Test(arguments: [9, 10, 11, 12])
    func everyValueSurvivesEveryVersion(version: Int) throws {
        let entries = sampleEntries()
        let bytes = try writeRDB(entries, options: RDBWriterOptions(version: version))
        #expect(Array(bytes.prefix(9)) == Array("REDIS00\(version < 10 ? "0" : "")\(version)".utf8))
        let (back, aux, end) = try readAll(bytes)
        #expect(back.count == entries.count)
        for (a, b) in zip(entries, back) {
            #expect(a.key == b.key)
            #expect(a.db == b.db)
            #expect(a.expiresAt == b.expiresAt)
            #expect(canonical(a.value) == canonical(b.value), "key \(String(decoding: a.key, as: UTF8.self)) v\(version)")
        }
        #expect(aux[Array("redis-bits".utf8)] == Array("64".utf8))
        #expect(end == .end(checksum: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self) }, verified: true))
    }

    @Test func encodingsFollowRedis70() throws {
        let (back, _, _) = try readAll(try writeRDB(sampleEntries(), options: RDBWriterOptions(version: 10)))
        let types = Dictionary(uniqueKeysWithValues: back.map { (String(decoding: $0.key, as: UTF8.self), $0.typeCode) })
        #expect(types["int"] == RDBType.string)
        #expect(types["smalllist"] == RDBType.listQuicklist2)
        #expect(types["intset"] == RDBType.setIntset)
        #expect(types["bigintset"] == RDBType.set)
        #expect(types["strset"] == RDBType.set)      // 7.0 has no listpack sets
        #expect(types["smallzset"] == RDBType.zsetListpack)
        #expect(types["bigzset"] == RDBType.zset2)
        #expect(types["smallhash"] == RDBType.hashListpack)
        #expect(types["bighash"] == RDBType.hash)
        #expect(types["longvalhash"] == RDBType.hash)
        let (back11, _, _) = try readAll(try writeRDB(sampleEntries(), options: RDBWriterOptions(version: 11)))
        #expect(back11.first { $0.key == Array("strset".utf8) }?.typeCode == RDBType.setListpack)
    }

    @Test func biglistIsSplitIntoNodesOf8KB() throws {
        let entry = sampleEntries().first { $0.key == Array("biglist".utf8) }!
        var options = RDBWriterOptions(version: 10)
        options.compression = false
        let bytes = try writeRDB([entry], options: options)
        // Find the node count: type 18, key "biglist", then len nodes.
        let idx = bytes.firstIndex(of: RDBType.listQuicklist2)!
        let nodeCountByte = bytes[idx + 1 + 1 + 7]
        // 5000 elements of ~38 bytes at 8 KiB per node is about 24 nodes.
        #expect(nodeCountByte > 15 && nodeCountByte < 40)
    }

    @Test func stringEncodingRules() throws {
        func body(_ s: String, compression: Bool = true) throws -> [UInt8] {
            var o = RDBWriterOptions()
            o.compression = compression
            let w = try RDBWriter(options: o) { _ in }
            w.writeString(Array(s.utf8))
            return w.out.bytes
        }
        #expect(try body("1") == [0xC0, 0x01])
        #expect(try body("-1") == [0xC0, 0xFF])
        #expect(try body("300") == [0xC1, 0x2C, 0x01])
        #expect(try body("2147483647") == [0xC2, 0xFF, 0xFF, 0xFF, 0x7F])
        #expect(try body("2147483648") == [0x0A] + Array("2147483648".utf8))
        #expect(try body("12345678901") == [0x0B] + Array("12345678901".utf8))
        #expect(try body("01") == [0x02] + Array("01".utf8))
        let long = String(repeating: "a", count: 42)
        #expect(try body(long).first == 0xC3)
        #expect(try body(long, compression: false) == [42] + Array(long.utf8))
        // Incompressible: stored raw even with compression on.
        let raw = (0 ..< 30).map { String(UnicodeScalar(UInt8(65 + $0))) }.joined()
        #expect(try body(raw).first == 30)
    }

    @Test func lengthEncodingBoundaries() throws {
        let w = try RDBWriter(options: RDBWriterOptions()) { _ in }
        for (n, expected) in [(UInt64(63), [UInt8(63)]), (64, [0x40, 0x40]), (16383, [0x7F, 0xFF]), (16384, [0x80, 0, 0, 0x40, 0]),
                              (UInt64(UInt32.max), [0x80, 0xFF, 0xFF, 0xFF, 0xFF]),
                              (UInt64(UInt32.max) + 1, [0x81, 0, 0, 0, 1, 0, 0, 0, 0])] as [(UInt64, [UInt8])] {
            w.out.removeAll()
            w.writeLength(n)
            #expect(w.out.bytes == expected, "\(n)")
            let r = try RDBReader(bytes: Array("REDIS0010".utf8) + expected)
            #expect(try r.decoder.readLength("test") == n)
        }
    }

    @Test func hashFieldTTLsNeedVersion12() throws {
        let e = RDBEntry(db: 0, key: Array("h".utf8), value: .hash([RDBHashField(field: [1], value: [2], expiresAt: 4_102_444_800_000),
                                                                   RDBHashField(field: [3], value: [4])]), typeCode: 0)
        #expect(throws: RDBWriteError.self) { try writeRDB([e], options: RDBWriterOptions(version: 11)) }
        var lossy = RDBWriterOptions(version: 11)
        lossy.lossy = true
        let dropped = try readAll(try writeRDB([e], options: lossy)).entries[0]
        #expect(dropped.value == .hash([RDBHashField(field: [1], value: [2]), RDBHashField(field: [3], value: [4])]))
        // v12: listpack_ex when small, metadata when large; both read back with their TTLs.
        let small = try readAll(try writeRDB([e], options: RDBWriterOptions(version: 12))).entries[0]
        #expect(small.typeCode == RDBType.hashListpackEx)
        #expect(canonicalHash(small.value) == canonicalHash(e.value))
        var big = e
        big.value = .hash((0 ..< 600).map { RDBHashField(field: Array("f\($0)".utf8), value: [1], expiresAt: $0 % 2 == 0 ? 4_102_444_800_000 + Int64($0) : 0) })
        let bigBack = try readAll(try writeRDB([big], options: RDBWriterOptions(version: 12))).entries[0]
        #expect(bigBack.typeCode == RDBType.hashMetadata)
        #expect(canonicalHash(bigBack.value) == canonicalHash(big.value))
    }

    func canonicalHash(_ v: RDBValue) -> [RDBHashField] {
        guard case .hash(let f) = v else { return [] }
        return f.sorted { $0.field.lexicographicallyPrecedes($1.field) }
    }

    @Test func checksumMismatchIsReportedWithOffset() throws {
        var bytes = try writeRDB(sampleEntries(), options: RDBWriterOptions())
        bytes[bytes.count - 1] ^= 0xFF
        do {
            _ = try readAll(bytes)
            Issue.record("a bad checksum was accepted")
        } catch let e as FormatError {
            #expect(e.context == "RDB checksum")
            #expect(e.offset == bytes.count - 8)
        }
        // A zero checksum means checksums were off: accepted, not verified.
        var off = RDBWriterOptions()
        off.checksum = false
        let (_, _, end) = try readAll(try writeRDB(sampleEntries(), options: off))
        #expect(end == .end(checksum: 0, verified: false))
    }

    @Test func everyTruncationIsAnErrorNotACrash() throws {
        let entries = Array(sampleEntries().filter { $0.key.count < 6 || $0.key == Array("smallzset".utf8) })
        let bytes = try writeRDB(entries, options: RDBWriterOptions())
        for cut in stride(from: 0, to: bytes.count - 1, by: 1) {
            #expect(throws: FormatError.self) { _ = try readAll(Array(bytes[0 ..< cut])) }
        }
    }

    @Test func randomCorruptionNeverCrashes() throws {
        let bytes = try writeRDB(Array(sampleEntries().prefix(16)), options: RDBWriterOptions())
        var rng = SystemRandomNumberGenerator()
        for _ in 0 ..< 3000 {
            var b = bytes
            for _ in 0 ..< Int.random(in: 1 ... 4, using: &rng) {
                b[Int.random(in: 9 ..< b.count, using: &rng)] = UInt8.random(in: 0 ... 255, using: &rng)
            }
            var o = RDBReader.Options()
            o.verifyChecksum = false
            do {
                let r = try RDBReader(bytes: b, options: o)
                while try r.next() != nil {}
            } catch is FormatError {
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
    }

    @Test func lyingLengthsDoNotAllocate() throws {
        // A string claiming 2^62 bytes, a list claiming 2^62 elements.
        let huge: [UInt8] = [0x81, 0x40, 0, 0, 0, 0, 0, 0, 0]
        let s = Array("REDIS0010".utf8) + [0xFE, 0, RDBType.string] + huge
        #expect(throws: FormatError.self) { _ = try readAll(s) }
        let l = Array("REDIS0010".utf8) + [0xFE, 0, RDBType.list, 1, 0x6B] + huge
        #expect(throws: FormatError.self) { _ = try readAll(l) }
        let lzf = Array("REDIS0010".utf8) + [0xFE, 0, RDBType.string, 1, 0x6B, 0xC3, 2] + huge + [1, 2]
        #expect(throws: FormatError.self) { _ = try readAll(lzf) }
    }

    @Test func dialectsAreKeyedOnMagicAndVersion() throws {
        #expect(throws: FormatError.self) { _ = try RDBReader(bytes: Array("REDIS0013".utf8)) }
        #expect(throws: FormatError.self) { _ = try RDBReader(bytes: Array("REDIS0000".utf8)) }
        #expect(throws: FormatError.self) { _ = try RDBReader(bytes: Array("VALKEY012".utf8)) }
        #expect(throws: FormatError.self) { _ = try RDBReader(bytes: Array("RUBBISH01".utf8)) }
        #expect(try RDBReader(bytes: Array("VALKEY080".utf8) + [0xFF]).dialect == RDBDialect(family: .valkey, version: 80))
        // Type 24 is a Redis 7.4 hash in REDIS0012 but unknown in REDIS0011.
        do {
            _ = try readAll(Array("REDIS0011".utf8) + [0xFE, 0, 24, 1, 0x6B])
            Issue.record("type 24 accepted in RDB 11")
        } catch let e as FormatError {
            #expect(e.offset == 11)
            #expect(e.found.contains("24"))
        }
        // Valkey's HASH_2 (type 22): field, value, ms64 expiry (-1 none).
        var valkey = Array("VALKEY080".utf8) + [0xFE, 0, 22, 1, 0x68, 2]
        valkey += [1, 0x61, 1, 0x62] + withUnsafeBytes(of: Int64(4_102_444_800_000).littleEndian, Array.init)
        valkey += [1, 0x63, 1, 0x64] + withUnsafeBytes(of: Int64(-1).littleEndian, Array.init)
        valkey += [0xFF] + Array(repeating: 0, count: 8)
        let v = try readAll(valkey).entries
        #expect(v.first?.value == .hash([RDBHashField(field: [0x61], value: [0x62], expiresAt: 4_102_444_800_000), RDBHashField(field: [0x63], value: [0x64])]))
        // Slot info (0xF4) is an opcode in REDIS0012 only.
        let slot = Array("REDIS0012".utf8) + [0xF4, 5, 1, 0, 0xFF] + Array(repeating: 0, count: 8)
        var sawSlot = false
        let r = try RDBReader(bytes: slot)
        while let rec = try r.next() { if case .slotInfo(5, 1, 0) = rec { sawSlot = true } }
        #expect(sawSlot)
        #expect(throws: FormatError.self) { _ = try readAll(Array("REDIS0010".utf8) + [0xF4, 5, 1, 0, 0xFF]) }
    }

    @Test func oldVersionsReadWithoutChecksum() throws {
        // RDB 4: no CRC trailer; EXPIRETIME_MS little-endian; old ASCII zset scores.
        var b = Array("REDIS0004".utf8) + [0xFE, 0, 0xFC] + withUnsafeBytes(of: Int64(4_102_444_800_000).littleEndian, Array.init)
        b += [RDBType.zset, 1, 0x7A, 3, 1, 0x61, 3] + Array("1.5".utf8) + [1, 0x62, 254, 1, 0x63, 255]
        b += [0xFF]
        let (entries, _, end) = try readAll(b)
        #expect(end == .end(checksum: nil, verified: false))
        #expect(entries.first?.expiresAt == 4_102_444_800_000)
        #expect(entries.first?.value == .sortedSet([RDBScoredMember(member: [0x61], score: 1.5), RDBScoredMember(member: [0x62], score: .infinity),
                                                     RDBScoredMember(member: [0x63], score: -.infinity)]))
    }
}
