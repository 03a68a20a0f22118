// FileOutput: buffered byte output to a file descriptor (stdout or a file), with atomic file creation.
#if canImport(Glibc)
import Glibc
#endif
import StorageFormat

/// Buffers bytes and writes them to a descriptor in large chunks.
public final class FileOutput {
    public let path: String
    let fd: Int32
    let ownsFD: Bool
    var buffer: [UInt8] = []
    static let chunk = 1 << 16

    /// Standard output.
    public static func standardOutput() -> FileOutput { FileOutput(fd: 1, path: "<stdout>", owns: false) }

    init(fd: Int32, path: String, owns: Bool) {
        self.fd = fd
        self.path = path
        self.ownsFD = owns
        buffer.reserveCapacity(FileOutput.chunk * 2)
    }

    /// Creates (truncates) `path` for writing.
    public convenience init(creating path: String) throws {
        let d = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if d < 0 { throw IOError(path: path, errno: errno) }
        self.init(fd: d, path: path, owns: true)
    }

    @inline(__always) public func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= FileOutput.chunk { try flush() }
    }

    @inline(__always) public func write(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= FileOutput.chunk { try flush() }
    }

    public func write(_ s: String) throws {
        buffer.append(contentsOf: s.utf8)
        if buffer.count >= FileOutput.chunk { try flush() }
    }

    /// Appends without flushing (callers flush with `flushIfFull`).
    @inline(__always) public func append(_ b: UInt8) { buffer.append(b) }

    @inline(__always) public func flushIfFull() throws {
        if buffer.count >= FileOutput.chunk { try flush() }
    }

    public func flush() throws {
        do throws(FileError) {
            try DurableFile.writeAll(fd, buffer, path: path)
        } catch {
            throw IOError(path: path, errno: error.errno)
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, fsyncs (files only) and closes.
    public func close() throws {
        try flush()
        if ownsFD {
            do throws(FileError) {
                try DurableFile.sync(fd, path: path)
                try DurableFile.close(fd, path: path)
            } catch {
                throw IOError(path: path, errno: error.errno)
            }
        }
    }
}

/// Writes a file under a temporary name and renames it into place only when `body` succeeds (then
/// fsyncs the folder: the new file is durable when this returns).
public func writeAtomically(to path: String, _ body: (FileOutput) throws -> Void) throws {
    let temp = path + ".tmp-\(getpid())"
    let out = try FileOutput(creating: temp)
    do {
        try body(out)
        try out.close()
    } catch {
        _ = try? out.close()
        unlink(temp)
        throw error
    }
    do throws(FileError) {
        try DurableFile.rename(temp, over: path)
    } catch {
        if error.operation == .rename { unlink(temp) }
        throw IOError(path: error.path, errno: error.errno)
    }
}

/// Prints to standard error.
public func printError(_ s: String) {
    var line = Array(s.utf8)
    line.append(0x0a)
    _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
}
