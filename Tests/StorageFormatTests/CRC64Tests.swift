import Testing
@testable import StorageFormat

@Suite struct CRC64Tests {
    /// Bit-at-a-time reference: reflected Jones polynomial, init 0, no final xor.
    static func reference(_ bytes: [UInt8], from start: UInt64 = 0) -> UInt64 {
        var crc = start
        for b in bytes {
            crc ^= UInt64(b)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5 : crc >> 1 }
        }
        return crc
    }

    static func randomBytes(_ n: Int, using rng: inout some RandomNumberGenerator) -> [UInt8] {
        (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    @Test func checkValue() {
        #expect(CRC64.checksum(Array("123456789".utf8)) == 0xe9c6_d914_c4b8_d9ca)
        #expect(Self.reference(Array("123456789".utf8)) == 0xe9c6_d914_c4b8_d9ca)
    }

    @Test func emptyInputLeavesTheChecksum() {
        #expect(CRC64.checksum([UInt8]()) == 0)
        #expect(CRC64.update(0x1234, UnsafeRawBufferPointer(start: nil, count: 0)) == 0x1234)
    }

    @Test func redisDumpPayloadOfSetK1() {
        // Redis 7.0 DUMP of `SET k 1`: 00 C0 01 0A 00, then the CRC64 as u64le.
        let body: [UInt8] = [0x00, 0xC0, 0x01, 0x0A, 0x00]
        let trailer: [UInt8] = [0x26, 0x78, 0xE7, 0xB6, 0xD1, 0x01, 0x11, 0xFC]
        let stored = trailer.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(stored == 0xfc11_01d1_b6e7_7826)
        #expect(CRC64.checksum(body) == stored)
    }

    @Test func matchesTheBitwiseReferenceAtEveryLengthAndAlignment() {
        var rng = SystemRandomNumberGenerator()
        let data = Self.randomBytes(300, using: &rng)
        data.withUnsafeBytes { all in
            for start in 0..<9 {
                for length in 0...(all.count - start) where length < 80 || length % 17 == 0 {
                    let slice = UnsafeRawBufferPointer(rebasing: all[start..<(start + length)])
                    #expect(CRC64.update(0, slice) == Self.reference(Array(slice)))
                }
            }
        }
    }

    @Test func incrementalEqualsOneShotOverRandomSplits() {
        var rng = SystemRandomNumberGenerator()
        let data = Self.randomBytes(20_000, using: &rng)
        let whole = CRC64.checksum(data)
        #expect(whole == Self.reference(data))
        for _ in 0..<200 {
            let cuts = (0..<Int.random(in: 1...6, using: &rng)).map { _ in Int.random(in: 0...data.count, using: &rng) }.sorted()
            var crc: UInt64 = 0
            var previous = 0
            data.withUnsafeBytes { all in
                for cut in cuts + [data.count] {
                    crc = CRC64.update(crc, UnsafeRawBufferPointer(rebasing: all[previous..<cut]))
                    previous = cut
                }
            }
            #expect(crc == whole)
        }
    }

    @Test func nonContiguousCollectionsGiveTheSameChecksum() {
        let data: [UInt8] = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let lazy = data.lazy.map { $0 }
        #expect(CRC64.checksum(lazy) == CRC64.checksum(data))
        #expect(CRC64.checksum(data[13..<977]) == Self.reference(Array(data[13..<977])))
    }
}
