// cairn-check-aof against Debian's redis-check-aof / redis-server 7.0 and Cairn's own server:
// - every AOF fixture: valid, with redis-check-aof's exact output;
// - corrupted copies (a byte flipped, or the file cut, at many offsets) of an INCR file checked alone
//   and of whole appendonlydirs (manifest, RDB or RESP BASE, INCR): never a crash, always an offset,
//   redis-check-aof's verdict and exit status and (outside the RDB checker's error details and the
//   documented redis-check-aof 7.0 quirks) its exact output; and a file Cairn passes is one Cairn's
//   reader (AOFReader, RDBReader) reads to the end;
// - --fix on an AOF cut at every byte of its last command (and of its last transaction): the bytes
//   redis-check-aof --fix leaves, a FILE.bak equal to the input, and a result that redis-server 7.0
//   and cairn-server (both with aof-load-truncated no) load to the same DEBUG DIGEST;
// - --fix refusals (problem not at the tail, not in the last file, not confirmed);
// - --truncate-to-timestamp on an appendonlydir Redis wrote with #TS: annotations across three INCR
//   files (rewrites killed in between): the directory written loads into redis-server with exactly
//   the writes made up to T;
// - --json, usage errors, and constant memory on a 64 MiB value.
//
// redis-check-aof 7.0 quirks the comparisons skip, counted and reported:
// - it accepts `*0` and `*-1` (and numbers such as `* 3` or `*+3`), which Redis's and Cairn's
//   loaders refuse; Cairn reports them ("cairn-only");
// - it takes any file with a line starting with "file" for a manifest;
// - for a '$' line cut short it prints a byte of stale stack memory ("Expected \r\n, got: 00XX").
import Foundation
import Testing
@testable import StorageFormat
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

enum CheckAOF {
    static let path = Paths.tool("cairn-check-aof")
    static var available: Bool {
        access(path, X_OK) == 0 && which("redis-check-aof") != nil && which("redis-server") != nil && which("redis-cli") != nil
    }

    static func run(_ args: [String], stdin: Data? = nil) throws -> (status: Int32, out: Data, err: String) {
        try runProcess(path, ["--no-progress"] + args, stdin: stdin)
    }

    static func redis(_ args: [String], stdin: Data? = nil) throws -> (status: Int32, out: Data, err: String) {
        try runProcess(which("redis-check-aof")!, args, stdin: stdin)
    }

    /// Output lines compared with redis-check-aof's: Redis log prefixes ("<pid>:C <date> # ")
    /// replaced, the RDB checker's "[offset N]" lines dropped and everything from its error block on
    /// reduced to a marker (the RDB checkers word their errors differently), the stale byte after
    /// "got: 00" masked.
    static func normalized(_ out: Data) -> [String] {
        var lines: [String] = []
        for raw in Array(out).split(separator: 10, omittingEmptySubsequences: false) {
            var l = String(decoding: raw.map { $0 < 0x80 ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
            if let r = l.range(of: #"^\d+:C \d+ \w+ \d+ [\d:.]+ # "#, options: .regularExpression) {
                l = "LOG " + l[r.upperBound...]
            }
            if l == "--- RDB ERROR DETECTED ---" { lines.append("RDB-ERROR"); break }
            if l.hasPrefix("[offset") { continue }
            if let r = l.range(of: "Expected \\r\\n, got: 00") {
                l = String(l[..<r.upperBound]) + "??" + String(l[r.upperBound...].dropFirst(2))
            }
            lines.append(l)
        }
        return lines
    }

    static func cairnOnly(_ out: Data) -> Bool {
        let s = String(decoding: out, as: UTF8.self)
        return s.contains("Expected an argument count of at least 1") || s.contains("of 1 to 18 plain digits")
    }
}

/// Counts of a sweep over corrupted inputs.
struct CheckAOFTally: CustomStringConvertible {
    var cases = 0
    var sameVerdict = 0
    var exactOutput = 0
    var cairnOnly = 0
    var manifestMisread = 0
    var cairnValidReadBack = 0
    var description: String {
        "\(cases) cases: \(sameVerdict) same verdict and exit status, \(exactOutput) identical output; skipped: "
            + "\(cairnOnly) where Cairn refuses what redis-check-aof 7.0 does not check (*0, *-1, non-plain numbers), "
            + "\(manifestMisread) read as a manifest by redis-check-aof; \(cairnValidReadBack) valid results read back by AOFReader"
    }
}

/// Reads every file a check covers with Cairn's readers; throws on the first error.
func readBackWithCairnReaders(_ target: String) throws {
    let bytes = try readBytes(target)
    var files: [String] = []
    let firstLine = bytes.split(separator: 10).first(where: { $0.first != UInt8(ascii: "#") }) ?? []
    if firstLine.starts(with: "file".utf8) {
        let m = try AOFManifest.parse(bytes)
        let dir = (target as NSString).deletingLastPathComponent
        files = m.loadOrder.map { dir + "/" + $0.name }
    } else {
        files = [target]
    }
    for f in files {
        let r = try AOFReader(path: f)
        if r.hasRDBPreamble, try readBytes(f).count >= 8 {
            let rdb = try RDBReader(path: f)
            while try rdb.next() != nil {}
            try r.seek(to: rdb.offset)
        }
        while try r.next() != nil {}
    }
}

/// Runs both checkers on `target` (a copy is made for redis-check-aof's run, so neither sees the
/// other's effects) and compares them.
func compareCheckers(_ target: String, label: String, tally: inout CheckAOFTally) throws {
    tally.cases += 1
    let mine = try CheckAOF.run(["--verbose", target])
    let theirs = try CheckAOF.redis([target])
    #expect(mine.status == 0 || mine.status == 1, "\(label): cairn-check-aof exited \(mine.status): \(mine.err)")
    if mine.status == 1 {
        #expect(mine.err.contains("offset"), "\(label): no offset named: \(mine.err)")
    }
    if mine.status == 0 {
        do {
            try readBackWithCairnReaders(target)
            tally.cairnValidReadBack += 1
        } catch {
            Issue.record("\(label): cairn-check-aof passed a file Cairn's readers refuse: \(error)")
        }
    }
    let theirText = String(decoding: theirs.out, as: UTF8.self)
    let mineText = String(decoding: mine.out, as: UTF8.self)
    if CheckAOF.cairnOnly(mine.out) {
        // Refused by Cairn for a reason redis-check-aof 7.0 does not check: the texts differ; the
        // verdicts agree unless redis-check-aof passes the file.
        tally.cairnOnly += 1
        if theirs.status == mine.status { tally.sameVerdict += 1 }
        return
    }
    if theirText.hasPrefix("Start checking Multi Part AOF") && mineText.hasPrefix("Start checking Old-Style AOF") {
        tally.manifestMisread += 1
        return
    }
    #expect(mine.status == theirs.status, "\(label): exit \(mine.status) vs redis-check-aof \(theirs.status)\n\(mineText)\n---\n\(theirText)")
    if mine.status == theirs.status { tally.sameVerdict += 1 }
    let a = CheckAOF.normalized(mine.out), b = CheckAOF.normalized(theirs.out)
    #expect(a == b, "\(label): output differs\n\(mineText)\n--- redis-check-aof:\n\(theirText)")
    if a == b { tally.exactOutput += 1 }
}

/// A flipped byte: XOR with a value that changes the byte's class most of the time.
func flipped(_ data: [UInt8], at off: Int) -> [UInt8] {
    var b = data
    b[off] ^= off % 3 == 0 ? 0x01 : 0x5a
    return b
}

/// A server (redis-server or cairn-server) on an appendonlydir, for loading tests.
final class AOFLoadServer {
    let process = Process()
    let port: Int
    let dir: String

    init(cairn: Bool, dir: String, appendDir: String = "appendonlydir", extra: [String] = []) throws {
        self.dir = dir
        port = freeLoopbackPort()
        let log = dir + (cairn ? "/cairn-\(port).log" : "/redis-\(port).log")
        process.executableURL = URL(fileURLWithPath: cairn ? Paths.tool("cairn-server") : which("redis-server")!)
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--logfile", log,
                             "--appendonly", "yes", "--aof-load-truncated", "no", "--appenddirname", appendDir]
            + ["--enable-debug-command", "yes"] + (cairn ? [] : ["--daemonize", "no"]) + extra
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if !process.isRunning {
                throw TestFailure(description: "\(cairn ? "cairn-server" : "redis-server") exited: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            }
            if (try? cli(["ping"])) == "PONG" { return }
            usleep(20_000)
        }
        stop()
        throw TestFailure(description: "server did not answer PING: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    func cli(_ args: [String]) throws -> String {
        let r = try runProcess(which("redis-cli")!, ["-p", String(port)] + args)
        return String(decoding: r.out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func digest() throws -> String { try cli(["debug", "digest"]) }

    func stop() {
        guard process.isRunning else { return }
        _ = try? runProcess(which("redis-cli")!, ["-p", String(port), "shutdown", "nosave"])
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }

    /// The process ids of the server's children (a rewrite child).
    func children() -> [Int32] {
        let pid = process.processIdentifier
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return [] }
        var out: [Int32] = []
        for t in tasks {
            if let s = try? String(contentsOfFile: "/proc/\(pid)/task/\(t)/children", encoding: .utf8) {
                out += s.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
        }
        return out
    }
}

/// Commands sent on one redis-cli connection (so MULTI/EXEC work).
func redisCLIScript(port: Int, _ lines: [String]) throws {
    let r = try runProcess(which("redis-cli")!, ["-p", String(port)], stdin: Data((lines.joined(separator: "\n") + "\n").utf8))
    guard r.status == 0 else { throw TestFailure(description: "redis-cli: \(r.err)") }
}

@Suite(.enabled(if: CheckAOF.available, "needs the built cairn-check-aof and Debian's redis-check-aof/redis-server"))
struct CheckAOFTests {
    static let fixtures = [
        "Fixtures/aof/redis70-preamble/appendonlydir/appendonly.aof.manifest",
        "Fixtures/aof/redis70-plain/appendonlydir/appendonly.aof.manifest",
        "Fixtures/aof/redis70-legacy/appendonly.aof",
    ]

    @Test func everyFixtureIsValidWithRedisCheckAOFsOutput() throws {
        let tmp = try makeTempDir("check-aof-fixtures")
        defer { removeTree(tmp) }
        var targets: [String] = []
        for f in CheckAOFTests.fixtures {
            let src = Paths.repo(f)
            let dir = (src as NSString).deletingLastPathComponent
            let copy = tmp + "/" + f.replacingOccurrences(of: "/", with: "_")
            try copyTree(dir, copy)
            targets.append(copy + "/" + (src as NSString).lastPathComponent)
        }
        // Redis's own rdb-preamble.aof, when ../shared/fixtures is there (it is outside the repository).
        if FileManager.default.fileExists(atPath: Paths.sharedFixtures + "/rdb-preamble.aof") {
            try copyTree(Paths.sharedFixtures, tmp + "/assets")
            targets.append(tmp + "/assets/rdb-preamble.aof")
        }
        for t in targets {
            let mine = try CheckAOF.run([t])
            let theirs = try CheckAOF.redis([t])
            #expect(mine.status == 0, "\(t): \(mine.err)")
            #expect(theirs.status == 0)
            #expect(mine.out == theirs.out, "\(t):\n\(String(decoding: mine.out, as: UTF8.self))\n---\n\(String(decoding: theirs.out, as: UTF8.self))")
            #expect(mine.err.isEmpty)
            let json = try JSONSerialization.jsonObject(with: try CheckAOF.run(["--json", t]).out) as! [String: Any]
            #expect(json["ok"] as? Bool == true && json["valid"] as? Bool == true)
            #expect(json["problem"] is NSNull)
        }
    }

    /// The INCR of the preamble fixture, checked as a single file, flipped and cut at every offset
    /// (the offsets ≡ chunk mod 4, so the four chunks run in parallel).
    @Test(arguments: [0, 1, 2, 3])
    func corruptedIncrFileAgreesWithRedisCheckAOF(chunk: Int) throws {
        let src = Paths.repo("Fixtures/aof/redis70-preamble/appendonlydir/appendonly.aof.2.incr.aof")
        let data = try readBytes(src)
        let tmp = try makeTempDir("check-aof-incr")
        defer { removeTree(tmp) }
        let target = tmp + "/appendonly.aof.2.incr.aof"
        var tally = CheckAOFTally()
        for off in stride(from: chunk, to: data.count, by: 4) {
            try writeBytes(target, flipped(data, at: off))
            try compareCheckers(target, label: "flip \(off)", tally: &tally)
            try writeBytes(target, Array(data[0 ..< off]))
            try compareCheckers(target, label: "cut \(off)", tally: &tally)
        }
        print("cairn-check-aof vs redis-check-aof, INCR file, chunk \(chunk): \(tally)")
        #expect(tally.cases == 2 * ((data.count - chunk + 3) / 4))
        #expect(tally.exactOutput + tally.cairnOnly + tally.manifestMisread == tally.cases)
    }

    /// Whole appendonlydirs: every byte of the manifest, and every `stride`-th byte of the files it
    /// loads, flipped or cut.
    @Test(arguments: [("redis70-preamble", 13), ("redis70-plain", 29)])
    func corruptedAppendonlydirAgreesWithRedisCheckAOF(fixture: String, step: Int) throws {
        let src = Paths.repo("Fixtures/aof/\(fixture)/appendonlydir")
        let manifest = try AOFManifest.read(path: src + "/appendonly.aof.manifest")
        let names = ["appendonly.aof.manifest"] + manifest.loadOrder.map(\.name)
        let tmp = try makeTempDir("check-aof-dir")
        defer { removeTree(tmp) }
        let dir = tmp + "/appendonlydir"
        var tally = CheckAOFTally()
        for name in names {
            let data = try readBytes(src + "/" + name)
            let by = name.hasSuffix(".manifest") ? 1 : step
            for off in stride(from: 0, to: data.count, by: by) {
                for variant in [flipped(data, at: off), Array(data[0 ..< off])] {
                    try copyTree(src, dir)
                    try writeBytes(dir + "/" + name, variant)
                    try compareCheckers(dir + "/appendonly.aof.manifest", label: "\(fixture) \(name) @\(off)", tally: &tally)
                }
            }
        }
        print("cairn-check-aof vs redis-check-aof, \(fixture) appendonlydir: \(tally)")
        #expect(tally.cases > 500)
        #expect(tally.exactOutput + tally.cairnOnly + tally.manifestMisread == tally.cases)
    }

    @Test func redisCheckAOFQuirksAreDocumented() throws {
        let tmp = try makeTempDir("check-aof-quirks")
        defer { removeTree(tmp) }
        // *0 and *-1: redis-check-aof passes them; both loaders refuse.
        let zero = tmp + "/zero.aof"
        try writeBytes(zero, Array("*1\r\n$4\r\nPING\r\n*0\r\n*1\r\n$4\r\nPING\r\n".utf8))
        #expect(try CheckAOF.redis([zero]).status == 0)
        let mine = try CheckAOF.run([zero])
        #expect(mine.status == 1)
        #expect(String(decoding: mine.out, as: UTF8.self).contains("0x               e: Expected an argument count of at least 1, got: 0"))
        #expect(throws: (any Error).self) { try readBackWithCairnReaders(zero) }
        // A value "file…" at a line start: redis-check-aof reads the AOF as a manifest.
        let file = tmp + "/file.aof"
        try writeBytes(file, Array("*3\r\n$3\r\nSET\r\n$4\r\nfile\r\n$1\r\nx\r\n".utf8))
        #expect(try CheckAOF.redis([file]).status == 1)
        #expect(try CheckAOF.run([file]).status == 0)
        // A manifest whose '\n' became '\v': Redis's argument splitter keeps \v inside an argument, so
        // the joined line has an odd number of words (the same splitter reads Cairn's manifests).
        let vt = tmp + "/vt"
        try FileManager.default.createDirectory(atPath: vt, withIntermediateDirectories: true)
        try writeBytes(vt + "/b.aof", Array("*1\r\n$4\r\nPING\r\n".utf8))
        try writeBytes(vt + "/m.manifest", Array("file b.aof seq 1 type b\u{0B}file x seq 1 type h\n".utf8))
        let vtMine = try CheckAOF.run([vt + "/m.manifest"]), vtTheirs = try CheckAOF.redis([vt + "/m.manifest"])
        #expect(vtMine.status == 1 && vtTheirs.status == 1)
        #expect(CheckAOF.normalized(vtMine.out) == CheckAOF.normalized(vtTheirs.out))
        #expect(String(decoding: vtMine.out, as: UTF8.self).contains("Invalid AOF manifest file format"))
        // The same texts as redis-check-aof for MULTI/EXEC problems, with the path it uses.
        for (name, content) in [("multi", "*1\r\n$5\r\nMULTI\r\n*1\r\n$5\r\nmulti\r\n"), ("exec", "*1\r\n$4\r\nEXEC\r\n"),
                                ("open", "*1\r\n$5\r\nMULTI\r\n*1\r\n$4\r\nPING\r\n"), ("nul", "*1\r\n\0$4\r\nPING\r\n"),
                                ("high", "*1\r\n$2\r\nPI\u{80}G\r\n"), ("neg", "*1\r\n$-1\r\n"), ("garbage", "*1\r\n$4\r\nPING\r\nxyz")] {
            let p = tmp + "/\(name).aof"
            try writeBytes(p, Array(content.utf8))
            let a = try CheckAOF.run([p]), b = try CheckAOF.redis([p])
            #expect(a.status == 1 && b.status == 1, "\(name)")
            #expect(a.out == b.out, "\(name): \(String(decoding: a.out, as: UTF8.self)) vs \(String(decoding: b.out, as: UTF8.self))")
        }
    }

    // MARK: - --fix

    /// An appendonlydir written by redis-server 7.0 whose last INCR ends with a plain SET.
    static func redisWrittenDir(_ tmp: String) throws -> String {
        let dir = tmp + "/src"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let redis = try AOFLoadServer(cairn: false, dir: dir)
        try redisCLIScript(port: redis.port, [
            "SET s1 hello", "RPUSH l a b c d", "HSET h f1 v1 f2 v2", "SADD st x y z", "ZADD z 1 a 2 b", "INCRBY n 42",
            "MULTI", "SET t1 inside", "LPUSH l0 q", "EXEC", "SELECT 3", "SET other db3", "SELECT 0", "EXPIRE s1 100000",
            "SET last \(String(repeating: "v", count: 60))",
        ])
        redis.stop()
        return dir
    }

    static func lastIncr(_ dir: String) throws -> String {
        let m = try AOFManifest.read(path: dir + "/appendonlydir/appendonly.aof.manifest")
        return dir + "/appendonlydir/" + m.incrs.last!.name
    }

    /// Start offsets of the commands of an AOF file.
    static func commandStarts(_ path: String) throws -> [(start: Int, name: String)] {
        let r = try AOFReader(path: path)
        var out: [(Int, String)] = []
        while let rec = try r.next() {
            if case .command(let args, let start, _) = rec { out.append((start, String(decoding: args[0], as: UTF8.self).uppercased())) }
        }
        return out
    }

    @Test func fixOfATruncatedLastCommandLoadsInRedisAndCairn() throws {
        #expect(access(Paths.tool("cairn-server"), X_OK) == 0, "cairn-server must be built")
        let tmp = try makeTempDir("check-aof-fix")
        defer { removeTree(tmp) }
        let written = try CheckAOFTests.redisWrittenDir(tmp)
        // Reference: the dataset without the last write.
        let reference: String
        do {
            // (On a copy: the DEL is appended to the AOF of the folder the server runs on.)
            let refDir = tmp + "/reference"
            try FileManager.default.createDirectory(atPath: refDir, withIntermediateDirectories: true)
            try copyTree(written + "/appendonlydir", refDir + "/appendonlydir")
            let r = try AOFLoadServer(cairn: false, dir: refDir)
            _ = try r.cli(["del", "last"])
            reference = try r.digest()
            r.stop()
        }
        let fixture = tmp + "/fixture"
        try FileManager.default.createDirectory(atPath: fixture, withIntermediateDirectories: true)
        try copyTree(Paths.repo("Fixtures/aof/redis70-preamble/appendonlydir"), fixture + "/appendonlydir")

        var results: [[UInt8]: Int] = [:]
        var cases = 0
        for (src, fromStartOf) in [(written, "SET"), (fixture, "MULTI")] {
            let incr = try CheckAOFTests.lastIncr(src)
            let original = try readBytes(incr)
            let starts = try CheckAOFTests.commandStarts(incr)
            // Cut inside the last command (the SET) / anywhere in the last transaction (MULTI … EXEC).
            let from = starts.last(where: { $0.name == fromStartOf })!.start
            let expectedLength = from
            for k in (from + 1) ..< original.count {
                cases += 1
                let cut = Array(original[0 ..< k])
                let mineDir = tmp + "/mine", theirDir = tmp + "/theirs"
                try copyTree(src + "/appendonlydir", mineDir)
                try copyTree(src + "/appendonlydir", theirDir)
                let name = (incr as NSString).lastPathComponent
                try writeBytes(mineDir + "/" + name, cut)
                try writeBytes(theirDir + "/" + name, cut)
                let theirs = try CheckAOF.redis(["--fix", theirDir + "/appendonly.aof.manifest"], stdin: Data("y\n".utf8))
                // Half the cases answer the prompt like redis-check-aof's users; the other half use --yes.
                let mine = k % 2 == 0
                    ? try CheckAOF.run(["--fix", mineDir + "/appendonly.aof.manifest"], stdin: Data("y\n".utf8))
                    : try CheckAOF.run(["--fix", "--yes", mineDir + "/appendonly.aof.manifest"])
                #expect(theirs.status == 0 && mine.status == 0, "cut at \(k): \(mine.err)")
                // Like redis-check-aof, nothing on standard error without --verbose.
                #expect(mine.err.isEmpty, "cut at \(k): \(mine.err)")
                let fixed = try readBytes(mineDir + "/" + name)
                #expect(fixed == Array(original[0 ..< expectedLength]), "cut at \(k)")
                let theirFixed = try readBytes(theirDir + "/" + name)
                #expect(fixed == theirFixed, "cut at \(k): not the bytes redis-check-aof --fix leaves")
                #expect(try readBytes(mineDir + "/" + name + ".bak") == cut, "cut at \(k): the backup differs from the input")
                if k % 2 == 0 {
                    #expect(mine.out == theirs.out, "cut at \(k): \(String(decoding: mine.out, as: UTF8.self))")
                }
                if results[fixed] == nil { results[fixed] = k }
            }
        }
        print("cairn-check-aof --fix: \(cases) cut points, \(results.count) distinct results, all equal to redis-check-aof --fix's")
        #expect(results.count == 2)
        // Each distinct result loads into Redis 7.0 and Cairn (aof-load-truncated no) to the same digest.
        for (fixed, k) in results {
            for src in [written, fixture] {
                let incr = try CheckAOFTests.lastIncr(src)
                guard Array(try readBytes(incr).prefix(fixed.count)) == fixed else { continue }
                // Each server gets its own copy (a server may write to the folder it loads).
                func loadDir(_ name: String) throws -> String {
                    let d = tmp + "/" + name
                    removeTree(d)
                    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
                    try copyTree(src + "/appendonlydir", d + "/appendonlydir")
                    try writeBytes(d + "/appendonlydir/" + (incr as NSString).lastPathComponent, fixed)
                    return d
                }
                let redis = try AOFLoadServer(cairn: false, dir: try loadDir("load-redis"))
                let redisDigest = try redis.digest()
                redis.stop()
                let cairn = try AOFLoadServer(cairn: true, dir: try loadDir("load-cairn"))
                let cairnDigest = try cairn.digest()
                cairn.stop()
                #expect(redisDigest == cairnDigest, "result of cut at \(k)")
                #expect(redisDigest.count == 40)
                if src == written { #expect(redisDigest == reference, "the fix kept more or less than all writes but the last") }
            }
        }
    }

    @Test func fixRefusesWhatIsNotATruncatedTail() throws {
        let tmp = try makeTempDir("check-aof-refuse")
        defer { removeTree(tmp) }
        let src = Paths.repo("Fixtures/aof/redis70-plain/appendonlydir")
        let dir = tmp + "/appendonlydir"
        let manifest = dir + "/appendonly.aof.manifest"
        // A byte flipped in the middle of the last INCR: later commands would be lost.
        try copyTree(src, dir)
        let incr = dir + "/appendonly.aof.2.incr.aof"
        let original = try readBytes(incr)
        // (A '$' line in the middle, so the flip breaks the framing.)
        let at = original[300...].firstIndex(of: UInt8(ascii: "$"))!
        try writeBytes(incr, flipped(original, at: at))
        var r = try CheckAOF.run(["--fix", "--yes", manifest])
        #expect(r.status == 1)
        var text = String(decoding: r.out, as: UTF8.self)
        #expect(text.contains("Failed to truncate AOF appendonly.aof.2.incr.aof because the problem at offset"))
        #expect(text.contains("is not at the end of the file: a complete record starts at offset"))
        #expect(try readBytes(incr) == flipped(original, at: at))
        #expect(access(incr + ".bak", F_OK) != 0)
        // redis-check-aof would have truncated it (losing the commands after the flip).
        let theirs = try CheckAOF.redis(["--fix", manifest], stdin: Data("y\n".utf8))
        let afterRedisFix = try readBytes(incr)
        #expect(theirs.status == 0 && afterRedisFix.count < original.count - 500)

        // A problem in the BASE, which is not the last file: the same refusal as redis-check-aof.
        try copyTree(src, dir)
        let base = dir + "/appendonly.aof.2.base.aof"
        let baseBytes = try readBytes(base)
        try writeBytes(base, Array(baseBytes.dropLast(3)))
        r = try CheckAOF.run(["--fix", "--yes", manifest])
        let redisRefusal = try CheckAOF.redis(["--fix", manifest], stdin: Data("y\n".utf8))
        #expect(r.status == 1 && redisRefusal.status == 1)
        #expect(r.out == redisRefusal.out)
        #expect(String(decoding: r.out, as: UTF8.self).contains("Failed to truncate AOF appendonly.aof.2.base.aof because it is not the last file"))

        // Declined at the prompt: nothing changes.
        try copyTree(src, dir)
        try writeBytes(incr, Array(original.dropLast(5)))
        r = try CheckAOF.run(["--fix", manifest], stdin: Data("n\n".utf8))
        text = String(decoding: r.out, as: UTF8.self)
        #expect(r.status == 1 && text.hasSuffix("Continue? [y/N]: Aborting...\n"))
        #expect(try readBytes(incr) == Array(original.dropLast(5)))
        // --no-backup: fixed, no copy kept.
        r = try CheckAOF.run(["--fix", "--yes", "--no-backup", manifest])
        #expect(r.status == 0)
        #expect(access(incr + ".bak", F_OK) != 0)
        #expect(try CheckAOF.redis([manifest]).status == 0)
    }

    // MARK: - --truncate-to-timestamp

    @Test func truncateToTimestampAcrossIncrFilesLoadsExactlyTheWritesUpToT() throws {
        let tmp = try makeTempDir("check-aof-ts")
        defer { removeTree(tmp) }
        let dir = tmp + "/src"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // Writes over about six seconds; after the first and second thirds a BGREWRITEAOF is killed,
        // so Redis leaves three INCR files (each failed rewrite opens a new one).
        var writes: [(before: Int64, after: Int64)] = []
        do {
            let redis = try AOFLoadServer(cairn: false, dir: dir, extra: ["--aof-timestamp-enabled", "yes", "--rdb-key-save-delay", "10000000"])
            func now() throws -> Int64 { Int64(try redis.cli(["time"]).split(separator: "\n")[0])! }
            for round in 0 ..< 3 {
                for _ in 0 ..< 6 {
                    let before = try now()
                    _ = try redis.cli(["rpush", "log", String(writes.count)])
                    let after = try now()
                    writes.append((before, after))
                    usleep(330_000)
                }
                if round < 2 {
                    _ = try redis.cli(["bgrewriteaof"])
                    var child: Int32? = nil
                    let deadline = Date().addingTimeInterval(10)
                    while child == nil && Date() < deadline {
                        child = redis.children().first
                        if child == nil { usleep(10_000) }
                    }
                    let pid = try #require(child, "no rewrite child appeared")
                    kill(pid, SIGKILL)
                    while Date() < deadline, try redis.cli(["info", "persistence"]).contains("aof_rewrite_in_progress:1") { usleep(20_000) }
                }
            }
            redis.stop()
        }
        let manifestPath = dir + "/appendonlydir/appendonly.aof.manifest"
        let manifest = try AOFManifest.read(path: manifestPath)
        #expect(manifest.incrs.count == 3, "\(manifest)")
        var stamps: [Int64] = []
        var stampFile: [Int64: Int] = [:]
        for (i, e) in manifest.incrs.enumerated() {
            let r = try AOFReader(path: dir + "/appendonlydir/" + e.name)
            while let rec = try r.next() {
                if case .annotation(let line, _) = rec, let t = AOFReader.timestamp(line) {
                    stamps.append(t)
                    stampFile[t] = i
                }
            }
        }
        #expect(stamps.count >= 4)
        var cutInEarlierIncr = 0
        for limit in Set(stamps.map { $0 - 1 } + stamps).sorted() {
            let outName = "out-\(limit)"
            let r = try CheckAOF.run(["--truncate-to-timestamp", String(limit), "--out", tmp + "/" + outName, manifestPath])
            #expect(r.status == 0, "T=\(limit): \(r.err)")
            let out = try AOFManifest.read(path: tmp + "/" + outName + "/appendonly.aof.manifest")
            #expect(try CheckAOF.redis([tmp + "/" + outName + "/appendonly.aof.manifest"]).status == 0)
            let redis = try AOFLoadServer(cairn: false, dir: tmp, appendDir: outName)
            let list = try redis.cli(["lrange", "log", "0", "-1"]).split(separator: "\n").map(String.init)
            redis.stop()
            let n = list.count
            #expect(list == (0 ..< n).map(String.init), "T=\(limit)")
            for i in 0 ..< writes.count {
                if i < n { #expect(writes[i].before <= limit, "T=\(limit): write \(i) at \(writes[i]) kept") }
                else { #expect(writes[i].after > limit, "T=\(limit): write \(i) at \(writes[i]) lost") }
            }
            // The cut is in an INCR that is not the last one: redis-check-aof refuses it.
            if let next = stamps.first(where: { $0 > limit }), let file = stampFile[next], file < manifest.incrs.count - 1 {
                #expect(out.incrs.count <= file + 1)
                let copy = tmp + "/redis-copy"
                try copyTree(dir + "/appendonlydir", copy)
                let theirs = try CheckAOF.redis(["--truncate-to-timestamp", String(limit), copy + "/appendonly.aof.manifest"])
                #expect(theirs.status == 1)
                let text = String(decoding: theirs.out, as: UTF8.self)
                // (Or, for a T before the first INCR's first annotation, "has nothing before timestamp".)
                #expect(text.contains("because it is not the last file") || text.contains("has nothing before timestamp"))
                if text.contains("because it is not the last file") { cutInEarlierIncr += 1 }
                // Without --out or --in-place, cairn-check-aof does what redis-check-aof does.
                let mineCopy = tmp + "/mine-copy"
                try copyTree(dir + "/appendonlydir", mineCopy)
                let mine = try CheckAOF.run(["--truncate-to-timestamp", String(limit), mineCopy + "/appendonly.aof.manifest"])
                #expect(mine.status == theirs.status && mine.err.isEmpty)
                let mineText = String(decoding: mine.out, as: UTF8.self).replacingOccurrences(of: mineCopy, with: copy)
                #expect(CheckAOF.normalized(Data(mineText.utf8)) == CheckAOF.normalized(theirs.out), "T=\(limit): \(mineText)")
            }
        }
        print("cairn-check-aof --truncate-to-timestamp: \(Set(stamps.map { $0 - 1 } + stamps).count) values of T over \(writes.count) writes "
              + "in \(manifest.incrs.count) INCR files, each loaded by redis-server with exactly the writes up to T; "
              + "\(cutInEarlierIncr) cut an INCR that is not the last (redis-check-aof refuses those)")
        #expect(cutInEarlierIncr >= 2)
        // In place: the same result, the cut file's original kept.
        let limit = stamps.first(where: { stampFile[$0] == 1 })!
        let inPlace = tmp + "/inplace"
        try FileManager.default.createDirectory(atPath: inPlace, withIntermediateDirectories: true)
        try copyTree(dir + "/appendonlydir", inPlace + "/appendonlydir")
        let r = try CheckAOF.run(["--truncate-to-timestamp", String(limit), "--in-place", inPlace + "/appendonlydir/appendonly.aof.manifest"])
        #expect(r.status == 0, "\(r.err)")
        let viaOut = try AOFManifest.read(path: tmp + "/out-\(limit)/appendonly.aof.manifest")
        let viaInPlace = try AOFManifest.read(path: inPlace + "/appendonlydir/appendonly.aof.manifest")
        #expect(viaOut.loadOrder == viaInPlace.loadOrder)
        for e in viaOut.loadOrder {
            let x = try readBytes(tmp + "/out-\(limit)/" + e.name), y = try readBytes(inPlace + "/appendonlydir/" + e.name)
            #expect(x == y)
        }
        #expect(access(inPlace + "/appendonlydir/appendonly.aof.manifest.bak", F_OK) == 0)
    }

    @Test func truncateToTimestampOfOneFileMatchesRedisCheckAOF() throws {
        let tmp = try makeTempDir("check-aof-ts1")
        defer { removeTree(tmp) }
        let src = Paths.repo("Fixtures/aof/redis70-plain/appendonlydir/appendonly.aof.2.incr.aof")
        for limit in ["1795253435", "1795253436", "1795253433"] {
            let a = tmp + "/a/x.aof", b = tmp + "/b/x.aof"
            for p in [a, b] {
                try? FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try writeBytes(p, try readBytes(src))
            }
            let c = tmp + "/c/x.aof"
            try? FileManager.default.createDirectory(atPath: tmp + "/c", withIntermediateDirectories: true)
            try writeBytes(c, try readBytes(src))
            let theirs = try CheckAOF.redis(["--truncate-to-timestamp", limit, a])
            let mine = try CheckAOF.run(["--truncate-to-timestamp", limit, "--in-place", "--no-backup", b])
            #expect(mine.status == theirs.status)
            #expect(String(decoding: mine.out, as: UTF8.self).replacingOccurrences(of: b, with: a)
                    == String(decoding: theirs.out, as: UTF8.self))
            let x = try readBytes(a), y = try readBytes(b)
            #expect(x == y)
            // Without --in-place: redis-check-aof's behaviour, in place, no backup, nothing on stderr.
            let plain = try CheckAOF.run(["--truncate-to-timestamp", limit, c])
            #expect(plain.status == theirs.status && plain.err.isEmpty)
            #expect(String(decoding: plain.out, as: UTF8.self).replacingOccurrences(of: c, with: a)
                    == String(decoding: theirs.out, as: UTF8.self))
            #expect(try readBytes(c) == x)
            #expect(access(c + ".bak", F_OK) != 0)
        }
        // Nothing before T: both refuse.
        let base = tmp + "/base.aof"
        try writeBytes(base, try readBytes(Paths.repo("Fixtures/aof/redis70-plain/appendonlydir/appendonly.aof.2.base.aof")))
        let mine = try CheckAOF.run(["--truncate-to-timestamp", "5", "--out", tmp + "/o", base])
        #expect(mine.status == 1)
        #expect(String(decoding: mine.out, as: UTF8.self).contains("has nothing before timestamp 5, aborting..."))
    }

    // MARK: - JSON, usage, memory

    @Test func jsonNamesTheFileTheOffsetAndTheCommand() throws {
        let tmp = try makeTempDir("check-aof-json")
        defer { removeTree(tmp) }
        let dir = tmp + "/appendonlydir"
        try copyTree(Paths.repo("Fixtures/aof/redis70-preamble/appendonlydir"), dir)
        let incr = dir + "/appendonly.aof.2.incr.aof"
        let data = try readBytes(incr)
        let starts = try CheckAOFTests.commandStarts(incr)
        let victim = starts[10]
        // Break the "\r\n" after the command name's bulk.
        let nameLine = data[victim.start...].firstIndex(of: UInt8(ascii: "$"))!
        let dataStart = data[nameLine...].firstIndex(of: 10)! + 1
        var broken = data
        broken[dataStart + victim.name.utf8.count] = UInt8(ascii: "X")
        try writeBytes(incr, broken)
        let r = try CheckAOF.run(["--json", dir + "/appendonly.aof.manifest"])
        #expect(r.status == 1)
        let j = try JSONSerialization.jsonObject(with: r.out) as! [String: Any]
        #expect(j["ok"] as? Bool == false && j["kind"] as? String == "multi-part" && j["exit_code"] as? Int == 1)
        let files = j["files"] as! [[String: Any]]
        #expect(files.map { $0["name"] as! String } == ["appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof"])
        #expect(files[0]["size"] as? Int == 6181 && files[0]["status"] as? String == "valid")
        #expect((files[0]["rdb"] as! [String: Any])["keys"] as? Int == 30)
        #expect(files[1]["status"] as? String == "invalid")
        let p = j["problem"] as! [String: Any]
        #expect(p["file"] as? String == "appendonly.aof.2.incr.aof")
        #expect(p["offset"] as? Int == dataStart)
        #expect(p["ok_up_to"] as? Int == victim.start)
        #expect((p["reason"] as! String).hasPrefix("Expected \\r\\n, got: "))
        let c = p["command"] as! [String: Any]
        #expect(c["offset"] as? Int == victim.start)
        #expect(c["argument"] as? Int == 0)
        // The text mode's stderr line says the same.
        let t = try CheckAOF.run(["--verbose", dir + "/appendonly.aof.manifest"])
        #expect(t.err.contains("at offset \(dataStart)") && t.err.contains("in the command at offset \(victim.start)"))
    }

    @Test func usageAndIOErrorsExitWith2() throws {
        let tmp = try makeTempDir("check-aof-usage")
        defer { removeTree(tmp) }
        let file = tmp + "/a.aof"
        try writeBytes(file, Array("*1\r\n$4\r\nPING\r\n".utf8))
        #expect(try CheckAOF.run([tmp + "/missing.aof"]).status == 2)
        #expect(try CheckAOF.run([]).status == 2)
        #expect(try CheckAOF.run(["--out", tmp + "/o", file]).status == 2)
        // --truncate-to-timestamp alone is redis-check-aof's mode (nothing to cut here).
        #expect(try CheckAOF.run(["--truncate-to-timestamp", "5", file]).status == 0)
        #expect(try CheckAOF.run(["--truncate-to-timestamp", "x5", "--out", tmp + "/o", file]).status == 2)
        #expect(try CheckAOF.run(["--fix", "--truncate-to-timestamp", "5", "--in-place", file]).status == 2)
        try FileManager.default.createDirectory(atPath: tmp + "/full", withIntermediateDirectories: true)
        try writeBytes(tmp + "/full/x", [1])
        #expect(try CheckAOF.run(["--truncate-to-timestamp", "5", "--out", tmp + "/full", file]).status == 2)
        let help = try CheckAOF.run(["--help"])
        #expect(help.status == 0 && String(decoding: help.out, as: UTF8.self).contains("--truncate-to-timestamp"))
        #expect(try CheckAOF.run([file]).status == 0)
    }

    @Test func aHugeValueIsCheckedInConstantMemory() throws {
        let tmp = try makeTempDir("check-aof-big")
        defer { removeTree(tmp) }
        let file = tmp + "/big.aof"
        let size = 64 << 20
        #expect(FileManager.default.createFile(atPath: file, contents: nil))
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        h.write(Data("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$\(size)\r\n".utf8))
        let chunk = Data(repeating: UInt8(ascii: "x"), count: 1 << 20)
        for _ in 0 ..< 64 { h.write(chunk) }
        h.write(Data("\r\n*1\r\n$4\r\nPING\r\n".utf8))
        try h.close()
        // Peak RSS of the checker alone, measured by a Python parent.
        let script = "import resource,subprocess,sys; p=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL); "
            + "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
        let r = try runProcess(which("python3")!, ["-c", script, CheckAOF.path, "--no-progress", file])
        let parts = String(decoding: r.out, as: UTF8.self).split(separator: " ").map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines))! }
        #expect(parts[0] == 0)
        print("cairn-check-aof on a 64 MiB value: peak RSS \(parts[1] / 1024) MiB")
        // A sanitizer runtime adds its own shadow memory (ThreadSanitizer: about 41 MiB here); the
        // looser bound still fails if the 64 MiB value were held.
        let boundMiB = ProcessInfo.processInfo.environment["CAIRN_TEST_SANITIZER"] == nil ? 40 : 60
        #expect(parts[1] < boundMiB * 1024, "peak RSS \(parts[1]) KiB")
        let mine = try CheckAOF.run([file]), theirs = try CheckAOF.redis([file])
        #expect(mine.status == 0 && mine.out == theirs.out)
    }
}
