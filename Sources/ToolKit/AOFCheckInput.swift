// AOFCheckInput: the byte stream cairn-check-aof reads one AOF file through, with the three read
// operations redis-check-aof 7.0 uses on its FILE*: peek one byte, fgets (a line of at most n-1
// bytes, through '\n'), and fread (n bytes, short at the end of the file). Memory: one 1 MiB buffer;
// a bulk is skipped through, keeping only its first bytes (the command name) and the two bytes after
// its data (the "\r\n" check), so a 4 GB value costs no more than a small one.
// Plain files are read through their descriptor (and positioned with lseek after an RDB preamble);
// gzip-compressed files are decompressed on the fly (StorageFormat's GzipSource).
#if canImport(Glibc)
import Glibc
#endif
import StorageFormat

/// A regular file opened for reading, with its size.
final class AOFCheckFile: ByteSource {
    let path: String
    let fd: Int32
    let size: Int
    var knownSize: Int? { size }

    init(path: String) throws {
        self.path = path
        let d = open(path, O_RDONLY | O_CLOEXEC)
        if d < 0 { throw IOError(path: path, errno: errno) }
        var st = stat()
        if fstat(d, &st) != 0 {
            let e = errno
            close(d)
            throw IOError(path: path, errno: e)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            close(d)
            throw IOError(path: path, errno: EISDIR)
        }
        fd = d
        size = Int(st.st_size)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw IOError(path: path, errno: errno)
        }
    }

    func seek(to offset: Int) throws {
        if lseek(fd, off_t(offset), SEEK_SET) < 0 { throw IOError(path: path, errno: errno) }
    }

    /// Reads up to `count` bytes at `offset` without moving the file position.
    func pread(_ count: Int, at offset: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw IOError(path: path, errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        out.removeLast(count - done)
        return out
    }

    deinit { close(fd) }
}

/// True when the file at `path` starts with the gzip magic.
func isGzipFile(_ path: String) -> Bool {
    guard let f = try? AOFCheckFile(path: path), let head = try? f.pread(2, at: 0) else { return false }
    return head == [0x1f, 0x8b]
}

/// The streaming input of one file, from a start offset.
final class AOFCheckInput {
    static let chunkSize = 1 << 20
    let source: ByteSource
    var buf: [UInt8]
    /// Absolute offset of buf[0].
    var bufStart: Int
    var pos = 0
    var end = 0
    var sourceDone = false
    /// Set when a read wanted more bytes than the file has (C's end-of-file indicator); the caller
    /// clears it where redis-check-aof's fseek would.
    var hitEOF = false
    /// Called with the absolute offset reached, once per buffer refill.
    var onProgress: ((Int) -> Void)?

    /// Opens `path` (decompressing gzip) positioned at `start`.
    init(path: String, start: Int) throws {
        if isGzipFile(path) {
            source = try openByteSource(path: path)
            buf = [UInt8](repeating: 0, count: AOFCheckInput.chunkSize)
            bufStart = 0
            var skip = start
            while skip > 0 {
                let n = try buf.withUnsafeMutableBytes { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0 ..< min(skip, $0.count)])) }
                if n == 0 { break }
                skip -= n
                bufStart += n
            }
        } else {
            let f = try AOFCheckFile(path: path)
            try f.seek(to: start)
            source = f
            buf = [UInt8](repeating: 0, count: AOFCheckInput.chunkSize)
            bufStart = start
        }
    }

    /// Absolute offset of the next unread byte.
    var offset: Int { bufStart + pos }

    @inline(__always)
    func fill() throws -> Bool {
        if pos < end { return true }
        if sourceDone { return false }
        bufStart += end
        pos = 0
        end = 0
        let n = try buf.withUnsafeMutableBytes { try source.read(into: $0) }
        if n == 0 { sourceDone = true; return false }
        end = n
        onProgress?(bufStart + end)
        return true
    }

    /// The next byte without consuming it; nil at the end (and sets hitEOF).
    func peek() throws -> UInt8? {
        guard try fill() else { hitEOF = true; return nil }
        return buf[pos]
    }

    /// C's fgets(line, max, fp): reads at most max-1 bytes, stopping after a '\n'. Writes them to
    /// `line` from index 0, followed by a 0 byte; the bytes after it keep their old values (as a
    /// reused stack buffer does). Returns the count read (0 at the end of the file).
    func fgets(into line: inout [UInt8], max: Int) throws -> Int {
        var n = 0
        while n < max - 1 {
            guard try fill() else { hitEOF = true; break }
            let c = buf[pos]
            pos += 1
            line[n] = c
            n += 1
            if c == 10 { break }
        }
        line[n] = 0
        return n
    }

    /// C's fread of `count` bytes: returns how many were there. Keeps the first `keep` bytes in
    /// `head` and the last two of the `count` in `tail` (when all were read).
    func fread(_ count: Int, keep: Int, head: inout [UInt8], tail: inout (UInt8, UInt8)) throws -> Int {
        head.removeAll(keepingCapacity: true)
        var done = 0
        var last: UInt8 = 0, beforeLast: UInt8 = 0
        while done < count {
            guard try fill() else { hitEOF = true; break }
            let n = min(count - done, end - pos)
            if head.count < keep {
                let k = min(keep - head.count, n)
                head.append(contentsOf: buf[pos ..< pos + k])
            }
            if n >= 2 {
                beforeLast = buf[pos + n - 2]
                last = buf[pos + n - 1]
            } else {
                beforeLast = last
                last = buf[pos]
            }
            pos += n
            done += n
        }
        tail = (beforeLast, last)
        return done
    }
}
