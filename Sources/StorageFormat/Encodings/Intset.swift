// Intset: u32le encoding (2, 4 or 8), u32le length, sorted unique signed LE integers. FORMATS.md §7.3.
// STUB: the encodings helper replaces the bodies.

public enum Intset {
    /// Walks every member, validating width, size, and strict ascending order. Returns the count.
    @discardableResult
    public static func forEach(_ blob: UnsafeRawBufferPointer, baseOffset: Int = 0,
                               _ body: (Int64) throws -> Void) throws -> Int { fatalError("stub") }

    public static func members(_ blob: [UInt8], baseOffset: Int = 0) throws -> [Int64] { fatalError("stub") }

    /// An intset holding `members` (sorted, duplicates removed) at the smallest width that holds them all.
    public static func encode(_ members: [Int64]) -> [UInt8] { fatalError("stub") }
}
