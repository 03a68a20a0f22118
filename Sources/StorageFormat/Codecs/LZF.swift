// LZF compression over Debian's liblzf (the same bitstream Redis embeds).
//
// Bitstream, repeated until the input ends; control byte c:
//   c < 0x20   literal run: copy the next c + 1 bytes
//   c >= 0x20  back-reference: n = c >> 5 (if n == 7, add the next byte); copy n + 2 bytes from
//              ((c & 0x1f) << 8) + next byte + 1 bytes back in the output
// In an RDB `str` it appears as C3, len compressed_len, len original_len, compressed bytes; the output
// must be exactly original_len bytes (FORMATS.md §5).

import CLZF
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum LZF {
    /// Largest original length accepted by `decompress`: a Redis string is at most 512 MiB.
    static let maxOriginalLength = 512 << 20 + 1 << 20

    /// The most bytes any valid `inputCount` compressed bytes can expand to, with a generous margin
    /// (a 3-byte back-reference yields at most 264 bytes).
    static func expansionBound(inputCount: Int) -> Int {
        let (product, overflow) = inputCount.multipliedReportingOverflow(by: 132)
        return overflow ? Int.max : product &+ 64
    }

    /// Compressed form of `input` if it fits in `maxOutput` bytes, else nil (Redis stores the string raw then).
    /// Empty input gives nil too.
    public static func compress(_ input: UnsafeRawBufferPointer, maxOutput: Int) -> [UInt8]? {
        guard input.count > 0, maxOutput > 0, input.count <= Int(UInt32.max) else { return nil }
        // liblzf never writes more than n + n/32 + 1 bytes, so a larger limit only wastes memory.
        let worstCase = input.count + input.count / 16 + 64
        let capacity = min(maxOutput, worstCase, Int(UInt32.max))
        let out = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            count = compress(input, into: UnsafeMutableRawBufferPointer(buffer))
        }
        return out.isEmpty ? nil : out
    }

    /// Compresses `input` into `output`; returns the compressed length, or 0 when it does not fit.
    @inline(__always)
    public static func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
        guard let inBase = input.baseAddress, input.count > 0, output.count > 0,
              input.count <= Int(UInt32.max), output.count <= Int(UInt32.max) else { return 0 }
        return Int(lzf_compress(inBase, UInt32(input.count), output.baseAddress, UInt32(output.count)))
    }

    /// Decompresses `input` into exactly `originalLength` bytes. Any other outcome (overrun, a back-reference
    /// before the start, a short output) throws a FormatError whose offset is `baseOffset` (the position of
    /// the compressed bytes in the enclosing input).
    public static func decompress(_ input: UnsafeRawBufferPointer, originalLength: Int, baseOffset: Int = 0) throws -> [UInt8] {
        func failure(_ expected: String, _ found: String) -> FormatError {
            FormatError(offset: baseOffset, context: "LZF", expected: expected, found: found)
        }
        // Validate the length before allocating anything for it.
        guard originalLength >= 0 else {
            throw failure("an original length >= 0", "\(originalLength)")
        }
        guard originalLength <= maxOriginalLength else {
            throw failure("an original length of at most \(maxOriginalLength) bytes", "\(originalLength)")
        }
        guard originalLength <= expansionBound(inputCount: input.count) else {
            throw failure("an original length that \(input.count) compressed bytes can produce",
                          "\(originalLength)")
        }
        guard input.count <= Int(UInt32.max) else {
            throw failure("at most \(UInt32.max) compressed bytes", "\(input.count)")
        }
        guard let inBase = input.baseAddress, input.count > 0 else {
            if originalLength == 0 { return [] }
            throw failure("compressed data for \(originalLength) bytes", "no compressed bytes")
        }
        if originalLength == 0 {
            throw failure("no compressed bytes for an original length of 0", "\(input.count) bytes")
        }

        var produced = 0
        var code: Int32 = 0
        let out = [UInt8](unsafeUninitializedCapacity: originalLength) { buffer, count in
            errno = 0
            produced = Int(lzf_decompress(inBase, UInt32(input.count), buffer.baseAddress, UInt32(originalLength)))
            code = errno
            count = produced == originalLength ? produced : 0
        }
        if produced == originalLength { return out }
        if produced == 0 {
            switch code {
            case E2BIG:
                throw failure("\(originalLength) bytes of output", "more output than that")
            case EINVAL:
                throw failure("a valid LZF stream",
                              "truncated data or a back-reference before the start of the output")
            default:
                throw failure("\(originalLength) bytes of output", "a liblzf error (errno \(code))")
            }
        }
        throw failure("\(originalLength) bytes of output", "\(produced) bytes")
    }
}
