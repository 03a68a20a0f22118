// AOFManifest: parsing and writing as Redis 7.0.15 does. Every expected text, line number and
// accepted/refused case below was observed by starting Debian's redis-server 7.0.15 on that manifest
// and reading its log (Tests/InteropTests/AOFInteropTests.swift repeats the comparison live).
import Foundation
import Testing
@testable import StorageFormat

@Suite struct AOFManifestTests {
    static let baseLine = "file appendonly.aof.1.base.rdb seq 1 type b"

    // MARK: - Redis-written manifests

    @Test func redisWrittenPreambleManifest() throws {
        let bytes = try AOFFixtures.bytes(AOFFixtures.preambleDir + "appendonly.aof.manifest")
        let m = try AOFManifest.parse(bytes)
        #expect(m.base == AOFManifestEntry(name: "appendonly.aof.2.base.rdb", seq: 2, type: .base))
        #expect(m.history.isEmpty)
        #expect(m.incrs == [AOFManifestEntry(name: "appendonly.aof.2.incr.aof", seq: 2, type: .incr)])
        #expect(m.encoded() == bytes)
        #expect(m.nextBaseSeq == 3)
        #expect(m.nextIncrSeq == 3)
        #expect(m.loadOrder.map(\.name) == ["appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof"])
    }

    @Test func redisWrittenManifestWithHistory() throws {
        let bytes = try AOFFixtures.bytes(AOFFixtures.plainDir + "appendonly.aof.manifest")
        let m = try AOFManifest.parse(bytes)
        #expect(m.base == AOFManifestEntry(name: "appendonly.aof.2.base.aof", seq: 2, type: .base))
        // Redis puts the newest history first: the replaced INCR, then the replaced BASE.
        #expect(m.history == [AOFManifestEntry(name: "appendonly.aof.1.incr.aof", seq: 1, type: .history),
                              AOFManifestEntry(name: "appendonly.aof.1.base.aof", seq: 1, type: .history)])
        #expect(m.incrs == [AOFManifestEntry(name: "appendonly.aof.2.incr.aof", seq: 2, type: .incr)])
        #expect(m.encoded() == bytes)
        // History files exist but are never loaded.
        #expect(m.loadOrder.map(\.name) == ["appendonly.aof.2.base.aof", "appendonly.aof.2.incr.aof"])
        for e in m.loadOrder + m.history {
            #expect(FileManager.default.fileExists(atPath: AOFFixtures.path(AOFFixtures.plainDir + e.name)), "\(e.name)")
        }
    }

    /// What Redis 7.0.15 wrote after three BGREWRITEAOFs with aof-disable-auto-gc yes, the last with
    /// aof-use-rdb-preamble no.
    @Test func redisWrittenManifestAfterSeveralRewrites() throws {
        let text = """
        file appendonly.aof.4.base.aof seq 4 type b
        file appendonly.aof.3.incr.aof seq 3 type h
        file appendonly.aof.3.base.rdb seq 3 type h
        file appendonly.aof.2.incr.aof seq 2 type h
        file appendonly.aof.2.base.rdb seq 2 type h
        file appendonly.aof.4.incr.aof seq 4 type i

        """
        let m = try AOFManifest.parse(aofBytes(text))
        #expect(m.base?.name == "appendonly.aof.4.base.aof")
        #expect(m.history.map(\.seq) == [3, 3, 2, 2])
        #expect(m.incrs.map(\.name) == ["appendonly.aof.4.incr.aof"])
        #expect(m.encoded() == aofBytes(text))
        #expect(m.nextBaseSeq == 5)
        #expect(m.nextIncrSeq == 5)
    }

    /// Names Redis 7.0.15 wrote for `--appendfilename` values needing quotes.
    @Test(arguments: [
        ("my aof", "file \"my aof.1.base.rdb\" seq 1 type b\nfile \"my aof.1.incr.aof\" seq 1 type i\n"),
        ("q\"uote", "file \"q\\\"uote.1.base.rdb\" seq 1 type b\nfile \"q\\\"uote.1.incr.aof\" seq 1 type i\n"),
        ("tab\tx", "file \"tab\\tx.1.base.rdb\" seq 1 type b\nfile \"tab\\tx.1.incr.aof\" seq 1 type i\n"),
        ("\u{fc}tf", "file \"\\xc3\\xbctf.1.base.rdb\" seq 1 type b\nfile \"\\xc3\\xbctf.1.incr.aof\" seq 1 type i\n"),
    ])
    func quotedNamesAsRedisWritesThem(appendFilename: String, written: String) throws {
        let m = AOFManifest(base: AOFManifestEntry(name: AOFManifest.baseName(appendFilename, seq: 1, rdb: true), seq: 1, type: .base),
                            incrs: [AOFManifestEntry(name: AOFManifest.incrName(appendFilename, seq: 1), seq: 1, type: .incr)])
        #expect(m.encoded() == aofBytes(written))
        #expect(try AOFManifest.parse(aofBytes(written)) == m)
    }

    /// Redis 7.0 writes `it's` unquoted and then refuses its own manifest ("Invalid AOF manifest file
    /// format": the splitter opens a quote at the '). Cairn quotes it, and an empty name, so they read back.
    @Test func singleQuoteAndEmptyNamesAreQuoted() throws {
        let m = AOFManifest(base: AOFManifestEntry(name: "it's.1.base.rdb", seq: 1, type: .base),
                            incrs: [AOFManifestEntry(name: "", seq: 1, type: .incr)])
        #expect(m.encoded() == aofBytes("file \"it's.1.base.rdb\" seq 1 type b\nfile \"\" seq 1 type i\n"))
        #expect(try AOFManifest.parse(m.encoded()) == m)
        // Redis's own form of the first line is refused, as Redis refuses it.
        #expect(throws: AOFManifestError("Invalid AOF manifest file format", lineNumber: 1, lineText: aofBytes("file it's.1.base.rdb seq 1 type b"))) {
            try AOFManifest.parse(aofBytes("file it's.1.base.rdb seq 1 type b\n"))
        }
    }

    @Test func everyPrintableAndControlByteRoundTrips() throws {
        // All of 0x01...0x7f but the path separators, plus some multi-byte UTF-8.
        var scalars = (1 ... 127).map { Character(Unicode.Scalar(UInt8($0))) }.filter { $0 != "/" && $0 != "\\" }
        scalars += ["é", "→", "🪨"]
        let name = String(scalars)
        let m = AOFManifest(base: AOFManifestEntry(name: name, seq: 7, type: .base),
                            history: [AOFManifestEntry(name: name + ".old", seq: 6, type: .history)],
                            incrs: [AOFManifestEntry(name: "plain", seq: 1, type: .incr), AOFManifestEntry(name: name, seq: 9, type: .incr)])
        let enc = m.encoded()
        #expect(try AOFManifest.parse(enc) == m)
        // Each line is short enough for Redis's 1024-byte line buffer and ends in '\n'.
        for line in enc.split(separator: 10) { #expect(line.count < 1024) }
        #expect(enc.last == 10)
    }

    @Test func encodedLineOrderIsBaseHistoryIncr() {
        let m = AOFManifest(base: AOFManifestEntry(name: "b", seq: 3, type: .base),
                            history: [AOFManifestEntry(name: "h", seq: 2, type: .history)],
                            incrs: [AOFManifestEntry(name: "i1", seq: 4, type: .incr), AOFManifestEntry(name: "i2", seq: 5, type: .incr)])
        #expect(String(decoding: m.encoded(), as: UTF8.self) ==
                "file b seq 3 type b\nfile h seq 2 type h\nfile i1 seq 4 type i\nfile i2 seq 5 type i\n")
        #expect(AOFManifest().encoded().isEmpty)
    }

    // MARK: - Names and sequence numbers

    @Test func fileNames() {
        #expect(AOFManifest.manifestName("appendonly.aof") == "appendonly.aof.manifest")
        #expect(AOFManifest.tempManifestName("appendonly.aof") == "temp-appendonly.aof.manifest")
        #expect(AOFManifest.baseName("appendonly.aof", seq: 1, rdb: true) == "appendonly.aof.1.base.rdb")
        #expect(AOFManifest.baseName("appendonly.aof", seq: 12, rdb: false) == "appendonly.aof.12.base.aof")
        #expect(AOFManifest.incrName("appendonly.aof", seq: 3) == "appendonly.aof.3.incr.aof")
    }

    @Test func sequenceNumbers() throws {
        #expect(AOFManifest().nextBaseSeq == 1)
        #expect(AOFManifest().nextIncrSeq == 1)
        let m = AOFManifest(base: AOFManifestEntry(name: "a.5.base.rdb", seq: 5, type: .base),
                            history: [AOFManifestEntry(name: "a.9.incr.aof", seq: 9, type: .history),
                                      AOFManifestEntry(name: "a.4.base.aof", seq: 4, type: .history)],
                            incrs: [AOFManifestEntry(name: "a.10.incr.aof", seq: 10, type: .incr), AOFManifestEntry(name: "a.11.incr.aof", seq: 11, type: .incr)])
        #expect(m.nextBaseSeq == 6)
        #expect(m.nextIncrSeq == 12)
        // As in Redis, HISTORY lines do not count: the numbers continue from the BASE and INCR lines.
        let h = AOFManifest(base: nil, history: [AOFManifestEntry(name: "a.8.base.rdb", seq: 8, type: .history),
                                                 AOFManifestEntry(name: "a.3.incr.aof", seq: 3, type: .history)])
        #expect(h.nextBaseSeq == 1)
        #expect(h.nextIncrSeq == 1)
        // Numbers handed out are not reused when their files move to HISTORY.
        var t = m
        #expect(t.takeNextBaseSeq() == 6 && t.takeNextIncrSeq() == 12)
        t.history = []
        t.base = nil
        t.incrs = []
        #expect(t.nextBaseSeq == 7 && t.nextIncrSeq == 13)
        // A parsed manifest starts from its BASE and last INCR lines.
        let p = try AOFManifest.parse(Array("file a.4.base.rdb seq 4 type b\nfile a.9.incr.aof seq 9 type h\nfile a.2.incr.aof seq 2 type i\n".utf8))
        #expect(p.nextBaseSeq == 5 && p.nextIncrSeq == 3)
    }

    // MARK: - What Redis 7.0 refuses, with its texts

    static let long1101Comment = "#" + String(repeating: "x", count: 1100)
    static let errorCases: [(String, String, String, Int?, String?)] = [
        ("empty file", "", "Found an empty AOF manifest", nil, nil),
        ("no newline at the end", baseLine, "The AOF manifest file contains too long line", nil, nil),
        ("1024 bytes before the newline", baseLine + String(repeating: " ", count: 1024 - baseLine.utf8.count) + "\n",
         "The AOF manifest file contains too long line", nil, nil),
        ("NUL before the newline", baseLine + "\u{0}zz\n", "The AOF manifest file contains too long line", nil, nil),
        ("blank line", "\n" + baseLine + "\n", "Invalid AOF manifest file format", 1, ""),
        ("spaces only", "   \n" + baseLine + "\n", "Invalid AOF manifest file format", 1, ""),
        ("comment not in column 1", "  # hi\n" + baseLine + "\n", "Invalid AOF manifest file format", 1, "# hi"),
        ("slash in the name", "file a/appendonly.aof.1.base.rdb seq 1 type b\n", "File can't be a path, just a filename", 1,
         "file a/appendonly.aof.1.base.rdb seq 1 type b"),
        ("backslash in the name", "file a\\\\b seq 1 type b\n", "File can't be a path, just a filename", 1, "file a\\\\b seq 1 type b"),
        ("path checked before seq 0", "file a/b seq 0 type b\n", "File can't be a path, just a filename", 1, "file a/b seq 0 type b"),
        ("path checked in any position", "seq 1 type b file a/b\n", "File can't be a path, just a filename", 1, "seq 1 type b file a/b"),
        ("path in a repeated key", "file a/b seq 1 type b file c\n", "File can't be a path, just a filename", 1, "file a/b seq 1 type b file c"),
        ("pair count checked first", "file a/b seq 1\n", "Invalid AOF manifest file format", 1, "file a/b seq 1"),
        ("second base", baseLine + "\n" + baseLine + "\n", "Found duplicate base file information", 2, baseLine),
        ("incr seq going down", "file appendonly.aof.2.incr.aof seq 2 type i\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
         "Found a non-monotonic sequence number", 2, "file appendonly.aof.1.incr.aof seq 1 type i"),
        ("incr seq repeated", "file appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 1 type i\n",
         "Found a non-monotonic sequence number", 2, "file appendonly.aof.2.incr.aof seq 1 type i"),
        ("negative first incr seq", "file appendonly.aof.1.incr.aof seq -5 type i\n",
         "Found a non-monotonic sequence number", 1, "file appendonly.aof.1.incr.aof seq -5 type i"),
        ("seq 0", "file appendonly.aof.1.base.rdb seq 0 type b\n", "Invalid AOF manifest file format", 1, "file appendonly.aof.1.base.rdb seq 0 type b"),
        ("seq in hex", "file appendonly.aof.1.base.rdb seq 0x10 type b\n", "Invalid AOF manifest file format", 1, "file appendonly.aof.1.base.rdb seq 0x10 type b"),
        ("type x", "file appendonly.aof.1.base.rdb seq 1 type x\n", "Unknown AOF file type", 1, "file appendonly.aof.1.base.rdb seq 1 type x"),
        ("type B", "file appendonly.aof.1.base.rdb seq 1 type B\n", "Unknown AOF file type", 1, "file appendonly.aof.1.base.rdb seq 1 type B"),
        ("empty type", "file appendonly.aof.1.base.rdb seq 1 type \"\"\n", "Invalid AOF manifest file format", 1, "file appendonly.aof.1.base.rdb seq 1 type \"\""),
        ("seq 0 checked before the type", "file a seq 0 type x\n", "Invalid AOF manifest file format", 1, "file a seq 0 type x"),
        ("odd token count", "file appendonly.aof.1.base.rdb seq 1 type b foo\n", "Invalid AOF manifest file format", 1,
         "file appendonly.aof.1.base.rdb seq 1 type b foo"),
        ("four tokens", "file appendonly.aof.1.base.rdb seq 1\n", "Invalid AOF manifest file format", 1, "file appendonly.aof.1.base.rdb seq 1"),
        ("no seq key", "file appendonly.aof.1.base.rdb foo 1 type b\n", "Invalid AOF manifest file format", 1, "file appendonly.aof.1.base.rdb foo 1 type b"),
        ("unbalanced quotes", "file \"appendonly.aof.1.base.rdb seq 1 type b\n", "Invalid AOF manifest file format", 1,
         "file \"appendonly.aof.1.base.rdb seq 1 type b"),
        ("comment over 1024 bytes", long1101Comment + "\n" + baseLine + "\n", "Invalid AOF manifest file format", 2, String(repeating: "x", count: 77)),
    ]

    @Test(arguments: errorCases)
    func refusedAsRedisRefusesIt(_ name: String, _ input: String, _ message: String, _ line: Int?, _ lineText: String?) {
        do {
            let m = try AOFManifest.parse(aofBytes(input))
            Issue.record("\(name): accepted as \(m)")
        } catch let e as AOFManifestError {
            #expect(e.description == message, "\(name)")
            #expect(e.lineNumber == line, "\(name)")
            #expect(e.lineText == lineText.map(aofBytes), "\(name): \(e.lineText.map { String(decoding: $0, as: UTF8.self) } ?? "nil")")
        } catch {
            Issue.record("\(name): \(error)")
        }
    }

    @Test func logLinesAsRedisLogsThem() throws {
        let e = AOFManifestError("Found duplicate base file information", lineNumber: 2, lineText: aofBytes(Self.baseLine))
        #expect(e.logLines == ["Reading the manifest file, at line 2", ">>> '\(Self.baseLine)'", "Found duplicate base file information"])
        #expect(AOFManifestError("Found an empty AOF manifest").logLines == ["Found an empty AOF manifest"])
    }

    // MARK: - What Redis 7.0 accepts

    static let acceptedCases: [(String, String, AOFManifest)] = {
        let base1 = AOFManifestEntry(name: "appendonly.aof.1.base.rdb", seq: 1, type: .base)
        let incr1 = AOFManifestEntry(name: "appendonly.aof.1.incr.aof", seq: 1, type: .incr)
        return [
            ("comment lines", "# hi\n" + baseLine + "\n# bye\n", AOFManifest(base: base1)),
            ("only a comment", "# hi\n", AOFManifest()),
            ("comment without a newline at the end", baseLine + "\n# hi", AOFManifest(base: base1)),
            ("upper-case keys", "FILE appendonly.aof.1.base.rdb SEQ 1 TYPE b\n", AOFManifest(base: base1)),
            ("unknown keys", baseLine + " foo bar\n", AOFManifest(base: base1)),
            ("quoted name", "file \"appendonly.aof.1.base.rdb\" seq 1 type b\n", AOFManifest(base: base1)),
            ("single-quoted name", "file 'appendonly.aof.1.base.rdb' seq 1 type b\n", AOFManifest(base: base1)),
            ("CRLF line ends", baseLine + "\r\n", AOFManifest(base: base1)),
            ("tabs", "file\tappendonly.aof.1.base.rdb\tseq\t1\ttype\tb\t\n", AOFManifest(base: base1)),
            ("leading spaces", "  " + baseLine + "\n", AOFManifest(base: base1)),
            ("type's first byte counts", "file appendonly.aof.1.base.rdb seq 1 type bb\n", AOFManifest(base: base1)),
            ("seq +3", "file x seq +3 type b\n", AOFManifest(base: AOFManifestEntry(name: "x", seq: 3, type: .base))),
            ("seq with a space", "file x seq \" 5\" type b\n", AOFManifest(base: AOFManifestEntry(name: "x", seq: 5, type: .base))),
            ("negative base seq", "file x seq -1 type b\n", AOFManifest(base: AOFManifestEntry(name: "x", seq: -1, type: .base))),
            ("seq with trailing junk", "file x seq 1x type b\n", AOFManifest(base: AOFManifestEntry(name: "x", seq: 1, type: .base))),
            ("seq overflowing", "file x seq 99999999999999999999999 type b\n", AOFManifest(base: AOFManifestEntry(name: "x", seq: Int64.max, type: .base))),
            ("a repeated key: the last wins", baseLine + " file appendonly.aof.1.incr.aof seq 1 type i\n", AOFManifest(incrs: [incr1])),
            ("1023 bytes before the newline", baseLine + String(repeating: " ", count: 1023 - baseLine.utf8.count) + "\n", AOFManifest(base: base1)),
            ("a 1024-byte comment chunk continued by '#'", "#" + String(repeating: "x", count: 1023) + "#hello\n" + baseLine + "\n", AOFManifest(base: base1)),
            ("history before base, repeated history", "file h seq 1 type h\nfile h seq 1 type h\n" + baseLine + "\n",
             AOFManifest(base: base1, history: [AOFManifestEntry(name: "h", seq: 1, type: .history), AOFManifestEntry(name: "h", seq: 1, type: .history)])),
            ("incr without base", "file appendonly.aof.1.incr.aof seq 1 type i\n", AOFManifest(incrs: [incr1])),
            ("empty name", "file \"\" seq 1 type b\n", AOFManifest(base: AOFManifestEntry(name: "", seq: 1, type: .base))),
        ]
    }()

    @Test(arguments: acceptedCases)
    func acceptedAsRedisAcceptsIt(_ name: String, _ input: String, _ expected: AOFManifest) throws {
        #expect(try AOFManifest.parse(aofBytes(input)) == expected, "\(name)")
    }

    @Test func readFromAFile() throws {
        let m = try AOFManifest.read(path: AOFFixtures.path(AOFFixtures.plainDir + "appendonly.aof.manifest"))
        #expect(m.base?.seq == 2)
        #expect(throws: IOError.self) { try AOFManifest.read(path: "/nonexistent/appendonly.aof.manifest") }
    }
}
