import Testing
@testable import StorageFormat

@Suite struct LZFTests {
    /// FORMATS.md §10: `SET k` + 42 × 'a' in Redis 7.0: literal "aa", copy 38 from 1 back, literal "aa".
    static let fortyTwoA: [UInt8] = [0x01, 0x61, 0x61, 0xE0, 0x1D, 0x00, 0x01, 0x61, 0x61]

    static func decompress(_ bytes: [UInt8], _ length: Int, base: Int = 0) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try LZF.decompress($0, originalLength: length, baseOffset: base) }
    }

    static func compress(_ bytes: [UInt8], maxOutput: Int? = nil) -> [UInt8]? {
        bytes.withUnsafeBytes { LZF.compress($0, maxOutput: maxOutput ?? bytes.count + bytes.count / 16 + 64) }
    }

    /// Decompression either throws a FormatError at `base` or returns exactly `length` bytes.
    static func expectSafe(_ bytes: [UInt8], _ length: Int, base: Int = 0) {
        do {
            let out = try decompress(bytes, length, base: base)
            #expect(out.count == length)
        } catch let error as FormatError {
            #expect(error.offset == base)
            #expect(error.context == "LZF")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func decompressesTheRedisWorkedExample() throws {
        #expect(try Self.decompress(Self.fortyTwoA, 42) == [UInt8](repeating: 0x61, count: 42))
    }

    @Test func compressesFortyTwoAAsRedisStoresIt() throws {
        let a = [UInt8](repeating: 0x61, count: 42)
        // Redis tries LZF with a limit of length - 4.
        let c = try #require(Self.compress(a, maxOutput: a.count - 4))
        #expect(c.count <= 38)
        #expect(try Self.decompress(c, 42) == a)
    }

    @Test func roundTripsRandomAndRepetitiveData() throws {
        var rng = SystemRandomNumberGenerator()
        for size in [1, 2, 3, 7, 21, 100, 1000, 4096, 65_537, 300_000] {
            let random = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let alphabet = Array("abc ".utf8)
            let repetitive = (0..<size).map { i in alphabet[(i / 7 + i % 3) % alphabet.count] }
            for data in [random, repetitive] {
                let c = try #require(Self.compress(data))
                #expect(try Self.decompress(c, data.count) == data)
            }
            if size >= 1000 {
                let c = try #require(Self.compress(repetitive))
                #expect(c.count < size / 4)
            }
        }
    }

    @Test func returnsNilWhenTheOutputDoesNotFitOrTheInputIsEmpty() {
        var rng = SystemRandomNumberGenerator()
        let random = (0..<1000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        #expect(Self.compress(random, maxOutput: random.count - 4) == nil)
        #expect(Self.compress([], maxOutput: 100) == nil)
        #expect(Self.compress([1, 2, 3], maxOutput: 0) == nil)
    }

    @Test func truncatedInputThrows() {
        for cut in 1..<Self.fortyTwoA.count {
            let truncated = Array(Self.fortyTwoA[..<cut])
            #expect(throws: FormatError.self) { try Self.decompress(truncated, 42, base: 17) }
        }
        // A literal run announcing more bytes than remain.
        #expect(throws: FormatError.self) { try Self.decompress([0x05, 0x61, 0x61], 6) }
        // A back-reference missing its offset byte.
        #expect(throws: FormatError.self) { try Self.decompress([0x00, 0x61, 0x20], 4) }
    }

    @Test func backReferenceBeforeTheStartThrows() {
        // A back-reference with no output yet.
        #expect(throws: FormatError.self) { try Self.decompress([0xE0, 0x1D, 0x00], 38) }
        // Two bytes of output, then a copy from 6 back.
        #expect(throws: FormatError.self) { try Self.decompress([0x01, 0x61, 0x61, 0x20, 0x05], 5) }
        // The largest distance, 8192 back.
        #expect(throws: FormatError.self) { try Self.decompress([0x00, 0x61, 0x3F, 0xFF], 4) }
    }

    @Test func wrongOriginalLengthThrowsWithThePlace() throws {
        do {
            _ = try Self.decompress(Self.fortyTwoA, 41, base: 123)
            Issue.record("expected an error")
        } catch let error as FormatError {
            #expect(error.offset == 123)
            #expect(error.context == "LZF")
        }
        #expect(throws: FormatError.self) { try Self.decompress(Self.fortyTwoA, 43) }
        #expect(throws: FormatError.self) { try Self.decompress(Self.fortyTwoA, 1) }
        #expect(throws: FormatError.self) { try Self.decompress(Self.fortyTwoA, 0) }
        #expect(throws: FormatError.self) { try Self.decompress([], 1) }
        #expect(try Self.decompress([], 0) == [])
    }

    @Test func errorsSayWhatWentWrong() {
        func found(_ bytes: [UInt8], _ length: Int) -> String {
            do { _ = try Self.decompress(bytes, length); return "no error" } catch { return (error as? FormatError)?.found ?? "\(error)" }
        }
        #expect(found(Self.fortyTwoA, 41) == "more output than that")                    // E2BIG
        #expect(found([0xE0, 0x1D, 0x00], 38).contains("back-reference before the start")) // EINVAL
        #expect(found([0x05, 0x61], 6).contains("truncated"))                              // EINVAL
        #expect(found(Self.fortyTwoA, 43) == "42 bytes")                                   // short output
    }

    @Test func absurdLengthsAreRefusedBeforeAllocating() {
        #expect(throws: FormatError.self) { try Self.decompress(Self.fortyTwoA, -1) }
        #expect(throws: FormatError.self) { try Self.decompress(Self.fortyTwoA, Int.max) }
        #expect(throws: FormatError.self) { try Self.decompress(Self.fortyTwoA, 1 << 40) }
        // More than 9 compressed bytes can ever expand to.
        #expect(throws: FormatError.self) { try Self.decompress(Self.fortyTwoA, 9 * 132 + 65) }
        #expect(LZF.expansionBound(inputCount: Int.max) == Int.max)
    }

    @Test func randomCorruptionNeverCrashes() throws {
        var rng = SystemRandomNumberGenerator()
        let text = Array(String(repeating: "the quick brown fox jumps over the lazy dog 0123456789 ", count: 40).utf8)
        let good = try #require(Self.compress(text))
        for _ in 0..<3000 {
            var bad = good
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bad[Int.random(in: 0..<bad.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { bad.removeLast(Int.random(in: 0..<bad.count, using: &rng)) }
            let length = Bool.random(using: &rng) ? text.count : Int.random(in: 0...(text.count * 2), using: &rng)
            Self.expectSafe(bad, length, base: 5)
        }
        for _ in 0..<2000 {
            let junk = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            Self.expectSafe(junk, Int.random(in: 0...2000, using: &rng), base: 9)
        }
    }
}
