// The AOF formats against real redis-server / redis-check-aof 7.0:
// - manifests: Redis refuses exactly what AOFManifest.parse refuses, logging the same texts;
// - the fixtures (Fixtures/aof), read by AOFReader and replayed into an empty Redis, give the
//   DEBUG DIGEST and snapshot Redis recorded; an AOF directory Cairn writes loads into Redis;
// - AOFCommands.rewrite replayed into Redis gives the digest of the RDB it came from, and has the
//   shape of Redis's own rewrite of the same data;
// - corruption offsets/texts agree with redis-check-aof; truncation points with Redis's loader.
import Foundation
import Testing
@testable import StorageFormat
import TestSupport

private func aof(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Sends RESP commands through `redis-cli --pipe`; fails unless every reply was a success.
private func pipe(_ redis: RedisOracle, _ resp: [UInt8]) throws {
    let r = try runProcess(which("redis-cli")!, ["-p", String(redis.port), "--pipe"], stdin: Data(resp))
    let out = String(decoding: r.out, as: UTF8.self)
    guard r.status == 0, out.contains("errors: 0,") else {
        throw TestFailure(description: "redis-cli --pipe: \(out) \(r.err)")
    }
}

private func debugRedis(_ dir: String, extra: [String] = []) throws -> RedisOracle {
    try RedisOracle(dir: dir, extra: ["--enable-debug-command", "yes"] + extra)
}

/// The RESP commands that recreate what an RDB holds (streams and functions skipped), with SELECTs.
private func rewriteRDB(_ path: String, skipped: inout [(db: Int, key: [UInt8])]) throws -> [UInt8] {
    let r = try RDBReader(path: path)
    var out: [UInt8] = []
    var db = -1
    while let rec = try r.next() {
        guard case .entry(let e) = rec else { continue }
        if case .stream = e.value { skipped.append((e.db, e.key)); continue }
        if e.db != db {
            AOFCommands.append([aof("SELECT"), aof(String(e.db))], to: &out)
            db = e.db
        }
        try AOFCommands.rewrite(key: e.key, value: e.value, expiresAt: e.expiresAt) { AOFCommands.append($0, to: &out) }
    }
    return out
}

/// The commands of one AOF file as RESP, annotations dropped; an RDB preamble becomes rewrite commands.
private func commandsOfAOFFile(_ path: String) throws -> [UInt8] {
    let reader = try AOFReader(path: path)
    var out: [UInt8] = []
    if reader.hasRDBPreamble {
        var skipped: [(db: Int, key: [UInt8])] = []
        out = try rewriteRDB(path, skipped: &skipped)
        #expect(skipped.isEmpty)
        let rdb = try RDBReader(path: path)
        while try rdb.next() != nil {}
        try reader.seek(to: rdb.offset)
    }
    while let rec = try reader.next() {
        if case .command(let args, _, _) = rec { AOFCommands.append(args, to: &out) }
    }
    return out
}

private func fixtureDigest(_ dir: String) throws -> String {
    try String(contentsOfFile: Paths.repo("Fixtures/aof/\(dir)/digest.txt"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
}

private func fixtureSnapshot(_ dir: String) throws -> [String: Any] {
    try loadJSON(Paths.repo("Fixtures/aof/\(dir)/dataset.json")) as! [String: Any]
}

@Suite(.enabled(if: RedisOracle.snapshotAvailable && which("redis-check-aof") != nil, "redis-server, redis-cli, redis-check-aof or python3 missing: run tools/test"))
struct AOFInteropTests {
    // MARK: - Manifests

    static let baseLine = "file appendonly.aof.1.base.rdb seq 1 type b"
    static let manifestInputs: [String] = [
        "", baseLine, baseLine + String(repeating: " ", count: 1024 - baseLine.utf8.count) + "\n",
        baseLine + String(repeating: " ", count: 1023 - baseLine.utf8.count) + "\n",
        baseLine + "\u{0}zz\n", "\n" + baseLine + "\n", "   \n" + baseLine + "\n", "  # hi\n" + baseLine + "\n",
        "file a/appendonly.aof.1.base.rdb seq 1 type b\n", "file a\\\\b seq 1 type b\n", "file a/b seq 0 type b\n",
        "seq 1 type b file a/b\n", "file a/b seq 1\n", baseLine + "\n" + baseLine + "\n",
        "file appendonly.aof.2.incr.aof seq 2 type i\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
        "file appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 1 type i\n",
        "file appendonly.aof.1.incr.aof seq -5 type i\n", "file x seq 0 type b\n", "file x seq 0x10 type b\n",
        "file x seq 1 type x\n", "file x seq 1 type B\n", "file x seq 1 type \"\"\n", "file a seq 0 type x\n",
        "file x seq 1 type b foo\n", "file x seq 1\n", "file x foo 1 type b\n", "file \"x seq 1 type b\n",
        "#" + String(repeating: "x", count: 1100) + "\n" + baseLine + "\n",
        "#" + String(repeating: "x", count: 1023) + "#hello\n" + baseLine + "\n",
        "# hi\n" + baseLine + "\n# bye\n", "# hi\n", baseLine + "\n# hi", "FILE x SEQ 1 TYPE b\n", baseLine + " foo bar\n",
        "file \"q x\" seq 1 type b\n", "file 'x' seq 1 type b\n", baseLine + "\r\n", "file\tx\tseq\t1\ttype\tb\t\n",
        "  " + baseLine + "\n", "file x seq 1 type bb\n", "file x seq +3 type b\n", "file x seq \" 5\" type b\n",
        "file x seq -1 type b\n", "file x seq 1x type b\n", "file x seq 99999999999999999999999 type b\n",
        baseLine + " file appendonly.aof.1.incr.aof seq 1 type i\n", "file h seq 1 type h\nfile h seq 1 type h\n" + baseLine + "\n",
        "file appendonly.aof.1.incr.aof seq 1 type i\n", "file it's.1.base.rdb seq 1 type b\n",
        "file \"it's.1.base.rdb\" seq 1 type b\nfile \"\\xc3\\xbc\\t.1.incr.aof\" seq 1 type i\n",
    ]

    /// Starts redis-server on each manifest: it must refuse exactly the ones AOFManifest.parse refuses,
    /// logging AOFManifestError.logLines, and start on the others (with their files present).
    @Test func redisAgreesOnEveryManifest() throws {
        var refused = 0, accepted = 0
        for (n, input) in Self.manifestInputs.enumerated() {
            let dir = try makeTempDir("cairn-aof-manifest")
            defer { removeTree(dir) }
            try FileManager.default.createDirectory(atPath: dir + "/appendonlydir", withIntermediateDirectories: false)
            try Data(aof(input)).write(to: URL(fileURLWithPath: dir + "/appendonlydir/appendonly.aof.manifest"))
            let parsed = Result { try AOFManifest.parse(aof(input)) }
            if case .success(let m) = parsed {
                for e in m.loadOrder + m.history {
                    #expect(FileManager.default.createFile(atPath: dir + "/appendonlydir/" + e.name, contents: Data()))
                }
            }
            var started = false
            var log = ""
            do {
                let redis = try RedisOracle(dir: dir, extra: ["--appendonly", "yes"])
                started = true
                redis.stop()
            } catch let e as TestFailure {
                log = e.description
            }
            switch parsed {
            case .success:
                #expect(started, "case \(n): Cairn accepts \(input.debugDescription.prefix(80)) but Redis refused: \(log.suffix(400))")
                accepted += 1
            case .failure(let error):
                #expect(!started, "case \(n): Cairn refuses \(input.debugDescription.prefix(80)) (\(error)) but Redis started")
                let lines = log.split(separator: "\n").map(String.init)
                for want in (error as! AOFManifestError).logLines {
                    #expect(lines.contains { $0.hasSuffix(" # " + want) }, "case \(n): Redis did not log \(want.prefix(100)): \(log.suffix(600))")
                }
                refused += 1
            }
        }
        #expect(refused == 28)
        #expect(accepted == Self.manifestInputs.count - 28)
    }

    // MARK: - Fixtures replayed

    static let fixtureFilesByDir: [(String, [String])] = [
        ("redis70-preamble", [AOFFixturesPaths.preambleBase, AOFFixturesPaths.preambleIncr]),
        ("redis70-plain", [AOFFixturesPaths.plainBase, AOFFixturesPaths.plainIncr]),
        ("redis70-legacy", ["redis70-legacy/appendonly.aof"]),
    ]

    /// Every fixture, read by AOFReader (its RDB BASE through RDBReader and AOFCommands.rewrite) and
    /// piped into an empty Redis, gives the DEBUG DIGEST and dataset Redis recorded.
    @Test(arguments: fixtureFilesByDir)
    func fixtureReplaysToRedisDigest(dir: String, files: [String]) throws {
        var resp: [UInt8] = []
        for f in files { resp += try commandsOfAOFFile(Paths.repo("Fixtures/aof/" + f)) }
        let tmp = try makeTempDir("cairn-aof-replay")
        defer { removeTree(tmp) }
        let redis = try debugRedis(tmp)
        defer { redis.stop() }
        try pipe(redis, resp)
        #expect(try redis.cli(["debug", "digest"]) == fixtureDigest(dir))
        let diffs = snapshotDifferences(try redis.snapshot(), try fixtureSnapshot(dir))
        #expect(diffs.isEmpty, "\(diffs.prefix(5))")
    }

    /// An AOF directory Cairn writes — a RESP BASE rewritten from the fixture's RDB BASE, the fixture's
    /// INCR, and AOFManifest.encoded() — loads into redis-server with the fixture's digest.
    @Test func cairnWrittenAOFDirectoryLoadsIntoRedis() throws {
        let tmp = try makeTempDir("cairn-aof-dir")
        defer { removeTree(tmp) }
        let d = tmp + "/appendonlydir"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: false)
        var base: [UInt8] = []
        AOFCommands.appendTimestamp(1_700_000_000, to: &base)
        var skipped: [(db: Int, key: [UInt8])] = []
        base += try rewriteRDB(Paths.repo("Fixtures/aof/" + AOFFixturesPaths.preambleBase), skipped: &skipped)
        let manifest = AOFManifest(base: AOFManifestEntry(name: AOFManifest.baseName("appendonly.aof", seq: 7, rdb: false), seq: 7, type: .base),
                                   history: [AOFManifestEntry(name: "appendonly.aof.6.incr.aof", seq: 6, type: .history)],
                                   incrs: [AOFManifestEntry(name: AOFManifest.incrName("appendonly.aof", seq: 8), seq: 8, type: .incr)])
        try Data(base).write(to: URL(fileURLWithPath: d + "/" + manifest.base!.name))
        try FileManager.default.copyItem(atPath: Paths.repo("Fixtures/aof/" + AOFFixturesPaths.preambleIncr), toPath: d + "/" + manifest.incrs[0].name)
        try Data(manifest.encoded()).write(to: URL(fileURLWithPath: d + "/" + AOFManifest.manifestName("appendonly.aof")))
        let redis = try debugRedis(tmp, extra: ["--appendonly", "yes"])
        defer { redis.stop() }
        #expect(try redis.cli(["debug", "digest"]) == fixtureDigest("redis70-preamble"))
        #expect(redis.log().contains("DB loaded from base file \(manifest.base!.name)"))
        // Redis went on from Cairn's numbering: its manifest still lists our BASE and INCR.
        let after = try AOFManifest.read(path: d + "/appendonly.aof.manifest")
        #expect(after.base == manifest.base)
        #expect(after.incrs == manifest.incrs)
    }

    // MARK: - Rewrite

    /// Redis loads Fixtures/rdb/redis70-lzf-crc.rdb (streams deleted, functions flushed); Cairn's rewrite
    /// of the same file, piped into an empty Redis, gives the same DEBUG DIGEST and contents.
    @Test func rewriteReplaysToTheDigestOfTheRDB() throws {
        let rdbPath = Paths.repo("Fixtures/rdb/redis70-lzf-crc.rdb")
        var skipped: [(db: Int, key: [UInt8])] = []
        let resp = try rewriteRDB(rdbPath, skipped: &skipped)
        #expect(skipped.count == 4)

        let dirA = try makeTempDir("cairn-aof-rdb")
        defer { removeTree(dirA) }
        try FileManager.default.copyItem(atPath: rdbPath, toPath: dirA + "/dump.rdb")
        let original = try debugRedis(dirA)
        defer { original.stop() }
        var drop: [UInt8] = []
        for s in skipped {
            AOFCommands.append([aof("SELECT"), aof(String(s.db))], to: &drop)
            AOFCommands.append([aof("DEL"), s.key], to: &drop)
        }
        AOFCommands.append([aof("FUNCTION"), aof("FLUSH")], to: &drop)
        try pipe(original, drop)
        let want = try original.cli(["debug", "digest"])

        let dirB = try makeTempDir("cairn-aof-replay")
        defer { removeTree(dirB) }
        let replayed = try debugRedis(dirB)
        defer { replayed.stop() }
        try pipe(replayed, resp)
        #expect(try replayed.cli(["debug", "digest"]) == want)
        #expect(want != String(repeating: "0", count: 40))
        let diffs = snapshotDifferences(try replayed.snapshot(), try original.snapshot())
        #expect(diffs.isEmpty, "\(diffs.prefix(5))")
    }

    /// Redis's own plain rewrite (aof-use-rdb-preamble no) of the same data: per key the same command
    /// names and argument counts, the same elements (lists in the same order), PEXPIREAT last.
    @Test func rewriteHasTheShapeOfRedisRewrite() throws {
        let rdbPath = Paths.repo("Fixtures/rdb/redis70-lzf-crc.rdb")
        var skipped: [(db: Int, key: [UInt8])] = []
        let mineResp = try rewriteRDB(rdbPath, skipped: &skipped)

        let dir = try makeTempDir("cairn-aof-redis-rewrite")
        defer { removeTree(dir) }
        try FileManager.default.copyItem(atPath: rdbPath, toPath: dir + "/dump.rdb")
        let redis = try debugRedis(dir)
        defer { redis.stop() }
        var drop: [UInt8] = []
        for s in skipped {
            AOFCommands.append([aof("SELECT"), aof(String(s.db))], to: &drop)
            AOFCommands.append([aof("DEL"), s.key], to: &drop)
        }
        AOFCommands.append([aof("FUNCTION"), aof("FLUSH")], to: &drop)
        try pipe(redis, drop)
        _ = try redis.cli(["config", "set", "aof-use-rdb-preamble", "no"])
        _ = try redis.cli(["config", "set", "appendonly", "yes"])
        try waitFor("the AOF rewrite", timeout: 60) {
            let info = try redis.cli(["info", "persistence"])
            return info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0")
                && !info.contains("aof_rewrites:0") && FileManager.default.fileExists(atPath: dir + "/appendonlydir/appendonly.aof.manifest")
        }
        let manifest = try AOFManifest.read(path: dir + "/appendonlydir/appendonly.aof.manifest")
        let baseName = try #require(manifest.base?.name)
        #expect(baseName.hasSuffix(".base.aof"))

        struct KeyCommands { var shape: [String] = []; var items: [[UInt8]] = [] }
        func group(_ records: [AOFRecord]) -> [String: KeyCommands] {
            var out: [String: KeyCommands] = [:]
            var db = 0
            for case .command(let args, _, _) in records {
                let name = String(decoding: args[0], as: UTF8.self).uppercased()
                if name == "SELECT" { db = Int(String(decoding: args[1], as: UTF8.self))!; continue }
                let k = "\(db)/\(ByteText.hex(args[1]))"
                out[k, default: KeyCommands()].shape.append("\(name)/\(args.count)")
                if name == "ZADD" || name == "HMSET" {
                    // Pairs: compare them as units.
                    for i in stride(from: 2, to: args.count, by: 2) { out[k]!.items.append(args[i] + [0] + args[i + 1]) }
                } else {
                    out[k]!.items += args.dropFirst(2)
                }
            }
            return out
        }
        let theirs = group(try readAllRecordsInterop(AOFReader(path: dir + "/appendonlydir/" + baseName)))
        let mine = group(try readAllRecordsInterop(AOFReader(bytes: mineResp)))
        #expect(Set(mine.keys) == Set(theirs.keys))
        #expect(mine.count > 40)
        for (k, t) in theirs {
            guard let m = mine[k] else { continue }
            #expect(m.shape == t.shape, "\(k)")
            let ordered = t.shape.first?.hasPrefix("RPUSH") == true || t.shape.first?.hasPrefix("SET/") == true
            if ordered {
                #expect(m.items == t.items, "\(k)")
            } else {
                #expect(m.items.sorted { $0.lexicographicallyPrecedes($1) } == t.items.sorted { $0.lexicographicallyPrecedes($1) }, "\(k)")
            }
        }
    }

    // MARK: - Corruption and truncation against Redis's tools

    /// Replace each framing byte ('*', '$', CR, LF) of the preamble fixture's INCR with 'x':
    /// redis-check-aof reports the same offset and text as AOFReader.
    @Test func corruptOffsetsMatchRedisCheckAOF() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Paths.repo("Fixtures/aof/" + AOFFixturesPaths.preambleIncr)))
        let original = Array(bytes)
        // The framing bytes, found from the records (values may hold the same characters).
        var positions: [Int] = []
        for case .command(let args, let start, _) in try readAllRecordsInterop(AOFReader(bytes: original)) {
            var p = start
            let header = "*\(args.count)\r\n".utf8.count
            positions += [p, p + header - 2, p + header - 1]
            p += header
            for a in args {
                let line = "$\(a.count)\r\n".utf8.count
                positions += [p, p + line - 2, p + line - 1, p + line + a.count, p + line + a.count + 1]
                p += line + a.count + 2
            }
        }
        for p in positions { #expect([UInt8(ascii: "*"), UInt8(ascii: "$"), 13, 10].contains(original[p])) }
        let tmp = try makeTempDir("cairn-aof-check")
        defer { removeTree(tmp) }
        var compared = 0
        // Every framing byte of the first commands and of the last, and every 7th one in between.
        for (n, i) in positions.enumerated() where n < 60 || n > positions.count - 40 || n % 7 == 0 {
            var m = original
            m[i] = UInt8(ascii: "x")
            let path = tmp + "/m.aof"
            try Data(m).write(to: URL(fileURLWithPath: path))
            let (_, err) = readOutcomeInterop(AOFReader(bytes: m))
            let check = try runProcess(which("redis-check-aof")!, [path])
            let out = String(decoding: check.out, as: UTF8.self)
            #expect(check.status == 1, "byte \(i): \(out)")
            guard case .corrupt(let e)? = err as? AOFReadError else {
                Issue.record("byte \(i): \(String(describing: err)); redis-check-aof: \(out)")
                continue
            }
            // "0x              3a: Expected \r\n, got: 5859"
            if let line = out.split(separator: "\n").first(where: { $0.hasPrefix("0x") }),
               let colon = line.firstIndex(of: ":") {
                let hex = line[line.index(line.startIndex, offsetBy: 2) ..< colon].trimmingCharacters(in: .whitespaces)
                #expect(Int(hex, radix: 16) == e.offset, "byte \(i): \(line) vs \(e)")
                #expect(String(line[line.index(colon, offsetBy: 2)...]) == AOFReadError.checkAOFText(e), "byte \(i)")
                compared += 1
            } else {
                // A line not starting with '*': redis-check-aof says "format error" without an offset.
                #expect(out.contains("format error"), "byte \(i): \(out)")
                #expect(AOFReadError.checkAOFText(e).hasPrefix("Expected prefix '*'"))
            }
        }
        #expect(compared > 80)
    }

    /// Cut the preamble fixture's INCR at points outside its final transaction: Redis's loader
    /// (aof-load-truncated yes) truncates the file to AOFReader's validUpTo and loads the rest.
    @Test func truncationPointsMatchRedisLoader() throws {
        let incr = Array(try Data(contentsOf: URL(fileURLWithPath: Paths.repo("Fixtures/aof/" + AOFFixturesPaths.preambleIncr))))
        let records = try readAllRecordsInterop(AOFReader(bytes: incr))
        guard let multiIndex = records.lastIndex(where: { if case .command(let a, _, _) = $0 { a[0] == aof("MULTI") } else { false } }),
              case .command(_, let multiStart, _) = records[multiIndex] else {
            Issue.record("no MULTI in the fixture"); return
        }
        var checked = 0
        for cut in stride(from: 7, to: multiStart, by: 97) {
            let (_, err) = readOutcomeInterop(AOFReader(bytes: Array(incr[0 ..< cut])))
            guard case .truncated(let validUpTo, _, _)? = err as? AOFReadError else { continue }  // a clean cut
            let tmp = try makeTempDir("cairn-aof-trunc")
            defer { removeTree(tmp) }
            let d = tmp + "/appendonlydir"
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: false)
            for f in ["appendonly.aof.manifest", "appendonly.aof.2.base.rdb"] {
                try FileManager.default.copyItem(atPath: Paths.repo("Fixtures/aof/redis70-preamble/appendonlydir/" + f), toPath: d + "/" + f)
            }
            try Data(incr[0 ..< cut]).write(to: URL(fileURLWithPath: d + "/appendonly.aof.2.incr.aof"))
            let redis = try RedisOracle(dir: tmp, extra: ["--appendonly", "yes"])
            redis.stop()
            let size = try FileManager.default.attributesOfItem(atPath: d + "/appendonly.aof.2.incr.aof")[.size] as! Int
            #expect(size == validUpTo, "cut \(cut)")
            #expect(redis.log().contains("!!! Truncating the AOF appendonly.aof.2.incr.aof at offset \(validUpTo) !!!"), "cut \(cut)")
            checked += 1
        }
        #expect(checked >= 8)
    }
}

enum AOFFixturesPaths {
    static let preambleBase = "redis70-preamble/appendonlydir/appendonly.aof.2.base.rdb"
    static let preambleIncr = "redis70-preamble/appendonlydir/appendonly.aof.2.incr.aof"
    static let plainBase = "redis70-plain/appendonlydir/appendonly.aof.2.base.aof"
    static let plainIncr = "redis70-plain/appendonlydir/appendonly.aof.2.incr.aof"
}

func readAllRecordsInterop(_ r: AOFReader) throws -> [AOFRecord] {
    var out: [AOFRecord] = []
    while let rec = try r.next() { out.append(rec) }
    return out
}

func readOutcomeInterop(_ r: AOFReader) -> (records: [AOFRecord], error: Error?) {
    var out: [AOFRecord] = []
    do {
        while let rec = try r.next() { out.append(rec) }
        return (out, nil)
    } catch {
        return (out, error)
    }
}
