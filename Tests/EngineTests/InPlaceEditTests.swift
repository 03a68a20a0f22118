// Commands that change part of a string (APPEND, SETRANGE, SETBIT, BITFIELD, PFADD) edit the table's
// bytes in place: the buffer the key holds stays the same allocation while the edit fits in it. A
// copy-on-write copy (a lookup's reference still alive during the edit) would allocate a new buffer
// while the old one is still referenced, so its address would necessarily change.
import Testing
@testable import Engine

@Suite struct InPlaceEditTests {
    /// The address and capacity of the buffer `key` holds in database 0.
    func buffer(_ h: EngineHarness, _ key: String) -> (address: UInt, capacity: Int)? {
        guard case .string(let s)? = h.engine.databases[0].keys[ByteString(Array(key.utf8))] else { return nil }
        let bytes: [UInt8]
        switch s {
        case .raw(let b), .bytes(let b): bytes = b.bytes
        case .int: return nil
        }
        return bytes.withUnsafeBufferPointer { (UInt(bitPattern: $0.baseAddress), bytes.capacity) }
    }

    @Test func appendGrowsLikeAnSdsAndThenWritesInPlace() throws {
        let h = EngineHarness()
        h.run("SET k " + String(repeating: "x", count: 100_000))
        // More than the SET's buffer holds: the string grows, keeping room as Redis keeps it (twice
        // the length below 1 MiB).
        h.run("APPEND k " + String(repeating: "y", count: 1000))
        let first = try #require(buffer(h, "k"))
        #expect(first.capacity >= 202_000)
        for _ in 0 ..< 500 { h.run("APPEND k abc") }
        let after = try #require(buffer(h, "k"))
        #expect(after.address == first.address, "an APPEND that fits copied the string")
        #expect(h.run("STRLEN k") == ":102500\r\n")
    }

    @Test func setrangeAndSetbitWriteInPlace() throws {
        let h = EngineHarness()
        h.run("SETRANGE k 100000 abc")
        h.run("SETRANGE k 100010 abc")  // grows: takes its room
        let first = try #require(buffer(h, "k"))
        for i in 0 ..< 100 { h.run("SETRANGE k \(i * 7) zz") }
        for i in 0 ..< 100 { h.run("SETBIT k \(i * 13) 1") }
        h.run("BITFIELD k SET u8 0 200 INCRBY i16 64 5")
        let after = try #require(buffer(h, "k"))
        #expect(after.address == first.address, "an edit inside the string copied it")
    }

    @Test func pfaddOnADenseHLLWritesInPlace() throws {
        let h = EngineHarness()
        for i in 0 ..< 50 {
            h.run("PFADD hll " + (0 ..< 100).map { "e\(i * 100 + $0)" }.joined(separator: " "))
        }
        #expect(h.run("PFDEBUG ENCODING hll") == "+dense\r\n")
        let first = try #require(buffer(h, "hll"))
        for i in 0 ..< 200 { h.run("PFADD hll more\(i)") }
        let after = try #require(buffer(h, "hll"))
        #expect(after.address == first.address, "PFADD copied the dense HLL")
    }
}
