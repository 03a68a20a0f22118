// cairn-rdb streams its input: on a dump whose one hash has 2 million fields, `json` and `memory` must
// keep a peak RSS (the child's VmHWM, polled) far below what holding the hash would take — the
// tools before the element-wise walk peaked at about 460 MB on this file; the walk stays near 20 MB.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Runs `exe args` with stdout to `output`, stderr discarded; returns its exit status and peak RSS in KiB.
func runMeasured(_ exe: String, _ args: [String], output: String) throws -> (status: Int32, maxRSSKiB: Int) {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv = ([exe] + args).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, exe, &actions, nil, argv, environ)
    guard rc == 0 else { throw TestFailure(description: "posix_spawn \(exe): \(rc)") }
    // The peak comes from the child's own /proc VmHWM, polled until it exits: wait4's ru_maxrss would
    // include the test process's peak, which posix_spawn's vfork-style start hands to the child at exec.
    var status: Int32 = 0
    var peak = 0
    while true {
        if let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
                peak = max(peak, Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0)
            }
        }
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { break }
        if r < 0 && errno != EINTR { throw TestFailure(description: "waitpid: \(errno)") }
        usleep(2000)
    }
    let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (exit, peak)
}

@Suite(.enabled(if: CairnRDBBinary.available, "build the package first (tools/test does)"), .serialized)
struct CairnRDBStreamingTests {
    /// Far under the ~250 MB that 2 million materialised fields take at the least, far over the walk's ~20 MB.
    static let boundKiB = 100 * 1024

    @Test func jsonAndMemoryStayFlatOnA2MillionFieldHash() throws {
        let dir = try makeTempDir("cairn-stream")
        defer { removeTree(dir) }
        let dump = dir + "/big.rdb"
        let gen = try CairnRDBBinary.run(["generate", dump, "--keys", "10", "--big-hash", "2000000", "--value-bytes", "16", "--no-progress"])
        #expect(gen.status == 0, "\(gen.err)")

        let json = try runMeasured(CairnRDBBinary.path, ["json", "--no-progress", dump], output: dir + "/out.json")
        #expect(json.status == 0)
        #expect(json.maxRSSKiB < CairnRDBStreamingTests.boundKiB, "json peaked at \(json.maxRSSKiB) KiB")
        // The output is complete: every field of the hash is there (spot-check the first and the last).
        let size = (try FileManager.default.attributesOfItem(atPath: dir + "/out.json")[.size] as? Int) ?? 0
        #expect(size > 2_000_000 * 20)
        let fd = open(dir + "/out.json", O_RDONLY)
        defer { close(fd) }
        var tail = [UInt8](repeating: 0, count: 200)
        let n = pread(fd, &tail, 200, off_t(size - 200))
        let tailText = String(decoding: tail[0 ..< max(0, n)], as: UTF8.self)
        #expect(tailText.contains("\"field:1999999\":") && tailText.hasSuffix("}}]\n"))

        let memory = try runMeasured(CairnRDBBinary.path, ["memory", "--no-progress", "--key", "^bighash$", dump], output: dir + "/out.csv")
        #expect(memory.status == 0)
        #expect(memory.maxRSSKiB < CairnRDBStreamingTests.boundKiB, "memory peaked at \(memory.maxRSSKiB) KiB")
        let csv = try String(contentsOfFile: dir + "/out.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 2)
        let row = csv.last.map { $0.split(separator: ",").map(String.init) } ?? []
        #expect(row.count >= 7 && row[1] == "hash" && row[2] == "bighash" && row[4] == "hashtable" && row[5] == "2000000")
    }
}

@Suite(.enabled(if: RDBToolServer.available, "needs redis-server, redis-cli and the built cairn-rdb and cairn-server"))
struct CairnRDBBigValueTests {
    /// Values too big to hold (past BoundedValue's 16 MiB estimate) go as type commands written while they
    /// are walked, in RESTORE mode too; the servers must end up with the same data as Redis loading the dump.
    @Test func bigValuesRestoreAsStreamedTypeCommands() throws {
        let dir = try makeTempDir("cairn-bigvalues")
        defer { removeTree(dir) }
        let dump = dir + "/big.rdb"
        let gen = try CairnRDBBinary.run(["generate", dump, "--keys", "200", "--big-hash", "250000", "--big-zset", "250000",
                                          "--big-list", "250000", "--value-bytes", "16", "--expire-percent", "0", "--no-progress"])
        #expect(gen.status == 0, "\(gen.err)")
        let source = try RDBToolServer(cairn: false, dump: dump)
        let expected = try source.digest()

        let resp = try CairnRDBBinary.run(["resp", "--no-progress", dump])
        #expect(resp.status == 0, "\(resp.err)")
        let text = String(decoding: resp.out, as: UTF8.self)
        #expect(text.contains("$5\r\nHMSET\r\n$7\r\nbighash\r\n") && text.contains("$4\r\nZADD\r\n$7\r\nbigzset\r\n")
                && text.contains("$5\r\nRPUSH\r\n$7\r\nbiglist\r\n"))
        #expect(!text.contains("$7\r\nRESTORE\r\n$7\r\nbighash"))
        #expect(text.contains("RESTORE"), "small keys still go as RESTORE payloads")
        #expect(resp.err.contains("3 as type commands"), "\(resp.err)")
        let piped = try RDBToolServer(cairn: false)
        let out = try piped.cli(["--pipe"], stdin: resp.out)
        #expect(out.contains("errors: 0"), "\(out)")
        #expect(try piped.digest() == expected)

        let target = try RDBToolServer(cairn: true)
        let restore = try CairnRDBBinary.run(["restore", "--no-progress", dump, "--server", target.address, "--verify"])
        #expect(restore.status == 0, "\(String(decoding: restore.out, as: UTF8.self)) \(restore.err)")
        #expect(try target.digest() == expected)
    }
}
