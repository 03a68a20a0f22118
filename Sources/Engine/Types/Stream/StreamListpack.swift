// StreamListpack: reading and editing one stream node's listpack in place, byte for byte as Redis
// 7.0 keeps it (FORMATS.md §6.6 and §7.1), so that a node is written to RDB and DUMP as it sits.
//   header: u32le total bytes, u16le element count (65535 = unknown); entries; 0xFF.
//   entry: encoding + data, then backlen (the size of encoding + data, 7-bit groups, read right to left).
// Reads take a base pointer and an offset and allocate nothing; edits work on the node's [UInt8].
import StorageFormat

/// One listpack element read in place: an integer, or a string at an offset of the node.
struct LPElement {
    var isInt: Bool
    var int: Int64
    var start: Int
    var length: Int
    /// Offset of the next element (or of the terminator).
    var next: Int
}

enum StreamListpack {
    static let headerSize = 6

    /// The element at `p` (which must not be the terminator).
    @inline(__always)
    static func read(_ b: UnsafeRawPointer, _ p: Int) -> LPElement {
        let b0 = b.load(fromByteOffset: p, as: UInt8.self)
        var e = LPElement(isInt: true, int: 0, start: 0, length: 0, next: 0)
        let size: Int
        switch b0 {
        case 0x00 ... 0x7F:
            e.int = Int64(b0); size = 1
        case 0x80 ... 0xBF:
            e.isInt = false; e.length = Int(b0 & 0x3F); e.start = p + 1; size = 1 + e.length
        case 0xC0 ... 0xDF:
            let u = Int64(b0 & 0x1F) << 8 | Int64(b.load(fromByteOffset: p + 1, as: UInt8.self))
            e.int = u >= 4096 ? u - 8192 : u; size = 2
        case 0xE0 ... 0xEF:
            e.isInt = false
            e.length = Int(b0 & 0x0F) << 8 | Int(b.load(fromByteOffset: p + 1, as: UInt8.self))
            e.start = p + 2; size = 2 + e.length
        case 0xF0:
            e.isInt = false
            e.length = Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: p + 1, as: UInt32.self)))
            e.start = p + 5; size = 5 + e.length
        case 0xF1:
            e.int = Int64(Int16(littleEndian: b.loadUnaligned(fromByteOffset: p + 1, as: Int16.self))); size = 3
        case 0xF2:
            let u = UInt32(b.load(fromByteOffset: p + 1, as: UInt8.self)) | UInt32(b.load(fromByteOffset: p + 2, as: UInt8.self)) << 8
                | UInt32(b.load(fromByteOffset: p + 3, as: UInt8.self)) << 16
            e.int = Int64(Int32(bitPattern: u << 8) >> 8); size = 4
        case 0xF3:
            e.int = Int64(Int32(littleEndian: b.loadUnaligned(fromByteOffset: p + 1, as: Int32.self))); size = 5
        default: // 0xF4
            e.int = Int64(littleEndian: b.loadUnaligned(fromByteOffset: p + 1, as: Int64.self)); size = 9
        }
        e.next = p + size + backlenSize(size)
        return e
    }

    /// The integer at `p` (stream bookkeeping elements are always integers; a string spelling one counts).
    @inline(__always)
    static func int(_ b: UnsafeRawPointer, _ p: Int) -> (Int64, Int) {
        let e = read(b, p)
        if e.isInt { return (e.int, e.next) }
        return (StrictInteger.parse(UnsafeRawBufferPointer(start: b + e.start, count: e.length)) ?? 0, e.next)
    }

    /// Offset of `n` elements after `p`.
    @inline(__always)
    static func skip(_ b: UnsafeRawPointer, _ p: Int, _ n: Int) -> Int {
        var q = p
        for _ in 0 ..< n { q = read(b, q).next }
        return q
    }

    /// Offset of the element before the one at `p` (`p` may be the terminator).
    @inline(__always)
    static func prev(_ b: UnsafeRawPointer, _ p: Int) -> Int {
        var q = p - 1
        var val = 0
        var shift = 0
        while true {
            let c = b.load(fromByteOffset: q, as: UInt8.self)
            val |= Int(c & 127) << shift
            if c & 128 == 0 { break }
            shift += 7
            q -= 1
        }
        return p - backlenSize(val) - val
    }

    @inline(__always)
    static func backlenSize(_ l: Int) -> Int {
        l <= 127 ? 1 : l < 16383 ? 2 : l < 2_097_151 ? 3 : l < 268_435_455 ? 4 : 5
    }

    /// Calls `body` with the bytes of element `e` (an integer as its decimal text, on the stack).
    @inline(__always)
    static func withBytes<R>(_ b: UnsafeRawPointer, _ e: LPElement, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if !e.isInt { return try body(UnsafeRawBufferPointer(start: b + e.start, count: e.length)) }
        return try withDecimal(e.int, body)
    }

    /// `v`'s decimal text, on the stack.
    @inline(__always)
    static func withDecimal<R>(_ v: Int64, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return try withUnsafeMutableBytes(of: &tmp) { buf in
            var i = 24
            var m = v.magnitude
            if m == 0 { i -= 1; buf[i] = 48 }
            while m > 0 { i -= 1; buf[i] = UInt8(m % 10) + 48; m /= 10 }
            if v < 0 { i -= 1; buf[i] = UInt8(ascii: "-") }
            return try body(UnsafeRawBufferPointer(rebasing: buf[i ..< 24]))
        }
    }

    /// Whether element `e` equals `bytes` (as lpCompare: an integer compares by its decimal text).
    @inline(__always)
    static func equals(_ b: UnsafeRawPointer, _ e: LPElement, _ bytes: UnsafeRawBufferPointer) -> Bool {
        withBytes(b, e) { $0.elementsEqual(bytes) }
    }

    // MARK: - Encoding

    /// Appends the encoding of integer `v` (encoding + data + backlen) to `out`, in one append.
    @inline(__always)
    static func encodeInt(_ v: Int64, into out: inout [UInt8]) {
        var tmp: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &tmp) { enc in
            let n = encodeInt(v, to: enc.baseAddress!)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: enc[0 ..< n]))
        }
    }

    /// Appends the encoding of string `s` (an integer when it spells one strictly, as lpAppend does).
    static func encodeString(_ s: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        if let v = StrictInteger.parse(s) { encodeInt(v, into: &out); return }
        let n = s.count
        var tmp: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &tmp) { buf in
            let head: Int
            if n < 64 {
                buf[0] = 0x80 | UInt8(n); head = 1
            } else if n < 4096 {
                buf[0] = 0xE0 | UInt8(n >> 8); buf[1] = UInt8(truncatingIfNeeded: n); head = 2
            } else {
                buf[0] = 0xF0
                for k in 0 ..< 4 { buf[1 + k] = UInt8(truncatingIfNeeded: n >> (8 * k)) }
                head = 5
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[0 ..< head]))
            out.append(contentsOf: s)
            let l = head + n
            let bl = backlenSize(l)
            writeBacklen(l, bl, to: buf.baseAddress! + 8)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[8 ..< 8 + bl]))
        }
    }

    /// Writes the encoding of string `s` at `out` (an integer when it spells one strictly); returns its
    /// size (at most s.count + 10).
    @inline(__always)
    static func encodeString(_ s: UnsafeRawBufferPointer, to out: UnsafeMutableRawPointer) -> Int {
        if let v = StrictInteger.parse(s) { return encodeInt(v, to: out) }
        let n = s.count
        let head: Int
        if n < 64 {
            out.storeBytes(of: 0x80 | UInt8(n), as: UInt8.self); head = 1
        } else if n < 4096 {
            out.storeBytes(of: 0xE0 | UInt8(n >> 8), as: UInt8.self)
            out.storeBytes(of: UInt8(truncatingIfNeeded: n), toByteOffset: 1, as: UInt8.self); head = 2
        } else {
            out.storeBytes(of: 0xF0, as: UInt8.self)
            for k in 0 ..< 4 { out.storeBytes(of: UInt8(truncatingIfNeeded: n >> (8 * k)), toByteOffset: 1 + k, as: UInt8.self) }
            head = 5
        }
        if n > 0 { (out + head).copyMemory(from: s.baseAddress!, byteCount: n) }
        let bl = backlenSize(head + n)
        writeBacklen(head + n, bl, to: out + head + n)
        return head + n + bl
    }

    /// Writes the `size`-byte backlen of an element of `l` bytes at `out`.
    @inline(__always)
    static func writeBacklen(_ l: Int, _ size: Int, to out: UnsafeMutableRawPointer) {
        // Most significant group first; every byte but the first carries the continuation bit.
        for k in 0 ..< size {
            let shift = 7 * (size - 1 - k)
            var byte = UInt8(truncatingIfNeeded: (l >> shift) & 127)
            if k > 0 { byte |= 128 }
            out.storeBytes(of: byte, toByteOffset: k, as: UInt8.self)
        }
    }

    // MARK: - Editing a node

    /// An empty listpack (header and terminator).
    static func empty() -> [UInt8] { [7, 0, 0, 0, 0, 0, 0xFF] }

    /// Rewrites the header after an edit that changed the element count by `delta`.
    @inline(__always)
    static func fixHeader(_ lp: inout [UInt8], countDelta: Int) {
        let total = UInt32(lp.count)
        lp.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: total.littleEndian, toByteOffset: 0, as: UInt32.self)
            if countDelta != 0 {
                let c = Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt16.self)))
                if c != 65535 {
                    let n = UInt16(truncatingIfNeeded: min(c + countDelta, 65535))
                    raw.storeBytes(of: n.littleEndian, toByteOffset: 4, as: UInt16.self)
                }
            }
        }
    }

    /// Appends integer `v` as the last element.
    @inline(__always)
    static func appendInt(_ lp: inout [UInt8], _ v: Int64) {
        lp.removeLast()
        encodeInt(v, into: &lp)
        lp.append(0xFF)
        fixHeader(&lp, countDelta: 1)
    }

    /// Appends string `s` as the last element.
    static func appendString(_ lp: inout [UInt8], _ s: UnsafeRawBufferPointer) {
        lp.removeLast()
        encodeString(s, into: &lp)
        lp.append(0xFF)
        fixHeader(&lp, countDelta: 1)
    }

    /// Replaces the element at `p` with integer `v` (the node may grow or shrink after `p`). In place,
    /// without allocating, when the encoding keeps its size.
    static func replaceInt(_ lp: inout [UInt8], at p: Int, _ v: Int64) {
        let old = lp.withUnsafeBytes { read($0.baseAddress!, p).next } - p
        var tmp: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &tmp) { enc in
            let n = encodeInt(v, to: enc.baseAddress!)
            if n == old {
                lp.withUnsafeMutableBytes { raw in (raw.baseAddress! + p).copyMemory(from: enc.baseAddress!, byteCount: n) }
            } else {
                lp.replaceSubrange(p ..< p + old, with: UnsafeRawBufferPointer(rebasing: enc[0 ..< n]))
                fixHeader(&lp, countDelta: 0)
            }
        }
    }

    /// Writes the encoding of integer `v` (encoding + data + backlen, at most 10 bytes) at `out`;
    /// returns its size.
    @inline(__always)
    static func encodeInt(_ v: Int64, to out: UnsafeMutableRawPointer) -> Int {
        var n: Int
        if v >= 0 && v <= 127 {
            out.storeBytes(of: UInt8(truncatingIfNeeded: v), as: UInt8.self); n = 1
        } else if v >= -4096 && v <= 4095 {
            let u = v < 0 ? v + 8192 : v
            out.storeBytes(of: 0xC0 | UInt8(truncatingIfNeeded: u >> 8), as: UInt8.self)
            out.storeBytes(of: UInt8(truncatingIfNeeded: u), toByteOffset: 1, as: UInt8.self); n = 2
        } else {
            let width: Int
            let tag: UInt8
            if v >= -32768 && v <= 32767 { width = 2; tag = 0xF1 }
            else if v >= -8_388_608 && v <= 8_388_607 { width = 3; tag = 0xF2 }
            else if v >= Int64(Int32.min) && v <= Int64(Int32.max) { width = 4; tag = 0xF3 }
            else { width = 8; tag = 0xF4 }
            out.storeBytes(of: tag, as: UInt8.self)
            for k in 0 ..< width { out.storeBytes(of: UInt8(truncatingIfNeeded: v >> (8 * k)), toByteOffset: 1 + k, as: UInt8.self) }
            n = 1 + width
        }
        out.storeBytes(of: UInt8(n), toByteOffset: n, as: UInt8.self)
        return n + 1
    }
}
