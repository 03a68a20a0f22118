// AOFCommands: RESP command bytes, #TS: annotations, and the rewrite of one key as Redis 7.0 writes
// it with aof-use-rdb-preamble no (checked against redis70-plain's BASE, which Redis wrote).
import Foundation
import Testing
@testable import StorageFormat

@Suite struct AOFCommandsTests {
    func rewritten(_ key: String, _ value: RDBValue, expiresAt: Int64? = nil) throws -> [[[UInt8]]] {
        var out: [[[UInt8]]] = []
        try AOFCommands.rewrite(key: aofBytes(key), value: value, expiresAt: expiresAt) { out.append($0) }
        return out
    }

    @Test func commandBytes() throws {
        var out: [UInt8] = []
        AOFCommands.append([aofBytes("SET"), aofBytes("k"), aofBytes("v")], to: &out)
        #expect(out == aofBytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"))
        out = []
        AOFCommands.append([aofBytes("SET"), [0, 13, 10, 255], []], to: &out)
        #expect(out == aofBytes("*3\r\n$3\r\nSET\r\n$4\r\n") + [0, 13, 10, 255] + aofBytes("\r\n$0\r\n\r\n"))
        let args = [aofBytes("RPUSH"), aofBytes("list"), [UInt8](repeating: 7, count: 1000)]
        out = []
        AOFCommands.append(args, to: &out)
        #expect(aofCommandArgs(try readAllRecords(AOFReader(bytes: out))) == [args])
    }

    @Test func timestampBytes() throws {
        var out: [UInt8] = []
        AOFCommands.appendTimestamp(1795252755, to: &out)
        #expect(out == aofBytes("#TS:1795252755\r\n"))
        guard case .annotation(let line, 0)? = try AOFReader(bytes: out).next() else { Issue.record("not an annotation"); return }
        #expect(AOFReader.timestamp(line) == 1795252755)
    }

    @Test func stringsAndExpiry() throws {
        #expect(try rewritten("k", .string(aofBytes("v"))) == [[aofBytes("SET"), aofBytes("k"), aofBytes("v")]])
        #expect(try rewritten("k", .string(aofBytes("12345")), expiresAt: 4102444800001) ==
                [[aofBytes("SET"), aofBytes("k"), aofBytes("12345")], [aofBytes("PEXPIREAT"), aofBytes("k"), aofBytes("4102444800001")]])
        #expect(try rewritten("k", .string([])) == [[aofBytes("SET"), aofBytes("k"), []]])
    }

    /// Batches of 64 as Redis 7.0.15 wrote them for 130-element values: RPUSH/SADD 66+66+4 arguments,
    /// HMSET/ZADD 130+130+6.
    @Test func batchesOf64() throws {
        let items = (0 ..< 130).map { aofBytes("\($0)") }
        #expect(try rewritten("l", .list(items)).map(\.count) == [66, 66, 4])
        #expect(try rewritten("l", .list(items)).flatMap { $0.dropFirst(2) } == items)
        #expect(try rewritten("s", .set(items)).map { $0[0] } == Array(repeating: aofBytes("SADD"), count: 3))
        let fields = (0 ..< 130).map { RDBHashField(field: aofBytes("f\($0)"), value: aofBytes("v\($0)")) }
        let h = try rewritten("h", .hash(fields), expiresAt: 5)
        #expect(h.map(\.count) == [130, 130, 6, 3])
        #expect(h[0][0] == aofBytes("HMSET"))
        #expect(h[0][2 ... 3] == [aofBytes("f0"), aofBytes("v0")])
        #expect(h.last == [aofBytes("PEXPIREAT"), aofBytes("h"), aofBytes("5")])
        let z = (0 ..< 130).map { RDBScoredMember(member: aofBytes("m\($0)"), score: Double($0)) }
        #expect(try rewritten("z", .sortedSet(z)).map(\.count) == [130, 130, 6])
        // Exactly 64: one command.
        #expect(try rewritten("l", .list(Array(items[0 ..< 64]))).count == 1)
        #expect(try rewritten("l", .list(Array(items[0 ..< 65]))).map(\.count) == [66, 3])
    }

    /// Scores as Redis 7.0.15 wrote them in a rewrite (%.17g).
    @Test func scoreText() throws {
        let scores: [(Double, String)] = [(-.infinity, "-inf"), (0, "0"), (1.5e-7, "1.4999999999999999e-07"), (0.1, "0.10000000000000001"),
                                          (3, "3"), (1e20, "1e+20"), (.infinity, "inf"), (2.5, "2.5"), (-20, "-20")]
        let z = try rewritten("z", .sortedSet(scores.enumerated().map { RDBScoredMember(member: aofBytes("m\($0.offset)"), score: $0.element.0) }))
        #expect(z.count == 1)
        #expect(stride(from: 2, to: z[0].count, by: 2).map { String(decoding: z[0][$0], as: UTF8.self) } == scores.map(\.1))
    }

    @Test func emptyAggregatesEmitNothing() throws {
        #expect(try rewritten("l", .list([]), expiresAt: 7).isEmpty)
        #expect(try rewritten("s", .set([])).isEmpty)
        #expect(try rewritten("h", .hash([])).isEmpty)
        #expect(try rewritten("z", .sortedSet([])).isEmpty)
    }

    /// A stream as Redis 7.0's rewriteStreamObject writes it: entries, XSETID, groups with their
    /// consumers (pending entries as XCLAIM … JUSTID FORCE); an empty one through XADD MAXLEN 0.
    @Test func streams() throws {
        func words(_ cmds: [[[UInt8]]]) -> [String] { cmds.map { $0.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ") } }
        let empty = RDBStream(nodes: [], length: 0, lastID: StreamID(ms: 5, seq: 1), firstID: .zero, maxDeletedID: StreamID(ms: 5, seq: 1),
                              entriesAdded: 1, groups: [])
        #expect(words(try rewritten("s", .stream(empty))) == ["XADD s MAXLEN 0 0-1 x y", "XSETID s 5-1 ENTRIESADDED 1 MAXDELETEDID 5-1"])
        var lp = ListpackEncoder()
        for e in ["1", "0", "1", "f", "0", "2", "0", "0", "v1", "4"] { lp.append(aofBytes(e)) }
        let node = RDBStreamNode(masterID: StreamID(ms: 7, seq: 0), listpack: lp.finish())
        let group = RDBStreamGroup(name: aofBytes("g"), lastDelivered: StreamID(ms: 7, seq: 0), entriesRead: 1,
                                   pending: [RDBStreamPending(id: StreamID(ms: 7, seq: 0), deliveryTime: 99, deliveryCount: 2)],
                                   consumers: [RDBStreamConsumer(name: aofBytes("a"), seenTime: 1, activeTime: nil, pending: [StreamID(ms: 7, seq: 0)]),
                                               RDBStreamConsumer(name: aofBytes("b"), seenTime: 1, activeTime: nil, pending: [])])
        let s = RDBStream(nodes: [node], length: 1, lastID: StreamID(ms: 7, seq: 0), firstID: StreamID(ms: 7, seq: 0), maxDeletedID: .zero,
                          entriesAdded: 1, groups: [group])
        #expect(words(try rewritten("s", .stream(s))) == [
            "XADD s 7-0 f v1", "XSETID s 7-0 ENTRIESADDED 1 MAXDELETEDID 0-0", "XGROUP CREATE s g 7-0 ENTRIESREAD 1",
            "XCLAIM s g a 0 7-0 TIME 99 RETRYCOUNT 2 JUSTID FORCE", "XGROUP CREATECONSUMER s g b",
        ])
    }

    @Test func unsupportedValues() throws {
        for v in [RDBValue.module(RDBModuleValue(moduleID: 1 << 10, raw: [])),
                  .hash([RDBHashField(field: aofBytes("f"), value: aofBytes("v"), expiresAt: 10)]),
                  .sortedSet([RDBScoredMember(member: aofBytes("m"), score: .nan)])] {
            do {
                _ = try rewritten("key", v)
                Issue.record("\(v.typeName) accepted")
            } catch let e as FormatError {
                #expect(e.key == aofBytes("key"))
                #expect(e.context == "AOF rewrite")
                #expect(e.found.contains("does not support"))
            }
        }
    }

    /// The values of the preamble fixture's RDB BASE, rewritten, have the shape of Redis's own RESP
    /// BASE in redis70-plain (same dataset script, another run): the same keys with the same command
    /// names and argument counts (which members SPOP took differs between the runs; how many does not).
    @Test func rewriteOfTheRDBBaseMatchesRedisRESPBaseShape() throws {
        let rdb = try RDBReader(path: AOFFixtures.path(AOFFixtures.preambleBase))
        var mine: [String: [String]] = [:]
        var db = 0
        while let rec = try rdb.next() {
            if case .entry(let e) = rec {
                db = e.db
                try AOFCommands.rewrite(key: e.key, value: e.value, expiresAt: e.expiresAt) {
                    mine["\(db)/\(ByteText.hex($0[1]))", default: []].append(String(decoding: $0[0], as: UTF8.self) + "/\($0.count)")
                }
            }
        }
        var theirs: [String: [String]] = [:]
        db = 0
        for args in aofCommandArgs(try readAllRecords(AOFReader(path: AOFFixtures.path(AOFFixtures.plainBase)))) {
            if args[0] == aofBytes("SELECT") { db = Int(String(decoding: args[1], as: UTF8.self))!; continue }
            theirs["\(db)/\(ByteText.hex(args[1]))", default: []].append(String(decoding: args[0], as: UTF8.self) + "/\(args.count)")
        }
        #expect(Set(mine.keys) == Set(theirs.keys))
        for (k, v) in theirs {
            #expect(mine[k] == v, "\(k)")
        }
        #expect(mine.count == 30)
    }
}
