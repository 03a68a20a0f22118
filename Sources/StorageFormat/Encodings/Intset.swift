// Intset: u32le encoding (2, 4 or 8), u32le length, sorted unique signed LE integers. FORMATS.md §7.3.
//
//   u32le encoding   bytes per member: 2, 4 or 8
//   u32le length     member count
//   length × int16/int32/int64 little-endian, strictly ascending
//
// The decoder accepts an empty intset (what `encode([])` writes); RDB readers reject empty sets themselves.

public enum Intset {
    static let headerSize = 8

    /// Walks every member, validating width, size, and strict ascending order. Returns the count.
    /// O(n), no allocation.
    @discardableResult
    public static func forEach(_ blob: UnsafeRawBufferPointer, baseOffset: Int = 0,
                               _ body: (Int64) throws -> Void) throws -> Int {
        let size = blob.count
        guard size >= headerSize, let base = blob.baseAddress else {
            throw fail(baseOffset, 0, "at least 8 bytes", "\(size) bytes")
        }
        let encoding = UInt32(littleEndian: base.loadUnaligned(as: UInt32.self))
        guard encoding == 2 || encoding == 4 || encoding == 8 else {
            throw fail(baseOffset, 0, "encoding 2, 4 or 8", "\(encoding)")
        }
        let width = Int(encoding)
        let length = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        // length < 2^32 and width <= 8: the product fits easily in a 64-bit Int; compare by division anyway.
        let payload = size - headerSize
        if payload % width != 0 || payload / width != length {
            throw fail(baseOffset, 4, "a blob of 8 + \(length) × \(width) bytes", "\(size) bytes")
        }
        var previous = Int64.min
        var p = headerSize
        for i in 0 ..< length {
            let v: Int64
            switch width {
            case 2: v = Int64(Int16(littleEndian: base.loadUnaligned(fromByteOffset: p, as: Int16.self)))
            case 4: v = Int64(Int32(littleEndian: base.loadUnaligned(fromByteOffset: p, as: Int32.self)))
            default: v = Int64(littleEndian: base.loadUnaligned(fromByteOffset: p, as: Int64.self))
            }
            if i > 0 && v <= previous {
                throw fail(baseOffset, p, "a member greater than \(previous) (strictly ascending)", "\(v)")
            }
            try body(v)
            previous = v
            p += width
        }
        return length
    }

    public static func members(_ blob: [UInt8], baseOffset: Int = 0) throws -> [Int64] {
        var out: [Int64] = []
        try blob.withUnsafeBytes { raw in
            _ = try forEach(raw, baseOffset: baseOffset) { out.append($0) }
        }
        return out
    }

    /// An intset holding `members` (sorted, duplicates removed) at the smallest width that holds them all.
    public static func encode(_ members: [Int64]) -> [UInt8] {
        let sorted = members.sorted()
        var unique: [Int64] = []
        unique.reserveCapacity(sorted.count)
        for v in sorted where unique.last != v { unique.append(v) }
        var w = ByteWriter()
        unique.withUnsafeBufferPointer { encode(sortedUnique: $0, to: &w) }
        return w.bytes
    }

    /// Appends the intset of `members` (ascending, no duplicates) at the smallest width that holds them.
    public static func encode(sortedUnique m: UnsafeBufferPointer<Int64>, to w: inout ByteWriter) {
        var width = 2
        if let lo = m.first, let hi = m.last {
            if lo < Int64(Int32.min) || hi > Int64(Int32.max) {
                width = 8
            } else if lo < Int64(Int16.min) || hi > Int64(Int16.max) {
                width = 4
            }
        }
        precondition(m.count <= Int(UInt32.max), "intset with more than 2^32-1 members")
        w.bytes.reserveCapacity(w.count + headerSize + m.count * width)
        w.appendLE(UInt32(width))
        w.appendLE(UInt32(truncatingIfNeeded: m.count))
        switch width {
        case 2: for v in m { w.appendLE(Int16(truncatingIfNeeded: v)) }
        case 4: for v in m { w.appendLE(Int32(truncatingIfNeeded: v)) }
        default: for v in m { w.appendLE(v) }
        }
    }

    // MARK: - errors

    @inline(never)
    static func fail(_ baseOffset: Int, _ at: Int, _ expected: String, _ found: String) -> FormatError {
        FormatError(offset: baseOffset + at, context: "intset", expected: expected, found: found)
    }
}
