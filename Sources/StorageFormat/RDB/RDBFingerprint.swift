// RDBFingerprint: a 64-bit fingerprint of a byte string, computed in one call or fed in pieces (the
// same bytes give the same fingerprint however they are split), used by RDBDecoder to find duplicate
// keys, set members, hash fields and zset members without keeping the elements themselves.
//
// Words of 8 bytes (little-endian) are folded into the state with a 64×64→128-bit multiply whose halves
// are xored (wyhash's "mum"); the tail (< 8 bytes) and the length are folded in at the end. Integers
// stored as integers and strings that spell the same integer under Redis's strict rule get the same
// fingerprint (`ofCanonical`), because Redis compares members as text.

@usableFromInline
struct RDBFingerprint {
    @usableFromInline static let k0: UInt64 = 0xa076_1d64_78bd_642f
    @usableFromInline static let k1: UInt64 = 0xe703_7ed1_a0b4_28db
    @usableFromInline static let k2: UInt64 = 0x8ebc_6af0_9c88_c6e3
    @usableFromInline static let k3: UInt64 = 0x5899_65cc_7537_4cc3

    @usableFromInline var h: UInt64 = k0
    @usableFromInline var tail: UInt64 = 0
    @usableFromInline var tailBytes = 0
    @usableFromInline var length = 0

    @inlinable init() {}

    @inlinable @inline(__always)
    static func mum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let r = a.multipliedFullWidth(by: b)
        return r.high ^ r.low
    }

    /// Feeds the next piece of the string.
    @inlinable
    mutating func update(_ b: UnsafeRawBufferPointer) {
        let n = b.count
        guard n > 0, let base = b.baseAddress else { return }
        length += n
        var p = 0
        if tailBytes > 0 {
            while tailBytes < 8 && p < n {
                tail |= UInt64(base.load(fromByteOffset: p, as: UInt8.self)) << UInt64(8 * tailBytes)
                tailBytes += 1
                p += 1
            }
            if tailBytes < 8 { return }
            h = RDBFingerprint.mum(h ^ tail ^ RDBFingerprint.k1, RDBFingerprint.k2)
            tail = 0
            tailBytes = 0
        }
        while n - p >= 8 {
            let w = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: p, as: UInt64.self))
            h = RDBFingerprint.mum(h ^ w ^ RDBFingerprint.k1, RDBFingerprint.k2)
            p += 8
        }
        while p < n {
            tail |= UInt64(base.load(fromByteOffset: p, as: UInt8.self)) << UInt64(8 * tailBytes)
            tailBytes += 1
            p += 1
        }
    }

    @inlinable
    func finish() -> UInt64 {
        var x = h
        if tailBytes > 0 { x = RDBFingerprint.mum(x ^ tail ^ RDBFingerprint.k3, RDBFingerprint.k2) }
        return RDBFingerprint.mum(x ^ UInt64(length), RDBFingerprint.k0 ^ RDBFingerprint.k3)
    }

    /// The fingerprint of `b` as raw bytes. Strings of up to 16 bytes take a short path (wyhash's: two
    /// overlapping loads); longer ones are hashed exactly as `update` + `finish` would, so a long string
    /// gets the same fingerprint whether it arrives whole or in pieces. (Pieces are only ever fed for
    /// strings far longer than 16 bytes.)
    @inlinable
    static func of(_ b: UnsafeRawBufferPointer) -> UInt64 {
        let n = b.count
        if n <= 16 {
            var a: UInt64 = 0, c: UInt64 = 0
            if let p = b.baseAddress, n > 0 {
                if n >= 4 {
                    let step = (n >> 3) << 2
                    a = UInt64(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))) << 32
                        | UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: step, as: UInt32.self)))
                    c = UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))) << 32
                        | UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: n - 4 - step, as: UInt32.self)))
                } else {
                    a = UInt64(p.load(as: UInt8.self)) << 16 | UInt64(p.load(fromByteOffset: n >> 1, as: UInt8.self)) << 8
                        | UInt64(p.load(fromByteOffset: n - 1, as: UInt8.self))
                }
            }
            return mum(k1 ^ UInt64(n), mum(a ^ k1, c ^ k0))
        }
        var f = RDBFingerprint()
        f.update(b)
        return f.finish()
    }

    /// The fingerprint of an integer element (and of any string that spells it strictly).
    @inlinable @inline(__always)
    static func of(int v: Int64) -> UInt64 {
        mum(UInt64(bitPattern: v) ^ k3, k1 ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The fingerprint of a string element as Redis compares it: a string that is a canonical integer
    /// fingerprints like that integer.
    @inlinable @inline(__always)
    static func ofCanonical(_ b: UnsafeRawBufferPointer) -> UInt64 {
        if b.count <= 20, b.count > 0 {
            let c = b[0]
            if c == UInt8(ascii: "-") || (c >= 48 && c <= 57), let v = StrictInteger.parse(b) { return of(int: v) }
        }
        return of(b)
    }

    /// The fingerprint of a listpack/ziplist element as Redis compares it.
    @inlinable @inline(__always)
    static func of(_ e: CompactElement) -> UInt64 {
        switch e {
        case .int(let v): return of(int: v)
        case .bytes(let b): return ofCanonical(b)
        }
    }
}
