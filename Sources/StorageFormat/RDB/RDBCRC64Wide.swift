// RDBCRC64Wide: CRC64 (Redis's, CRC64.swift) over large inputs at about twice the speed, for the scanner's
// helper thread. The table-driven loop is bound by the latency of its chain of table look-ups, so two
// halves of each 128 KiB block are run through it side by side (two independent chains in one loop) and
// then joined: with init 0 and no final xor the CRC is linear, CRC(A‖B) = CRC(A)·x^(8|B|) ⊕ CRC(B), and
// multiplying by x^(8·64 KiB) modulo the polynomial is a fixed 64×64 bit matrix, computed once by
// repeated squaring of the one-bit shift (the method of zlib's crc32_combine).

extension CRC64 {
    /// Bytes in each half of a block.
    static let wideHalf = 1 << 16

    /// The matrix that shifts a CRC over `wideHalf` zero bytes: column i is the image of bit i.
    static let wideShift: [UInt64] = shiftOperator(bytes: wideHalf)

    static func gf2Times(_ matrix: [UInt64], _ vector: UInt64) -> UInt64 {
        var v = vector, sum: UInt64 = 0, i = 0
        while v != 0 {
            if v & 1 != 0 { sum ^= matrix[i] }
            v >>= 1
            i += 1
        }
        return sum
    }

    static func gf2Square(_ m: [UInt64]) -> [UInt64] { (0 ..< 64).map { gf2Times(m, m[$0]) } }

    /// The operator for `n` zero bytes (n ≥ 1).
    static func shiftOperator(bytes n: Int) -> [UInt64] {
        // One zero bit on the reflected register: shift right, xor the polynomial when bit 0 was set.
        var op = [UInt64](repeating: 0, count: 64)
        op[0] = reflectedPolynomial
        for i in 1 ..< 64 { op[i] = 1 << UInt64(i - 1) }
        for _ in 0 ..< 3 { op = gf2Square(op) }          // 8 bits: one byte
        var result: [UInt64]? = nil
        var k = n
        var base = op
        while k > 0 {
            if k & 1 != 0 { result = result.map { r in (0 ..< 64).map { gf2Times(base, r[$0]) } } ?? base }
            k >>= 1
            if k > 0 { base = gf2Square(base) }
        }
        return result!
    }

    /// CRC(A‖B) from CRC(A) (with any start) and CRC(B) (started at 0), for |B| = `wideHalf`.
    @inline(__always)
    static func joinWide(_ a: UInt64, _ b: UInt64) -> UInt64 { gf2Times(wideShift, a) ^ b }

    /// Same result as `update(crc, bytes)`, faster on large inputs.
    static func updateWide(_ crc: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let block = 2 * wideHalf
        guard bytes.count >= block, let start = bytes.baseAddress else { return update(crc, bytes) }
        var c = crc
        var p = start
        var left = bytes.count
        let shift = wideShift
        tables.withUnsafeBufferPointer { table in
            let t0 = table.baseAddress.unsafelyUnwrapped
            let t1 = t0 + 256, t2 = t0 + 512, t3 = t0 + 768
            let t4 = t0 + 1024, t5 = t0 + 1280, t6 = t0 + 1536, t7 = t0 + 1792
            @inline(__always) func step(_ x: UInt64) -> UInt64 {
                t7[Int(truncatingIfNeeded: x & 0xff)]
                    ^ t6[Int(truncatingIfNeeded: (x >> 8) & 0xff)]
                    ^ t5[Int(truncatingIfNeeded: (x >> 16) & 0xff)]
                    ^ t4[Int(truncatingIfNeeded: (x >> 24) & 0xff)]
                    ^ t3[Int(truncatingIfNeeded: (x >> 32) & 0xff)]
                    ^ t2[Int(truncatingIfNeeded: (x >> 40) & 0xff)]
                    ^ t1[Int(truncatingIfNeeded: (x >> 48) & 0xff)]
                    ^ t0[Int(truncatingIfNeeded: x >> 56)]
            }
            while left >= block {
                var a = c, b: UInt64 = 0
                var pa = p, pb = p + wideHalf
                let end = pb
                while pa < end {
                    a = step(a ^ UInt64(littleEndian: pa.loadUnaligned(as: UInt64.self)))
                    b = step(b ^ UInt64(littleEndian: pb.loadUnaligned(as: UInt64.self)))
                    pa += 8
                    pb += 8
                }
                var sum: UInt64 = 0, v = a, i = 0
                while v != 0 {
                    if v & 1 != 0 { sum ^= shift[i] }
                    v >>= 1
                    i += 1
                }
                c = sum ^ b
                p += block
                left -= block
            }
        }
        return update(c, UnsafeRawBufferPointer(start: p, count: left))
    }
}
