// SHA1: the SHA-1 hash (FIPS 180-4), for DEBUG DIGEST, which Redis defines in terms of it. Not for
// security. One-shot over a byte span; the state and message schedule live on the stack.

/// A SHA-1 digest: five big-endian 32-bit words (20 bytes).
public struct SHA1Digest: Equatable, Sendable {
    public var h0: UInt32, h1: UInt32, h2: UInt32, h3: UInt32, h4: UInt32

    public init(_ h0: UInt32, _ h1: UInt32, _ h2: UInt32, _ h3: UInt32, _ h4: UInt32) {
        self.h0 = h0; self.h1 = h1; self.h2 = h2; self.h3 = h3; self.h4 = h4
    }

    /// Twenty zero bytes (where Redis's digests start).
    public static let zero = SHA1Digest(0, 0, 0, 0, 0)

    /// The 20 bytes.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(20)
        for w in [h0, h1, h2, h3, h4] {
            out.append(UInt8(w >> 24)); out.append(UInt8(truncatingIfNeeded: w >> 16))
            out.append(UInt8(truncatingIfNeeded: w >> 8)); out.append(UInt8(truncatingIfNeeded: w))
        }
        return out
    }

    /// Lower-case hex of the 20 bytes (40 characters).
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var s: [UInt8] = []
        s.reserveCapacity(40)
        for b in bytes { s.append(digits[Int(b >> 4)]); s.append(digits[Int(b & 15)]) }
        return String(decoding: s, as: UTF8.self)
    }

    /// Calls `body` with the 20 bytes, without allocating.
    @inline(__always)
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var be = (h0.bigEndian, h1.bigEndian, h2.bigEndian, h3.bigEndian, h4.bigEndian)
        return try Swift.withUnsafeBytes(of: &be) { try body(UnsafeRawBufferPointer(rebasing: $0[0 ..< 20])) }
    }

    public static func ^= (a: inout SHA1Digest, b: SHA1Digest) {
        a.h0 ^= b.h0; a.h1 ^= b.h1; a.h2 ^= b.h2; a.h3 ^= b.h3; a.h4 ^= b.h4
    }
}

public enum SHA1 {
    /// The SHA-1 of `data`.
    public static func hash(_ data: UnsafeRawBufferPointer) -> SHA1Digest {
        var s = SHA1Digest(0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
        let n = data.count
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
            withUnsafeTemporaryAllocation(byteCount: 128, alignment: 8) { tail in
                var offset = 0
                if let base = data.baseAddress {
                    while offset + 64 <= n {
                        compress(&s, base + offset, w)
                        offset += 64
                    }
                }
                // The last partial block, the 0x80 marker, zeros, and the bit length (big-endian).
                let t = tail.baseAddress!
                let rest = n - offset
                if rest > 0 { t.copyMemory(from: data.baseAddress! + offset, byteCount: rest) }
                t.storeBytes(of: 0x80, toByteOffset: rest, as: UInt8.self)
                let total = rest + 9 <= 64 ? 64 : 128
                for i in rest + 1 ..< total - 8 { t.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
                t.storeBytes(of: (UInt64(n) &* 8).bigEndian, toByteOffset: total - 8, as: UInt64.self)
                compress(&s, UnsafeRawPointer(t), w)
                if total == 128 { compress(&s, UnsafeRawPointer(t + 64), w) }
            }
        }
        return s
    }

    public static func hash(_ bytes: [UInt8]) -> SHA1Digest { bytes.withUnsafeBytes { hash($0) } }

    /// One 64-byte block.
    @inline(__always)
    static func compress(_ s: inout SHA1Digest, _ p: UnsafeRawPointer, _ w: UnsafeMutableBufferPointer<UInt32>) {
        for i in 0 ..< 16 { w[i] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        for i in 16 ..< 80 {
            let x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
            w[i] = (x << 1) | (x >> 31)
        }
        var a = s.h0, b = s.h1, c = s.h2, d = s.h3, e = s.h4
        for i in 0 ..< 80 {
            let f: UInt32, k: UInt32
            switch i {
            case 0 ..< 20: f = (b & c) | (~b & d); k = 0x5A82_7999
            case 20 ..< 40: f = b ^ c ^ d; k = 0x6ED9_EBA1
            case 40 ..< 60: f = (b & c) | (b & d) | (c & d); k = 0x8F1B_BCDC
            default: f = b ^ c ^ d; k = 0xCA62_C1D6
            }
            let t = ((a << 5) | (a >> 27)) &+ f &+ e &+ k &+ w[i]
            e = d; d = c; c = (b << 30) | (b >> 2); b = a; a = t
        }
        s.h0 &+= a; s.h1 &+= b; s.h2 &+= c; s.h3 &+= d; s.h4 &+= e
    }
}
