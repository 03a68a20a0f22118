// SnapshotBytes: the dataset as one RDB image in memory, for the SYNC handshake of the replication
// stream. Written through the same SnapshotWriter as a snapshot file, into an anonymous temporary file.
#if canImport(Glibc)
import Glibc
#endif
import Engine

extension SnapshotWriter {
    /// The whole dataset as RDB bytes (written on the calling thread).
    public static func snapshotBytes(_ engine: Engine, options: SnapshotOptions, usedMemory: Int) throws -> [UInt8] {
        var template = Array("/tmp/cairn-sync-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw SnapshotError("Can't create a temporary file for SYNC: \(String(cString: strerror(errno)))") }
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        defer { close(fd) }
        _ = try write(engine, to: fd, options: options, usedMemory: usedMemory)
        let size = Int(lseek(fd, 0, SEEK_END))
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, size - done, off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw SnapshotError("Can't read back the SYNC snapshot: \(String(cString: strerror(errno)))") }
            done += n
        }
        return bytes
    }
}
