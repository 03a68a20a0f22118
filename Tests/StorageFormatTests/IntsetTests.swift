import Testing
@testable import StorageFormat
import TestSupport

private func intsetError(_ blob: [UInt8], baseOffset: Int = 0) -> FormatError? {
    do {
        try encWithExactBuffer(blob) { raw in _ = try Intset.forEach(raw, baseOffset: baseOffset) { _ in } }
        return nil
    } catch let e as FormatError {
        return e
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

/// An intset with the given header fields and raw member bytes.
private func assemble(encoding: UInt32, length: UInt32, _ members: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    withUnsafeBytes(of: encoding.littleEndian) { out.append(contentsOf: $0) }
    withUnsafeBytes(of: length.littleEndian) { out.append(contentsOf: $0) }
    return out + members
}

@Suite struct IntsetTests {
    // SADD s 3 1 2 (Redis 7.0.15 DUMP, FORMATS.md §10).
    static let sadd = hexBytes("02 00 00 00 03 00 00 00 01 00 02 00 03 00")

    @Test func decodesAndEncodesRedisBlob() throws {
        #expect(try Intset.members(Self.sadd) == [1, 2, 3])
        #expect(Intset.encode([3, 1, 2]) == Self.sadd)
        #expect(Intset.encode([3, 1, 2, 3, 1]) == Self.sadd)
    }

    @Test func emptyIntset() throws {
        let empty = Intset.encode([])
        #expect(empty == hexBytes("02 00 00 00 00 00 00 00"))
        #expect(try Intset.members(empty).isEmpty)
    }

    @Test func picksTheSmallestWidth() throws {
        let cases: [([Int64], UInt8)] = [
            ([Int64(Int16.min), Int64(Int16.max)], 2),
            ([0], 2),
            ([32768], 4), ([-32769], 4), ([-32768, 32768], 4),
            ([Int64(Int32.min), Int64(Int32.max)], 4),
            ([Int64(Int32.max) + 1], 8), ([Int64(Int32.min) - 1], 8),
            ([Int64.min, 0, Int64.max], 8),
        ]
        for (members, width) in cases {
            let blob = Intset.encode(members)
            #expect(blob[0] == width, "\(members)")
            #expect(blob.count == 8 + members.count * Int(width))
            #expect(try Intset.members(blob) == members.sorted(), "\(members)")
        }
        #expect(Intset.encode([Int64.max, Int64.min]) ==
                hexBytes("08 00 00 00 02 00 00 00 00 00 00 00 00 00 00 80 FF FF FF FF FF FF FF 7F"))
        #expect(Intset.encode([-1, 65536]) == hexBytes("04 00 00 00 02 00 00 00 FF FF FF FF 00 00 01 00"))
    }

    @Test func acceptsWiderThanNeeded() throws {
        // Redis never narrows an intset after removals.
        let wide = assemble(encoding: 8, length: 2, hexBytes("01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00"))
        #expect(try Intset.members(wide) == [1, 2])
        let four = assemble(encoding: 4, length: 1, hexBytes("FB FF FF FF"))
        #expect(try Intset.members(four) == [-5])
    }

    @Test func roundTripsRandomSets() throws {
        var rng = TestRNG(seed: 11)
        for _ in 0 ..< 300 {
            let range: ClosedRange<Int64> = [-100 ... 100, -40000 ... 40000, -3_000_000_000 ... 3_000_000_000,
                                             Int64.min ... Int64.max][Int.random(in: 0 ..< 4, using: &rng)]
            let members = (0 ..< Int.random(in: 0 ... 100, using: &rng)).map { _ in Int64.random(in: range, using: &rng) }
            let expected = Array(Set(members)).sorted()
            let blob = Intset.encode(members)
            #expect(try Intset.members(blob, baseOffset: 3) == expected)
            var visited: [Int64] = []
            let n = try blob.withUnsafeBytes { try Intset.forEach($0) { visited.append($0) } }
            #expect(n == expected.count && visited == expected)
        }
    }

    @Test func rejectsBadBlobs() {
        var e = intsetError([], baseOffset: 7)
        #expect(e?.offset == 7 && e?.context == "intset")
        #expect(intsetError(hexBytes("02 00 00 00 00 00 00")) != nil)
        for enc: UInt32 in [0, 1, 3, 16, 0xFFFF_FFFF] {
            e = intsetError(assemble(encoding: enc, length: 1, [0, 0, 0, 0, 0, 0, 0, 0]), baseOffset: 7)
            #expect(e?.offset == 7 && e?.found == "\(enc)", "\(enc)")
        }
        // Size must be exactly 8 + length × width.
        e = intsetError(assemble(encoding: 2, length: 2, hexBytes("01 00")), baseOffset: 7)
        #expect(e?.offset == 11)
        #expect(intsetError(assemble(encoding: 2, length: 1, hexBytes("01 00 02"))) != nil)
        #expect(intsetError(assemble(encoding: 8, length: 0xFFFF_FFFF, hexBytes("01 00 00 00 00 00 00 00"))) != nil)
        #expect(intsetError(assemble(encoding: 4, length: 0x4000_0000, [])) != nil)
        // Strictly ascending: no duplicates, no descent.
        e = intsetError(assemble(encoding: 2, length: 3, hexBytes("01 00 02 00 02 00")), baseOffset: 7)
        #expect(e?.offset == 19 && e?.found == "2")
        e = intsetError(assemble(encoding: 4, length: 2, hexBytes("05 00 00 00 FB FF FF FF")))
        #expect(e?.offset == 12 && e?.found == "-5")
    }

    @Test func survivesMutations() {
        let blobs = [Self.sadd, Intset.encode([]), Intset.encode([-40000, 7, 40000]),
                     Intset.encode([Int64.min, -1, 0, Int64.max])]
        for valid in blobs {
            let result = encMutationSweep(valid) { raw in
                var previous: Int64? = nil
                try Intset.forEach(raw) { v in
                    if let p = previous, v <= p { Issue.record("not ascending") }
                    previous = v
                }
            }
            #expect(result.rejected > 0)
        }
    }
}
