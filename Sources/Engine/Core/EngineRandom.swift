// EngineRandom: the random numbers commands draw (SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER, skiplist
// levels). Redis draws these from a plain PRNG; Swift's SystemRandomNumberGenerator makes a getrandom
// system call per draw, which cost SPOP and ZADD a tenth of their time. A xorshift64* sequence,
// seeded once from the system generator; only the engine's thread draws.

public struct EngineRandom: RandomNumberGenerator {
    nonisolated(unsafe) static var state: UInt64 = UInt64.random(in: 1 ... UInt64.max)

    @inline(__always) public init() {}

    @inline(__always)
    public mutating func next() -> UInt64 {
        var x = EngineRandom.state
        x ^= x >> 12
        x ^= x << 25
        x ^= x >> 27
        EngineRandom.state = x
        return x &* 0x2545_F491_4F6C_DD1D
    }

    /// A uniform integer in `range`.
    @inline(__always)
    public static func int(in range: Range<Int>) -> Int {
        var g = EngineRandom()
        return Int.random(in: range, using: &g)
    }
}
