// A full disk, for real: `dir` on a small tmpfs (mounted by the test; skipped where mounting is not
// allowed) that fills up during AOF appends, during a BGSAVE and during a BGREWRITEAOF. The server
// keeps serving reads, reports the error in INFO, refuses writes with Redis's MISCONF texts, never
// leaves a truncated file as the current one, and recovers on its own once space returns.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A tmpfs of `megabytes` mounted on a fresh folder, or nil when this machine does not allow it.
final class SmallDisk {
    let path: String
    init?(megabytes: Int) {
        guard getuid() == 0 else { return nil }
        guard let dir = try? makeTempDir("cairn-disk") else { return nil }
        path = dir
        guard mount("tmpfs", path, "tmpfs", 0, "size=\(megabytes)m") == 0 else {
            rmdir(path)
            return nil
        }
    }
    deinit {
        umount2(path, Int32(MNT_DETACH))
        rmdir(path)
    }
    static var available: Bool { SmallDisk(megabytes: 1) != nil }

    /// Fills the disk with a file until only about `leaveKB` are free.
    func fill(leavingKB leaveKB: Int) {
        var st = statvfs()
        statvfs(path, &st)
        let free = Int(st.f_bavail) * Int(st.f_frsize)
        let size = max(0, free - leaveKB * 1024)
        let fd = open(path + "/filler", O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        let chunk = [UInt8](repeating: 0x5a, count: 1 << 16)
        var written = 0
        while written < size {
            let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, min(chunk.count, size - written)) }
            if n <= 0 { break }
            written += n
        }
        close(fd)
    }

    func free() { unlink(path + "/filler") }
}

/// 1 KB values that do not compress.
private func value(_ i: Int) -> String {
    var rng = UInt64(i) &* 0x9E37_79B9_7F4A_7C15 | 1
    return String((0 ..< 1024).map { _ -> Character in
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
        return Character(UnicodeScalar(UInt8(97 + Int(rng % 26))))
    })
}

private func load(_ c: RawClient, _ range: Range<Int>) throws {
    var req: [UInt8] = []
    for i in range { req += RawClient.encode(argv("SET k\(i) \(value(i))")) }
    try c.write(req)
    for _ in range { _ = try c.readReply() }
}

@Suite(.enabled(if: Paths.haveCairn && SmallDisk.available, "needs cairn-server built and permission to mount a tmpfs"), .serialized)
struct FullDiskTests {
    @Test func aofAppendsOnAFullDisk() throws {
        let disk = try #require(SmallDisk(megabytes: 16))
        // everysec: under always Redis (and Cairn) exit on a failed AOF write instead.
        let server = try ServerProcess(args: ["--appendonly", "yes", "--appendfsync", "everysec", "--dir", disk.path])
        let c = try server.client()
        try load(c, 0 ..< 1000)
        disk.fill(leavingKB: 200)
        var acked = 1000
        var refusal = ""
        for i in 1000 ..< 3000 {
            let r = try c.send("SET k\(i) \(value(i))")
            if r == "+OK\r\n" { acked += 1; continue }
            refusal = r
            break
        }
        #expect(refusal.hasPrefix("-MISCONF Errors writing to the AOF file: No space left on device"), "\(refusal)")
        // Reads go on; INFO says what happened.
        #expect(try c.send("GET k1").hasPrefix("$1024\r\n"))
        #expect(infoField(try c.send("INFO persistence"), "aof_last_write_status") == "err")
        // Space comes back: writes are accepted again without any command.
        disk.free()
        #expect(try waitFor(timeout: 5) { try c.send("SET after v") == "+OK\r\n" })
        #expect(infoField(try c.send("INFO persistence"), "aof_last_write_status") == "ok")
        acked += 1
        // Every acknowledged write was logged whole: a restart gets them all back.
        #expect(server.terminate() == 0)
        let again = try ServerProcess(args: ["--appendonly", "yes", "--dir", disk.path], dir: server.dir)
        #expect(try again.client().send("DBSIZE") == ":\(acked)\r\n")
    }

    @Test func bgsaveOnAFullDisk() throws {
        let disk = try #require(SmallDisk(megabytes: 24))
        // Save points are set only once the disk is full: otherwise the cron may start a BGSAVE of its own
        // while the first SAVE is due (on a slow machine).
        let server = try ServerProcess(args: ["--save", "", "--dir", disk.path])
        let c = try server.client()
        try load(c, 0 ..< 3000)
        #expect(try c.send("SAVE") == "+OK\r\n")
        let before = try Data(contentsOf: URL(fileURLWithPath: disk.path + "/dump.rdb"))
        try load(c, 3000 ..< 6000)
        disk.fill(leavingKB: 1500)  // room for half a dump
        #expect(try c.send("CONFIG SET save \"1 1\"") == "+OK\r\n")
        let started = try c.send("BGSAVE")
        #expect(started == "+Background saving started\r\n" || started == "-ERR Background save already in progress\r\n")
        #expect(try waitFor(timeout: 10) { infoField(try c.send("INFO persistence"), "rdb_last_bgsave_status") == "err" })
        // Writes are refused while the last background save failed (save points are set); reads go on.
        #expect(try c.send("SET x y").hasPrefix("-MISCONF Redis is configured to save RDB snapshots"))
        #expect(try c.send("GET k5").hasPrefix("$1024\r\n"))
        // The current dump is the old, whole file; no temporary file is left behind.
        #expect(try Data(contentsOf: URL(fileURLWithPath: disk.path + "/dump.rdb")) == before)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: disk.path).filter { $0.hasPrefix("temp-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        // Space returns: the save point retries on its own (after Redis's 5 s back-off) and writes resume.
        disk.free()
        #expect(try waitFor(timeout: 12) { infoField(try c.send("INFO persistence"), "rdb_last_bgsave_status") == "ok" })
        #expect(try c.send("SET x y") == "+OK\r\n")
        let check = try run("/usr/bin/env", ["redis-check-rdb", disk.path + "/dump.rdb"])
        #expect(check.status == 0 || !Paths.haveRedis)
    }

    @Test func rewriteOnAFullDisk() throws {
        let disk = try #require(SmallDisk(megabytes: 24))
        let server = try ServerProcess(args: ["--appendonly", "yes", "--dir", disk.path, "--auto-aof-rewrite-percentage", "0"])
        let c = try server.client()
        try load(c, 0 ..< 5000)
        let manifest = disk.path + "/appendonlydir/appendonly.aof.manifest"
        let before = try String(contentsOfFile: manifest, encoding: .utf8)
        disk.fill(leavingKB: 2500)  // room for small appends, not for a 5 MB base
        #expect(try c.send("BGREWRITEAOF") == "+Background append only file rewriting started\r\n")
        #expect(try waitFor(timeout: 10) { infoField(try c.send("INFO persistence"), "aof_last_bgrewrite_status") == "err" })
        // The BASE is the old one (the parent opened a new INCR at the fork, as Redis 7 does) and every
        // file the manifest names is there.
        func base(_ text: String) -> String? { text.split(separator: "\n").first { $0.contains("type b") }.map(String.init) }
        let after = try String(contentsOfFile: manifest, encoding: .utf8)
        #expect(base(after) != nil && base(after) == base(before), "\(before) -> \(after)")
        for line in after.split(separator: "\n") {
            let name = String(line.split(separator: " ")[1])
            #expect(FileManager.default.fileExists(atPath: disk.path + "/appendonlydir/" + name), "\(name)")
        }
        #expect(try c.send("SET small v") == "+OK\r\n")
        let temps = try (FileManager.default.contentsOfDirectory(atPath: disk.path + "/appendonlydir")
            + FileManager.default.contentsOfDirectory(atPath: disk.path)).filter { $0.contains("temp") }
        #expect(temps.isEmpty, "\(temps)")
        disk.free()
        #expect(try c.send("BGREWRITEAOF") == "+Background append only file rewriting started\r\n")
        #expect(try waitFor(timeout: 10) { infoField(try c.send("INFO persistence"), "aof_last_bgrewrite_status") == "ok" })
        #expect(try base(String(contentsOfFile: manifest, encoding: .utf8)) != base(before))
        #expect(server.terminate() == 0)
        let again = try ServerProcess(args: ["--appendonly", "yes", "--dir", disk.path], dir: server.dir)
        let size = try again.client().send("DBSIZE")
        #expect(size == ":5001\r\n", "\(size) \(again.log())")
    }
}
