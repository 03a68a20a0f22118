// AOFReader on the Redis-written fixtures (Fixtures/aof) and on hand-made damage: truncation at every
// byte, open transactions, corruption with redis-check-aof's offsets and texts, chunk boundaries,
// large and lying bulk lengths.
import Foundation
import Testing
@testable import StorageFormat
import TestSupport

/// Start/end of a record; an annotation's end includes its "\r\n".
private func span(_ r: AOFRecord) -> (start: Int, end: Int, command: [[UInt8]]?) {
    switch r {
    case .command(let args, let s, let e): return (s, e, args)
    case .annotation(let line, let s): return (s, s + line.count + 2, nil)
    }
}

private func name(_ args: [[UInt8]]) -> String { String(decoding: args[0], as: UTF8.self).lowercased() }

/// What reading `file[0..<cut]` (from `startOffset`) must give, derived from the whole file's records
/// independently of the reader's own bookkeeping: the number of records, and for an incomplete input
/// the truncation point (the end of the last whole command not inside an open MULTI).
private func expectedOutcome(records: [AOFRecord], startOffset: Int, cut: Int) -> (count: Int, validUpTo: Int?) {
    var valid = startOffset, beforeMulti = startOffset, open = false, count = 0
    for rec in records {
        let (s, e, cmd) = span(rec)
        if e <= cut {
            count += 1
            if let cmd {
                if name(cmd) == "multi" { if !open { open = true; beforeMulti = valid } }
                else if name(cmd) == "exec" || name(cmd) == "discard" { open = false }
                valid = e
            }
            continue
        }
        if s < cut {
            // Cut inside this record. A partial annotation line still reads (Redis's fgets does).
            if cmd == nil { count += 1; return (count, open ? beforeMulti : nil) }
            return (count, open ? beforeMulti : valid)
        }
        break
    }
    return (count, open ? beforeMulti : nil)
}

/// Reads every prefix `bytes[0..<cut]` for `cuts` and checks the outcome against the model.
private func checkCuts(_ bytes: [UInt8], startOffset: Int = 0, cuts: ClosedRange<Int>, label: String) throws -> Int {
    let full = AOFReader(bytes: bytes)
    try full.seek(to: startOffset)
    let records = try readAllRecords(full)
    var truncations = 0
    for cut in cuts {
        let r = AOFReader(bytes: Array(bytes[0 ..< cut]))
        try r.seek(to: startOffset)
        let (got, error) = readOutcome(r)
        let want = expectedOutcome(records: records, startOffset: startOffset, cut: cut)
        #expect(got.count == want.count, "\(label) cut \(cut): \(got.count) records, expected \(want.count)")
        if let validUpTo = want.validUpTo {
            guard case .truncated(let v, let off, let reason)? = error as? AOFReadError else {
                Issue.record("\(label) cut \(cut): expected .truncated, got \(String(describing: error))")
                continue
            }
            truncations += 1
            #expect(v == validUpTo, "\(label) cut \(cut): validUpTo \(v), expected \(validUpTo) (\(reason))")
            #expect(off == cut, "\(label) cut \(cut): offset \(off)")
            #expect(r.validUpTo == validUpTo)
        } else {
            #expect(error == nil, "\(label) cut \(cut): \(String(describing: error))")
        }
    }
    return truncations
}

@Suite struct AOFReaderTests {
    // MARK: - The fixtures

    @Test func preambleBaseIsAnRDBWithNothingAfterIt() throws {
        let path = AOFFixtures.path(AOFFixtures.preambleBase)
        let reader = try AOFReader(path: path)
        #expect(reader.hasRDBPreamble)
        let rdb = try RDBReader(path: path)
        var keys = 0
        var sawEnd = false
        while let rec = try rdb.next() {
            if case .entry = rec { keys += 1 }
            if case .end = rec { sawEnd = true }
        }
        #expect(sawEnd)
        #expect(keys == 30)   // redis-check-rdb: "30 keys read"
        let size = try AOFFixtures.bytes(AOFFixtures.preambleBase).count
        #expect(rdb.offset == size)
        try reader.seek(to: rdb.offset)
        #expect(reader.offset == size)
        #expect(try reader.next() == nil)
        // Without the seek the RDB bytes are not commands.
        let raw = try AOFReader(path: path)
        #expect(throws: (any Error).self) { try raw.next() }
    }

    @Test func preambleIncrCommands() throws {
        let r = try AOFReader(path: AOFFixtures.path(AOFFixtures.preambleIncr))
        #expect(!r.hasRDBPreamble)
        let records = try readAllRecords(r)
        let cmds = aofCommandArgs(records)
        #expect(records.count == 30)
        #expect(cmds.count == 30)
        #expect(cmds.first == [aofBytes("SELECT"), aofBytes("0")])
        #expect(cmds.map(name).filter { $0 == "select" }.count == 4)
        #expect(cmds.last == [aofBytes("EXEC")])
        // Served blocking commands appear in their non-blocking form after the push that served them.
        let names = cmds.map(name)
        #expect(names.contains("lmove") && names.contains("zpopmin") && !names.contains("blmove"))
        #expect(cmds.contains { name($0) == "set" && $0.count == 4 && $0[3] == aofBytes("KEEPTTL") })   // INCRBYFLOAT
        #expect(cmds.contains { name($0) == "set" && $0.count == 5 && $0[3] == aofBytes("PXAT") })      // SET EX
        #expect(cmds.contains { name($0) == "del" && $0[1] == aofBytes("gone2") })                       // PEXPIREAT in the past
        try checkContiguous(records, size: AOFFixtures.bytes(AOFFixtures.preambleIncr).count)
        #expect(r.offset == (try AOFFixtures.bytes(AOFFixtures.preambleIncr)).count)
        #expect(!r.inMulti)
    }

    @Test func plainBaseAndIncr() throws {
        let base = try readAllRecords(AOFReader(path: AOFFixtures.path(AOFFixtures.plainBase)))
        guard case .annotation(let first, 0)? = base.first else { Issue.record("the RESP base does not start with #TS:"); return }
        let baseTime = try #require(AOFReader.timestamp(first))
        #expect(base.count { if case .annotation = $0 { true } else { false } } == 1)
        let baseCmds = aofCommandArgs(base)
        #expect(baseCmds.first == [aofBytes("SELECT"), aofBytes("0")])
        // A rewrite writes HMSET for hashes and batches of at most 64 items.
        #expect(baseCmds.contains { name($0) == "hmset" })
        #expect(!baseCmds.contains { name($0) == "hset" })
        #expect(baseCmds.allSatisfy { ["select", "set", "rpush", "sadd", "zadd", "hmset", "pexpireat"].contains(name($0)) })
        #expect(baseCmds.filter { name($0) == "rpush" && $0[1] == aofBytes("list:big") }.map(\.count) == [66, 66, 4])
        try checkContiguous(base, size: AOFFixtures.bytes(AOFFixtures.plainBase).count)

        let incr = try readAllRecords(AOFReader(path: AOFFixtures.path(AOFFixtures.plainIncr)))
        #expect(aofCommandArgs(incr).count == 30)
        let stamps = incr.compactMap { if case .annotation(let l, _) = $0 { AOFReader.timestamp(l) } else { nil } }
        #expect(stamps.count >= 1)   // one per clock second that passed during the writes
        #expect(stamps.allSatisfy { $0 > baseTime })
        try checkContiguous(incr, size: AOFFixtures.bytes(AOFFixtures.plainIncr).count)

        // The history files read too: the first BASE holds only its #TS:, the first INCR the writes.
        let oldBase = try readAllRecords(AOFReader(path: AOFFixtures.path(AOFFixtures.plainDir + "appendonly.aof.1.base.aof")))
        #expect(oldBase.count == 1)
        let oldIncr = try readAllRecords(AOFReader(path: AOFFixtures.path(AOFFixtures.plainDir + "appendonly.aof.1.incr.aof")))
        #expect(aofCommandArgs(oldIncr).contains { name($0) == "multi" })
    }

    @Test func legacyFileIsPlainBaseThenIncrWithoutAnnotations() throws {
        let legacy = try readAllRecords(AOFReader(path: AOFFixtures.path(AOFFixtures.legacy)))
        #expect(!(try AOFReader(path: AOFFixtures.path(AOFFixtures.legacy)).hasRDBPreamble))
        #expect(legacy.allSatisfy { if case .command = $0 { true } else { false } })
        let base = try readAllRecords(AOFReader(path: AOFFixtures.path(AOFFixtures.plainBase)))
        let incr = try readAllRecords(AOFReader(path: AOFFixtures.path(AOFFixtures.plainIncr)))
        #expect(aofCommandArgs(legacy) == aofCommandArgs(base) + aofCommandArgs(incr))
        try checkContiguous(legacy, size: AOFFixtures.bytes(AOFFixtures.legacy).count)
    }

    func checkContiguous(_ records: [AOFRecord], size: Int) throws {
        var at = 0
        for r in records {
            let (s, e, _) = span(r)
            #expect(s == at)
            at = e
        }
        #expect(at == size)
    }

    /// Redis's own test asset: an RDB preamble (2 keys) then `SELECT 0` and `set k3 v3`.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: Paths.sharedFixtures), "../shared/fixtures/redis-assets is absent"))
    func redisAssetWithPreamble() throws {
        let path = Paths.sharedFixtures + "/rdb-preamble.aof"
        let rdb = try RDBReader(path: path)
        var keys: [[UInt8]] = []
        while let rec = try rdb.next() { if case .entry(let e) = rec { keys.append(e.key) } }
        #expect(keys.sorted { $0.lexicographicallyPrecedes($1) } == [aofBytes("k1"), aofBytes("k2")])
        #expect(rdb.offset == 117)
        for reader in [try AOFReader(path: path), AOFReader(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))] {
            #expect(reader.hasRDBPreamble)
            try reader.seek(to: rdb.offset)
            let records = try readAllRecords(reader)
            #expect(aofCommandArgs(records) == [[aofBytes("SELECT"), aofBytes("0")], [aofBytes("set"), aofBytes("k3"), aofBytes("v3")]])
            guard case .command(_, let s, _)? = records.first else { continue }
            #expect(s == 117)
            #expect(reader.offset == 169)
        }
        // Cut anywhere after the RDB: truncations keep the preamble (Redis 7.0 would truncate to 0 here).
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let n = try checkCuts(bytes, startOffset: 117, cuts: 117 ... bytes.count, label: "rdb-preamble.aof")
        #expect(n == 169 - 117 - 2)
        let r = AOFReader(bytes: Array(bytes[0 ..< 120]))
        try r.seek(to: 117)
        #expect(throws: AOFReadError.self) { try r.next() }
        #expect(r.validUpTo == 117)
    }

    // MARK: - Truncation at every byte

    @Test(arguments: [AOFFixtures.preambleIncr, AOFFixtures.plainIncr])
    func everyCutOfAnIncr(file: String) throws {
        let bytes = try AOFFixtures.bytes(file)
        let n = try checkCuts(bytes, cuts: 0 ... bytes.count, label: file)
        #expect(n > bytes.count / 2)
    }

    /// Every cut inside the last command of the legacy file; and inside the final MULTI/EXEC of an
    /// INCR, the truncation point is before the MULTI.
    @Test func cutsInsideTheLastCommand() throws {
        let bytes = try AOFFixtures.bytes(AOFFixtures.legacy)
        let records = try readAllRecords(AOFReader(bytes: bytes))
        let (s, e, _) = span(records.last!)
        _ = try checkCuts(bytes, cuts: s ... e, label: "legacy")

        let incr = try AOFFixtures.bytes(AOFFixtures.preambleIncr)
        let recs = try readAllRecords(AOFReader(bytes: incr))
        let multi = try #require(recs.lastIndex { if case .command(let a, _, _) = $0 { name(a) == "multi" } else { false } })
        let beforeMulti = span(recs[multi - 1]).end
        let exec = span(recs.last!)
        for cut in span(recs[multi]).start + 1 ..< exec.end {
            let r = AOFReader(bytes: Array(incr[0 ..< cut]))
            guard case .truncated(let v, _, _)? = readOutcome(r).error as? AOFReadError else {
                Issue.record("cut \(cut) inside the final transaction was not a truncation"); continue
            }
            #expect(v == beforeMulti)
        }
    }

    // MARK: - Transactions

    static let set1 = "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"   // 27 bytes
    static let multi = "*1\r\n$5\r\nMULTI\r\n"                     // 15 bytes
    static let exec = "*1\r\n$4\r\nEXEC\r\n"                       // 14 bytes

    func outcome(_ s: String) -> (records: [AOFRecord], error: Error?) { readOutcome(AOFReader(bytes: aofBytes(s))) }

    @Test func openMultiAtEndOfFile() {
        let (recs, err) = outcome(Self.set1 + Self.multi + Self.set1)
        #expect(recs.count == 3)
        guard case .truncated(let v, let off, let reason)? = err as? AOFReadError else { Issue.record("\(String(describing: err))"); return }
        #expect(v == 27)
        #expect(off == 69)
        #expect(reason == "Reached EOF before reading EXEC for MULTI")
    }

    @Test func closedTransactionsAreFine() {
        #expect(outcome(Self.set1 + Self.multi + Self.set1 + Self.exec).error == nil)
        #expect(outcome("*1\r\n$5\r\nmulti\r\n" + Self.set1 + "*1\r\n$4\r\nexec\r\n").error == nil)
        #expect(outcome(Self.multi + Self.set1 + "*1\r\n$7\r\nDISCARD\r\n").error == nil)
        // EXEC without MULTI: Redis's loader replies with an error to itself and goes on.
        #expect(outcome(Self.set1 + Self.exec + Self.set1).error == nil)
    }

    @Test func nestedMultiTruncatesBeforeTheFirst() {
        // Redis 7.0 truncates before the second MULTI and leaves the first in the file.
        guard case .truncated(let v, _, _)? = outcome(Self.set1 + Self.multi + Self.multi + Self.set1).error as? AOFReadError else {
            Issue.record("not truncated"); return
        }
        #expect(v == 27)
    }

    @Test func shortCommandInsideMultiTruncatesBeforeTheMulti() {
        // Redis 7.0 truncates after the last whole command (inside the transaction), leaving a MULTI
        // that the next load reverts with everything written after it; redis-check-aof says 27.
        let s = Self.set1 + Self.multi + Self.set1 + "*3\r\n$3\r\nse"
        guard case .truncated(let v, let off, let reason)? = outcome(s).error as? AOFReadError else { Issue.record("not truncated"); return }
        #expect(v == 27)
        #expect(off == s.utf8.count)
        #expect(reason == "Expected to read 5 bytes, got 2 bytes")
    }

    // MARK: - Corruption, with redis-check-aof 7.0's offsets and texts for the same bytes

    static let good = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n" + set1   // 50 bytes, as in the redis-check-aof runs

    static let corruptCases: [(String, String, Int, String)] = [
        ("a line that is not a command", good + "xyz\r\n", 50, "Expected prefix '*', got: 'x'"),
        ("a zero byte", good + "\u{0}\u{0}", 50, "Expected prefix '*', got: '\\x00'"),
        ("no '$'", good + "*2\r\nx3\r\nset\r\n", 54, "Expected prefix '$', got: 'x'"),
        ("no CRLF after a bulk", good + "*2\r\n$3\r\nsetXY$1\r\na\r\n", 58, "Expected \\r\\n, got: 5859"),
        ("junk after the count", good + "*2x\r\n$3\r\nset\r\n", 50, "Expected \\r\\n, got: 780d"),
        ("junk after the count at the end", good + "*1x", 50, "Expected \\r\\n, got: 7800"),
        ("junk after a bulk at the end", good + "*3\r\n$3\r\nsetXY", 58, "Expected \\r\\n, got: 5859"),
        ("CR then junk after a bulk", good + "*3\r\n$3\r\nset\rX", 58, "Expected \\r\\n, got: 0d58"),
        ("*0", good + "*0\r\n", 50, "Expected an argument count of at least 1, got: 0"),
        ("*-1", good + "*-1\r\n", 50, "Expected an argument count of at least 1, got: -1"),
        ("$-1", good + "*1\r\n$-1\r\n", 54, "Expected a bulk length of 0 or more, got: -1"),
        ("no digits", good + "*\r\n", 50, "Expected digits in an argument count, got: '\\x0d'"),
        ("too many digits", good + "*1234567890123456789\r\n", 50, "Expected an argument count of at most 18 digits, got: more digits"),
        ("annotation over 1023 bytes", good + "#" + String(repeating: "x", count: 1021) + "\r\n" + set1, 50,
         "Expected an annotation line of at most 1023 bytes with its \\r\\n, got: a longer line"),
    ]

    @Test(arguments: corruptCases)
    func corruptBytes(_ label: String, _ input: String, _ offset: Int, _ text: String) throws {
        let r = AOFReader(bytes: aofBytes(input))
        let (recs, err) = readOutcome(r)
        guard case .corrupt(let e)? = err as? AOFReadError else { Issue.record("\(label): \(String(describing: err))"); return }
        #expect(recs.count == 2, "\(label)")
        #expect(e.offset == offset, "\(label)")
        #expect(AOFReadError.checkAOFText(e) == text, "\(label)")
        #expect(e.context == "AOF")
        #expect((err as! AOFReadError).description == "Bad AOF format at offset \(offset): \(text)")
        // The error sticks.
        #expect(throws: AOFReadError.self) { try r.next() }
    }

    @Test func annotationOfTheLongestLengthRedisReads() throws {
        // 1023 bytes with "\r\n" is the longest annotation Redis 7.0 loads.
        let ann = "#" + String(repeating: "x", count: 1020)
        let recs = try readAllRecords(AOFReader(bytes: aofBytes(Self.good + ann + "\r\n" + Self.set1)))
        #expect(recs.count == 4)
        guard case .annotation(let line, 50) = recs[2] else { Issue.record("\(recs[2])"); return }
        #expect(line == aofBytes(ann))
    }

    @Test func corruptionInTheMiddleOfAFixture() throws {
        let bytes = try AOFFixtures.bytes(AOFFixtures.plainIncr)
        let records = try readAllRecords(AOFReader(bytes: bytes))
        // Break the '$' of the second argument of the 10th command.
        guard case .command(let args, let start, _) = records[10] else { Issue.record("record 10 is not a command"); return }
        let argcLine = "*\(args.count)\r\n".utf8.count
        let firstArg = "$\(args[0].count)\r\n".utf8.count + args[0].count + 2
        let at = start + argcLine + firstArg
        #expect(bytes[at] == UInt8(ascii: "$"))
        var broken = bytes
        broken[at] = UInt8(ascii: "?")
        let (recs, err) = readOutcome(AOFReader(bytes: broken))
        #expect(recs.count == 10)
        guard case .corrupt(let e)? = err as? AOFReadError else { Issue.record("\(String(describing: err))"); return }
        #expect(e.offset == at)
        #expect(AOFReadError.checkAOFText(e) == "Expected prefix '$', got: '?'")
    }

    /// Every byte of a fixture replaced by each of a few values: never a crash, only records or an
    /// AOFReadError at an offset inside the file (a changed length can move the error past the byte).
    @Test func mutationSweepNeverCrashes() throws {
        let bytes = try AOFFixtures.bytes(AOFFixtures.preambleIncr)
        var outcomes = [0, 0, 0]
        for i in 0 ..< bytes.count {
            for v: UInt8 in [0, UInt8(ascii: "x"), 13, 10, UInt8(ascii: "*"), UInt8(ascii: "$"), UInt8(ascii: "9"), UInt8(ascii: "#"), UInt8(ascii: "-")] where bytes[i] != v {
                var m = bytes
                m[i] = v
                let (_, err) = readOutcome(AOFReader(bytes: m))
                switch err as? AOFReadError {
                case nil:
                    #expect(err == nil, "byte \(i) -> \(v): \(String(describing: err))")
                    outcomes[0] += 1
                case .truncated(let valid, let off, _)?:
                    #expect(valid <= m.count && off == m.count, "byte \(i) -> \(v)")
                    outcomes[1] += 1
                case .corrupt(let e)?:
                    #expect(e.offset >= 0 && e.offset < m.count, "byte \(i) -> \(v): \(e)")
                    outcomes[2] += 1
                }
            }
        }
        #expect(outcomes[2] > outcomes[0])
    }

    // MARK: - Input handling

    @Test func chunkBoundariesAndFileEqualsMemory() throws {
        // ~3 MiB of commands with arguments of many sizes, so records straddle the 1 MiB reads.
        var out: [UInt8] = []
        var expected: [[[UInt8]]] = []
        var n = 0
        while out.count < 3 << 20 {
            let size = [0, 1, 9, 100, 4093, 70_000, 300_001][n % 7]
            let args = [aofBytes("SET"), aofBytes("key:\(n)"), [UInt8](repeating: UInt8(truncatingIfNeeded: n), count: size)]
            if n % 5 == 0 { AOFCommands.appendTimestamp(1_700_000_000 + Int64(n), to: &out) }
            AOFCommands.append(args, to: &out)
            expected.append(args)
            n += 1
        }
        let path = NSTemporaryDirectory() + "cairn-aof-chunks-\(getpid()).aof"
        try Data(out).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let fromFile = try readAllRecords(AOFReader(path: path))
        let fromMemory = try readAllRecords(AOFReader(bytes: out))
        #expect(aofCommandArgs(fromFile) == expected)
        #expect(aofCommandArgs(fromMemory) == expected)
        #expect(fromFile.map { span($0).start } == fromMemory.map { span($0).start })
        // Seek into the middle of the file, to the start of some command, and read on from there.
        let mid = fromFile[fromFile.count / 2]
        let r = try AOFReader(path: path)
        try r.seek(to: span(mid).start)
        let rest = try readAllRecords(r)
        #expect(rest.count == fromFile.count - fromFile.count / 2)
        #expect(span(rest[0]).start == span(mid).start)
    }

    @Test func a512MiBArgument() throws {
        let len = 512 << 20
        let path = NSTemporaryDirectory() + "cairn-aof-big-\(getpid()).aof"
        let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0o600)
        #expect(fd >= 0)
        defer { unlink(path) }
        let head = aofBytes("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$\(len)\r\n")
        let tail = aofBytes("\r\n") + aofBytes(Self.set1)
        _ = head.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        // The value is a hole of zeros, then one marker byte at its end.
        _ = [UInt8(ascii: "!")].withUnsafeBytes { pwrite(fd, $0.baseAddress, 1, off_t(head.count + len - 1)) }
        _ = tail.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(head.count + len)) }
        close(fd)
        let r = try AOFReader(path: path)
        guard case .command(let args, 0, let end)? = try r.next() else { Issue.record("no command"); return }
        #expect(args[2].count == len)
        #expect(args[2].last == UInt8(ascii: "!"))
        #expect(args[2][len / 2] == 0)
        #expect(end == head.count + len + 2)
        #expect(aofCommandArgs([try #require(try r.next())]) == [[aofBytes("SET"), aofBytes("a"), aofBytes("1")]])
        #expect(try r.next() == nil)
    }

    @Test func lyingLengthsAreTruncationsNotAllocations() throws {
        // A bulk length far beyond the input: the reader reports the short read.
        let (_, e1) = outcome("*1\r\n$536870912\r\nabc")
        guard case .truncated(0, 19, let reason)? = e1 as? AOFReadError else { Issue.record("\(String(describing: e1))"); return }
        #expect(reason == "Expected to read 536870914 bytes, got 3 bytes")
        // A huge argument count, and a huge length in a file.
        let (_, e2) = outcome("*2000000000\r\n$1\r\na\r\n")
        guard case .truncated(0, _, _)? = e2 as? AOFReadError else { Issue.record("\(String(describing: e2))"); return }
        let path = NSTemporaryDirectory() + "cairn-aof-lying-\(getpid()).aof"
        try Data(aofBytes(Self.set1 + "*1\r\n$999999999999999999\r\nabc")).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let (recs, e3) = readOutcome(try AOFReader(path: path))
        #expect(recs.count == 1)
        guard case .truncated(27, _, _)? = e3 as? AOFReadError else { Issue.record("\(String(describing: e3))"); return }
    }

    @Test func emptyInputsAndSeeking() throws {
        #expect(try AOFReader(bytes: []).next() == nil)
        #expect(!AOFReader(bytes: aofBytes("REDI")).hasRDBPreamble)
        #expect(AOFReader(bytes: aofBytes("REDIS")).hasRDBPreamble)
        let r = AOFReader(bytes: aofBytes(Self.set1))
        #expect(throws: IOError.self) { try r.seek(to: 28) }
        #expect(throws: IOError.self) { try r.seek(to: -1) }
        try r.seek(to: 27)
        #expect(try r.next() == nil)
        #expect(throws: IOError.self) { try AOFReader(path: "/nonexistent/appendonly.aof") }
        // Reading again after a seek back starts over.
        try r.seek(to: 0)
        #expect(aofCommandArgs(try readAllRecords(r)).count == 1)
    }

    @Test func timestamps() {
        #expect(AOFReader.timestamp(aofBytes("#TS:1795252755")) == 1795252755)
        #expect(AOFReader.timestamp(aofBytes("#TS:0")) == 0)
        #expect(AOFReader.timestamp(aofBytes("#TS:123\r\n")) == 123)
        #expect(AOFReader.timestamp(aofBytes("#TS:")) == nil)
        #expect(AOFReader.timestamp(aofBytes("#TS:12a")) == nil)
        #expect(AOFReader.timestamp(aofBytes("#TS:-1")) == nil)
        #expect(AOFReader.timestamp(aofBytes("#TS: 1")) == nil)
        #expect(AOFReader.timestamp(aofBytes("# TS:1")) == nil)
        #expect(AOFReader.timestamp(aofBytes("#ts:1")) == nil)
        #expect(AOFReader.timestamp(aofBytes("#TS:99999999999999999999")) == nil)
    }

    @Test func annotationsAtTheEnd() throws {
        // An annotation cut before its newline still reads, as Redis's fgets reads it.
        let recs = try readAllRecords(AOFReader(bytes: aofBytes(Self.set1 + "#TS:12")))
        guard case .annotation(let l, 27)? = recs.last else { Issue.record("\(recs)"); return }
        #expect(l == aofBytes("#TS:12"))
        // A bare '\n'-terminated annotation is accepted too.
        let r2 = try readAllRecords(AOFReader(bytes: aofBytes("#x\n" + Self.set1)))
        #expect(r2.count == 2)
    }

    @Test func errorDescriptions() {
        let t = AOFReadError.truncated(validUpTo: 27, offset: 30, reason: "Expected to read 5 bytes, got 2 bytes")
        #expect(t.description == "AOF truncated at offset 30: Expected to read 5 bytes, got 2 bytes (valid up to offset 27)")
    }
}
