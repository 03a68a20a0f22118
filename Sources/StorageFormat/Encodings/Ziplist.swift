// Ziplist (read only): u32le zlbytes, u32le zltail, u16le zllen, entries (prevlen, encoding, data), 0xFF.
// See FORMATS.md §7.2. STUB: the encodings helper replaces the bodies.

public enum Ziplist {
    /// Walks every element, validating prevlen, encodings, bounds, zltail, zllen and the terminator.
    @discardableResult
    public static func forEach(_ blob: UnsafeRawBufferPointer, baseOffset: Int = 0,
                               _ body: (CompactElement) throws -> Void) throws -> Int { fatalError("stub") }

    public static func elements(_ blob: [UInt8], baseOffset: Int = 0) throws -> [[UInt8]] { fatalError("stub") }
}
