import Testing
@testable import StorageFormat
import TestSupport

/// Test-only zipmap writer: lengths as Redis wrote them (1 byte if < 254, else FE + u32le), `free` padding
/// bytes after each value, zmlen = count if < 254 else 254 (unless given).
private func buildZipmap(_ pairs: [([UInt8], [UInt8])], free: [Int] = [], zmlen: UInt8? = nil) -> [UInt8] {
    func length(_ n: Int) -> [UInt8] {
        if n < 254 { return [UInt8(n)] }
        var out: [UInt8] = [0xFE]
        withUnsafeBytes(of: UInt32(n).littleEndian) { out.append(contentsOf: $0) }
        return out
    }
    var out: [UInt8] = [zmlen ?? UInt8(min(pairs.count, 254))]
    for (i, (k, v)) in pairs.enumerated() {
        let f = i < free.count ? free[i] : 0
        out += length(k.count) + k + length(v.count) + [UInt8(f)] + v + [UInt8](repeating: 0xAA, count: f)
    }
    return out + [0xFF]
}

private func zipmapError(_ blob: [UInt8], baseOffset: Int = 0) -> FormatError? {
    do {
        try encWithExactBuffer(blob) { raw in _ = try Zipmap.forEach(raw, baseOffset: baseOffset) { _, _ in } }
        return nil
    } catch let e as FormatError {
        return e
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

private func decode(_ blob: [UInt8]) throws -> [([UInt8], [UInt8])] {
    try encWithExactBuffer(blob) { raw in
        var out: [([UInt8], [UInt8])] = []
        let n = try Zipmap.forEach(raw) { k, v in
            #expect(encSpan(k, isInside: raw) && encSpan(v, isInside: raw))
            out.append((Array(k), Array(v)))
        }
        #expect(n == out.count)
        return out
    }
}

private func same(_ a: [([UInt8], [UInt8])], _ b: [([UInt8], [UInt8])]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
}

@Suite struct ZipmapTests {
    // The hash in ../shared/fixtures/redis-assets/hash-zipmap.rdb (Redis 2.x, RDB 3).
    static let redisBlob = hexBytes("02 02 66 31 02 00 76 31 02 66 32 02 00 76 32 FF")

    @Test func decodesRedisBlob() throws {
        let pairs = try Zipmap.pairs(Self.redisBlob)
        #expect(same(pairs, [(encText("f1"), encText("v1")), (encText("f2"), encText("v2"))]))
        #expect(buildZipmap([(encText("f1"), encText("v1")), (encText("f2"), encText("v2"))]) == Self.redisBlob)
    }

    @Test func emptyZipmap() throws {
        #expect(try Zipmap.pairs(hexBytes("00 FF")).isEmpty)
    }

    @Test func skipsFreeBytesAndReadsBigLengths() throws {
        let bigKey = [UInt8](repeating: 0x6B, count: 254)
        let bigValue = [UInt8](repeating: 0x76, count: 70000)
        let pairs = [(encText("a"), encText("1")), (bigKey, encText("x")), (encText("b"), bigValue),
                     (encText(""), encText("")), (encText("c"), [UInt8](repeating: 0, count: 253))]
        let blob = buildZipmap(pairs, free: [4, 0, 255, 1, 3])
        #expect(same(try decode(blob), pairs))
        #expect(blob[0] == 5)
    }

    @Test func zmlen254MeansCountByWalking() throws {
        let pairs = (0 ..< 300).map { (encText("k\($0)"), encText("v\($0)")) }
        let blob = buildZipmap(pairs)
        #expect(blob[0] == 254)
        #expect(same(try decode(blob), pairs))
        let few = buildZipmap([(encText("a"), encText("b"))], zmlen: 254)
        #expect(same(try decode(few), [(encText("a"), encText("b"))]))
    }

    @Test func roundTripsRandomMaps() throws {
        var rng = TestRNG(seed: 3)
        for _ in 0 ..< 200 {
            var pairs: [([UInt8], [UInt8])] = []
            var free: [Int] = []
            for _ in 0 ..< Int.random(in: 0 ... 20, using: &rng) {
                let kn = [0, 1, 10, 253, 254, 300][Int.random(in: 0 ..< 6, using: &rng)]
                let vn = [0, 1, 10, 253, 254, 1000][Int.random(in: 0 ..< 6, using: &rng)]
                pairs.append(((0 ..< kn).map { _ in UInt8.random(in: 0 ... 255, using: &rng) },
                              (0 ..< vn).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }))
                free.append(Int.random(in: 0 ... 5, using: &rng))
            }
            #expect(same(try decode(buildZipmap(pairs, free: free)), pairs))
        }
    }

    @Test func rejectsBadBlobs() {
        var e = zipmapError([], baseOffset: 9)
        #expect(e?.offset == 9 && e?.context == "zipmap")
        #expect(zipmapError([0xFF]) != nil)
        // The terminator must be the last byte.
        e = zipmapError(Self.redisBlob + [0x00], baseOffset: 9)
        #expect(e?.offset == 9 + 16)
        e = zipmapError(Self.redisBlob + [0xFF], baseOffset: 9)
        #expect(e?.offset == 9 + 15 && e?.found.contains("early") == true)
        // zmlen must match when below 254 (255 too, as Redis checks).
        var b = Self.redisBlob
        b[0] = 3
        e = zipmapError(b, baseOffset: 9)
        #expect(e?.offset == 9 && e?.found == "3")
        b[0] = 255
        #expect(zipmapError(b) != nil)
        // Key or value running past the end; 2^32-1 lengths must just throw.
        #expect(zipmapError(hexBytes("01 05 61 01 00 62 FF")) != nil)
        #expect(zipmapError(hexBytes("01 FE FF FF FF FF 61 FF")) != nil)
        #expect(zipmapError(hexBytes("01 01 61 FE FF FF FF FF 00 62 FF")) != nil)
        #expect(zipmapError(hexBytes("01 01 61 05 00 62 FF")) != nil)
        // Free bytes past the end.
        e = zipmapError(hexBytes("01 01 61 01 09 62 FF"), baseOffset: 9)
        #expect(e?.offset == 9 + 6)
        // 0xFF in value position, or a pair cut before its value length or free byte.
        #expect(zipmapError(hexBytes("01 01 61 FF"))?.offset != nil)
        #expect(zipmapError(hexBytes("01 01 61 FF FF")) != nil)
        #expect(zipmapError(hexBytes("01 01 61 01 FF")) != nil)
        #expect(zipmapError(hexBytes("01 01 FF")) != nil)
        #expect(zipmapError(hexBytes("01 FE 00 00 FF")) != nil)
    }

    @Test func survivesMutations() {
        let bigKey = [UInt8](repeating: 0x6B, count: 260)
        let mixed = buildZipmap([(encText("a"), encText("1")), (bigKey, encText("x")), (encText(""), encText("yy"))],
                                free: [2, 0, 1])
        for valid in [Self.redisBlob, hexBytes("00 FF"), mixed] {
            let result = encMutationSweep(valid) { raw in
                try Zipmap.forEach(raw, baseOffset: 1) { k, v in
                    if !encSpan(k, isInside: raw) || !encSpan(v, isInside: raw) { Issue.record("span outside the blob") }
                }
            }
            #expect(result.rejected > 0)
        }
    }
}
