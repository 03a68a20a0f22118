// WyHash: a fast seeded non-cryptographic hash over bytes (Wang Yi's wyhash, final version 4),
// written from its description: 64x64→128-bit multiplies folded by xor, reading the input in 16-
// and 48-byte strides. Used for the keyspace table and ByteString's Hashable conformance.
// The process seed is random, so bucket placement differs from run to run.

@usableFromInline
enum WyHash {
    @inlinable static var s0: UInt64 { 0xa076_1d64_78bd_642f }
    @inlinable static var s1: UInt64 { 0xe703_7ed1_a0b4_28db }
    @inlinable static var s2: UInt64 { 0x8ebc_6af0_9c88_c6e3 }
    @inlinable static var s3: UInt64 { 0x5899_65cc_7537_4cc3 }

    /// A random seed chosen once per process.
    @usableFromInline static let processSeed: UInt64 = UInt64.random(in: .min ... .max)

    @inlinable @inline(__always)
    static func mum(_ a: UInt64, _ b: UInt64) -> (UInt64, UInt64) {
        let r = a.multipliedFullWidth(by: b)
        return (r.low, r.high)
    }

    @inlinable @inline(__always)
    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let r = a.multipliedFullWidth(by: b)
        return r.low ^ r.high
    }

    @inlinable @inline(__always)
    static func r8(_ p: UnsafeRawPointer) -> UInt64 { UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) }

    @inlinable @inline(__always)
    static func r4(_ p: UnsafeRawPointer) -> UInt64 { UInt64(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))) }

    /// The hash of 16 bytes already packed into two words (ByteString's small form, length included).
    @inlinable @inline(__always)
    static func hashWords(_ w0: UInt64, _ w1: UInt64, seed: UInt64) -> UInt64 {
        let (a, b) = mum(w0 ^ s1, w1 ^ seed ^ s2)
        return mix(a ^ s0, b ^ s1)
    }

    /// wyhash of `bytes`.
    @inlinable
    static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let len = bytes.count
        var seed = seed ^ mix(seed ^ s0, s1)
        var a: UInt64 = 0
        var b: UInt64 = 0
        if let p = bytes.baseAddress, len > 0 {
            if len <= 16 {
                if len >= 4 {
                    let q = (len &>> 3) &<< 2
                    a = (r4(p) &<< 32) | r4(p + q)
                    b = (r4(p + len - 4) &<< 32) | r4(p + len - 4 - q)
                } else {
                    let b0 = UInt64(p.load(as: UInt8.self))
                    let bm = UInt64(p.load(fromByteOffset: len &>> 1, as: UInt8.self))
                    let bl = UInt64(p.load(fromByteOffset: len - 1, as: UInt8.self))
                    a = (b0 &<< 16) | (bm &<< 8) | bl
                }
            } else {
                var i = len
                var q = p
                if i > 48 {
                    var see1 = seed
                    var see2 = seed
                    repeat {
                        seed = mix(r8(q) ^ s1, r8(q + 8) ^ seed)
                        see1 = mix(r8(q + 16) ^ s2, r8(q + 24) ^ see1)
                        see2 = mix(r8(q + 32) ^ s3, r8(q + 40) ^ see2)
                        q += 48
                        i -= 48
                    } while i > 48
                    seed ^= see1 ^ see2
                }
                while i > 16 {
                    seed = mix(r8(q) ^ s1, r8(q + 8) ^ seed)
                    i -= 16
                    q += 16
                }
                a = r8(q + i - 16)
                b = r8(q + i - 8)
            }
        }
        (a, b) = mum(a ^ s1, b ^ seed)
        return mix(a ^ s0 ^ UInt64(len), b ^ s1)
    }
}
