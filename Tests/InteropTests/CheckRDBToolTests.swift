// cairn-check-rdb against the real redis-check-rdb 7.0 and redis-server 7.0: the same OK / not-OK verdict
// on every fixture and on corrupted copies made here (flipped bytes, with and without a recomputed CRC,
// and truncations at many offsets); never a crash, always an offset; stats equal to what redis-server
// holds after loading the file; salvage, gzip, output formats, exit codes; `cairn-rdb stats` and
// `cairn-rdb generate`.
//
// Where redis-check-rdb 7.0 and cairn-check-rdb disagree, the case must be one of these, each of which
// is redis-check-rdb's mistake (the test checks the reason):
//   - empty aggregates (corrupt_empty_keys.rdb): redis-check-rdb stops with "Unexpected EOF", but
//     redis-server loads the file and skips those keys; we report warnings and pass.
//   - a length byte in the string-encoding form (11xxxxxx): redis-check-rdb reads its low 6 bits, which
//     no writer produces; we report it.
//   - a key twice in a database: redis-check-rdb does not look, redis-server refuses the file; we report
//     it (and the test shows redis-server refusing it).
//   - a database number of 16 or more: redis-check-rdb accepts it, redis-server with its default 16
//     databases refuses the file; we warn (the verdict stays OK, as the file is fine for a server
//     configured with more databases).
import Foundation
import Testing
@testable import StorageFormat
import TestSupport

enum CheckRDB {
    static let path = Paths.tool("cairn-check-rdb")
    static var available: Bool { access(path, X_OK) == 0 && which("redis-check-rdb") != nil }

    static func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let r = try runProcess(path, ["--no-progress"] + args)
        return (r.status, String(decoding: r.out, as: UTF8.self), r.err)
    }

    /// redis-check-rdb's verdict and output.
    static func redis(_ file: String) throws -> (ok: Bool, out: String) {
        let r = try runProcess(which("redis-check-rdb")!, [file])
        let out = String(decoding: r.out, as: UTF8.self)
        return (out.contains("RDB looks OK"), out)
    }

    static func json(_ file: String) throws -> (status: Int32, doc: [String: Any]) {
        let r = try runProcess(path, ["--no-progress", "--format", "json", file])
        let doc = try JSONSerialization.jsonObject(with: r.out) as? [String: Any] ?? [:]
        return (r.status, doc)
    }
}

/// Every file the tests check as it is.
func checkedFixtures() -> [String] {
    var files = ["redis70-lzf-crc.rdb", "redis70-lzf-nocrc.rdb", "redis70-nolzf-crc.rdb", "redis70-nolzf-nocrc.rdb"].map { Paths.repo("Fixtures/rdb/" + $0) }
    files.append(Paths.repo("Fixtures/aof/redis70-preamble/appendonlydir/appendonly.aof.2.base.rdb"))
    if let names = try? FileManager.default.contentsOfDirectory(atPath: Paths.sharedFixtures) {
        files += names.sorted().map { Paths.sharedFixtures + "/" + $0 }
    }
    return files
}

@Suite(.enabled(if: CheckRDB.available, "build the package and install redis-tools first (tools/test does)"))
struct CheckRDBToolTests {
    // MARK: - Verdicts on the fixtures

    @Test(arguments: checkedFixtures())
    func sameVerdictAsRedisCheckRDB(file: String) throws {
        let mine = try CheckRDB.run([file])
        let theirs = try CheckRDB.redis(file)
        #expect(mine.status == 0 || mine.status == 1, "exit \(mine.status): \(mine.err)")
        if file.hasSuffix("corrupt_empty_keys.rdb") {
            // redis-check-rdb 7.0 is wrong here: redis-server loads this file (skipping the empty keys).
            #expect(!theirs.ok)
            #expect(mine.status == 0)
            #expect(mine.out.contains("Redis skips such keys"))
            if RedisOracle.snapshotAvailable {
                let dir = try makeTempDir()
                defer { removeTree(dir) }
                try FileManager.default.copyItem(atPath: file, toPath: dir + "/dump.rdb")
                let redis = try RedisOracle(dir: dir)
                defer { redis.stop() }
                #expect(try redis.cli(["dbsize"]) == "0")
            }
            return
        }
        #expect((mine.status == 0) == theirs.ok, "\(file): ours \(mine.status), redis-check-rdb \(theirs.ok)\n\(mine.out.suffix(800))")
        if mine.status == 1 { #expect(mine.out.contains("--- RDB ERROR DETECTED ---\n[offset ")) }
        // The lines redis-check-rdb prints before its verdict are ours too (offsets included).
        if theirs.ok {
            let redisLines = theirs.out.split(separator: "\n").filter { $0.hasPrefix("[offset") || $0.hasPrefix("[info]") }
            let myLines = Set(mine.out.split(separator: "\n"))
            for l in redisLines where !l.contains("Checking RDB file") {
                #expect(myLines.contains(l), "missing line: \(l)")
            }
        }
    }

    // MARK: - Corrupted copies

    /// Writes `bytes` to a file and compares both checkers on it; returns a description of any
    /// disagreement that is not one of the documented redis-check-rdb mistakes.
    func compare(_ bytes: [UInt8], in dir: String, label: String) throws -> String? {
        let file = dir + "/corrupt.rdb"
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let mine = try CheckRDB.run(["--format", "csv", file])
        let theirs = try CheckRDB.redis(file)
        if mine.status != 0 && mine.status != 1 { return "\(label): exit \(mine.status) \(mine.err.suffix(300))" }
        if mine.status == 1 && !mine.err.contains("--- RDB ERROR DETECTED ---\n[offset ") { return "\(label): no offset in \(mine.err.suffix(300))" }
        // A file the checker passes is one the server's reader reads (but for listpack zset scores that
        // are not numbers, which Redis takes as 0 and Cairn refuses on purpose; the checker warns).
        if mine.status == 0 {
            do { _ = try readAll(bytes) } catch let e as FormatError where e.expected.contains("sorted-set score") {
            } catch {
                return "\(label): cairn-check-rdb passed a file RDBReader refuses: \(error)"
            }
        }
        if (mine.status == 0) == theirs.ok { return nil }
        if !theirs.ok && mine.err.contains("Redis skips such keys") && theirs.out.contains("Unexpected EOF") { return nil }
        if theirs.ok && mine.err.contains("a string encoding byte") { return nil }
        if theirs.ok && mine.err.contains("each key once per database") {
            // Show that redis-server refuses the file redis-check-rdb passed.
            if RedisOracle.snapshotAvailable {
                let d = try makeTempDir()
                defer { removeTree(d) }
                try Data(bytes).write(to: URL(fileURLWithPath: d + "/dump.rdb"))
                if let redis = try? RedisOracle(dir: d) {
                    redis.stop()
                    return "\(label): redis-server loaded a file with a duplicate key"
                }
            }
            return nil
        }
        return "\(label): ours exit \(mine.status), redis-check-rdb \(theirs.ok ? "OK" : "not OK")\n\(mine.err.suffix(500))\n\(theirs.out.suffix(300))"
    }

    static let fuzzFiles = ["Fixtures/rdb/redis70-nolzf-nocrc.rdb", "Fixtures/rdb/redis70-lzf-crc.rdb"].map { Paths.repo($0) }
        + ["encodings.rdb", "hash-zipmap.rdb", "list-quicklist.rdb", "hash-ziplist.rdb", "zset-ziplist.rdb", "scriptbackup.rdb", "corrupt_ziplist.rdb"]
            .map { Paths.sharedFixtures + "/" + $0 }.filter { FileManager.default.fileExists(atPath: $0) }

    @Test(arguments: fuzzFiles)
    func corruptedCopiesGetTheSameVerdict(file: String) throws {
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
        let version = Int(String(decoding: original[5 ..< 9], as: UTF8.self)) ?? 0
        let hasCRC = version >= 5 && original.suffix(8) != [0, 0, 0, 0, 0, 0, 0, 0]
        let dir = try makeTempDir()
        defer { removeTree(dir) }
        var rng = TestRNG(seed: UInt64(original.count))
        var problems: [String] = []
        let dataEnd = original.count - (version >= 5 ? 8 : 0)
        // Flipped bytes; in a file with a checksum, also with the checksum recomputed so that the
        // structure itself is what is judged.
        for i in 0 ..< 40 {
            var b = original
            let at = 9 + Int(rng.next() % UInt64(dataEnd - 9))
            b[at] ^= [1, 2, 4, 8, 16, 32, 64, 128, UInt8(1 + rng.next() % 255)][i % 9]
            if hasCRC && i % 2 == 0 {
                let crc = b.withUnsafeBytes { CRC64.update(0, UnsafeRawBufferPointer(rebasing: $0[0 ..< dataEnd])) }
                b.replaceSubrange(dataEnd ..< b.count, with: withUnsafeBytes(of: crc.littleEndian) { Array($0) })
            }
            if let p = try compare(b, in: dir, label: "flip at \(at)") { problems.append(p) }
        }
        // Truncations at offsets spread over the whole file, the header included.
        let cuts = Set((0 ..< 25).map { _ in Int(rng.next() % UInt64(original.count)) } + [0, 5, 9, original.count - 1])
        for cut in cuts.sorted() {
            if let p = try compare(Array(original[0 ..< cut]), in: dir, label: "truncated at \(cut)") { problems.append(p) }
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    @Test func aDuplicateKeyIsFoundAndRedisServerRefusesIt() throws {
        // Two records of the same key: redis-check-rdb 7.0 passes the file, redis-server refuses it.
        let dir = try makeTempDir()
        defer { removeTree(dir) }
        var bytes: [UInt8] = []
        let w = try RDBWriter(options: RDBWriterOptions(version: 10)) { bytes.append(contentsOf: $0) }
        try w.writeHeader()
        try w.writeSelectDB(0)
        try w.writeEntry(key: Array("k".utf8), value: .string(Array("1".utf8)))
        try w.writeEntry(key: Array("other".utf8), value: .string(Array("2".utf8)))
        try w.writeEntry(key: Array("k".utf8), value: .string(Array("3".utf8)))
        try w.finish()
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/dump.rdb"))
        let mine = try CheckRDB.run([dir + "/dump.rdb"])
        #expect(mine.status == 1)
        #expect(mine.out.contains("Reading key 'k'"))
        #expect(try CheckRDB.redis(dir + "/dump.rdb").ok)
        if RedisOracle.snapshotAvailable {
            #expect(throws: (any Error).self) { let r = try RedisOracle(dir: dir); r.stop() }
        }
    }

    // MARK: - Stats against redis-server

    static let loadable = ["redis70-lzf-crc.rdb", "redis70-nolzf-nocrc.rdb"].map { Paths.repo("Fixtures/rdb/" + $0) }
        + ["encodings.rdb", "hash-zipmap.rdb", "list-quicklist.rdb", "hash-ziplist.rdb", "zset-ziplist.rdb", "scriptbackup.rdb", "corrupt_empty_keys.rdb"]
            .map { Paths.sharedFixtures + "/" + $0 }.filter { FileManager.default.fileExists(atPath: $0) }

    @Test(.enabled(if: RedisOracle.snapshotAvailable, "redis-server, redis-cli or python3 missing"), arguments: loadable)
    func statsMatchWhatRedisServerHolds(file: String) throws {
        let (status, doc) = try CheckRDB.json(file)
        #expect(status == 0)
        let stats = try #require(doc["stats"] as? [String: Any])
        let dbs = stats["databases"] as? [String: [String: [String: Any]]] ?? [:]
        // Ours: db → type → encoding after load → count.
        var mine: [String: Int] = [:]
        var mineKeys: [Int: Int] = [:]
        for (db, types) in dbs {
            for (type, cell) in types {
                mineKeys[Int(db)!, default: 0] += cell["keys"] as! Int
                for (enc, n) in cell["encodings_after_load"] as! [String: Int] { mine["\(db)/\(type)/\(enc)", default: 0] += n }
            }
        }
        let dir = try makeTempDir()
        defer { removeTree(dir) }
        try FileManager.default.copyItem(atPath: file, toPath: dir + "/dump.rdb")
        let redis = try RedisOracle(dir: dir)
        defer { redis.stop() }
        let snapshot = try redis.snapshot()
        var theirs: [String: Int] = [:]
        var theirKeys: [Int: Int] = [:]
        for k in snapshot["keys"] as! [[String: Any]] {
            let db = k["db"] as! Int
            theirKeys[db, default: 0] += 1
            theirs["\(db)/\(k["type"] as! String)/\(k["encoding"] as! String)", default: 0] += 1
        }
        #expect(mineKeys.filter { $0.value > 0 } == theirKeys, "DBSIZE per database")
        #expect(mine == theirs, "OBJECT ENCODING counts")
        // And per database, DBSIZE as the server reports it.
        for (db, n) in theirKeys {
            #expect(try redis.cli(["-n", String(db), "dbsize"]) == String(n))
        }
    }

    // MARK: - Salvage, gzip, formats, exit codes

    @Test func salvageSkipsADamagedValueAndReadsTheRest() throws {
        let file = Paths.repo("Fixtures/rdb/redis70-nolzf-nocrc.rdb")
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
        // Damage the first hash's listpack header (its total_bytes) so that its value is refused.
        let reader = try RDBReader(bytes: bytes)
        var target: RDBEntry? = nil
        var total = 0
        while let r = try reader.next() {
            if case .entry(let e) = r {
                total += 1
                if target == nil, e.typeCode == RDBType.hashListpack { target = e }
            }
        }
        let victim = try #require(target)
        let valueAt = victim.offset + (victim.expiresAt == nil ? 0 : 9) + 1 + 1 + victim.key.count
        bytes[valueAt + 3] ^= 0x40    // inside the listpack's total_bytes
        let dir = try makeTempDir()
        defer { removeTree(dir) }
        let damaged = dir + "/damaged.rdb"
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))
        let plain = try CheckRDB.run([damaged])
        #expect(plain.status == 1)
        #expect(!(try CheckRDB.redis(damaged).ok))
        let salvage = try runProcess(CheckRDB.path, ["--no-progress", "--salvage", "--format", "json", damaged])
        #expect(salvage.status == 1)
        let doc = try JSONSerialization.jsonObject(with: salvage.out) as! [String: Any]
        let problems = doc["problems"] as! [[String: Any]]
        #expect(problems.count == 1)
        #expect(bytesOfJSONString(problems.first?["key"] as? String ?? "") == victim.key)
        #expect(problems.first?["resumed_at"] is Int)
        let stats = doc["stats"] as! [String: Any]
        #expect(stats["keys"] as? Int == total - 1, "every other key is read")
        // cairn-rdb stats: the table of what could be read, the problem on stderr, exit 1.
        let st = try CairnRDBBinary.run(["stats", damaged, "--no-progress"])
        #expect(st.status == 1)
        #expect(st.err.contains("--- RDB ERROR DETECTED ---"))
        #expect(String(decoding: st.out, as: UTF8.self).contains("keys: \(total - 1),"))
    }

    @Test func gzipInputGivesTheSameStats() throws {
        let file = Paths.repo("Fixtures/rdb/redis70-lzf-crc.rdb")
        let dir = try makeTempDir()
        defer { removeTree(dir) }
        let gz = try Gzip.compress(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
        try Data(gz).write(to: URL(fileURLWithPath: dir + "/dump.rdb.gz"))
        let a = try CheckRDB.json(file)
        let b = try CheckRDB.json(dir + "/dump.rdb.gz")
        #expect(a.status == 0 && b.status == 0)
        let sa = try JSONSerialization.data(withJSONObject: a.doc["stats"]!, options: .sortedKeys)
        let sb = try JSONSerialization.data(withJSONObject: b.doc["stats"]!, options: .sortedKeys)
        #expect(sa == sb)
        #expect(b.doc["checksum"] as? String == "ok")
        let salvage = try CheckRDB.run(["--salvage", dir + "/dump.rdb.gz"])
        #expect(salvage.status == 2, "salvage needs a seekable file")
    }

    @Test func formatsAndExitCodes() throws {
        let file = Paths.repo("Fixtures/rdb/redis70-lzf-crc.rdb")
        let table = try CheckRDB.run([file])
        #expect(table.status == 0)
        #expect(table.out.contains("[offset 100219] Checksum OK"))
        #expect(table.out.contains("function libraries: 1 (cairnlib)"))
        #expect(table.out.contains("REDIS0010"))
        let (status, doc) = try CheckRDB.json(file)
        #expect(status == 0)
        #expect(doc["ok"] as? Bool == true)
        #expect(doc["magic"] as? String == "REDIS0010")
        #expect(doc["keys_read"] as? Int == 56)
        #expect(doc["expires"] as? Int == 9)
        let csv = try CheckRDB.run(["--format", "csv", file])
        #expect(csv.status == 0)
        let rows = csv.out.split(separator: "\n")
        #expect(rows.first?.hasPrefix("db,type,keys,") == true)
        #expect(rows.count > 6)
        #expect(csv.err.contains("Checksum OK"))
        #expect(try CheckRDB.run(["/nonexistent/dump.rdb"]).status == 2)
        #expect(try CheckRDB.run(["--format", "xml", file]).status == 2)
        #expect(try CheckRDB.run([]).status == 2)
        let help = try CheckRDB.run(["--help"])
        #expect(help.status == 0 && help.out.contains("--salvage"))
    }

    // MARK: - generate

    @Test func generateIsDeterministicAndRedisLoadsIt() throws {
        let dir = try makeTempDir()
        defer { removeTree(dir) }
        let args = ["--keys", "3000", "--seed", "7", "--dbs", "3", "--big-hash", "20000", "--no-progress"]
        #expect(try CairnRDBBinary.run(["generate", dir + "/a.rdb"] + args).status == 0)
        #expect(try CairnRDBBinary.run(["generate", dir + "/b.rdb"] + args).status == 0)
        #expect(try CairnRDBBinary.run(["generate", dir + "/c.rdb", "--keys", "3000", "--seed", "8", "--no-progress"]).status == 0)
        let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.rdb"))
        #expect(a == (try Data(contentsOf: URL(fileURLWithPath: dir + "/b.rdb"))))
        #expect(a != (try Data(contentsOf: URL(fileURLWithPath: dir + "/c.rdb"))))
        #expect(try CheckRDB.redis(dir + "/a.rdb").ok)
        let (status, doc) = try CheckRDB.json(dir + "/a.rdb")
        #expect(status == 0)
        #expect((doc["stats"] as! [String: Any])["keys"] as? Int == 3001)
        let mix = try CairnRDBBinary.run(["generate", dir + "/m.rdb", "--keys", "100", "--mix", "sets=1", "--no-progress"])
        #expect(mix.status == 0)
        let m = try CheckRDB.json(dir + "/m.rdb").doc["stats"] as! [String: Any]
        #expect(((m["types"] as! [String: Any])["set"] as! [String: Any])["keys"] as? Int == 100)
        #expect(try CairnRDBBinary.run(["generate", dir + "/x.rdb", "--keys", "1", "--mix", "bogus=1"]).status == 2)
        if RedisOracle.snapshotAvailable {
            let redis = try RedisOracle(dir: dir, dbfilename: "a.rdb")
            defer { redis.stop() }
            let counts = (0 ..< 3).map { (try? redis.cli(["-n", String($0), "dbsize"])) ?? "" }
            #expect(counts == ["1001", "1000", "1000"])
            #expect(try redis.cli(["hlen", "bighash"]) == "20000")
        }
    }
}

/// A file cut short by another process while the checker reads it (through a mapping) ends in a clear
/// message and exit code 2, not a SIGBUS death.
@Suite(.enabled(if: CheckRDB.available, "build the package and install redis-tools first (tools/test does)"))
struct CheckRDBTruncatedWhileReadingTests {
    @Test func fileTruncatedDuringTheCheckIsReportedNotACrash() throws {
        let dir = NSTemporaryDirectory() + "cairn-trunc-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/big.rdb"
        let gen = try runProcess(Paths.tool("cairn-rdb"), ["generate", file, "--keys", "10", "--big-hash", "3000000"])
        #expect(gen.status == 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CheckRDB.path)
        p.arguments = ["--no-progress", file]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // Cut the file once the checker has it mapped (a slow, e.g. sanitizer, build takes a while to
        // get there; cutting it earlier would only test a short file).
        let maps = "/proc/\(p.processIdentifier)/maps"
        let deadline = Date().addingTimeInterval(30)
        // /proc files report size 0, so they are read to their end here (a sanitizer build's maps file
        // is long, and the file's line can come late in it).
        func mapped() -> Bool {
            let fd = open(maps, O_RDONLY)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var text: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                if n <= 0 { break }
                text += chunk[0 ..< n]
            }
            return String(decoding: text, as: UTF8.self).contains(file)
        }
        while Date() < deadline, !mapped() { usleep(5_000) }
        // Held still while the file is cut, so that a fast build cannot finish first.
        kill(p.processIdentifier, SIGSTOP)
        #expect(truncate(file, 1_000_000) == 0)
        kill(p.processIdentifier, SIGCONT)
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 2, "status \(p.terminationStatus): \(message)")
        #expect(message.contains("shrank while it was being read"))
    }
}
