// Streaming zlib/gzip compression over Debian's zlib (for .rdb.gz backups in the tools).
//
// One z_stream per object, heap-allocated so its address never moves (zlib keeps a pointer back to it).
// windowBits: gzip 15 + 16, zlib 15, raw -15, auto-detect on inflate 15 + 32. Output goes through a
// 64 KiB scratch buffer and is appended to the caller's array. Concatenated gzip members are inflated
// one after the other, as gzip(1) does.

import CZlib

/// The wrapper around a deflate stream.
public enum ZlibFormat: Sendable {
    case gzip, zlib, raw
    /// Inflate only: accept gzip or zlib, detected from the header.
    case auto

    var windowBits: Int32 {
        switch self {
        case .gzip: return 15 + 16
        case .zlib: return 15
        case .raw: return -15
        case .auto: return 15 + 32
        }
    }
}

/// Size of the scratch buffer output passes through.
private let zlibStep = 64 * 1024
/// Largest piece of input handed to zlib at once (its counters are 32-bit).
private let zlibMaxPiece = 1 << 30

private func zlibError(_ stream: UnsafeMutablePointer<z_stream>?, code: Int32, offset: Int,
                       expected: String) -> FormatError {
    var found = "zlib error \(code)"
    if let msg = stream?.pointee.msg { found += " (\(String(cString: msg)))" }
    return FormatError(offset: offset, context: "zlib", expected: expected, found: found)
}

/// Streaming decompressor. Feed chunks in order; output is appended.
public final class ZlibInflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let scratch: UnsafeMutablePointer<UInt8>
    private let format: ZlibFormat
    /// Compressed bytes consumed so far, across all chunks and gzip members.
    private var consumed = 0
    /// True when the end of the current member has been reached.
    private var finished = false
    /// True when the current member is a gzip member (so another one may follow).
    private var memberIsGzip = false
    /// True until the first byte of the current member has been seen.
    private var atMemberStart = true

    public init(format: ZlibFormat = .auto) throws {
        let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        s.initialize(to: z_stream())
        let rc = inflateInit2_(s, format.windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            let error = zlibError(nil, code: rc, offset: 0, expected: "inflateInit2 to succeed")
            s.deinitialize(count: 1)
            s.deallocate()
            throw error
        }
        stream = s
        scratch = .allocate(capacity: zlibStep)
        self.format = format
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        scratch.deallocate()
    }

    /// Decompresses `chunk`, appending to `output`. Throws FormatError on corrupt input, including
    /// bytes after the end of a zlib or raw stream, or after a gzip member that are not another member.
    public func inflate(_ chunk: UnsafeRawBufferPointer, into output: inout [UInt8]) throws {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        var start = 0
        while start < chunk.count {
            let count = min(chunk.count - start, zlibMaxPiece)
            try inflatePiece(base + start, count: count, into: &output)
            start += count
        }
    }

    private func inflatePiece(_ base: UnsafeRawPointer, count: Int, into output: inout [UInt8]) throws {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(count)
        defer {
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
        }
        while true {
            if finished {
                if stream.pointee.avail_in == 0 { return }
                // More bytes after the end of a member: another gzip member, or garbage.
                guard memberIsGzip else {
                    throw FormatError(offset: consumed, context: "zlib", expected: "no data after the end of the stream",
                                      found: "\(stream.pointee.avail_in) more bytes")
                }
                let rc = inflateReset(stream)
                guard rc == Z_OK else {
                    throw zlibError(stream, code: rc, offset: consumed, expected: "inflateReset to succeed")
                }
                finished = false
                atMemberStart = true
            }
            if atMemberStart, stream.pointee.avail_in > 0 {
                // Only a gzip header starts with 0x1f: a zlib header's low nibble is 8.
                memberIsGzip = format == .gzip || (format == .auto && stream.pointee.next_in.pointee == 0x1f)
                atMemberStart = false
            }
            let availInBefore = stream.pointee.avail_in
            stream.pointee.next_out = scratch
            stream.pointee.avail_out = UInt32(zlibStep)
            let rc = CZlib.inflate(stream, Z_NO_FLUSH)
            consumed += Int(availInBefore - stream.pointee.avail_in)
            let produced = zlibStep - Int(stream.pointee.avail_out)
            if produced > 0 {
                output.append(contentsOf: UnsafeBufferPointer(start: scratch, count: produced))
            }
            switch rc {
            case Z_STREAM_END:
                finished = true
            case Z_OK:
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 { return }
            case Z_BUF_ERROR:
                // No progress possible: all input is consumed and all pending output was flushed.
                return
            case Z_NEED_DICT:
                throw zlibError(stream, code: rc, offset: consumed, expected: "a stream without a preset dictionary")
            default:
                throw zlibError(stream, code: rc, offset: consumed, expected: "valid compressed data")
            }
        }
    }

    /// True once the end of the compressed stream was reached.
    public var isFinished: Bool { finished }
}

/// Streaming compressor.
public final class ZlibDeflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let scratch: UnsafeMutablePointer<UInt8>
    private var finished = false

    /// `format` must be gzip, zlib or raw; `level` 0–9, or -1 for zlib's default.
    public init(format: ZlibFormat = .gzip, level: Int32 = 6) throws {
        guard format != .auto else {
            throw FormatError(offset: 0, context: "zlib", expected: "gzip, zlib or raw format to deflate",
                              found: "auto")
        }
        let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        s.initialize(to: z_stream())
        let rc = deflateInit2_(s, level, Z_DEFLATED, format.windowBits, 8, Z_DEFAULT_STRATEGY,
                               ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            let error = zlibError(nil, code: rc, offset: 0, expected: "deflateInit2 to accept level \(level)")
            s.deinitialize(count: 1)
            s.deallocate()
            throw error
        }
        stream = s
        scratch = .allocate(capacity: zlibStep)
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        scratch.deallocate()
    }

    /// Compresses `chunk`, appending to `output`; `finish: true` ends the stream.
    /// After the stream has ended, further calls with an empty chunk do nothing; with data they throw.
    public func deflate(_ chunk: UnsafeRawBufferPointer, finish: Bool, into output: inout [UInt8]) throws {
        if finished {
            if chunk.isEmpty { return }
            throw FormatError(offset: Int(stream.pointee.total_in), context: "zlib",
                              expected: "no data after the end of the stream", found: "\(chunk.count) more bytes")
        }
        guard let base = chunk.baseAddress, chunk.count > 0 else {
            if finish { try deflatePiece(nil, count: 0, flush: Z_FINISH, into: &output) }
            return
        }
        var start = 0
        while start < chunk.count {
            let count = min(chunk.count - start, zlibMaxPiece)
            let last = start + count == chunk.count
            try deflatePiece(base + start, count: count, flush: finish && last ? Z_FINISH : Z_NO_FLUSH, into: &output)
            start += count
        }
    }

    private func deflatePiece(_ base: UnsafeRawPointer?, count: Int, flush: Int32, into output: inout [UInt8]) throws {
        stream.pointee.next_in = base.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self)) }
        stream.pointee.avail_in = UInt32(count)
        defer {
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
        }
        while true {
            stream.pointee.next_out = scratch
            stream.pointee.avail_out = UInt32(zlibStep)
            let rc = CZlib.deflate(stream, flush)
            let produced = zlibStep - Int(stream.pointee.avail_out)
            if produced > 0 {
                output.append(contentsOf: UnsafeBufferPointer(start: scratch, count: produced))
            }
            switch rc {
            case Z_STREAM_END:
                finished = true
                return
            case Z_OK, Z_BUF_ERROR:
                // Done with this piece once all input is taken and zlib had room to spare; when finishing,
                // keep going until Z_STREAM_END.
                if flush != Z_FINISH && stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 { return }
                if rc == Z_BUF_ERROR && stream.pointee.avail_out != 0 {
                    throw zlibError(stream, code: rc, offset: Int(stream.pointee.total_in),
                                    expected: "deflate to make progress")
                }
            default:
                throw zlibError(stream, code: rc, offset: Int(stream.pointee.total_in), expected: "deflate to succeed")
            }
        }
    }
}

public enum Gzip {
    /// True when `header` starts with the gzip magic 1f 8b.
    public static func isGzip(_ header: UnsafeRawBufferPointer) -> Bool { header.count >= 2 && header[0] == 0x1f && header[1] == 0x8b }
    /// Whole-buffer helpers for tests and small inputs.
    public static func compress(_ bytes: [UInt8], format: ZlibFormat = .gzip) throws -> [UInt8] {
        let deflater = try ZlibDeflater(format: format)
        var out: [UInt8] = []
        try bytes.withUnsafeBytes { try deflater.deflate($0, finish: true, into: &out) }
        return out
    }

    /// Decompresses a whole gzip (possibly several members) or zlib stream. Throws when the input is
    /// corrupt or ends before the stream does.
    public static func decompress(_ bytes: [UInt8]) throws -> [UInt8] {
        let inflater = try ZlibInflater(format: .auto)
        var out: [UInt8] = []
        try bytes.withUnsafeBytes { try inflater.inflate($0, into: &out) }
        guard inflater.isFinished else {
            throw FormatError(offset: bytes.count, context: "zlib", expected: "the end of the compressed stream",
                              found: "the end of the input")
        }
        return out
    }
}
