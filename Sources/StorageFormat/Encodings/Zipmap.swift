// Zipmap (read only, RDB type 9): u8 zmlen, then (len key, len value, u8 free, value, free padding)*, 0xFF.
// FORMATS.md §7.4.
//
//   u8 zmlen                 pair count if < 254; 254 = count by walking
//   len key                  len: 1 byte if < 254, else FE + u32le; FF in key position ends the map
//   len value, u8 free, value, free × padding
//   FF                       terminator, the last byte of the blob
//
// The decoder accepts an empty zipmap (`00 FF`); RDB readers reject empty hashes themselves.

public enum Zipmap {
    static let bigLength: UInt8 = 0xFE
    static let end: UInt8 = 0xFF

    /// Walks every field/value pair, validating lengths and bounds. Returns the pair count.
    ///
    /// Both spans point into `blob` and are valid only during the callback. O(n), no allocation.
    @discardableResult
    public static func forEach(_ blob: UnsafeRawBufferPointer, baseOffset: Int = 0,
                               _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        let size = blob.count
        guard size >= 2, let base = blob.baseAddress else {
            throw fail(baseOffset, 0, "at least 2 bytes", "\(size) bytes")
        }
        let last = base.load(fromByteOffset: size - 1, as: UInt8.self)
        if last != end {
            throw fail(baseOffset, size - 1, "terminator 0xFF as the last byte", EncodingBytes.hexByte(last))
        }
        let zmlen = Int(base.load(as: UInt8.self))
        let limit = size - 1        // position of the terminator: every pair lies before it
        var p = 1
        var count = 0
        while true {
            let first = base.load(fromByteOffset: p, as: UInt8.self)
            if first == end {
                if p != limit {
                    throw fail(baseOffset, p, "pairs up to the terminator at offset \(baseOffset + limit)",
                               "an early 0xFF terminator")
                }
                break
            }
            let pairStart = p
            // key
            let keyLen = try readLength(base, &p, limit, baseOffset, "key")
            if keyLen > limit - p {
                throw fail(baseOffset, pairStart, "a key of \(keyLen) bytes before the terminator",
                           "\(limit - p) bytes left")
            }
            let key = UnsafeRawBufferPointer(start: base + p, count: keyLen)
            p += keyLen
            // value
            if p >= limit {
                throw fail(baseOffset, p, "a value length before the terminator", "the terminator")
            }
            if base.load(fromByteOffset: p, as: UInt8.self) == end {
                throw fail(baseOffset, p, "a value length", "0xFF")
            }
            let valueLen = try readLength(base, &p, limit, baseOffset, "value")
            if p >= limit {
                throw fail(baseOffset, p, "the free byte of the value", "the terminator")
            }
            let free = Int(base.load(fromByteOffset: p, as: UInt8.self))
            p += 1
            if valueLen > limit - p {
                throw fail(baseOffset, pairStart, "a value of \(valueLen) bytes before the terminator",
                           "\(limit - p) bytes left")
            }
            let value = UnsafeRawBufferPointer(start: base + p, count: valueLen)
            p += valueLen
            if free > limit - p {
                throw fail(baseOffset, p, "\(free) free bytes before the terminator", "\(limit - p) bytes left")
            }
            p += free
            try body(key, value)
            count += 1
        }
        if zmlen != Int(bigLength) && zmlen != count {
            throw fail(baseOffset, 0, "zmlen equal to the \(count) pairs walked", "\(zmlen)")
        }
        return count
    }

    public static func pairs(_ blob: [UInt8], baseOffset: Int = 0) throws -> [([UInt8], [UInt8])] {
        var out: [([UInt8], [UInt8])] = []
        try blob.withUnsafeBytes { raw in
            _ = try forEach(raw, baseOffset: baseOffset) { out.append((Array($0), Array($1))) }
        }
        return out
    }

    /// Reads a length at `p` (1 byte if < 254, else FE + u32le), which must lie before `limit`; moves `p` past it.
    /// The caller has checked that `p < limit` and that the byte at `p` is not 0xFF.
    @inline(__always)
    static func readLength(_ base: UnsafeRawPointer, _ p: inout Int, _ limit: Int, _ baseOffset: Int,
                           _ what: StaticString) throws -> Int {
        let b = base.load(fromByteOffset: p, as: UInt8.self)
        if b < bigLength {
            p += 1
            return Int(b)
        }
        if limit - p < 5 {
            throw fail(baseOffset, p, "a 5-byte \(what) length before the terminator", "\(limit - p) bytes left")
        }
        let n = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: p + 1, as: UInt32.self)))
        p += 5
        return n
    }

    // MARK: - errors

    @inline(never)
    static func fail(_ baseOffset: Int, _ at: Int, _ expected: String, _ found: String) -> FormatError {
        FormatError(offset: baseOffset + at, context: "zipmap", expected: expected, found: found)
    }
}
