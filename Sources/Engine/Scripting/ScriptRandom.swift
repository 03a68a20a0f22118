// math.random inside scripts: Redis's own 48-bit linear congruential generator (drand48's
// constants: x = 0x5DEECE66D * x + 0xB mod 2^48, results are bits 47..17), one state per process,
// starting from drand48's default seed and reseeded only by math.randomseed, as in Redis 7.0.

struct ScriptRandom {
    private var x: UInt64 = 0x1234_ABCD_330E

    /// The next 31-bit value (lrand48).
    mutating func next() -> Int32 {
        x = (0x5_DEEC_E66D &* x &+ 0xB) & 0xFFFF_FFFF_FFFF
        return Int32(truncatingIfNeeded: x >> 17)
    }

    /// srand48: the seed's 32 bits above drand48's fixed low word.
    mutating func seed(_ s: Int32) {
        x = (UInt64(UInt32(bitPattern: s)) << 16) | 0x330E
    }

    /// A number in [0, 1), as Redis's math.random computes it.
    mutating func unit() -> Double {
        let maxValue = Double(Int32.max)
        return Double(next() % Int32.max) / maxValue
    }
}
