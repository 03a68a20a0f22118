import Testing
@testable import StorageFormat
import TestSupport

/// Test-only ziplist writer, following Redis's choices: a string shorter than 32 bytes that parses strictly
/// is stored as the smallest of immediate, int8, int16, int24, int32, int64; other strings use the 6-, 14-
/// or 32-bit length form. `widePrevlen` forces the 5-byte prevlen form for every entry after the first
/// (Redis keeps it after a cascade update even when the size drops below 254).
private func buildZiplist(_ elements: [[UInt8]], widePrevlen: Bool = false, zllen: Int? = nil) -> [UInt8] {
    var body: [UInt8] = []
    var prevSize = 0
    var lastStart = 10
    for (i, s) in elements.enumerated() {
        var entry: [UInt8] = []
        if prevSize < 254 && !(widePrevlen && i > 0) {
            entry.append(UInt8(prevSize))
        } else {
            entry.append(0xFE)
            withUnsafeBytes(of: UInt32(prevSize).littleEndian) { entry.append(contentsOf: $0) }
        }
        if s.count < 32, let v = StrictInteger.parse(s) {
            switch v {
            case 0 ... 12: entry.append(0xF1 + UInt8(v))
            case -128 ... 127: entry.append(0xFE); entry.append(UInt8(truncatingIfNeeded: v))
            case -32768 ... 32767:
                entry.append(0xC0); withUnsafeBytes(of: Int16(v).littleEndian) { entry.append(contentsOf: $0) }
            case -8_388_608 ... 8_388_607:
                entry.append(0xF0)
                for k in 0 ..< 3 { entry.append(UInt8(truncatingIfNeeded: v >> (8 * k))) }
            case Int64(Int32.min) ... Int64(Int32.max):
                entry.append(0xD0); withUnsafeBytes(of: Int32(v).littleEndian) { entry.append(contentsOf: $0) }
            default:
                entry.append(0xE0); withUnsafeBytes(of: v.littleEndian) { entry.append(contentsOf: $0) }
            }
        } else if s.count <= 63 {
            entry.append(UInt8(s.count))
            entry += s
        } else if s.count <= 16383 {
            entry.append(0x40 | UInt8(s.count >> 8))
            entry.append(UInt8(s.count & 0xFF))
            entry += s
        } else {
            entry.append(0x80)
            withUnsafeBytes(of: UInt32(s.count).bigEndian) { entry.append(contentsOf: $0) }
            entry += s
        }
        lastStart = 10 + body.count
        body += entry
        prevSize = entry.count
    }
    var out: [UInt8] = []
    let total = 10 + body.count + 1
    withUnsafeBytes(of: UInt32(total).littleEndian) { out.append(contentsOf: $0) }
    withUnsafeBytes(of: UInt32(lastStart).littleEndian) { out.append(contentsOf: $0) }
    withUnsafeBytes(of: UInt16(zllen ?? min(elements.count, 65535)).littleEndian) { out.append(contentsOf: $0) }
    return out + body + [0xFF]
}

private enum Decoded: Equatable { case int(Int64), bytes([UInt8]) }
private func decodeRaw(_ blob: [UInt8], baseOffset: Int = 0) throws -> [Decoded] {
    var out: [Decoded] = []
    try encWithExactBuffer(blob) { raw in
        let n = try Ziplist.forEach(raw, baseOffset: baseOffset) { el in
            switch el {
            case .int(let v): out.append(.int(v))
            case .bytes(let b): out.append(.bytes(Array(b)))
            }
        }
        #expect(n == out.count)
    }
    return out
}

private func ziplistError(_ blob: [UInt8], baseOffset: Int = 0) -> FormatError? {
    do {
        _ = try decodeRaw(blob, baseOffset: baseOffset)
        return nil
    } catch let e as FormatError {
        return e
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

/// A ziplist around raw entry bytes, with zlbytes, zltail and zllen given.
private func assemble(_ entries: [UInt8], tail: Int, count: Int) -> [UInt8] {
    var out: [UInt8] = []
    withUnsafeBytes(of: UInt32(10 + entries.count + 1).littleEndian) { out.append(contentsOf: $0) }
    withUnsafeBytes(of: UInt32(tail).littleEndian) { out.append(contentsOf: $0) }
    withUnsafeBytes(of: UInt16(count).littleEndian) { out.append(contentsOf: $0) }
    return out + entries + [0xFF]
}

@Suite struct ZiplistTests {
    // Blobs cut by hand from the Redis test assets (../shared/fixtures/redis-assets/).
    static let hashZiplist = hexBytes("1B 00 00 00 16 00 00 00 04 00 00 02 66 31 04 02 76 31 04 02 66 32 04 02 76 32 FF")
    static let zsetZiplist = hexBytes("19 00 00 00 16 00 00 00 04 00 00 03 6F 6E 65 05 F2 02 03 74 77 6F 05 F3 FF")
    static let quicklistNode = hexBytes("0D 00 00 00 0A 00 00 00 01 00 00 F8 FF")

    @Test func decodesRedisBlobs() throws {
        #expect(try Ziplist.elements(Self.hashZiplist) == [encText("f1"), encText("v1"), encText("f2"), encText("v2")])
        #expect(try decodeRaw(Self.zsetZiplist) == [.bytes(encText("one")), .int(1), .bytes(encText("two")), .int(2)])
        #expect(try decodeRaw(Self.quicklistNode) == [.int(7)])
        // The test builder writes the same bytes Redis did.
        #expect(buildZiplist([encText("f1"), encText("v1"), encText("f2"), encText("v2")]) == Self.hashZiplist)
        #expect(buildZiplist([encText("one"), encText("1"), encText("two"), encText("2")]) == Self.zsetZiplist)
        #expect(buildZiplist([encText("7")]) == Self.quicklistNode)
    }

    @Test func emptyZiplist() throws {
        let empty = hexBytes("0B 00 00 00 0A 00 00 00 00 00 FF")
        #expect(buildZiplist([]) == empty)
        #expect(try Ziplist.elements(empty).isEmpty)
        var badTail = empty
        badTail[4] = 0x0B
        #expect(ziplistError(badTail, baseOffset: 5)?.offset == 9)
    }

    @Test func decodesEveryIntegerEncoding() throws {
        let cases: [(String, Int64)] = [
            ("F1", 0), ("F2", 1), ("FD", 12),
            ("FE 80", -128), ("FE 7F", 127), ("FE 0D", 13), ("FE FF", -1),
            ("C0 00 80", -32768), ("C0 FF 7F", 32767), ("C0 80 00", 128),
            ("F0 FF FF FF", -1), ("F0 00 00 80", -8_388_608), ("F0 FF FF 7F", 8_388_607), ("F0 00 80 00", 32768),
            ("D0 00 00 00 80", Int64(Int32.min)), ("D0 FF FF FF 7F", Int64(Int32.max)),
            ("E0 00 00 00 00 00 00 00 80", Int64.min), ("E0 FF FF FF FF FF FF FF 7F", Int64.max),
        ]
        for (hex, value) in cases {
            let entry = [0x00] + hexBytes(hex)
            let blob = assemble(entry, tail: 10, count: 1)
            #expect(try decodeRaw(blob) == [.int(value)], "\(hex)")
            #expect(try Ziplist.elements(blob) == [encText(String(value))], "\(hex)")
        }
        for imm: UInt8 in 0xF1 ... 0xFD {
            #expect(try decodeRaw(assemble([0x00, imm], tail: 10, count: 1)) == [.int(Int64(imm & 0x0F) - 1)])
        }
    }

    @Test func builderIntegerChoicesRoundTrip() throws {
        for text in ["0", "12", "13", "-1", "-128", "127", "128", "-129", "32767", "32768", "-32769",
                     "8388607", "8388608", "-8388609", "2147483647", "2147483648", "-2147483649",
                     "9223372036854775807", "-9223372036854775808", "-0", "01", "+5", ""] {
            let s = encText(text)
            #expect(try Ziplist.elements(buildZiplist([s, encText("x")])) == [s, encText("x")], "\(text)")
        }
    }

    @Test func stringLengthForms() throws {
        var rng = TestRNG(seed: 5)
        for n in [0, 1, 63, 64, 253, 254, 255, 16383, 16384, 70000] {
            let s = (0 ..< n).map { _ in UInt8.random(in: 0x61 ... 0x7A, using: &rng) }
            let blob = buildZiplist([s, encText("tail"), s])
            let first = blob[11]
            if n <= 63 { #expect(first == UInt8(n)) } else if n <= 16383 { #expect(first & 0xC0 == 0x40) } else { #expect(first == 0x80) }
            #expect(try decodeRaw(blob) == [.bytes(s), .bytes(encText("tail")), .bytes(s)], "length \(n)")
        }
    }

    @Test func largePrevlenAndWideSmallPrevlen() throws {
        let big = [UInt8](repeating: 0x61, count: 300)   // entry size 1 + 2 + 300 = 303: next prevlen FE + u32
        let blob = buildZiplist([big, encText("b"), encText("c")])
        #expect(blob[10 + 303] == 0xFE)
        #expect(try Ziplist.elements(blob) == [big, encText("b"), encText("c")])
        // Redis may keep the 5-byte form for small prevlens.
        let wide = buildZiplist([encText("a"), encText("b"), encText("5")], widePrevlen: true)
        #expect(wide[13] == 0xFE)
        #expect(try Ziplist.elements(wide) == [encText("a"), encText("b"), encText("5")])
    }

    @Test func zllen65535MeansCountByWalking() throws {
        let blob = buildZiplist([encText("a"), encText("b")], zllen: 65535)
        #expect(try Ziplist.elements(blob) == [encText("a"), encText("b")])
        let many = (0 ..< 70000).map { encText(String($0 % 50)) }
        let big = buildZiplist(many)
        #expect(big[8] == 0xFF && big[9] == 0xFF)
        #expect(try big.withUnsafeBytes { try Ziplist.forEach($0) { _ in } } == 70000)
    }

    @Test func roundTripsRandomLists() throws {
        var rng = TestRNG(seed: 77)
        for round in 0 ..< 200 {
            var elements: [[UInt8]] = []
            for _ in 0 ..< Int.random(in: 0 ... 30, using: &rng) {
                switch Int.random(in: 0 ..< 4, using: &rng) {
                case 0: elements.append(encText(String(Int64.random(in: -300 ... 300, using: &rng))))
                case 1: elements.append(encText(String(Int64.random(in: Int64.min ... Int64.max, using: &rng))))
                case 2:
                    let n = [0, 1, 63, 64, 253, 254, 300, 16384][Int.random(in: 0 ..< 8, using: &rng)]
                    elements.append((0 ..< n).map { _ in UInt8.random(in: 0 ... 255, using: &rng) })
                default:
                    elements.append((0 ..< Int.random(in: 0 ... 40, using: &rng)).map { _ in UInt8.random(in: 0 ... 255, using: &rng) })
                }
            }
            let wide = Bool.random(using: &rng)
            #expect(try Ziplist.elements(buildZiplist(elements, widePrevlen: wide), baseOffset: 9) == elements, "round \(round)")
        }
    }

    @Test func rejectsBadHeaders() {
        #expect(ziplistError([], baseOffset: 4)?.offset == 4)
        #expect(ziplistError(hexBytes("0A 00 00 00 0A 00 00 00 00 00"))?.context == "ziplist")
        var b = Self.hashZiplist
        b[0] = 0x1C
        #expect(ziplistError(b, baseOffset: 100)?.offset == 100)
        b = Self.hashZiplist
        b[26] = 0x00
        #expect(ziplistError(b, baseOffset: 100)?.offset == 126)
        b = Self.hashZiplist
        b[4] = 0x12     // zltail pointing at the third entry, not the last
        let e = ziplistError(b, baseOffset: 100)
        #expect(e?.offset == 104 && e?.found == "18")
        b = Self.hashZiplist
        b[8] = 0x05
        #expect(ziplistError(b, baseOffset: 100)?.offset == 108)
    }

    @Test func rejectsBadEntries() {
        // prevlen of the first entry must be 0.
        var e = ziplistError(assemble([0x01, 0xF1], tail: 10, count: 1), baseOffset: 20)
        #expect(e?.offset == 30 && e?.found == "1")
        // Second entry's prevlen must equal the first entry's size (2).
        e = ziplistError(assemble([0x00, 0xF1, 0x03, 0xF2], tail: 12, count: 2), baseOffset: 20)
        #expect(e?.offset == 32 && e?.expected.contains("prevlen 2") == true)
        // Invalid encodings.
        for enc: UInt8 in [0xC1, 0xCF, 0xD1, 0xE1, 0xEF, 0xF0 - 1] {
            e = ziplistError(assemble([0x00, enc, 0, 0, 0, 0, 0, 0, 0, 0], tail: 10, count: 1))
            #expect(e?.found.contains("invalid encoding") == true, "\(enc)")
            #expect(e?.offset == 11)
        }
        // String running into the terminator; 32-bit length of 2^32-1 must just throw.
        #expect(ziplistError(assemble([0x00, 0x05, 0x61], tail: 10, count: 1)) != nil)
        #expect(ziplistError(assemble([0x00, 0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0x61], tail: 10, count: 1))?.offset == 10)
        #expect(ziplistError(assemble([0x00, 0x7F, 0xFF, 0x61], tail: 10, count: 1)) != nil)
        #expect(ziplistError(assemble([0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xF1], tail: 10, count: 1)) != nil)
        // Cut-short headers and integers.
        for hex in ["00", "FE 00 00", "00 40", "00 80 00 00", "00 C0 00", "00 D0 00 00 00", "00 E0 00", "00 F0 00 00", "00 FE"] {
            #expect(ziplistError(assemble(hexBytes(hex), tail: 10, count: 1)) != nil, "\(hex)")
        }
        // Early terminator.
        e = ziplistError(assemble([0xFF, 0x00, 0xF1], tail: 10, count: 0))
        #expect(e?.offset == 10)
    }

    @Test func survivesMutations() {
        let big = [UInt8](repeating: 0x62, count: 260)
        let mixed = buildZiplist([encText("a"), encText("7"), encText("-100"), encText("1000"), encText("100000"),
                                  encText("3000000000"), encText("-9223372036854775808"), big, encText("x"),
                                  [UInt8](repeating: 0x63, count: 70), []])
        let wide = buildZiplist([encText("a"), encText("bb"), encText("12")], widePrevlen: true)
        let fixup: (inout [UInt8]) -> Void = { b in
            guard b.count >= 4 else { return }
            let n = b.count
            b[0] = UInt8(n & 0xFF); b[1] = UInt8((n >> 8) & 0xFF); b[2] = UInt8((n >> 16) & 0xFF); b[3] = UInt8(n >> 24)
        }
        for valid in [Self.hashZiplist, Self.zsetZiplist, Self.quicklistNode, buildZiplist([]), mixed, wide] {
            let result = encMutationSweep(valid, fixup: fixup) { raw in
                try Ziplist.forEach(raw, baseOffset: 3) { el in
                    if case .bytes(let b) = el, !encSpan(b, isInside: raw) {
                        Issue.record("span outside the blob")
                    }
                }
            }
            #expect(result.rejected > 0)
        }
    }
}
