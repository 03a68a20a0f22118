// DurableFile: the write-all / fsync / rename / fsync-the-folder layer every durable file goes through.
// Real files in a temporary folder, /dev/full for a full disk, a pipe for a descriptor fsync refuses.
import Foundation
import Testing
@testable import StorageFormat
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite struct DurableFileTests {
    func files(in dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    @Test func replaceWritesTheWholeFileAndLeavesNoTemporary() throws {
        let dir = try makeTempDir("durable")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = dir + "/users.acl"
        try "old\n".write(toFile: target, atomically: false, encoding: .utf8)
        let big = [UInt8]((0 ..< 3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try DurableFile.replace(target, with: big)
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data(big))
        #expect(files(in: dir) == ["users.acl"])
        var st = stat()
        #expect(stat(target, &st) == 0)
        let mask = umask(0)
        umask(mask)
        #expect(st.st_mode & 0o777 == 0o644 & ~mask)
    }

    @Test func aFailedRenameKeepsTheOldFileAndRemovesTheTemporary() throws {
        let dir = try makeTempDir("durable")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let temp = dir + "/temp-1.rdb"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try DurableFile.writeAll(fd, Array("REDIS0011".utf8), path: temp)
        // The destination's folder does not exist: rename fails with ENOENT.
        #expect(throws: FileError(.rename, path: dir + "/missing/dump.rdb", errno: ENOENT)) {
            try DurableFile.commit(fd, temp: temp, to: dir + "/missing/dump.rdb")
        }
        #expect(files(in: dir).isEmpty)
    }

    @Test func aFullDiskIsAnErrorNotAShortFile() throws {
        let fd = open("/dev/full", O_WRONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect(throws: FileError(.write, path: "/dev/full", errno: ENOSPC)) {
            try DurableFile.writeAll(fd, [UInt8](repeating: 1, count: 100_000), path: "/dev/full")
        }
    }

    @Test func aFailedFsyncIsReported() throws {
        // fsync on a pipe fails with EINVAL: the error comes back, it is not ignored.
        var p: [Int32] = [0, 0]
        try #require(pipe(&p) == 0)
        defer { close(p[0]); close(p[1]) }
        #expect(throws: FileError(.fsync, path: "pipe", errno: EINVAL)) { try DurableFile.sync(p[1], path: "pipe") }
        #expect(throws: FileError(.fsync, path: "pipe", errno: EINVAL)) { try DurableFile.syncData(p[1], path: "pipe") }
    }

    @Test func directoryOfAPath() {
        #expect(DurableFile.directory(of: "/a/b/c.rdb") == "/a/b")
        #expect(DurableFile.directory(of: "/c.rdb") == "/")
        #expect(DurableFile.directory(of: "c.rdb") == ".")
    }
}
