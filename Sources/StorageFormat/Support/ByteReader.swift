// ByteReader: a bounds-checked cursor over bytes in memory, for decoding blobs and payloads.
// Every read checks the bytes remain and throws a FormatError with the absolute offset when they do not;
// integers come in the byte order the format names (`readUInt32LE`, `readUInt32BE`, ...).

/// A consuming reader over an `UnsafeRawBufferPointer`. The buffer must outlive the reader.
public struct ByteReader {
    public let buffer: UnsafeRawBufferPointer
    /// Offset of the next byte to read, relative to `buffer`.
    public var position: Int
    /// Added to `position` in errors, so offsets are absolute in the enclosing input.
    public var baseOffset: Int
    /// Names the structure in errors ("listpack", "DUMP payload", ...).
    public var context: String

    @inlinable
    public init(_ buffer: UnsafeRawBufferPointer, baseOffset: Int = 0, context: String) {
        self.buffer = buffer
        self.position = 0
        self.baseOffset = baseOffset
        self.context = context
    }

    /// Bytes left to read.
    @inlinable public var remaining: Int { buffer.count - position }
    @inlinable public var isAtEnd: Bool { position >= buffer.count }

    /// A format error at the current position (or `at`, relative to the buffer).
    public func error(_ expected: String, found: String, at: Int? = nil) -> FormatError {
        FormatError(offset: baseOffset + (at ?? position), context: context, expected: expected, found: found)
    }

    @inlinable
    public mutating func require(_ n: Int, _ what: @autoclosure () -> String) throws(FormatError) {
        if n < 0 || n > remaining {
            throw error("\(n) bytes of \(what())", found: "\(remaining) bytes left")
        }
    }

    @inlinable
    public mutating func readUInt8() throws(FormatError) -> UInt8 {
        try require(1, "byte")
        let v = buffer[position]
        position += 1
        return v
    }

    @inlinable
    public func peekUInt8() -> UInt8? {
        position < buffer.count ? buffer[position] : nil
    }

    @inlinable
    public mutating func readLE<T: FixedWidthInteger>(_: T.Type) throws(FormatError) -> T {
        try require(MemoryLayout<T>.size, "\(T.self) little-endian")
        let v = buffer.loadUnaligned(fromByteOffset: position, as: T.self)
        position += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    @inlinable
    public mutating func readBE<T: FixedWidthInteger>(_: T.Type) throws(FormatError) -> T {
        try require(MemoryLayout<T>.size, "\(T.self) big-endian")
        let v = buffer.loadUnaligned(fromByteOffset: position, as: T.self)
        position += MemoryLayout<T>.size
        return T(bigEndian: v)
    }

    /// The next `n` bytes as a view into the buffer (no copy).
    @inlinable
    public mutating func readSpan(_ n: Int) throws(FormatError) -> UnsafeRawBufferPointer {
        try require(n, "data")
        let s = UnsafeRawBufferPointer(rebasing: buffer[position ..< position + n])
        position += n
        return s
    }

    /// The next `n` bytes, copied.
    @inlinable
    public mutating func readBytes(_ n: Int) throws(FormatError) -> [UInt8] {
        Array(try readSpan(n))
    }

    @inlinable
    public mutating func skip(_ n: Int) throws(FormatError) {
        try require(n, "data")
        position += n
    }
}
