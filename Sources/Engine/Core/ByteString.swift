// ByteString: the engine's key and value bytes. Value semantics, hashable, ordered like Redis
// (memcmp, then length). Strings of up to 14 bytes live inline, with no heap allocation; longer
// ones are one `[UInt8]` allocation.
//
// Layout (15 bytes, stride 16):
//   small: bytes 0-7 = w0, bytes 8-13 = string bytes 8-13, byte 14 = length (0...14), bits 7-4 of
//          byte 14 are spare (enum tags of ByteString, StringValue and RedisValue live there).
//          Bytes past the length are always zero, so equal strings have equal words.
//   large: a [UInt8] of 15 or more bytes.
// The split is canonical: a string is small exactly when it has at most 14 bytes, so two equal
// strings always have the same form, and `==`/hashing can work on the words of the small form.
// (14 rather than 15 inline bytes keeps `RedisValue` at 16 bytes: with 15 there are too few spare
// bits left for its tag, and every key's entry in the keyspace would grow by 8 bytes.)

/// Bytes as Redis keys and values hold them. Never a `String`.
public struct ByteString: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The length of a small string (a C-like enum so its unused high bits are spare for enum tags).
    @usableFromInline enum SmallCount: UInt8, Sendable {
        case c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14
    }

    @usableFromInline enum Repr: Sendable {
        /// w0 (bytes 0-7, little-endian), bytes 8-11, bytes 12-13, length.
        case small(UInt64, UInt32, UInt16, SmallCount)
        case large([UInt8])
    }

    @usableFromInline var repr: Repr

    /// The most bytes stored inline.
    @usableFromInline static var inlineCapacity: Int { 14 }

    // MARK: - Building

    @inlinable init(repr: Repr) { self.repr = repr }

    /// A small string from its two words (w1 holds bytes 8-13 in its low 48 bits, the rest is ignored).
    @inlinable @inline(__always)
    init(w0: UInt64, w1: UInt64, count: Int) {
        repr = .small(w0, UInt32(truncatingIfNeeded: w1), UInt16(truncatingIfNeeded: w1 &>> 32),
                      unsafeBitCast(UInt8(truncatingIfNeeded: count), to: SmallCount.self))
    }

    /// A small string from up to 14 bytes at `p`.
    @inlinable @inline(__always)
    init(smallFrom p: UnsafeRawPointer, count n: Int) {
        var w0: UInt64 = 0
        var w1: UInt64 = 0
        if n >= 8 {
            w0 = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
            // The last 8 bytes, shifted so bytes 8..<n land at the bottom of w1.
            let tail = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self))
            w1 = n == 8 ? 0 : tail &>> UInt64(8 * (16 - n))
        } else if n >= 4 {
            let lo = UInt64(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
            let hi = UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)))
            // hi covers bytes n-4..<n; keep only bytes 4..<n of it.
            w0 = lo | ((hi &>> UInt64(8 * (8 - n))) &<< 32)
        } else if n > 0 {
            let b = p.assumingMemoryBound(to: UInt8.self)
            w0 = UInt64(b[0])
            if n > 1 { w0 |= UInt64(b[1]) &<< 8 }
            if n > 2 { w0 |= UInt64(b[2]) &<< 16 }
        }
        self.init(w0: w0, w1: w1, count: n)
    }

    @inlinable public init() { repr = .small(0, 0, 0, .c0) }

    @inlinable public init(_ bytes: [UInt8]) {
        let n = bytes.count
        if n <= 14 {
            self = bytes.withUnsafeBytes { ByteString(smallFrom: $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: n) }
        } else if bytes.capacity > n + n / 4 + 16 {
            // Don't keep a mostly-empty buffer alive (e.g. one grown by appending).
            self = bytes.withUnsafeBytes { ByteString(largeCopying: $0) }
        } else {
            repr = .large(bytes)
        }
    }

    /// Takes `bytes` as they are, spare capacity included: for a string edited in place (APPEND,
    /// SETRANGE, SETBIT), whose room to grow is kept as Redis keeps an sds string's free space.
    @inlinable public init(keepingCapacity bytes: [UInt8]) {
        if bytes.count <= 14 {
            self = ByteString(bytes)
        } else {
            repr = .large(bytes)
        }
    }

    @inlinable public init(_ bytes: ArraySlice<UInt8>) {
        self = bytes.withUnsafeBytes { ByteString($0) }
    }

    @inlinable public init(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count <= 14 {
            self.init(smallFrom: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: bytes.count)
        } else {
            self.init(largeCopying: bytes)
        }
    }

    @inlinable init(largeCopying bytes: UnsafeRawBufferPointer) {
        repr = .large([UInt8](unsafeUninitializedCapacity: bytes.count) { buf, n in
            if let base = buf.baseAddress, let src = bytes.baseAddress {
                UnsafeMutableRawPointer(base).copyMemory(from: src, byteCount: bytes.count)
            }
            n = bytes.count
        })
    }

    /// For literals in code (command names, "OK"): the UTF-8 bytes of `s`.
    @inlinable public init(_ s: StaticString) {
        self = s.withUTF8Buffer { ByteString(UnsafeRawBufferPointer($0)) }
    }

    /// Decimal text of an integer.
    @inlinable public init(integer v: Int64) {
        // Digits written backwards into 24 bytes of stack, then taken as one string.
        var buf: (UInt64, UInt64, UInt64) = (0, 0, 0)
        self = withUnsafeMutableBytes(of: &buf) { raw in
            var i = 24
            var m = v.magnitude
            repeat {
                i -= 1
                raw[i] = UInt8(truncatingIfNeeded: m % 10) &+ 48
                m /= 10
            } while m > 0
            if v < 0 { i -= 1; raw[i] = UInt8(ascii: "-") }
            return ByteString(UnsafeRawBufferPointer(rebasing: raw[i ..< 24]))
        }
    }

    // MARK: - Reading

    @inlinable public var count: Int {
        switch repr {
        case .small(_, _, _, let n): return Int(n.rawValue)
        case .large(let a): return a.count
        }
    }

    @inlinable public var isEmpty: Bool { count == 0 }

    /// The bytes as an array (allocates for a small string; free for a large one).
    @inlinable public var bytes: [UInt8] {
        switch repr {
        case .small: return withUnsafeBytes { Array($0) }
        case .large(let a): return a
        }
    }

    @inlinable public subscript(i: Int) -> UInt8 {
        switch repr {
        case .small(let w0, let lo, let hi, let n):
            precondition(i >= 0 && i < Int(n.rawValue), "ByteString index out of range")
            let w1 = UInt64(lo) | UInt64(hi) &<< 32
            return UInt8(truncatingIfNeeded: i < 8 ? w0 &>> UInt64(8 * i) : w1 &>> UInt64(8 * (i - 8)))
        case .large(let a):
            return a[i]
        }
    }

    /// The two words of a small string (w1 has the length in byte 6), or nil for a large one.
    @inlinable @inline(__always)
    var smallWords: (UInt64, UInt64)? {
        if case .small(let w0, let lo, let hi, let n) = repr {
            return (w0, UInt64(lo) | UInt64(hi) &<< 32 | UInt64(n.rawValue) &<< 48)
        }
        return nil
    }

    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch repr {
        case .small(let w0, let lo, let hi, let n):
            var words = (w0.littleEndian, (UInt64(lo) | UInt64(hi) &<< 32).littleEndian)
            return try Swift.withUnsafeBytes(of: &words) {
                try body(UnsafeRawBufferPointer(start: $0.baseAddress, count: Int(n.rawValue)))
            }
        case .large(let a):
            return try a.withUnsafeBytes(body)
        }
    }

    // MARK: - Comparing and hashing

    /// Redis's ordering of strings (memcmp over the common prefix, then the shorter first).
    @inlinable
    public static func < (a: ByteString, b: ByteString) -> Bool {
        if let (a0, a1) = a.smallWords, let (b0, b1) = b.smallWords {
            // Big-endian words compare like memcmp; zero padding then the length byte break ties
            // exactly as "shorter prefix first" does.
            let x = a0.byteSwapped, y = b0.byteSwapped
            if x != y { return x < y }
            return a1.byteSwapped < b1.byteSwapped
        }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in
                let n = min(pa.count, pb.count)
                if n > 0 {
                    let c = memcmp(pa.baseAddress!, pb.baseAddress!, n)
                    if c != 0 { return c < 0 }
                }
                return pa.count < pb.count
            }
        }
    }

    @inlinable public static func == (a: ByteString, b: ByteString) -> Bool {
        switch (a.repr, b.repr) {
        case let (.small(a0, alo, ahi, an), .small(b0, blo, bhi, bn)):
            return a0 == b0 && alo == blo && ahi == bhi && an == bn
        case let (.large(x), .large(y)):
            let n = x.count
            guard n == y.count else { return false }
            return x.withUnsafeBytes { px in
                y.withUnsafeBytes { py in
                    px.baseAddress == py.baseAddress || memcmp(px.baseAddress!, py.baseAddress!, n) == 0
                }
            }
        default:
            return false  // the forms are canonical: different forms, different lengths
        }
    }

    /// A seeded 64-bit hash of the bytes (wyhash); equal strings give equal hashes.
    @inlinable @inline(__always)
    func hash64(seed: UInt64) -> UInt64 {
        switch repr {
        case .small(let w0, let lo, let hi, let n):
            return WyHash.hashWords(w0, UInt64(lo) | UInt64(hi) &<< 32 | UInt64(n.rawValue) &<< 48, seed: seed)
        case .large(let a):
            return a.withUnsafeBytes { WyHash.hash($0, seed: seed) }
        }
    }

    /// `hash64(seed:)` of the string `bytes` would make, without making it.
    @inline(__always)
    static func hash64(bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        if bytes.count <= inlineCapacity {
            return ByteString(smallFrom: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: bytes.count).hash64(seed: seed)
        }
        return WyHash.hash(bytes, seed: seed)
    }

    /// How a long string's stored form looks, for `heapObject(ofStringAt:)`: the byte-14 tag of the
    /// `.large` case, worked out once from a known string. nil when the form is not the one expected (an
    /// array reference in bytes 0-7, a tag in the high half of byte 14 that no short string has).
    /// The array object is checked too: its count at byte 16 and its bytes from byte 32 (Swift's
    /// stable layout of array storage), which `storedEquals` reads.
    static let largeTag: UInt8? = {
        let bytes = [UInt8](repeating: 7, count: 32)
        var long = ByteString(keepingCapacity: bytes)
        var short = ByteString(smallFrom: UnsafeRawPointer(bitPattern: 8)!, count: 0)
        let shortTag = Swift.withUnsafeBytes(of: &short) { $0[14] & 0xF0 }
        let elements = bytes.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        return Swift.withUnsafeBytes(of: &long) { raw -> UInt8? in
            let tag = raw[14] & 0xF0
            let object = raw.load(as: UInt.self)
            guard object == unsafeBitCast(bytes, to: UInt.self), tag != shortTag, object != 0,
                  UnsafeRawPointer(bitPattern: object)!.load(fromByteOffset: 16, as: Int.self) == bytes.count,
                  object + 32 == elements
            else { return nil }
            return tag
        }
    }()

    /// Whether the string stored at `p` (a key in a table's entry) equals `key`, reading a stored long
    /// string's bytes in place instead of copying it out (a copy is a retain and a release, on a line
    /// that may not be in cache). `largeTag` is `ByteString.largeTag`.
    @inline(__always)
    static func storedEquals(_ p: UnsafeRawPointer, _ key: ByteString, largeTag: UInt8) -> Bool {
        guard case .large(let k) = key.repr else {
            return p.assumingMemoryBound(to: ByteString.self).pointee == key
        }
        guard p.load(fromByteOffset: 14, as: UInt8.self) & 0xF0 == largeTag,
              let object = UnsafeRawPointer(bitPattern: p.load(as: UInt.self)) else { return false }
        let n = object.load(fromByteOffset: 16, as: Int.self)
        return k.withUnsafeBytes { kb in
            n == kb.count && memcmp(object + 32, kb.baseAddress!, n) == 0
        }
    }

    /// For prefetching only: the heap object holding the bytes of the string stored at `p`, or nil when it
    /// is stored inline. Reads the raw words in place (no retain, which would itself wait for the line).
    @inline(__always)
    static func heapObject(ofStringAt p: UnsafeRawPointer, largeTag: UInt8) -> UnsafeRawPointer? {
        guard p.load(fromByteOffset: 14, as: UInt8.self) & 0xF0 == largeTag else { return nil }
        return UnsafeRawPointer(bitPattern: p.load(as: UInt.self))
    }

    @inlinable public func hash(into h: inout Hasher) {
        h.combine(hash64(seed: WyHash.processSeed))
    }

    /// Lets `Dictionary` and `Set` hash with one wyhash instead of a full SipHash pass.
    @inlinable public func _rawHashValue(seed: Int) -> Int {
        Int(truncatingIfNeeded: hash64(seed: UInt64(bitPattern: Int64(seed)) ^ WyHash.processSeed))
    }

    /// The integer this string spells under Redis's strict rule, if any.
    @inlinable public var integerValue: Int64? {
        count <= 20 ? withUnsafeBytes { StrictIntegerText.parse($0) } : nil
    }

    public var description: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import StorageFormat

/// Re-exported strict integer text helpers (StorageFormat's StrictInteger).
public enum StrictIntegerText {
    @inlinable public static func parse(_ b: UnsafeRawBufferPointer) -> Int64? { StrictInteger.parse(b) }
    @inlinable public static func parse(_ b: [UInt8]) -> Int64? { StrictInteger.parse(b) }
    @inlinable public static func format(_ v: Int64) -> [UInt8] { StrictInteger.format(v) }
}
