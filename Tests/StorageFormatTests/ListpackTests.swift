import Testing
@testable import StorageFormat
import TestSupport

/// The blob ListpackEncoder writes for `elements`.
private func encode(_ elements: [[UInt8]]) -> [UInt8] {
    var e = ListpackEncoder()
    for x in elements { e.append(x) }
    #expect(e.count == elements.count)
    let blob = e.finish()
    #expect(e.byteSize == blob.count)
    return blob
}

/// The entry (encoding+data+backlen) the encoder writes for one string.
private func entry(_ s: [UInt8]) -> [UInt8] {
    let blob = encode([s])
    return Array(blob[6 ..< blob.count - 1])
}

/// Every element as the decoder hands it over (ints stay ints).
private enum Decoded: Equatable { case int(Int64), bytes([UInt8]) }
private func decodeRaw(_ blob: [UInt8], baseOffset: Int = 0) throws -> [Decoded] {
    var out: [Decoded] = []
    try encWithExactBuffer(blob) { raw in
        let n = try Listpack.forEach(raw, baseOffset: baseOffset) { el in
            switch el {
            case .int(let v): out.append(.int(v))
            case .bytes(let b): out.append(.bytes(Array(b)))
            }
        }
        #expect(n == out.count)
    }
    return out
}

private func listpackError(_ blob: [UInt8], baseOffset: Int = 0) -> FormatError? {
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

/// A valid listpack with the header count and total bytes recomputed for `entries` (raw entry bytes).
private func assemble(_ entries: [UInt8], count: Int) -> [UInt8] {
    let total = 6 + entries.count + 1
    return [UInt8(total & 0xFF), UInt8((total >> 8) & 0xFF), UInt8((total >> 16) & 0xFF), UInt8(total >> 24),
            UInt8(count & 0xFF), UInt8(count >> 8)] + entries + [0xFF]
}

/// Reads the backlen that ends just before `end` right to left, as FORMATS.md describes.
private func readBacklenBackwards(_ bytes: [UInt8], end: Int) -> (value: Int, size: Int) {
    var value = 0, shift = 0, i = end - 1
    while true {
        let b = bytes[i]
        value |= Int(b & 127) << shift
        if b & 128 == 0 { break }
        shift += 7
        i -= 1
    }
    return (value, end - i)
}

@Suite struct ListpackTests {
    // Redis 7.0.15 DUMP payloads (FORMATS.md §10).
    static let hset = hexBytes("15 00 00 00 04 00 82 66 31 03 82 76 31 03 82 66 32 03 64 01 FF")
    static let zadd = hexBytes("14 00 00 00 04 00 81 6D 02 83 31 2E 35 04 81 6E 02 02 01 FF")
    static let rpush = hexBytes("0C 00 00 00 02 00 81 61 02 01 01 FF")

    @Test func decodesRedisBlobs() throws {
        #expect(try Listpack.elements(Self.hset) == [encText("f1"), encText("v1"), encText("f2"), encText("100")])
        #expect(try Listpack.elements(Self.zadd) == [encText("m"), encText("1.5"), encText("n"), encText("2")])
        #expect(try Listpack.elements(Self.rpush) == [encText("a"), encText("1")])
        #expect(try decodeRaw(Self.hset) == [.bytes(encText("f1")), .bytes(encText("v1")), .bytes(encText("f2")), .int(100)])
        #expect(try decodeRaw(Self.rpush) == [.bytes(encText("a")), .int(1)])
    }

    @Test func encodesRedisBlobsExactly() {
        #expect(encode([encText("f1"), encText("v1"), encText("f2"), encText("100")]) == Self.hset)
        #expect(encode([encText("m"), encText("1.5"), encText("n"), encText("2")]) == Self.zadd)
        #expect(encode([encText("a"), encText("1")]) == Self.rpush)
        var e = ListpackEncoder()
        e.append(encText("a"))
        e.append(int: 1)
        #expect(e.finish() == Self.rpush)
    }

    @Test func emptyListpack() throws {
        let empty = hexBytes("07 00 00 00 00 00 FF")
        #expect(ListpackEncoder().finish() == empty)
        #expect(ListpackEncoder().byteSize == 7)
        #expect(try Listpack.elements(empty).isEmpty)
    }

    @Test func integerWidthBoundaries() throws {
        let cases: [(String, String)] = [
            ("0", "00 01"), ("1", "01 01"), ("127", "7F 01"),
            ("128", "C0 80 02"), ("-1", "DF FF 02"), ("4095", "CF FF 02"), ("-4096", "D0 00 02"),
            ("4096", "F1 00 10 03"), ("-4097", "F1 FF EF 03"),
            ("32767", "F1 FF 7F 03"), ("-32768", "F1 00 80 03"),
            ("32768", "F2 00 80 00 04"), ("-32769", "F2 FF 7F FF 04"),
            ("8388607", "F2 FF FF 7F 04"), ("-8388608", "F2 00 00 80 04"),
            ("8388608", "F3 00 00 80 00 05"), ("-8388609", "F3 FF FF 7F FF 05"),
            ("2147483647", "F3 FF FF FF 7F 05"), ("-2147483648", "F3 00 00 00 80 05"),
            ("2147483648", "F4 00 00 00 80 00 00 00 00 09"), ("-2147483649", "F4 FF FF FF 7F FF FF FF FF 09"),
            ("9223372036854775807", "F4 FF FF FF FF FF FF FF 7F 09"),
            ("-9223372036854775808", "F4 00 00 00 00 00 00 00 80 09"),     // 20 bytes, still an integer
        ]
        for (text, hex) in cases {
            let bytes = encText(text)
            #expect(entry(bytes) == hexBytes(hex), "\(text)")
            let v = try #require(Int64(text))
            var e = ListpackEncoder()
            e.append(int: v)
            let blob = e.finish()
            #expect(Array(blob[6 ..< blob.count - 1]) == hexBytes(hex), "int \(text)")
            #expect(try decodeRaw(blob) == [.int(v)], "\(text)")
            #expect(try Listpack.elements(blob) == [bytes], "\(text)")
        }
    }

    @Test func nonCanonicalIntegersStayStrings() throws {
        for text in ["-0", "01", "+1", " 1", "1 ", "00", "1.0", "9223372036854775808", "-9223372036854775809",
                     "12345678901234567890", "-1234567890123456789012", ""] {
            let bytes = encText(text)
            let n = bytes.count
            var expected: [UInt8] = [0x80 | UInt8(n)] + bytes
            expected.append(UInt8(n + 1))
            #expect(entry(bytes) == expected, "\(text)")
            #expect(try decodeRaw(encode([bytes])) == [.bytes(bytes)], "\(text)")
        }
    }

    @Test func stringLengthBoundaries() throws {
        // (length, header, backlen)
        let cases: [(Int, [UInt8], [UInt8])] = [
            (63, [0xBF], [0x40]),
            (64, [0xE0, 0x40], [0x42]),
            (125, [0xE0, 0x7D], [0x7F]),                      // L = 127: the last 1-byte backlen
            (126, [0xE0, 0x7E], [0x01, 0x80]),                // L = 128: 2 bytes
            (4095, [0xEF, 0xFF], [0x20, 0x81]),               // L = 4097
            (4096, [0xF0, 0x00, 0x10, 0x00, 0x00], [0x20, 0x85]),  // L = 4101
            (16377, [0xF0, 0xF9, 0x3F, 0x00, 0x00], [0x7F, 0xFE]),         // L = 16382: 2 bytes
            (16378, [0xF0, 0xFA, 0x3F, 0x00, 0x00], [0x00, 0xFF, 0xFF]),   // L = 16383: 3 bytes
        ]
        var rng = TestRNG(seed: 63)
        for (n, header, backlen) in cases {
            let s = (0 ..< n).map { _ in UInt8.random(in: 0x61 ... 0x7A, using: &rng) }
            #expect(entry(s) == header + s + backlen, "length \(n)")
            let blob = encode([s, encText("x")])
            #expect(try decodeRaw(blob) == [.bytes(s), .bytes(encText("x"))], "length \(n)")
        }
    }

    @Test func backlenEncodingAtEveryBoundary() {
        let lengths = [1, 2, 127, 128, 129, 16382, 16383, 16384, 2097150, 2097151, 2097152,
                       268435454, 268435455, 268435456, 1 << 30, Int(UInt32.max)]
        let expectedSizes = [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 5]
        for (l, size) in zip(lengths, expectedSizes) {
            var w = ByteWriter()
            Listpack.appendBacklen(l, to: &w)
            #expect(w.bytes.count == size, "L \(l)")
            #expect(Listpack.backlenSize(l) == size)
            #expect(w.bytes[0] & 0x80 == 0, "L \(l): first byte has bit 7 clear")
            #expect(w.bytes.dropFirst().allSatisfy { $0 & 0x80 != 0 }, "L \(l): later bytes have bit 7 set")
            let (value, read) = readBacklenBackwards(w.bytes, end: w.bytes.count)
            #expect(value == l && read == size, "L \(l)")
            w.bytes.withUnsafeBytes { raw in
                #expect(Listpack.backlenMatches(raw.baseAddress!, size, l))
                #expect(!Listpack.backlenMatches(raw.baseAddress!, size, l + 1))
            }
        }
    }

    @Test func walksBackwardsWithBacklen() {
        // Every entry's backlen, read right to left from the next entry's start, gives that entry's size.
        var rng = TestRNG(seed: 7)
        var elements: [[UInt8]] = []
        for len in [0, 1, 63, 64, 200, 4095, 4096, 20000] {
            elements.append((0 ..< len).map { _ in UInt8.random(in: 0 ... 255, using: &rng) })
            elements.append(encText(String(Int64.random(in: Int64.min ... Int64.max, using: &rng))))
        }
        let blob = encode(elements)
        var end = blob.count - 1
        var seen = 0
        while end > 6 {
            let (l, size) = readBacklenBackwards(blob, end: end)
            end -= size + l
            seen += 1
        }
        #expect(end == 6)
        #expect(seen == elements.count)
    }

    @Test func countSaturatesAt65535() throws {
        var e = ListpackEncoder()
        for i in 0 ..< 70000 { e.append(int: Int64(i % 300)) }
        #expect(e.count == 70000)
        let blob = e.finish()
        #expect(blob[4] == 0xFF && blob[5] == 0xFF)
        var n = 0
        let walked = try blob.withUnsafeBytes { raw in
            try Listpack.forEach(raw) { el in
                guard case .int(let v) = el, v == Int64(n % 300) else { Issue.record("element \(n)"); return }
                n += 1
            }
        }
        #expect(walked == 70000 && n == 70000)

        // Exactly 65535 elements: the header says 65535, which means "unknown", and that is fine too.
        var f = ListpackEncoder()
        for _ in 0 ..< 65535 { f.append(int: 5) }
        let blob2 = f.finish()
        #expect(blob2[4] == 0xFF && blob2[5] == 0xFF)
        #expect(try blob2.withUnsafeBytes { try Listpack.forEach($0) { _ in } } == 65535)

        // A header saying 65535 with fewer entries is accepted.
        var unknown = Self.rpush
        unknown[4] = 0xFF; unknown[5] = 0xFF
        #expect(try Listpack.elements(unknown) == [encText("a"), encText("1")])
    }

    @Test func roundTripsRandomLists() throws {
        var rng = TestRNG(seed: 2024)
        for round in 0 ..< 300 {
            var elements: [[UInt8]] = []
            for _ in 0 ..< Int.random(in: 0 ... 40, using: &rng) {
                switch Int.random(in: 0 ..< 6, using: &rng) {
                case 0: elements.append(encText(String(Int64.random(in: -200 ... 200, using: &rng))))
                case 1: elements.append(encText(String(Int64.random(in: -10_000_000 ... 10_000_000, using: &rng))))
                case 2: elements.append(encText(String(Int64.random(in: Int64.min ... Int64.max, using: &rng))))
                case 3:
                    let digits = (0 ..< Int.random(in: 1 ... 22, using: &rng)).map { _ in UInt8.random(in: 48 ... 57, using: &rng) }
                    elements.append((Bool.random(using: &rng) ? [45] : []) + digits)
                case 4:
                    let n = [0, 1, 62, 63, 64, 65, 4095, 4096, 5000][Int.random(in: 0 ..< 9, using: &rng)]
                    elements.append((0 ..< n).map { _ in UInt8.random(in: 0 ... 255, using: &rng) })
                default:
                    let n = Int.random(in: 0 ... 100, using: &rng)
                    elements.append((0 ..< n).map { _ in UInt8.random(in: 0 ... 255, using: &rng) })
                }
            }
            let blob = encode(elements)
            #expect(try Listpack.elements(blob, baseOffset: 100) == elements, "round \(round)")
            // Integers come back as .int exactly when the text is canonical.
            let raw = try decodeRaw(blob)
            for (el, text) in zip(raw, elements) {
                if let v = StrictInteger.parse(text) { #expect(el == .int(v)) } else { #expect(el == .bytes(text)) }
            }
        }
    }

    @Test func rejectsBadHeaders() {
        var e = listpackError([], baseOffset: 10)
        #expect(e?.offset == 10 && e?.context == "listpack")
        e = listpackError(hexBytes("06 00 00 00 00 FF"))
        #expect(e != nil)
        var wrongTotal = Self.rpush
        wrongTotal[0] = 0x0D
        e = listpackError(wrongTotal, baseOffset: 50)
        #expect(e?.offset == 50 && e?.found == "13")
        var noTerminator = Self.rpush
        noTerminator[11] = 0x00
        e = listpackError(noTerminator, baseOffset: 50)
        #expect(e?.offset == 61)
        var badCount = Self.rpush
        badCount[4] = 3
        e = listpackError(badCount, baseOffset: 50)
        #expect(e?.offset == 54 && e?.found == "3")
    }

    @Test func rejectsBadEntries() {
        // Invalid encodings F5..FE at offset 6.
        for b: UInt8 in 0xF5 ... 0xFE {
            let e = listpackError(assemble([b, 0x01], count: 1), baseOffset: 1000)
            #expect(e?.offset == 1006, "\(b)")
            #expect(e?.found.contains("invalid encoding") == true)
        }
        // A backlen that does not match.
        var e = listpackError(assemble([0x81, 0x61, 0x03], count: 1))
        #expect(e?.offset == 8 && e?.expected.contains("backlen 2") == true)
        // A non-canonical backlen (2 bytes for L = 2) is refused.
        e = listpackError(assemble([0x81, 0x61, 0x00, 0x82], count: 1))
        #expect(e != nil)
        // Entry running into the terminator.
        e = listpackError(assemble([0x85, 0x61, 0x02], count: 1))
        #expect(e?.offset == 6)
        // Backlen missing.
        e = listpackError(assemble([0x81, 0x61], count: 1))
        #expect(e?.offset == 8)
        // 32-bit string length of 2^32-1 must just throw.
        e = listpackError(assemble([0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 0x61, 0x06], count: 1), baseOffset: 3)
        #expect(e?.offset == 9)
        // 12-bit string whose length byte is the terminator.
        #expect(listpackError(assemble([0xE0], count: 1)) != nil)
        // Integers cut short.
        for hex in ["C0", "F1 00", "F2 00 00", "F3 00 00 00", "F4 00 00 00 00 00 00 00"] {
            #expect(listpackError(assemble(hexBytes(hex), count: 1)) != nil, "\(hex)")
        }
        // Early terminator: bytes after an 0xFF inside the entry area.
        e = listpackError(assemble([0xFF, 0x01, 0x01], count: 0))
        #expect(e?.offset == 6)
        // Count mismatch after a valid walk.
        e = listpackError(assemble([0x01, 0x01], count: 2))
        #expect(e?.offset == 4)
    }

    @Test func callbackErrorsPropagate() {
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try Self.hset.withUnsafeBytes { try Listpack.forEach($0) { _ in throw Stop() } }
        }
    }

    @Test func survivesMutations() {
        var rng = TestRNG(seed: 99)
        let long = (0 ..< 300).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
        let mixed = encode([encText("a"), encText("-1"), encText("4096"), encText("100000"), encText("3000000000"),
                            encText("-9223372036854775808"), encText("300"), long, [], encText("x")])
        let fixup: (inout [UInt8]) -> Void = { b in
            guard b.count >= 4 else { return }
            let n = b.count
            b[0] = UInt8(n & 0xFF); b[1] = UInt8((n >> 8) & 0xFF); b[2] = UInt8((n >> 16) & 0xFF); b[3] = UInt8(n >> 24)
        }
        for valid in [Self.hset, Self.zadd, Self.rpush, hexBytes("07 00 00 00 00 00 FF"), mixed] {
            let result = encMutationSweep(valid, fixup: fixup) { raw in
                try Listpack.forEach(raw, baseOffset: 17) { el in
                    if case .bytes(let b) = el, !encSpan(b, isInside: raw) {
                        Issue.record("span outside the blob")
                    }
                }
            }
            #expect(result.rejected > 0)
        }
    }
}
