// HyperLogLog: Redis's representation of an HLL inside a plain string value, byte for byte, so an HLL
// Redis made counts the same here and PFADD of the same elements leaves the same bytes in both.
//
//   "HYLL"  u8 encoding (0 dense, 1 sparse)  3 zero bytes  u64le cached cardinality
//           (bit 7 of its last byte set = stale)  then the registers:
//   dense:  16384 six-bit registers packed from the least significant bit: 12288 bytes (12304 in all)
//   sparse: opcodes covering exactly 16384 registers: ZERO 00xxxxxx (1-64 zeros),
//           XZERO 01xxxxxx yyyyyyyy (1-16384 zeros), VAL 1vvvvvxx (value 1-32 repeated 1-4 times)
//
// Elements hash with MurmurHash64A (seed 0xadc83b19): the low 14 bits pick the register, the run of
// zeros above them (plus one) is the candidate value. The estimate is Ertl's "new" estimator (tau and
// sigma over the register histogram) that Redis 7.0 uses. Every function works on the whole string
// (header included), as Redis's do on the sds.
#if canImport(Glibc)
import Glibc
#endif

public enum HyperLogLog {
    public static let headerSize = 16
    public static let registerCount = 16384
    static let p = 14
    static let q = 64 - p
    static let registerMax: UInt8 = 63
    public static let denseSize = headerSize + (registerCount * 6 + 7) / 8
    public static let dense: UInt8 = 0
    public static let sparse: UInt8 = 1

    static let sparseValMaxValue = 32
    static let sparseValMaxLen = 4
    static let sparseZeroMaxLen = 64
    static let sparseXZeroMaxLen = 16384
    static let alphaInf = 0.721347520444481703680

    static let invalidObject = "INVALIDOBJ Corrupted HLL object detected"
    static let notHLL = "WRONGTYPE Key is not a valid HyperLogLog string value."

    // MARK: - Hash

    /// MurmurHash2, 64-bit version, reading 8-byte blocks little-endian (Redis's endian-neutral form).
    public static func murmurHash64A(_ key: UnsafeRawBufferPointer, seed: UInt32) -> UInt64 {
        let m: UInt64 = 0xc6a4_a793_5bd1_e995
        let r: UInt64 = 47
        let len = key.count
        var h = UInt64(seed) ^ (UInt64(truncatingIfNeeded: len) &* m)
        let blocks = len / 8
        var i = 0
        while i < blocks {
            var k = key.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self).littleEndian
            k = k &* m
            k ^= k >> r
            k = k &* m
            h ^= k
            h = h &* m
            i += 1
        }
        let tail = blocks * 8
        let rest = len & 7
        if rest > 0 {
            var j = rest - 1
            while j >= 0 {
                h ^= UInt64(key[tail + j]) << UInt64(8 * j)
                j -= 1
            }
            h = h &* m
        }
        h ^= h >> r
        h = h &* m
        h ^= h >> r
        return h
    }

    /// The register an element updates and the length of its "000...1" pattern (1 ... 51).
    @inline(__always)
    public static func patternLength(_ element: UnsafeRawBufferPointer) -> (index: Int, count: UInt8) {
        var hash = murmurHash64A(element, seed: 0xadc8_3b19)
        let index = Int(hash & UInt64(registerCount - 1))
        hash >>= UInt64(p)
        hash |= UInt64(1) << UInt64(q)
        return (index, UInt8(hash.trailingZeroBitCount + 1))
    }

    // MARK: - Header

    /// Redis's isHLLObject: at least a header, the magic, a known encoding, and the exact length when dense.
    public static func isValid(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= headerSize, b[0] == UInt8(ascii: "H"), b[1] == UInt8(ascii: "Y"),
              b[2] == UInt8(ascii: "L"), b[3] == UInt8(ascii: "L"), b[4] <= 1 else { return false }
        return b[4] != dense || b.count == denseSize
    }

    /// A new, empty HLL: sparse, one XZERO covering every register, cached cardinality 0 (valid).
    public static func makeEmpty() -> [UInt8] {
        var s = [UInt8](repeating: 0, count: headerSize + 2)
        s[0] = UInt8(ascii: "H"); s[1] = UInt8(ascii: "Y"); s[2] = UInt8(ascii: "L"); s[3] = UInt8(ascii: "L")
        s[4] = sparse
        let l = sparseXZeroMaxLen - 1
        s[16] = UInt8(l >> 8) | 0x40
        s[17] = UInt8(l & 0xff)
        return s
    }

    @inline(__always) static func invalidateCache(_ s: inout [UInt8]) { s[15] |= 0x80 }
    @inline(__always) static func cacheIsValid(_ s: UnsafeRawBufferPointer) -> Bool { s[15] & 0x80 == 0 }

    static func cachedCardinality(_ s: UnsafeRawBufferPointer) -> UInt64 {
        var v: UInt64 = 0
        for i in 0 ..< 8 { v |= UInt64(s[8 + i]) << UInt64(8 * i) }
        return v
    }

    static func setCachedCardinality(_ s: inout [UInt8], _ v: UInt64) {
        for i in 0 ..< 8 { s[8 + i] = UInt8(truncatingIfNeeded: v >> UInt64(8 * i)) }
    }

    // MARK: - Dense registers

    /// Register `index` of the dense registers starting at `base`. The byte after the last register is
    /// read as zero (Redis reads the sds terminator there).
    @inline(__always)
    static func denseGet(_ r: UnsafeRawBufferPointer, _ base: Int, _ index: Int) -> UInt8 {
        let byte = base + index * 6 / 8
        let fb = UInt(index * 6 & 7)
        let b0 = UInt(r[byte])
        let b1 = byte + 1 < r.count ? UInt(r[byte + 1]) : 0
        return UInt8(((b0 >> fb) | (b1 << (8 - fb))) & 63)
    }

    @inline(__always)
    static func denseSet(_ r: UnsafeMutableRawBufferPointer, _ base: Int, _ index: Int, _ value: UInt8) {
        let byte = base + index * 6 / 8
        let fb = UInt(index * 6 & 7)
        let fb8 = 8 - fb
        let v = UInt(value)
        r[byte] = UInt8(truncatingIfNeeded: (UInt(r[byte]) & ~(UInt(63) << fb)) | (v << fb))
        if byte + 1 < r.count {
            r[byte + 1] = UInt8(truncatingIfNeeded: (UInt(r[byte + 1]) & ~(UInt(63) >> fb8)) | (v >> fb8))
        }
    }

    /// Sets dense register `index` to `count` if that is larger; true when it changed.
    @inline(__always)
    static func denseSetIfGreater(_ r: UnsafeMutableRawBufferPointer, _ index: Int, _ count: UInt8) -> Bool {
        let old = denseGet(UnsafeRawBufferPointer(r), headerSize, index)
        guard count > old else { return false }
        denseSet(r, headerSize, index, count)
        return true
    }

    // MARK: - Sparse

    @inline(__always) static func isZero(_ b: UInt8) -> Bool { b & 0xc0 == 0 }
    @inline(__always) static func isXZero(_ b: UInt8) -> Bool { b & 0xc0 == 0x40 }
    @inline(__always) static func isVal(_ b: UInt8) -> Bool { b & 0x80 != 0 }
    @inline(__always) static func zeroLen(_ b: UInt8) -> Int { Int(b & 0x3f) + 1 }
    @inline(__always) static func xzeroLen(_ b: UInt8, _ b2: UInt8) -> Int { (Int(b & 0x3f) << 8 | Int(b2)) + 1 }
    @inline(__always) static func valValue(_ b: UInt8) -> Int { Int((b >> 2) & 0x1f) + 1 }
    @inline(__always) static func valLen(_ b: UInt8) -> Int { Int(b & 0x3) + 1 }
    @inline(__always) static func valOp(_ value: Int, _ len: Int) -> UInt8 { UInt8((value - 1) << 2 | (len - 1)) | 0x80 }
    @inline(__always) static func xzeroOp(_ len: Int) -> (UInt8, UInt8) {
        let l = len - 1
        return (UInt8(truncatingIfNeeded: l >> 8) | 0x40, UInt8(truncatingIfNeeded: l & 0xff))
    }

    /// The byte after `i` in `s`, or 0 past the end (Redis reads the sds terminator there).
    @inline(__always) static func byteAfter(_ s: UnsafeRawBufferPointer, _ i: Int) -> UInt8 {
        i + 1 < s.count ? s[i + 1] : 0
    }

    /// Converts a sparse HLL to dense in place (header and cached cardinality kept). False when the
    /// sparse opcodes do not cover exactly 16384 registers; `s` is then unchanged.
    @discardableResult
    public static func sparseToDense(_ s: inout [UInt8]) -> Bool {
        if s[4] == dense { return true }
        var d = [UInt8](repeating: 0, count: denseSize)
        let ok = s.withUnsafeBytes { src -> Bool in
            d.withUnsafeMutableBytes { dst -> Bool in
                for i in 0 ..< headerSize { dst[i] = src[i] }
                dst[4] = dense
                var idx = 0
                var p = headerSize
                let end = src.count
                while p < end {
                    let b = src[p]
                    if isZero(b) {
                        idx += zeroLen(b)
                        p += 1
                    } else if isXZero(b) {
                        idx += xzeroLen(b, byteAfter(src, p))
                        p += 2
                    } else {
                        var runlen = valLen(b)
                        let regval = UInt8(valValue(b))
                        // Debian's 7.0.15 (with the CVE-2025-32023 fix) refuses a VAL run past the
                        // last register even when the registers before it add up to 16384.
                        if runlen + idx > registerCount { return false }
                        while runlen > 0 {
                            denseSet(dst, headerSize, idx, regval)
                            idx += 1
                            runlen -= 1
                        }
                        p += 1
                    }
                }
                return idx == registerCount
            }
        }
        if ok { s = d }
        return ok
    }

    /// Redis's hllSparseSet: sets register `index` to `count` if larger, splitting opcodes in place and
    /// promoting to dense when the value does not fit a VAL opcode or the string would grow past
    /// `maxBytes`. Returns 1 when a register changed, 0 when not, -1 for a corrupt representation.
    static func sparseSet(_ s: inout [UInt8], _ index: Int, _ count: UInt8, maxBytes: Int) -> Int {
        if Int(count) > sparseValMaxValue { return promote(&s, index, count) }

        // Step 1: find the opcode covering `index`.
        let sparseStart = headerSize
        var end = s.count
        var p = sparseStart
        var first = 0
        var prev = -1
        var span = 0
        var found = false
        s.withUnsafeBytes { b in
            while p < end {
                // The opcode's span chosen without branching on its kind (they alternate
                // unpredictably): VAL 1vvvvvxx covers xx+1, ZERO 00xxxxxx xxxxxx+1, XZERO 01xxxxxx
                // yyyyyyyy xxxxxxyyyyyyyy+1 in two bytes.
                let op = Int(b[p])
                let next = Int(byteAfter(b, p))
                let isX = (op >> 6) == 1 ? 1 : 0
                let low6 = op & 0x3f
                let zspan = isX == 1 ? (low6 << 8 | next) : low6
                span = (op >= 0x80 ? op & 3 : zspan) &+ 1
                if index < first &+ span { found = true; break }
                prev = p
                p &+= 1 &+ isX
                first &+= span
            }
        }
        _ = found
        if span == 0 || p >= end { return -1 }

        let op = s[p]
        var next = isXZero(op) ? p + 2 : p + 1
        if next >= end { next = -1 }

        var isZeroOp = false, isXZeroOp = false, isValOp = false
        var runlen = 0
        if isZero(op) {
            isZeroOp = true
            runlen = zeroLen(op)
        } else if isXZero(op) {
            isXZeroOp = true
            runlen = xzeroLen(op, p + 1 < s.count ? s[p + 1] : 0)
        } else {
            isValOp = true
            runlen = valLen(op)
        }

        var updatedInPlace = false
        if isValOp {
            let old = valValue(op)
            if old >= Int(count) { return 0 }
            if runlen == 1 {
                s[p] = valOp(Int(count), 1)
                updatedInPlace = true
            }
        }
        if !updatedInPlace && isZeroOp && runlen == 1 {
            s[p] = valOp(Int(count), 1)
            updatedInPlace = true
        }

        if !updatedInPlace {
            // General case: split the opcode into up to three (at most 5 bytes, built in a word on
            // the stack rather than an array, which would be an allocation per PFADD).
            var seq: UInt64 = 0
            var seqLen = 0
            @inline(__always) func put(_ b: UInt8) {
                seq |= UInt64(b) &<< UInt64(8 * seqLen)
                seqLen += 1
            }
            let last = first + span - 1
            @inline(__always) func zeros(_ len: Int) {
                if len > sparseZeroMaxLen {
                    let (a, b) = xzeroOp(len)
                    put(a); put(b)
                } else {
                    put(UInt8(len - 1))
                }
            }
            if isZeroOp || isXZeroOp {
                if index != first { zeros(index - first) }
                put(valOp(Int(count), 1))
                if index != last { zeros(last - index) }
            } else {
                let curval = valValue(op)
                if index != first { put(valOp(curval, index - first)) }
                put(valOp(Int(count), 1))
                if index != last { put(valOp(curval, last - index)) }
            }
            // Step 3: substitute the new sequence for the old opcode.
            let oldlen = isXZeroOp ? 2 : 1
            let deltalen = seqLen - oldlen
            if deltalen > 0 && s.count + deltalen > maxBytes { return promote(&s, index, count) }
            if p + oldlen > s.count {
                // A trailing XZERO missing its second byte (Redis read the terminator as it): Redis
                // grows the string by deltalen and copies the sequence at p, so its last byte falls
                // past the new end.
                var bytes: [UInt8] = []
                for i in 0 ..< seqLen - 1 { bytes.append(UInt8(truncatingIfNeeded: seq >> UInt64(8 * i))) }
                s.replaceSubrange(p ..< s.count, with: bytes)
            } else {
                replace(&s, at: p, length: oldlen, with: seq, count: seqLen)
            }
            end = s.count
        }

        // Step 4: merge adjacent VAL opcodes of the same value, scanning up to five opcodes from prev.
        var q = prev >= 0 ? prev : sparseStart
        var scanlen = 5
        while q < end {
            if scanlen == 0 { break }
            scanlen -= 1
            let b = s[q]
            if isXZero(b) {
                q += 2
                continue
            } else if isZero(b) {
                q += 1
                continue
            }
            if q + 1 < end && isVal(s[q + 1]) {
                let v1 = valValue(b)
                let v2 = valValue(s[q + 1])
                if v1 == v2 {
                    let len = valLen(b) + valLen(s[q + 1])
                    if len <= sparseValMaxLen {
                        s[q + 1] = valOp(v1, len)
                        s.remove(at: q)
                        end -= 1
                        continue
                    }
                }
            }
            q += 1
        }
        invalidateCache(&s)
        return 1
    }

    /// Replaces the `length` bytes at `p` of `s` with the `count` low bytes of `seq` (least significant
    /// first), moving the bytes after them: Redis's memmove within the sds, growing the array in place.
    static func replace(_ s: inout [UInt8], at p: Int, length: Int, with seq: UInt64, count: Int) {
        let oldCount = s.count
        let delta = count - length
        if delta > 0 {
            for _ in 0 ..< delta { s.append(0) }
        }
        s.withUnsafeMutableBytes { b in
            guard let base = b.baseAddress else { return }
            let tail = oldCount - (p + length)
            if delta != 0 && tail > 0 { memmove(base + p + count, base + p + length, tail) }
            for i in 0 ..< count { base.storeBytes(of: UInt8(truncatingIfNeeded: seq >> UInt64(8 * i)), toByteOffset: p + i, as: UInt8.self) }
        }
        if delta < 0 { s.removeLast(-delta) }
    }

    /// Promotes to dense and sets the register there (the path Redis takes past the sparse limits).
    static func promote(_ s: inout [UInt8], _ index: Int, _ count: UInt8) -> Int {
        guard sparseToDense(&s) else { return -1 }
        _ = s.withUnsafeMutableBytes { denseSetIfGreater($0, index, count) }
        return 1
    }

    /// PFADD's per-element step for either encoding: 1 changed, 0 not, -1 corrupt.
    public static func add(_ s: inout [UInt8], _ element: UnsafeRawBufferPointer, maxBytes: Int) -> Int {
        let (index, count) = patternLength(element)
        return set(&s, index, count, maxBytes: maxBytes)
    }

    /// Sets register `index` to `count` if larger, in either encoding: 1 changed, 0 not, -1 corrupt.
    static func set(_ s: inout [UInt8], _ index: Int, _ count: UInt8, maxBytes: Int) -> Int {
        switch s[4] {
        case dense: return s.withUnsafeMutableBytes { denseSetIfGreater($0, index, count) } ? 1 : 0
        case sparse: return sparseSet(&s, index, count, maxBytes: maxBytes)
        default: return -1
        }
    }

    // MARK: - Histogram and estimate

    static func denseHistogram(_ s: UnsafeRawBufferPointer, _ h: UnsafeMutablePointer<Int>) {
        // Four histograms, register k counted in histogram k % 4, summed at the end: registers often
        // hold the same value, and one histogram would make each increment wait for the previous one.
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 256) { buf in
            let c = buf.baseAddress!
            c.initialize(repeating: 0, count: 256)
            let c1 = c + 64, c2 = c + 128, c3 = c + 192
            let src = s.baseAddress! + headerSize
            var r = 0
            for _ in 0 ..< registerCount / 16 {
                // 12 bytes hold 16 six-bit registers, least significant bits first.
                let lo = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: r, as: UInt64.self))
                let hi = UInt64(UInt32(littleEndian: src.loadUnaligned(fromByteOffset: r + 8, as: UInt32.self)))
                c[Int(lo & 63)] &+= 1
                c1[Int((lo >> 6) & 63)] &+= 1
                c2[Int((lo >> 12) & 63)] &+= 1
                c3[Int((lo >> 18) & 63)] &+= 1
                c[Int((lo >> 24) & 63)] &+= 1
                c1[Int((lo >> 30) & 63)] &+= 1
                c2[Int((lo >> 36) & 63)] &+= 1
                c3[Int((lo >> 42) & 63)] &+= 1
                c[Int((lo >> 48) & 63)] &+= 1
                c1[Int((lo >> 54) & 63)] &+= 1
                c2[Int(((lo >> 60) | (hi << 4)) & 63)] &+= 1
                c3[Int((hi >> 2) & 63)] &+= 1
                c[Int((hi >> 8) & 63)] &+= 1
                c1[Int((hi >> 14) & 63)] &+= 1
                c2[Int((hi >> 20) & 63)] &+= 1
                c3[Int((hi >> 26) & 63)] &+= 1
                r &+= 12
            }
            for k in 0 ..< 64 { h[k] &+= Int(c[k]) &+ Int(c1[k]) &+ Int(c2[k]) &+ Int(c3[k]) }
        }
    }

    /// The sparse histogram; false when the opcodes do not cover exactly 16384 registers.
    static func sparseHistogram(_ s: UnsafeRawBufferPointer, _ h: UnsafeMutablePointer<Int>) -> Bool {
        var idx = 0
        var p = headerSize
        while p < s.count {
            let b = s[p]
            if isZero(b) {
                let n = zeroLen(b)
                idx += n
                h[0] += n
                p += 1
            } else if isXZero(b) {
                let n = xzeroLen(b, byteAfter(s, p))
                idx += n
                h[0] += n
                p += 2
            } else {
                let n = valLen(b)
                idx += n
                h[valValue(b) & 63] += n
                p += 1
            }
        }
        return idx == registerCount
    }

    static func sigma(_ x0: Double) -> Double {
        if x0 == 1 { return Double.infinity }
        var x = x0
        var zPrime: Double
        var y = 1.0
        var z = x
        repeat {
            x *= x
            zPrime = z
            z += x * y
            y += y
        } while zPrime != z
        return z
    }

    static func tau(_ x0: Double) -> Double {
        if x0 == 0 || x0 == 1 { return 0 }
        var x = x0
        var zPrime: Double
        var y = 1.0
        var z = 1 - x
        repeat {
            x = x.squareRoot()
            zPrime = z
            y *= 0.5
            z -= pow(1 - x, 2) * y
        } while zPrime != z
        return z / 3
    }

    /// The estimate from a register histogram (64 buckets), as Redis 7.0's hllCount computes it.
    static func estimate(_ h: UnsafeMutablePointer<Int>) -> UInt64 {
        let m = Double(registerCount)
        var z = m * tau((m - Double(h[q + 1])) / m)
        var j = q
        while j >= 1 {
            z += Double(h[j])
            z *= 0.5
            j -= 1
        }
        z += m * sigma(Double(h[0]) / m)
        let e = (alphaInf * m * m / z).rounded(.toNearestOrAwayFromZero)
        return UInt64(e)
    }

    /// The estimated cardinality of a valid HLL string, or nil when its sparse form is corrupt.
    public static func count(_ s: UnsafeRawBufferPointer) -> UInt64? {
        withHistogram { h in
            if s[4] == dense {
                denseHistogram(s, h)
            } else if !sparseHistogram(s, h) {
                return nil
            }
            return estimate(h)
        }
    }

    /// Runs `body` with a zeroed 64-bucket register histogram (512 bytes, on the stack).
    @inline(__always)
    static func withHistogram<R>(_ body: (UnsafeMutablePointer<Int>) -> R) -> R {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 64) { h in
            let p = h.baseAddress!
            p.initialize(repeating: 0, count: 64)
            return body(p)
        }
    }

    /// The estimate over 16384 byte-sized registers (PFCOUNT of several keys).
    static func countRaw(_ registers: UnsafeBufferPointer<UInt8>) -> UInt64 {
        withHistogram { h in
            // Four histograms, as in denseHistogram, so equal registers do not serialize the increments.
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 256) { buf in
                let c = buf.baseAddress!
                c.initialize(repeating: 0, count: 256)
                let n = registers.count & ~3
                var i = 0
                while i < n {
                    c[Int(registers[i] & 63)] &+= 1
                    c[64 + Int(registers[i &+ 1] & 63)] &+= 1
                    c[128 + Int(registers[i &+ 2] & 63)] &+= 1
                    c[192 + Int(registers[i &+ 3] & 63)] &+= 1
                    i &+= 4
                }
                while i < registers.count { c[Int(registers[i] & 63)] &+= 1; i &+= 1 }
                for k in 0 ..< 64 { h[k] &+= Int(c[k]) &+ Int(c[64 + k]) &+ Int(c[128 + k]) &+ Int(c[192 + k]) }
            }
            return estimate(h)
        }
    }

    /// max[i] = MAX(max[i], register i of the HLL `s`); false when a sparse form is corrupt.
    static func merge(into max: UnsafeMutableBufferPointer<UInt8>, _ s: UnsafeRawBufferPointer) -> Bool {
        if s[4] == dense {
            guard let src = s.baseAddress, let m = max.baseAddress else { return true }
            var r = headerSize
            var i = 0
            @inline(__always) func take(_ v: UInt64) {
                let b = UInt8(truncatingIfNeeded: v & 63)
                if b > m[i] { m[i] = b }
                i += 1
            }
            // 12 bytes hold 16 six-bit registers, least significant bits first.
            while i < registerCount {
                let lo = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: r, as: UInt64.self))
                let hi = UInt64(UInt32(littleEndian: src.loadUnaligned(fromByteOffset: r + 8, as: UInt32.self)))
                for k in 0 ..< 10 { take(lo >> UInt64(6 * k)) }
                take((lo >> 60) | (hi << 4))
                for k in 0 ..< 5 { take(hi >> UInt64(2 + 6 * k)) }
                r += 12
            }
            return true
        }
        var i = 0
        var p = headerSize
        while p < s.count {
            let b = s[p]
            if isZero(b) {
                i += zeroLen(b)
                p += 1
            } else if isXZero(b) {
                i += xzeroLen(b, byteAfter(s, p))
                p += 2
            } else {
                var runlen = valLen(b)
                let v = UInt8(valValue(b))
                if runlen + i > registerCount { return false }  // as sparseToDense
                while runlen > 0 {
                    if v > max[i] { max[i] = v }
                    i += 1
                    runlen -= 1
                }
                p += 1
            }
        }
        return i == registerCount
    }
}
