// Listpack (RDB 10+): u32le total bytes, u16le count (65535 = unknown), entries, 0xFF.
// Entry = encoding+data, then backlen (1-5 bytes, 7-bit groups). See FORMATS.md §7.1.
// STUB: the encodings helper replaces the bodies.

public enum Listpack {
    /// Walks every element of `blob`, validating as it goes (header, each entry's bounds and backlen,
    /// terminator, count). Returns the number of elements. Errors are FormatErrors at `baseOffset` + position.
    @discardableResult
    public static func forEach(_ blob: UnsafeRawBufferPointer, baseOffset: Int = 0,
                               _ body: (CompactElement) throws -> Void) throws -> Int { fatalError("stub") }

    /// Every element, materialised (integers as decimal text).
    public static func elements(_ blob: [UInt8], baseOffset: Int = 0) throws -> [[UInt8]] { fatalError("stub") }
}

/// Builds a listpack the way Redis writes one: integer-looking strings as the smallest integer form.
public struct ListpackEncoder {
    public init() { fatalError("stub") }
    /// Appends a string element (stored as an integer when it parses strictly as one).
    public mutating func append(_ bytes: UnsafeRawBufferPointer) { fatalError("stub") }
    public mutating func append(_ bytes: [UInt8]) { fatalError("stub") }
    /// Appends an integer element.
    public mutating func append(int: Int64) { fatalError("stub") }
    /// Elements so far.
    public var count: Int { fatalError("stub") }
    /// Size the finished blob will have.
    public var byteSize: Int { fatalError("stub") }
    /// The finished blob (header filled in, terminator appended).
    public func finish() -> [UInt8] { fatalError("stub") }
}
