import Testing
@testable import StorageFormat

@Suite struct CRC16Tests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func checkValue() {
        #expect(CRC16.checksum(Self.bytes("123456789")) == 0x31c3)
        Self.bytes("123456789").withUnsafeBytes { #expect(CRC16.checksum($0) == 0x31c3) }
        #expect(CRC16.checksum([]) == 0)
    }

    @Test func slotsMatchRedis() {
        // CLUSTER KEYSLOT values.
        #expect(CRC16.keySlot(Self.bytes("foo")) == 12182)
        #expect(CRC16.keySlot(Self.bytes("somekey")) == 11058)
        #expect(CRC16.keySlot(Self.bytes("hello")) == 866)
        #expect(CRC16.keySlot(Self.bytes("123456789")) == 12739)
        #expect(CRC16.keySlot([]) == 0)
    }

    @Test func hashTags() {
        let tag = CRC16.keySlot(Self.bytes("hash_tag"))
        #expect(tag == 2515)
        #expect(CRC16.keySlot(Self.bytes("foo{hash_tag}")) == tag)
        #expect(CRC16.keySlot(Self.bytes("{hash_tag}bar")) == tag)
        #expect(CRC16.keySlot(Self.bytes("{user1000}.following")) == CRC16.keySlot(Self.bytes("{user1000}.followers")))
        // Only the first '{' and the first '}' after it count.
        #expect(CRC16.keySlot(Self.bytes("foo{bar}{zap}")) == CRC16.keySlot(Self.bytes("bar")))
        #expect(CRC16.keySlot(Self.bytes("foo{{bar}}zap")) == CRC16.keySlot(Self.bytes("{bar")))
        // An empty tag, or no closing brace, hashes the whole key.
        #expect(CRC16.keySlot(Self.bytes("foo{}{bar}")) == Int(CRC16.checksum(Self.bytes("foo{}{bar}")) & 16383))
        #expect(CRC16.keySlot(Self.bytes("foo{bar")) == Int(CRC16.checksum(Self.bytes("foo{bar")) & 16383))
        #expect(CRC16.keySlot(Self.bytes("}foo{")) == Int(CRC16.checksum(Self.bytes("}foo{")) & 16383))
    }

    @Test func slotsStayInRange() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<1000 {
            let key = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect((0..<16384).contains(CRC16.keySlot(key)))
        }
    }
}
