// DurableFile: the one way Cairn puts a file on disk so that it survives a crash or power loss.
//
//   write everything   retrying EINTR and short writes (a full disk is an error, not a short file)
//   fsync              the data and the size; a failed fsync is always an error (after one, the
//                      kernel may have dropped the dirty pages: retrying would report success falsely)
//   rename             over the destination, atomic on one file system
//   fsync the folder   so the rename itself is durable
//
// Snapshots, the AOF and its manifest, CONFIG REWRITE, ACL SAVE and the tools' outputs all go through
// here. Plain system calls only: the snapshot child uses this after fork(), where Foundation and
// Swift concurrency are off limits.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed file operation: which one, on which path, and the system's errno.
public struct FileError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Operation: String, Sendable {
        case open, write, fsync, close, rename, fsyncDirectory = "fsync of the directory", chmod
    }
    public let operation: Operation
    public let path: String
    public let errno: Int32

    public init(_ operation: Operation, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// The system's text for `errno` ("No space left on device").
    public var reason: String { String(cString: strerror(errno)) }

    public var description: String { "\(operation.rawValue) \(path): \(reason)" }
}

public enum DurableFile {
    /// Writes all of `bytes` to `fd`, retrying interrupted and short writes.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(FileError) {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = write(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(.write, path: path, errno: errno)
            }
            if n == 0 { throw FileError(.write, path: path, errno: ENOSPC) }
            p += n
            left -= n
        }
    }

    /// Writes all of `bytes` to `fd`, retrying interrupted and short writes.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(FileError) {
        try writeAll(fd, bytes[...], path: path)
    }

    /// Writes all of `bytes` to `fd`, retrying interrupted and short writes.
    public static func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>, path: String) throws(FileError) {
        let failure: FileError? = bytes.withUnsafeBytes { b in
            do throws(FileError) { try writeAll(fd, b, path: path) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    /// fsync(2), retrying only EINTR.
    public static func sync(_ fd: Int32, path: String) throws(FileError) {
        while fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw FileError(.fsync, path: path, errno: errno)
        }
    }

    /// fdatasync(2), retrying only EINTR: the data, not every piece of metadata (for appends whose
    /// size change fdatasync still covers).
    public static func syncData(_ fd: Int32, path: String) throws(FileError) {
        while fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw FileError(.fsync, path: path, errno: errno)
        }
    }

    /// close(2). An EINTR from close leaves the descriptor closed on Linux: not retried.
    public static func close(_ fd: Int32, path: String) throws(FileError) {
        if Glibc.close(fd) != 0 && errno != EINTR { throw FileError(.close, path: path, errno: errno) }
    }

    /// The folder a path is in ("." for a bare name).
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let d = String(path[..<slash])
        return d.isEmpty ? "/" : d
    }

    /// fsyncs the folder `dir`, making the renames and creations in it durable.
    public static func syncDirectory(_ dir: String) throws(FileError) {
        let d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if d < 0 { throw FileError(.fsyncDirectory, path: dir, errno: errno) }
        defer { _ = Glibc.close(d) }
        while fsync(d) != 0 {
            if errno == EINTR { continue }
            // Some file systems cannot fsync a directory; their renames are as durable as they get.
            if errno == EINVAL || errno == EROFS { return }
            throw FileError(.fsyncDirectory, path: dir, errno: errno)
        }
    }

    /// Renames `temp` over `target` and fsyncs the target's folder.
    public static func rename(_ temp: String, over target: String) throws(FileError) {
        if Glibc.rename(temp, target) != 0 { throw FileError(.rename, path: target, errno: errno) }
        try syncDirectory(directory(of: target))
    }

    /// Finishes a temporary file written through `fd`: fsync, close, rename over `target`, fsync the
    /// folder. On any failure the descriptor is closed and the temporary file removed, and the old
    /// `target` is left as it was.
    public static func commit(_ fd: Int32, temp: String, to target: String) throws(FileError) {
        do throws(FileError) {
            try sync(fd, path: temp)
        } catch {
            _ = Glibc.close(fd)
            unlink(temp)
            throw error
        }
        do throws(FileError) {
            try close(fd, path: temp)
            if Glibc.rename(temp, target) != 0 { throw FileError(.rename, path: target, errno: errno) }
        } catch {
            unlink(temp)
            throw error
        }
        try syncDirectory(directory(of: target))
    }

    /// Replaces `target` with `contents` atomically and durably: a temporary file beside it (created
    /// with `mode` less the umask), written, fsynced, renamed over `target`, folder fsynced. A
    /// reader sees the old file or the new one, never a mix; a crash leaves one of the two.
    public static func replace(_ target: String, with contents: [UInt8], mode: mode_t = 0o644) throws(FileError) {
        var template = Array((target + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd < 0 { throw FileError(.open, path: target, errno: errno) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let temp = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        do throws(FileError) {
            try writeAll(fd, contents, path: temp)
            // mkstemp creates the file 0600: give it the mode a plain open would have.
            let mask = umask(0)
            umask(mask)
            if fchmod(fd, mode & ~mask) != 0 { throw FileError(.chmod, path: temp, errno: errno) }
        } catch {
            _ = Glibc.close(fd)
            unlink(temp)
            throw error
        }
        try commit(fd, temp: temp, to: target)
    }
}
