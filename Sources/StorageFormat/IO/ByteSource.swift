// ByteSource: where a streaming reader pulls its bytes from — a file descriptor, a gzip stream, memory.
// Readers ask for large chunks (about 1 MiB) so the cost of the protocol call does not matter.
#if canImport(Glibc)
import Glibc
#endif

/// A sequential source of bytes.
public protocol ByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes into `buffer`; returns 0 at the end. Throws on I/O errors.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Total bytes the source will deliver, when known (a regular file); nil otherwise.
    var knownSize: Int? { get }
}

/// An I/O failure (not a format problem): the path and the system's reason.
public struct IOError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public init(path: String, errno code: Int32) {
        self.path = path
        self.reason = String(cString: strerror(code))
    }
    public var description: String { "\(path): \(reason)" }
}

/// Reads a file through its descriptor. Closes it on deinit.
public final class FileSource: ByteSource {
    public let path: String
    let fd: Int32
    public let knownSize: Int?

    /// Opens `path` for reading ("-" is standard input).
    public init(path: String) throws {
        self.path = path
        if path == "-" {
            fd = 0
            knownSize = nil
            return
        }
        let d = open(path, O_RDONLY | O_CLOEXEC)
        if d < 0 { throw IOError(path: path, errno: errno) }
        fd = d
        var st = stat()
        if fstat(d, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG {
            knownSize = Int(st.st_size)
        } else {
            knownSize = nil
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw IOError(path: path, errno: errno)
        }
    }

    deinit {
        if fd > 2 { close(fd) }
    }
}

/// Bytes already in memory.
public final class MemorySource: ByteSource {
    let bytes: [UInt8]
    var position = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var knownSize: Int? { bytes.count }
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - position)
        if n > 0 {
            bytes.withUnsafeBytes { src in
                buffer.baseAddress!.copyMemory(from: src.baseAddress! + position, byteCount: n)
            }
            position += n
        }
        return n
    }
}

/// Decompresses a gzip (or zlib) stream from another source.
public final class GzipSource: ByteSource {
    let inner: ByteSource
    let inflater: ZlibInflater
    var pending: [UInt8] = []
    var pendingPos = 0
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    var innerDone = false
    public var knownSize: Int? { nil }

    public init(_ inner: ByteSource) throws {
        self.inner = inner
        self.inflater = try ZlibInflater(format: .auto)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while pendingPos >= pending.count {
            if innerDone { return 0 }
            pending.removeAll(keepingCapacity: true)
            pendingPos = 0
            let n = try chunk.withUnsafeMutableBytes { try inner.read(into: $0) }
            if n == 0 {
                innerDone = true
                if !inflater.isFinished {
                    throw FormatError(offset: 0, context: "gzip", expected: "the end of the compressed stream", found: "end of input")
                }
                return 0
            }
            try chunk.withUnsafeBytes { try inflater.inflate(UnsafeRawBufferPointer(rebasing: $0[0 ..< n]), into: &pending) }
        }
        let n = min(buffer.count, pending.count - pendingPos)
        pending.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + pendingPos, byteCount: n)
        }
        pendingPos += n
        return n
    }
}

/// Opens `path`, decompressing transparently when it starts with the gzip magic.
public func openByteSource(path: String) throws -> ByteSource {
    let file = try FileSource(path: path)
    if path == "-" { return file }
    // Peek at the magic with pread so the file source still starts at 0.
    var magic: (UInt8, UInt8) = (0, 0)
    let n = withUnsafeMutableBytes(of: &magic) { pread(file.fd, $0.baseAddress, 2, 0) }
    if n == 2 && magic.0 == 0x1f && magic.1 == 0x8b { return try GzipSource(file) }
    return file
}
