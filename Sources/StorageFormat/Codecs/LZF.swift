// LZF compression over Debian's liblzf (the same bitstream Redis embeds).
// STUB: the codecs helper replaces the body.

public enum LZF {
    /// Compressed form of `input` if it fits in `maxOutput` bytes, else nil (Redis stores the string raw then).
    public static func compress(_ input: UnsafeRawBufferPointer, maxOutput: Int) -> [UInt8]? { fatalError("stub") }

    /// Decompresses `input` into exactly `originalLength` bytes. Any other outcome (overrun, a back-reference
    /// before the start, a short output) throws a FormatError whose offset is `baseOffset` (the position of
    /// the compressed bytes in the enclosing input).
    public static func decompress(_ input: UnsafeRawBufferPointer, originalLength: Int, baseOffset: Int = 0) throws -> [UInt8] { fatalError("stub") }
}
