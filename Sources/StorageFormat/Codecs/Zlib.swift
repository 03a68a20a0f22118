// Streaming zlib/gzip compression over Debian's zlib (for .rdb.gz backups in the tools).
// STUB: the codecs helper replaces the body.

/// The wrapper around a deflate stream.
public enum ZlibFormat: Sendable {
    case gzip, zlib, raw
    /// Inflate only: accept gzip or zlib, detected from the header.
    case auto
}

/// Streaming decompressor. Feed chunks in order; output is appended.
public final class ZlibInflater {
    public init(format: ZlibFormat = .auto) throws { fatalError("stub") }
    /// Decompresses `chunk`, appending to `output`. Throws FormatError on corrupt input.
    public func inflate(_ chunk: UnsafeRawBufferPointer, into output: inout [UInt8]) throws { fatalError("stub") }
    /// True once the end of the compressed stream was reached.
    public var isFinished: Bool { fatalError("stub") }
}

/// Streaming compressor.
public final class ZlibDeflater {
    public init(format: ZlibFormat = .gzip, level: Int32 = 6) throws { fatalError("stub") }
    /// Compresses `chunk`, appending to `output`; `finish: true` ends the stream.
    public func deflate(_ chunk: UnsafeRawBufferPointer, finish: Bool, into output: inout [UInt8]) throws { fatalError("stub") }
}

public enum Gzip {
    /// True when `header` starts with the gzip magic 1f 8b.
    public static func isGzip(_ header: UnsafeRawBufferPointer) -> Bool { header.count >= 2 && header[0] == 0x1f && header[1] == 0x8b }
    /// Whole-buffer helpers for tests and small inputs.
    public static func compress(_ bytes: [UInt8], format: ZlibFormat = .gzip) throws -> [UInt8] { fatalError("stub") }
    public static func decompress(_ bytes: [UInt8]) throws -> [UInt8] { fatalError("stub") }
}
