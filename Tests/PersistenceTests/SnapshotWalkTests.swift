// The snapshot child's in-place walk (BorrowedValue.writeAggregate, strings read in place) writes the
// same bytes as the value-model path (each value converted to StorageFormat's RDBValue first), for every
// type and encoding, with expiries and LRU/LFU metadata; and what it writes loads back to the same data.
import Foundation
import Testing
@testable import Engine
@testable import Persistence
import StorageFormat
#if canImport(Glibc)
import Glibc
#endif

/// An in-process engine fed with commands.
final class EngineHarness {
    let engine: Engine
    let session: Session

    init(config: EngineConfig = EngineConfig()) {
        engine = Engine(config: config)
        engine.updateClock()
        session = engine.newSession()
    }

    /// A session on an existing engine (one a test loaded a file into).
    init(engine: Engine) {
        self.engine = engine
        engine.updateClock()
        session = engine.newSession()
    }

    @discardableResult
    func run(_ args: [String]) -> String {
        session.out.removeAll()
        engine.execute(session, args.map { Array($0.utf8) })
        defer { session.out.removeAll() }
        return String(decoding: session.out, as: UTF8.self)
    }

    /// The snapshot bytes SnapshotWriter writes to a temporary file.
    func snapshot(inPlace: Bool, version: Int = 10) throws -> [UInt8] {
        var template = Array("/tmp/cairn-snapwalk-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { close(fd); unlink(path) }
        var o = SnapshotOptions()
        o.inPlace = inPlace
        o.version = version
        _ = try SnapshotWriter.write(engine, to: fd, options: o, usedMemory: 0)
        let size = Int(lseek(fd, 0, SEEK_END))
        var bytes = [UInt8](repeating: 0, count: size)
        _ = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, size, 0) }
        return bytes
    }
}

@Suite struct SnapshotWalkTests {
    /// Every type in every encoding, big and small elements, integers, expiries.
    func populated(_ h: EngineHarness) {
        let big = String(repeating: "x", count: 300)
        h.run(["SET", "s-small", "abc"])
        h.run(["SET", "s-int", "123456"])
        h.run(["SET", "s-neg", "-42"])
        h.run(["SET", "s-large", String(repeating: "v", count: 40)])
        h.run(["SET", "s-big", String(repeating: "q", count: 100_000)])
        h.run(["SET", "s-ttl", "t", "PX", "100000000"])
        h.run(["RPUSH", "l-small", "a", "1", "-7", big, "b"])
        for i in 0 ..< 3000 { h.run(["RPUSH", "l-big", "element-\(i)", String(i)]) }
        // A deque whose ring wraps around: pushes at the head after pops at the tail.
        for i in 0 ..< 20 { h.run(["RPUSH", "l-wrap", "e\(i)"]) }
        for _ in 0 ..< 10 { h.run(["RPOP", "l-wrap"]) }
        for i in 0 ..< 10 { h.run(["LPUSH", "l-wrap", "head-\(i)-\(big)"]) }
        h.run(["HSET", "h-small", "f1", "v1", "f2", "22", "long-field-name-here", "value"])
        for i in 0 ..< 600 { h.run(["HSET", "h-big", "field-\(i)", "value-\(i)"]) }
        h.run(["HSET", "h-wide", "f", big])
        h.run(["SADD", "set-ints", "1", "-5", "70000", "3"])
        h.run(["SADD", "set-ints64", "1", "9000000000"])
        h.run(["SADD", "set-str", "a", "b", "member-long-enough-to-be-large"])
        for i in 0 ..< 600 { h.run(["SADD", "set-bigints", String(i * 7)]) }
        h.run(["ZADD", "z-small", "1.5", "a", "-2", "b", "3", "c", "1e300", "big", "0.1", "tenth"])
        for i in 0 ..< 300 { h.run(["ZADD", "z-big", String(Double(i % 17) * 0.5), "member-\(i)"]) }
        h.run(["ZADD", "z-wide", "1", big])
        h.run(["PEXPIRE", "h-big", "100000000"])
        h.run(["SELECT", "3"])
        h.run(["HSET", "db3-hash", "x", "y"])
        h.run(["SELECT", "0"])
    }

    @Test func inPlaceWalkWritesTheSameBytesAsTheValueModel() throws {
        let h = EngineHarness()
        populated(h)
        let inPlace = try h.snapshot(inPlace: true)
        let model = try h.snapshot(inPlace: false)
        // The ctime aux field differs between two saves a second apart: compare around it.
        #expect(inPlace.count == model.count)
        let differing = zip(inPlace, model).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(differing.count <= 12, "\(differing.count) bytes differ, first at \(differing.first ?? -1)")
    }

    @Test func inPlaceWalkWithLRUAndLFUMetadata() throws {
        for policy in ["allkeys-lru", "allkeys-lfu"] {
            let h = EngineHarness()
            h.engine.eviction.policy = MaxmemoryPolicy(rawValue: policy)!
            h.engine.keyAccess.lruPolicy = policy.hasSuffix("lru")
            h.engine.keyAccess.mode = policy.hasSuffix("lfu") ? .lfu : .lru
            populated(h)
            let inPlace = try h.snapshot(inPlace: true)
            let model = try h.snapshot(inPlace: false)
            #expect(inPlace.count == model.count, "\(policy)")
        }
    }

    @Test func whatTheWalkWritesReadsBackIdentically() throws {
        let h = EngineHarness()
        populated(h)
        let bytes = try h.snapshot(inPlace: true)
        // Every key read back by StorageFormat's reader equals the engine's own value.
        var read = 0
        let reader = try RDBReader(source: MemorySource(bytes))
        while let record = try reader.next() {
            guard case .entry(let e) = record else { continue }
            let db = h.engine.databases[e.db]
            let v = try #require(db.lookupNoTouch(ByteString(e.key), now: h.engine.now), "\(String(decoding: e.key, as: UTF8.self))")
            // A skiplist is written highest score first: compare sorted sets in one order.
            func normal(_ v: RDBValue) -> RDBValue {
                guard case .sortedSet(let m) = v else { return v }
                return .sortedSet(m.sorted { $0.score != $1.score ? $0.score < $1.score : $0.member.lexicographicallyPrecedes($1.member) })
            }
            #expect(normal(v.rdbValue) == normal(e.value), "\(String(decoding: e.key, as: UTF8.self))")
            read += 1
        }
        #expect(read == h.engine.databases.reduce(0) { $0 + $1.count })
    }
}

@Suite struct AOFRewriteWalkTests {
    /// The plain-commands AOF rewrite (aof-use-rdb-preamble no) walks values in place too: replaying
    /// what it wrote into an empty engine gives the same dataset (DEBUG DIGEST), expiries included.
    @Test func replayedRewriteGivesTheSameDataset() throws {
        let source = EngineHarness()
        SnapshotWalkTests().populated(source)
        for i in 0 ..< 200 { source.run(["SET", "k\(i)", i % 3 == 0 ? String(i) : String(repeating: "s", count: i)]) }
        let path = "/tmp/cairn-aofwalk-\(getpid()).aof"
        defer { unlink(path) }
        try AOFRewriter.writeFile(source.engine, path: path, preamble: false, timestamps: false, compression: false,
                                  checksum: false, usedMemory: 0)
        let bytes = try #require(FileManager.default.contents(atPath: path)).map { $0 }
        let replay = EngineHarness()
        var at = 0
        var commands = 0
        while at < bytes.count {
            let r = bytes.withUnsafeBytes { RESPRequestParser.parse(UnsafeRawBufferPointer(rebasing: $0[at...])) }
            guard case .command(let args, let n) = r else { Issue.record("unparsable at \(at): \(r)"); return }
            replay.run(args.map { String(decoding: $0, as: UTF8.self) })
            at += n
            commands += 1
        }
        #expect(commands > 100)
        #expect(replay.run(["DEBUG", "DIGEST"]) == source.run(["DEBUG", "DIGEST"]))
        replay.run(["SELECT", "0"])  // the rewrite ends in the last database it wrote
        #expect(replay.run(["DBSIZE"]) == source.run(["DBSIZE"]))
        #expect(replay.run(["PTTL", "h-big"]).hasPrefix(":"))
        #expect(replay.run(["PTTL", "h-big"]) != ":-1\r\n")
    }
}
