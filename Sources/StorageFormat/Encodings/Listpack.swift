// Listpack (RDB 10+): u32le total bytes, u16le count (65535 = unknown), entries, 0xFF.
// Entry = encoding+data, then backlen (1-5 bytes, 7-bit groups). See FORMATS.md §7.1.
//
//   0xxxxxxx            uint 0..127                 10xxxxxx + bytes     string, length < 64
//   110xxxxx yyyyyyyy   int13, big-endian           1110xxxx yyyyyyyy    string, length < 4096 (BE)
//   F0 u32le + bytes    string                      F1 / F2 / F3 / F4    int16 / int24 / int32 / int64 LE
//   F5..FE              invalid                     FF                   terminator
//
// backlen holds L = size of encoding+data; the byte at the lowest address is the most significant 7-bit group
// (bit 7 clear), every following byte has bit 7 set, so it can be read right to left.

public enum Listpack {
    /// Size of the header (u32le total bytes, u16le count).
    static let headerSize = 6
    /// Value of the count field when the count is not known.
    static let unknownCount = 65535

    /// Walks every element of `blob`, validating as it goes (header, each entry's bounds and backlen,
    /// terminator, count). Returns the number of elements. Errors are FormatErrors at `baseOffset` + position.
    ///
    /// `.bytes` elements point into `blob` and are valid only during the callback. O(n), no allocation.
    @discardableResult
    public static func forEach(_ blob: UnsafeRawBufferPointer, baseOffset: Int = 0,
                               _ body: (CompactElement) throws -> Void) throws -> Int {
        let size = blob.count
        guard size >= headerSize + 1, let base = blob.baseAddress else {
            throw fail(baseOffset, 0, "at least 7 bytes", "\(size) bytes")
        }
        let totalBytes = Int(UInt32(littleEndian: base.loadUnaligned(as: UInt32.self)))
        if totalBytes != size {
            throw fail(baseOffset, 0, "total_bytes equal to the blob length \(size)", "\(totalBytes)")
        }
        if base.load(fromByteOffset: size - 1, as: UInt8.self) != 0xFF {
            throw fail(baseOffset, size - 1, "terminator 0xFF as the last byte",
                       EncodingBytes.hexByte(base.load(fromByteOffset: size - 1, as: UInt8.self)))
        }
        let headerCount = Int(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 4, as: UInt16.self)))

        let end = size - 1          // position of the terminator
        var p = headerSize
        var count = 0
        while true {
            // p < end here only if an entry starts; p == end is the terminator.
            let b0 = base.load(fromByteOffset: p, as: UInt8.self)
            if b0 == 0xFF {
                if p != end {
                    throw fail(baseOffset, p, "entries up to the terminator at offset \(baseOffset + end)",
                               "an early 0xFF terminator")
                }
                break
            }
            let start = p
            let available = end - p     // bytes before the terminator, all usable by this entry
            let element: CompactElement
            let entryLen: Int           // encoding + data
            switch b0 {
            case 0x00 ... 0x7F:
                element = .int(Int64(b0))
                entryLen = 1
            case 0x80 ... 0xBF:
                let n = Int(b0 & 0x3F)
                entryLen = 1 + n
                if entryLen > available { throw truncated(baseOffset, start, entryLen, available) }
                element = .bytes(UnsafeRawBufferPointer(start: base + (p + 1), count: n))
            case 0xC0 ... 0xDF:
                entryLen = 2
                if entryLen > available { throw truncated(baseOffset, start, entryLen, available) }
                let u = (Int(b0 & 0x1F) << 8) | Int(base.load(fromByteOffset: p + 1, as: UInt8.self))
                element = .int(Int64(u >= 4096 ? u - 8192 : u))
            case 0xE0 ... 0xEF:
                if available < 2 { throw truncated(baseOffset, start, 2, available) }
                let n = (Int(b0 & 0x0F) << 8) | Int(base.load(fromByteOffset: p + 1, as: UInt8.self))
                entryLen = 2 + n
                if entryLen > available { throw truncated(baseOffset, start, entryLen, available) }
                element = .bytes(UnsafeRawBufferPointer(start: base + (p + 2), count: n))
            case 0xF0:
                if available < 5 { throw truncated(baseOffset, start, 5, available) }
                let n = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: p + 1, as: UInt32.self)))
                // n < 2^32, so 5 + n cannot overflow Int on a 64-bit platform; compare without adding anyway.
                if n > available - 5 { throw truncated(baseOffset, start, 5 &+ n, available) }
                entryLen = 5 + n
                element = .bytes(UnsafeRawBufferPointer(start: base + (p + 5), count: n))
            case 0xF1:
                entryLen = 3
                if entryLen > available { throw truncated(baseOffset, start, entryLen, available) }
                element = .int(Int64(Int16(littleEndian: base.loadUnaligned(fromByteOffset: p + 1, as: Int16.self))))
            case 0xF2:
                entryLen = 4
                if entryLen > available { throw truncated(baseOffset, start, entryLen, available) }
                element = .int(EncodingBytes.loadInt24LE(base, p + 1))
            case 0xF3:
                entryLen = 5
                if entryLen > available { throw truncated(baseOffset, start, entryLen, available) }
                element = .int(Int64(Int32(littleEndian: base.loadUnaligned(fromByteOffset: p + 1, as: Int32.self))))
            case 0xF4:
                entryLen = 9
                if entryLen > available { throw truncated(baseOffset, start, entryLen, available) }
                element = .int(Int64(littleEndian: base.loadUnaligned(fromByteOffset: p + 1, as: Int64.self)))
            default: // 0xF5 ... 0xFE
                throw fail(baseOffset, start, "an entry encoding byte",
                           "invalid encoding \(EncodingBytes.hexByte(b0))")
            }
            // backlen: check it lies before the terminator and spells entryLen exactly as Redis writes it.
            let backlenSize = backlenSize(entryLen)
            p = start + entryLen
            if backlenSize > end - p {
                throw fail(baseOffset, p, "a \(backlenSize)-byte backlen for the entry at offset \(baseOffset + start)",
                           "\(end - p) bytes before the terminator")
            }
            if !backlenMatches(base + p, backlenSize, entryLen) {
                throw fail(baseOffset, p, "backlen \(entryLen) (the entry's encoding+data size)",
                           "bytes " + EncodingBytes.hexBytes(base + p, backlenSize))
            }
            p += backlenSize
            try body(element)
            count += 1
        }
        if headerCount != unknownCount && headerCount != count {
            throw fail(baseOffset, 4, "num_elements equal to the \(count) entries walked", "\(headerCount)")
        }
        return count
    }

    /// Every element, materialised (integers as decimal text).
    public static func elements(_ blob: [UInt8], baseOffset: Int = 0) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        try blob.withUnsafeBytes { raw in
            _ = try forEach(raw, baseOffset: baseOffset) { out.append($0.materialized) }
        }
        return out
    }

    // MARK: - backlen

    /// Bytes of the backlen that encodes `l`.
    @inline(__always)
    static func backlenSize(_ l: Int) -> Int {
        if l <= 127 { return 1 }
        if l < 16383 { return 2 }
        if l < 2097151 { return 3 }
        if l < 268435455 { return 4 }
        return 5
    }

    /// Whether the `n` bytes at `at` are exactly the backlen Redis writes for `l` (most significant group first,
    /// first byte with bit 7 clear, the rest with bit 7 set).
    @inline(__always)
    static func backlenMatches(_ at: UnsafeRawPointer, _ n: Int, _ l: Int) -> Bool {
        var i = 0
        while i < n {
            let shift = 7 * (n - 1 - i)
            var expected = UInt8(truncatingIfNeeded: (l >> shift) & 127)
            if i > 0 { expected |= 128 }
            if at.load(fromByteOffset: i, as: UInt8.self) != expected { return false }
            i += 1
        }
        return true
    }

    /// Appends the backlen for `l` to `w`.
    @inline(__always)
    static func appendBacklen(_ l: Int, to w: inout ByteWriter) {
        let n = backlenSize(l)
        w.append(UInt8(truncatingIfNeeded: (l >> (7 * (n - 1))) & 127))
        var i = n - 2
        while i >= 0 {
            w.append(UInt8(truncatingIfNeeded: (l >> (7 * i)) & 127) | 128)
            i -= 1
        }
    }

    // MARK: - errors (kept off the hot path)

    @inline(never)
    static func fail(_ baseOffset: Int, _ at: Int, _ expected: String, _ found: String) -> FormatError {
        FormatError(offset: baseOffset + at, context: "listpack", expected: expected, found: found)
    }

    @inline(never)
    static func truncated(_ baseOffset: Int, _ at: Int, _ need: Int, _ available: Int) -> FormatError {
        FormatError(offset: baseOffset + at, context: "listpack",
                    expected: "an entry of \(need) bytes before the terminator",
                    found: "\(available) bytes left")
    }
}

/// Builds a listpack the way Redis writes one: integer-looking strings as the smallest integer form.
///
/// Entries are appended into one growing buffer; `finish()` copies it once and fills in the header.
/// The finished blob must stay below 4 GiB (Redis caps listpacks at 1 GiB).
public struct ListpackEncoder {
    /// The header placeholder and every entry so far (no terminator).
    private var writer: ByteWriter
    private var elementCount: Int

    public init() {
        writer = ByteWriter(capacity: 64)
        for _ in 0 ..< Listpack.headerSize { writer.append(0) }   // header, filled in by finish()
        elementCount = 0
    }

    /// Appends a string element (stored as an integer when it parses strictly as one).
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if let v = StrictInteger.parse(bytes) {
            append(int: v)
            return
        }
        let n = bytes.count
        let headerLen: Int
        if n < 64 {
            writer.append(0x80 | UInt8(truncatingIfNeeded: n))
            headerLen = 1
        } else if n < 4096 {
            writer.append(0xE0 | UInt8(truncatingIfNeeded: n >> 8))
            writer.append(UInt8(truncatingIfNeeded: n))
            headerLen = 2
        } else {
            precondition(n <= Int(UInt32.max), "listpack string longer than 4 GiB")
            writer.append(0xF0)
            writer.appendLE(UInt32(truncatingIfNeeded: n))
            headerLen = 5
        }
        if n > 0 { writer.append(bytes) }
        Listpack.appendBacklen(headerLen + n, to: &writer)
        elementCount += 1
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Appends an integer element.
    public mutating func append(int v: Int64) {
        let entryLen: Int
        if v >= 0 && v <= 127 {
            writer.append(UInt8(truncatingIfNeeded: v))
            entryLen = 1
        } else if v >= -4096 && v <= 4095 {
            let u = v < 0 ? v + 8192 : v          // 13-bit two's complement
            writer.append(0xC0 | UInt8(truncatingIfNeeded: u >> 8))
            writer.append(UInt8(truncatingIfNeeded: u))
            entryLen = 2
        } else if v >= -32768 && v <= 32767 {
            writer.append(0xF1)
            writer.appendLE(Int16(truncatingIfNeeded: v))
            entryLen = 3
        } else if v >= -8_388_608 && v <= 8_388_607 {
            writer.append(0xF2)
            writer.append(UInt8(truncatingIfNeeded: v))
            writer.append(UInt8(truncatingIfNeeded: v >> 8))
            writer.append(UInt8(truncatingIfNeeded: v >> 16))
            entryLen = 4
        } else if v >= Int64(Int32.min) && v <= Int64(Int32.max) {
            writer.append(0xF3)
            writer.appendLE(Int32(truncatingIfNeeded: v))
            entryLen = 5
        } else {
            writer.append(0xF4)
            writer.appendLE(v)
            entryLen = 9
        }
        // Every integer entry is at most 9 bytes: a 1-byte backlen.
        writer.append(UInt8(entryLen))
        elementCount += 1
    }

    /// Elements so far.
    public var count: Int { elementCount }

    /// Size the finished blob will have.
    public var byteSize: Int { writer.count + 1 }

    /// Empties the encoder, keeping its buffer (one scratch encoder serves many values).
    public mutating func reset() {
        writer.removeAll(keepingCapacity: true)
        for _ in 0 ..< Listpack.headerSize { writer.append(0) }
        elementCount = 0
    }

    /// Calls `body` with the finished blob, built in place in the encoder's own buffer (no copy);
    /// the encoder is left as it was.
    public mutating func withFinished<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let total = byteSize
        precondition(total <= Int(UInt32.max), "listpack larger than 4 GiB")
        let count16 = UInt16(truncatingIfNeeded: min(elementCount, Listpack.unknownCount))
        writer.append(0xFF)
        defer { writer.bytes.removeLast() }
        writer.bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(truncatingIfNeeded: total).littleEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: count16.littleEndian, toByteOffset: 4, as: UInt16.self)
        }
        return try writer.bytes.withUnsafeBytes(body)
    }

    /// The finished blob (header filled in, terminator appended).
    public func finish() -> [UInt8] {
        let total = byteSize
        precondition(total <= Int(UInt32.max), "listpack larger than 4 GiB")
        var out = [UInt8]()
        out.reserveCapacity(total)
        out.append(contentsOf: writer.bytes)
        out.append(0xFF)
        let count16 = UInt16(truncatingIfNeeded: min(elementCount, Listpack.unknownCount))
        out.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(truncatingIfNeeded: total).littleEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: count16.littleEndian, toByteOffset: 4, as: UInt16.self)
        }
        return out
    }
}

// MARK: - helpers shared by the compact encodings

/// Byte-level helpers for the listpack, ziplist, intset and zipmap decoders.
enum EncodingBytes {
    /// The signed 24-bit little-endian integer at `base + offset`.
    @inline(__always)
    static func loadInt24LE(_ base: UnsafeRawPointer, _ offset: Int) -> Int64 {
        let b0 = UInt32(base.load(fromByteOffset: offset, as: UInt8.self))
        let b1 = UInt32(base.load(fromByteOffset: offset + 1, as: UInt8.self))
        let b2 = UInt32(base.load(fromByteOffset: offset + 2, as: UInt8.self))
        // Put the 24 bits at the top of an Int32 and shift back arithmetically to sign-extend.
        let raw = Int32(bitPattern: (b0 << 8) | (b1 << 16) | (b2 << 24))
        return Int64(raw >> 8)
    }

    /// "0xAB" for messages.
    static func hexByte(_ b: UInt8) -> String {
        "0x" + ByteText.hex2(b).uppercased()
    }

    /// "AB CD ..." for the `n` bytes at `at`, for messages.
    static func hexBytes(_ at: UnsafeRawPointer, _ n: Int) -> String {
        var parts: [String] = []
        for i in 0 ..< n { parts.append(ByteText.hex2(at.load(fromByteOffset: i, as: UInt8.self)).uppercased()) }
        return parts.joined(separator: " ")
    }
}
