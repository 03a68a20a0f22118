// Ziplist (read only): u32le zlbytes, u32le zltail, u16le zllen, entries (prevlen, encoding, data), 0xFF.
// See FORMATS.md §7.2.
//
//   prevlen     1 byte if < 254, else FE + u32le (Redis may keep the 5-byte form for a small value)
//   00pppppp                    string, 6-bit length        C0 int16 LE    D0 int32 LE    E0 int64 LE
//   01pppppp qqqqqqqq           string, 14-bit length (BE)  F0 int24 LE    FE int8
//   10______ + u32be            string, 32-bit length       F1..FD immediate 0..12 (low nibble - 1)
//   FF                          terminator

public enum Ziplist {
    static let headerSize = 10
    static let unknownCount = 65535

    /// Walks every element, validating prevlen, encodings, bounds, zltail, zllen and the terminator.
    ///
    /// `.bytes` elements point into `blob` and are valid only during the callback. O(n), no allocation.
    @discardableResult
    public static func forEach(_ blob: UnsafeRawBufferPointer, baseOffset: Int = 0,
                               _ body: (CompactElement) throws -> Void) throws -> Int {
        let size = blob.count
        guard size >= headerSize + 1, let base = blob.baseAddress else {
            throw fail(baseOffset, 0, "at least 11 bytes", "\(size) bytes")
        }
        let zlbytes = Int(UInt32(littleEndian: base.loadUnaligned(as: UInt32.self)))
        if zlbytes != size {
            throw fail(baseOffset, 0, "zlbytes equal to the blob length \(size)", "\(zlbytes)")
        }
        let last = base.load(fromByteOffset: size - 1, as: UInt8.self)
        if last != 0xFF {
            throw fail(baseOffset, size - 1, "terminator 0xFF as the last byte", EncodingBytes.hexByte(last))
        }
        let zltail = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        let zllen = Int(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))

        let end = size - 1          // position of the terminator
        var p = headerSize
        var prevSize = 0
        var lastStart = headerSize  // zltail of an empty ziplist
        var count = 0
        while true {
            let first = base.load(fromByteOffset: p, as: UInt8.self)
            if first == 0xFF {
                if p != end {
                    throw fail(baseOffset, p, "entries up to the terminator at offset \(baseOffset + end)",
                               "an early 0xFF terminator")
                }
                break
            }
            let start = p
            let available = end - p     // bytes before the terminator, all usable by this entry

            // prevlen
            let prevlen: Int
            var h: Int                  // header bytes so far (prevlen + encoding)
            if first < 0xFE {
                prevlen = Int(first)
                h = 1
            } else { // 0xFE
                if available < 5 { throw truncated(baseOffset, start, "a 5-byte prevlen", available) }
                prevlen = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: p + 1, as: UInt32.self)))
                h = 5
            }
            if prevlen != prevSize {
                throw fail(baseOffset, start, "prevlen \(prevSize) (the previous entry's size)", "\(prevlen)")
            }
            if h >= available { throw truncated(baseOffset, start, "an encoding byte", available - h) }
            let enc = base.load(fromByteOffset: p + h, as: UInt8.self)
            h += 1

            // encoding and data
            let element: CompactElement
            let dataLen: Int
            switch enc {
            case 0x00 ... 0xBF:                             // strings
                if enc < 0x40 {
                    dataLen = Int(enc)
                } else if enc < 0x80 {
                    if available - h < 1 { throw truncated(baseOffset, start, "a 14-bit length", available - h) }
                    dataLen = (Int(enc & 0x3F) << 8) | Int(base.load(fromByteOffset: p + h, as: UInt8.self))
                    h += 1
                } else {
                    // Redis reads any 10xxxxxx byte as the 32-bit length form and ignores its low bits.
                    if available - h < 4 { throw truncated(baseOffset, start, "a 32-bit length", available - h) }
                    dataLen = Int(UInt32(bigEndian: base.loadUnaligned(fromByteOffset: p + h, as: UInt32.self)))
                    h += 4
                }
                // dataLen < 2^32: no overflow, but compare against what is left rather than adding.
                if dataLen > available - h {
                    throw truncated(baseOffset, start, "\(dataLen) string bytes", available - h)
                }
                element = .bytes(UnsafeRawBufferPointer(start: base + (p + h), count: dataLen))
            case 0xF1 ... 0xFD:                             // immediate 0...12
                dataLen = 0
                element = .int(Int64(enc & 0x0F) - 1)
            case 0xC0, 0xD0, 0xE0, 0xF0, 0xFE:              // int16, int32, int64, int24, int8
                switch enc {
                case 0xC0: dataLen = 2
                case 0xD0: dataLen = 4
                case 0xE0: dataLen = 8
                case 0xF0: dataLen = 3
                default: dataLen = 1
                }
                if dataLen > available - h {
                    throw truncated(baseOffset, start, "a \(dataLen)-byte integer", available - h)
                }
                let q = p + h
                switch enc {
                case 0xC0: element = .int(Int64(Int16(littleEndian: base.loadUnaligned(fromByteOffset: q, as: Int16.self))))
                case 0xD0: element = .int(Int64(Int32(littleEndian: base.loadUnaligned(fromByteOffset: q, as: Int32.self))))
                case 0xE0: element = .int(Int64(littleEndian: base.loadUnaligned(fromByteOffset: q, as: Int64.self)))
                case 0xF0: element = .int(EncodingBytes.loadInt24LE(base, q))
                default: element = .int(Int64(Int8(bitPattern: base.load(fromByteOffset: q, as: UInt8.self))))
                }
            default:
                throw fail(baseOffset, p + h - 1, "an entry encoding byte",
                           "invalid encoding \(EncodingBytes.hexByte(enc))")
            }
            let entrySize = h + dataLen
            p = start + entrySize
            try body(element)
            prevSize = entrySize
            lastStart = start
            count += 1
        }
        if zltail != lastStart {
            throw fail(baseOffset, 4, "zltail \(lastStart) (the offset of the last entry)", "\(zltail)")
        }
        if zllen != unknownCount && zllen != count {
            throw fail(baseOffset, 8, "zllen equal to the \(count) entries walked", "\(zllen)")
        }
        return count
    }

    public static func elements(_ blob: [UInt8], baseOffset: Int = 0) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        try blob.withUnsafeBytes { raw in
            _ = try forEach(raw, baseOffset: baseOffset) { out.append($0.materialized) }
        }
        return out
    }

    // MARK: - errors (kept off the hot path)

    @inline(never)
    static func fail(_ baseOffset: Int, _ at: Int, _ expected: String, _ found: String) -> FormatError {
        FormatError(offset: baseOffset + at, context: "ziplist", expected: expected, found: found)
    }

    @inline(never)
    static func truncated(_ baseOffset: Int, _ entry: Int, _ what: String, _ available: Int) -> FormatError {
        FormatError(offset: baseOffset + entry, context: "ziplist",
                    expected: "\(what) in the entry before the terminator",
                    found: "\(max(available, 0)) bytes left")
    }
}
