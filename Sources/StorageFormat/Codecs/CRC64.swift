// CRC64 as Redis uses it: Jones polynomial, reflected in and out, init 0, no final xor
// ("CRC-64/REDIS"; check value crc64("123456789") == 0xe9c6d914c4b8d9ca). Table-driven, slicing-by-8.
//
// Layout: the checksum of an RDB file (magic through EOF opcode) or DUMP payload (type through version)
// is stored after it as a u64 little-endian. Eight 256-entry tables are built once: table 0 advances the
// reflected register by one byte, table k by k + 1 bytes, so eight input bytes cost eight look-ups.

public enum CRC64 {
    /// The reflected form of the Jones polynomial 0xad93d23594c935a9.
    @usableFromInline static let reflectedPolynomial: UInt64 = 0x95ac_9329_ac4b_c9b5

    /// Eight tables of 256 entries, one after the other: `tables[k * 256 + b]`.
    @usableFromInline static let tables: [UInt64] = {
        var t = [UInt64](repeating: 0, count: 8 * 256)
        for b in 0..<256 {
            var crc = UInt64(b)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ reflectedPolynomial : crc >> 1
            }
            t[b] = crc
        }
        for k in 1..<8 {
            for b in 0..<256 {
                let prev = t[(k - 1) * 256 + b]
                t[k * 256 + b] = (prev >> 8) ^ t[Int(truncatingIfNeeded: prev & 0xff)]
            }
        }
        return t
    }()

    /// Continues a running checksum `crc` over `bytes`. Start with 0.
    ///
    /// Splitting the input anywhere gives the same result: `update(update(0, a), b) == update(0, a + b)`.
    /// O(n), about one table look-up per byte; no allocation.
    public static func update(_ crc: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return tables.withUnsafeBufferPointer { table -> UInt64 in
            let t0 = table.baseAddress.unsafelyUnwrapped
            let t1 = t0 + 256, t2 = t0 + 512, t3 = t0 + 768
            let t4 = t0 + 1024, t5 = t0 + 1280, t6 = t0 + 1536, t7 = t0 + 1792
            var c = crc
            var p = base
            var n = bytes.count
            while n >= 8 {
                c ^= UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
                c = t7[Int(truncatingIfNeeded: c & 0xff)]
                    ^ t6[Int(truncatingIfNeeded: (c >> 8) & 0xff)]
                    ^ t5[Int(truncatingIfNeeded: (c >> 16) & 0xff)]
                    ^ t4[Int(truncatingIfNeeded: (c >> 24) & 0xff)]
                    ^ t3[Int(truncatingIfNeeded: (c >> 32) & 0xff)]
                    ^ t2[Int(truncatingIfNeeded: (c >> 40) & 0xff)]
                    ^ t1[Int(truncatingIfNeeded: (c >> 48) & 0xff)]
                    ^ t0[Int(truncatingIfNeeded: c >> 56)]
                p += 8
                n -= 8
            }
            while n > 0 {
                let b = UInt64(p.load(as: UInt8.self))
                c = t0[Int(truncatingIfNeeded: (c ^ b) & 0xff)] ^ (c >> 8)
                p += 1
                n -= 1
            }
            return c
        }
    }

    /// The checksum of `bytes` from 0. Contiguous collections (arrays, slices, buffers) take the
    /// slicing-by-8 path; others are checksummed a byte at a time.
    @inlinable
    public static func checksum<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        if let crc = bytes.withContiguousStorageIfAvailable({ update(0, UnsafeRawBufferPointer($0)) }) {
            return crc
        }
        return updateBytewise(0, bytes)
    }

    /// One byte at a time, for sequences without contiguous storage.
    @usableFromInline
    static func updateBytewise<S: Sequence>(_ crc: UInt64, _ bytes: S) -> UInt64 where S.Element == UInt8 {
        tables.withUnsafeBufferPointer { table -> UInt64 in
            let t0 = table.baseAddress.unsafelyUnwrapped
            var c = crc
            for b in bytes {
                c = t0[Int(truncatingIfNeeded: (c ^ UInt64(b)) & 0xff)] ^ (c >> 8)
            }
            return c
        }
    }
}
