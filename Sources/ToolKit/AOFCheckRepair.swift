// AOFCheckRepair: the file operations behind cairn-check-aof --fix and --truncate-to-timestamp:
// - deciding whether a problem is at the tail of a file (no complete command or `#TS:` annotation
//   starts after it) — the only kind --fix truncates, since cutting at a problem in the middle would
//   drop the valid commands after it;
// - backup copies (`FILE.bak`, or `FILE.bak.N` when that exists), truncation, copies of a prefix of a
//   file, all fsynced; constant memory (1 MiB buffers).
#if canImport(Glibc)
import Glibc
#endif
import StorageFormat

enum AOFCheckRepair {
    /// The offset of the first complete record (a command of bulk strings, or a `#TS:<digits>\r\n`
    /// annotation) starting at the beginning of a line after `after`, or nil when there is none: the
    /// problem is then at the tail of the file.
    static func laterRecord(path: String, after: Int) throws -> Int? {
        let file = try AOFCheckFile(path: path)
        let reader = PagedReader(file: file)
        var p = after + 1
        let size = file.size
        while p < size {
            // Find the next line start: a byte after '\n'.
            guard let nl = try reader.find(10, from: p - 1) else { return nil }
            let start = nl + 1
            if start >= size { return nil }
            let c = try reader.byte(start)
            if c == UInt8(ascii: "*"), try completeCommand(reader, at: start) { return start }
            if c == UInt8(ascii: "#"), try timestampLine(reader, at: start) { return start }
            p = start + 1
        }
        return nil
    }

    /// `*<n>\r\n` then n × `$<len>\r\n<len bytes>\r\n`, all inside the file.
    static func completeCommand(_ r: PagedReader, at start: Int) throws -> Bool {
        guard let (argc, afterCount) = try number(r, at: start, prefix: UInt8(ascii: "*")), argc >= 1 else { return false }
        var q = afterCount
        for _ in 0 ..< argc {
            guard let (len, afterLen) = try number(r, at: q, prefix: UInt8(ascii: "$")), len >= 0 else { return false }
            let dataEnd = afterLen + len
            guard dataEnd + 2 <= r.file.size else { return false }
            guard try r.byte(dataEnd) == 13, try r.byte(dataEnd + 1) == 10 else { return false }
            q = dataEnd + 2
        }
        return true
    }

    /// A `<prefix><1-18 digits>\r\n` line at `at`: the number and the offset after the line.
    static func number(_ r: PagedReader, at: Int, prefix: UInt8) throws -> (Int, Int)? {
        guard at < r.file.size, try r.byte(at) == prefix else { return nil }
        var i = at + 1
        var v = 0
        while i < r.file.size, i - at <= 18 {
            let c = try r.byte(i)
            guard c >= 48 && c <= 57 else { break }
            v = v * 10 + Int(c - 48)
            i += 1
        }
        guard i > at + 1, i + 1 < r.file.size, try r.byte(i) == 13, try r.byte(i + 1) == 10 else { return nil }
        return (v, i + 2)
    }

    static func timestampLine(_ r: PagedReader, at: Int) throws -> Bool {
        let size = r.file.size
        guard at + 6 < size else { return false }
        for (k, c) in "#TS:".utf8.enumerated() where try r.byte(at + k) != c { return false }
        var i = at + 4
        while i < size {
            let c = try r.byte(i)
            guard c >= 48 && c <= 57 else { break }
            i += 1
        }
        guard i > at + 4, i + 1 < size else { return false }
        let cr = try r.byte(i), lf = try r.byte(i + 1)
        return cr == 13 && lf == 10
    }

    // MARK: - Files

    /// `path.bak`, or `path.bak.1`, `.2`… when it exists.
    static func backupName(_ path: String) -> String {
        var candidate = path + ".bak"
        var n = 1
        while access(candidate, F_OK) == 0 {
            candidate = path + ".bak.\(n)"
            n += 1
        }
        return candidate
    }

    /// Copies the first `limit` bytes of `from` (all when nil) to a new file `to`, fsynced.
    static func copy(from: String, to: String, limit: Int? = nil) throws {
        let src = try AOFCheckFile(path: from)
        let d = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if d < 0 { throw IOError(path: to, errno: errno) }
        defer { close(d) }
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var left = limit ?? Int.max
        while left > 0 {
            let want = min(left, buf.count)
            let n = try buf.withUnsafeMutableBytes { try src.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0 ..< want])) }
            if n == 0 { break }
            do throws(FileError) {
                try DurableFile.writeAll(d, buf[0 ..< n], path: to)
            } catch {
                throw IOError(path: to, errno: error.errno)
            }
            left -= n
        }
        do { try DurableFile.sync(d, path: to) } catch { throw IOError(path: to, errno: error.errno) }
    }

    /// Truncates `path` to `size` bytes and fsyncs it.
    static func truncate(_ path: String, to size: Int) throws {
        let d = open(path, O_WRONLY | O_CLOEXEC)
        if d < 0 { throw IOError(path: path, errno: errno) }
        defer { close(d) }
        if ftruncate(d, off_t(size)) != 0 { throw IOError(path: path, errno: errno) }
        do { try DurableFile.sync(d, path: path) } catch { throw IOError(path: path, errno: error.errno) }
    }

    /// Writes `bytes` to `path` through a temporary file renamed into place, then fsyncs the folder.
    static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        try writeAtomically(to: path) { try $0.write(bytes) }
    }

    /// fsyncs the folder `path` is in (renames and new files there become durable).
    static func fsyncDirectory(of path: String) throws {
        do { try DurableFile.syncDirectory(dirName(path)) } catch { throw IOError(path: error.path, errno: error.errno) }
    }

    /// C's dirname(3) (glibc): "a" → ".", "/a" → "/", "a/b/" → "a".
    static func dirName(_ path: String) -> String {
        var c = Array(path.utf8CString)
        return c.withUnsafeMutableBufferPointer { String(cString: dirname($0.baseAddress!)) }
    }

    /// The last path component (what basename(1) prints).
    static func baseName(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        if let slash = p.lastIndex(of: "/"), p != "/" { return String(p[p.index(after: slash)...]) }
        return String(p)
    }
}

/// Random access to a file through cached 64 KiB pages.
final class PagedReader {
    let file: AOFCheckFile
    var page: [UInt8] = []
    var pageStart = -1
    static let pageSize = 1 << 16

    init(file: AOFCheckFile) { self.file = file }

    @inline(__always)
    func byte(_ at: Int) throws -> UInt8 {
        if at < pageStart || at >= pageStart + page.count || pageStart < 0 {
            pageStart = at - at % PagedReader.pageSize
            page = try file.pread(PagedReader.pageSize, at: pageStart)
            guard at - pageStart < page.count else { throw IOError(path: file.path, reason: "read past the end at offset \(at)") }
        }
        return page[at - pageStart]
    }

    /// The offset of the first `b` at or after `from`.
    func find(_ b: UInt8, from: Int) throws -> Int? {
        var i = max(0, from)
        while i < file.size {
            if try byte(i) == b { return i }
            i += 1
        }
        return nil
    }
}
