// Zipmap (read only, RDB type 9): u8 zmlen, then (len key, len value, u8 free, value, free padding)*, 0xFF.
// FORMATS.md §7.4. STUB: the encodings helper replaces the bodies.

public enum Zipmap {
    /// Walks every field/value pair, validating lengths and bounds. Returns the pair count.
    @discardableResult
    public static func forEach(_ blob: UnsafeRawBufferPointer, baseOffset: Int = 0,
                               _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws -> Int { fatalError("stub") }

    public static func pairs(_ blob: [UInt8], baseOffset: Int = 0) throws -> [([UInt8], [UInt8])] { fatalError("stub") }
}
