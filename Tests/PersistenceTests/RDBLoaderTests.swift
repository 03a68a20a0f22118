// The snapshot writer and the loader together, in process, on a temporary folder: an engine holding
// every type in every encoding (with expiries, in several databases) saved by SnapshotWriter.saveFile
// and loaded by RDBLoader into a fresh engine has the same dataset (DEBUG DIGEST), the same keys and
// the same expiry times, at every RDB version the writer writes, compressed or not; keys already
// expired are dropped (or kept for an AOF preamble); a duplicate key and a truncated file are refused
// with an error that says so.
import Foundation
import Testing
@testable import Engine
@testable import Persistence
import StorageFormat
import TestSupport

/// Saves `engine` as `dir`/`name` through the server's own path (temporary file, fsync, rename).
@discardableResult
func saveSnapshot(_ engine: Engine, dir: String, name: String = "dump.rdb", version: Int = 10,
                  compression: Bool = true, checksum: Bool = true) throws -> String {
    var o = SnapshotOptions()
    o.version = version
    o.compression = compression
    o.checksum = checksum
    _ = try SnapshotWriter.saveFile(engine, dir: dir, dbfilename: name, options: o, usedMemory: 0)
    return dir + "/" + name
}

/// A fresh engine with `path` loaded into it.
func loadedEngine(_ path: String, keepExpired: Bool = false) throws -> (engine: Engine, result: LoadResult) {
    let engine = Engine(config: EngineConfig())
    engine.updateClock()
    let result = try RDBLoader.load(path: path, into: engine, keepExpired: keepExpired)
    return (engine, result)
}

@Suite struct RDBLoaderTests {
    /// SnapshotWalkTests' dataset (every type and encoding), plus expiries in other databases.
    func dataset() -> EngineHarness {
        let h = EngineHarness()
        SnapshotWalkTests().populated(h)
        h.run(["SELECT", "5"])
        for i in 0 ..< 50 { h.run(["SET", "ttl-\(i)", "v\(i)", "PX", String(10_000_000 + i * 1000)]) }
        h.run(["HSET", "h", "a", "1"])
        h.run(["PEXPIREAT", "h", "4102444800123"])
        h.run(["SELECT", "15"])
        h.run(["ZADD", "last-db", "1", "x"])
        h.run(["SELECT", "0"])
        return h
    }

    @Test(arguments: [(9, true), (10, true), (10, false), (11, true), (12, false)])
    func savedDatasetLoadsBackTheSame(version: Int, compression: Bool) throws {
        let h = dataset()
        let before = DatasetState(h.engine)
        #expect(before.keyCounts.count == 4 && before.expiries.count == 2, "\(before)")
        try withTempDir("cairn-rdbload") { dir in
            let path = try saveSnapshot(h.engine, dir: dir, version: version, compression: compression)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["dump.rdb"])
            let (loaded, result) = try loadedEngine(path)
            #expect(DatasetState(loaded) == before)
            #expect(result.keysLoaded == before.totalKeys)
            #expect(result.keysExpired == 0)
            // All of it read: an AOF preamble's commands start there.
            #expect(result.bytes == (try readBytes(path)).count)
            // And the loaded engine saves the same dataset again.
            let again = try saveSnapshot(loaded, dir: dir, name: "again.rdb", version: version, compression: compression)
            #expect(DatasetState(try loadedEngine(again).engine) == before)
        }
    }

    /// The values as the engine holds them, key by key (a digest mismatch says only that something differs).
    @Test func everyKeyLoadsWithItsTypeAndEncoding() throws {
        let h = dataset()
        try withTempDir("cairn-rdbload") { dir in
            let (loaded, _) = try loadedEngine(try saveSnapshot(h.engine, dir: dir))
            let l = EngineHarness(engine: loaded)
            for db in [0, 3, 5, 15] {
                h.run(["SELECT", String(db)])
                l.run(["SELECT", String(db)])
                var keys: [String] = []
                h.engine.databases[db].keys.forEach { key, _ in keys.append(String(decoding: key.bytes, as: UTF8.self)) }
                #expect(!keys.isEmpty)
                for k in keys {
                    #expect(l.run(["TYPE", k]) == h.run(["TYPE", k]), "\(db) \(k)")
                    #expect(l.run(["OBJECT", "ENCODING", k]) == h.run(["OBJECT", "ENCODING", k]), "\(db) \(k)")
                    #expect(l.run(["DEBUG", "DIGEST-VALUE", k]) == h.run(["DEBUG", "DIGEST-VALUE", k]), "\(db) \(k)")
                    #expect(l.run(["PEXPIRETIME", k]) == h.run(["PEXPIRETIME", k]), "\(db) \(k)")
                }
            }
        }
    }

    @Test func keysExpiredBeforeLoadingAreDroppedUnlessKept() throws {
        let h = EngineHarness()
        h.run(["SET", "stays", "v"])
        h.run(["SET", "soon", "v", "PX", "150"])
        h.run(["HSET", "soon-hash", "f", "v"])
        h.run(["PEXPIRE", "soon-hash", "150"])
        try withTempDir("cairn-rdbload") { dir in
            let path = try saveSnapshot(h.engine, dir: dir)
            usleep(300_000)
            let (dropped, r) = try loadedEngine(path)
            #expect(r.keysLoaded == 1 && r.keysExpired == 2)
            #expect(dropped.databases[0].count == 1)
            // An AOF's RDB preamble keeps them (they expire after loading, as in Redis).
            let (kept, k) = try loadedEngine(path, keepExpired: true)
            #expect(k.keysLoaded == 3 && k.keysExpired == 0)
            #expect(kept.databases[0].count == 3)
        }
    }

    /// Two keys of the same length saved, then the second renamed to the first in the file's bytes
    /// (no checksum, so the reader gets as far as the key).
    @Test func duplicateKeyIsRefused() throws {
        let h = EngineHarness()
        h.run(["SET", "key-one", "first"])
        h.run(["SET", "key-two", "second"])
        try withTempDir("cairn-rdbload") { dir in
            let path = try saveSnapshot(h.engine, dir: dir, checksum: false)
            var bytes = try readBytes(path)
            let two = Array("key-two".utf8), one = Array("key-one".utf8)
            let at = try #require((0 ... bytes.count - two.count).first { Array(bytes[$0 ..< $0 + two.count]) == two })
            bytes.replaceSubrange(at ..< at + two.count, with: one)
            try writeBytes(path, bytes)
            let error = #expect(throws: LoadError.self) { try loadedEngine(path) }
            #expect(error?.description.contains("Duplicate key 'key-one'") == true, "\(String(describing: error))")
            #expect(error?.description.contains("offset") == true, "\(String(describing: error))")
        }
    }

    /// The file cut anywhere (in the header, inside a value, before EOF, inside the checksum) is refused:
    /// never a partial dataset taken for a whole one.
    @Test func truncatedFileIsRefused() throws {
        let h = dataset()
        try withTempDir("cairn-rdbload") { dir in
            let path = try saveSnapshot(h.engine, dir: dir)
            let bytes = try readBytes(path)
            let cut = dir + "/cut.rdb"
            for length in [0, 5, 9, 40, bytes.count / 3, bytes.count / 2, bytes.count - 9, bytes.count - 8, bytes.count - 1] {
                try writeBytes(cut, Array(bytes[0 ..< length]))
                let error = #expect(throws: (any Error).self, "cut at \(length) of \(bytes.count)") { try loadedEngine(cut) }
                let text = error.map { String(describing: $0) } ?? ""
                // Where, and that the file ended: "offset 40: RDB: expected 1 more bytes for AUX value, found
                // end of file", "... expected 3621 bytes of LZF data, found only 2278 bytes left in the file".
                #expect(text.contains("offset "), "cut at \(length): \(text)")
                #expect(text.contains("end of file") || text.contains("left in the file"), "cut at \(length): \(text)")
            }
            // The whole file still loads.
            #expect(DatasetState(try loadedEngine(path).engine) == DatasetState(h.engine))
        }
    }
}
