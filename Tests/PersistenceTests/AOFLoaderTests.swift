// The AOF in process, on a temporary folder: an engine's writes go through AppendOnlyFile (its base
// written by the AOF rewriter, with an RDB preamble or as plain commands, then the INCR fed by the
// engine's propagation) and AppendOnlyFile.loadAtStart replays the folder into a fresh engine, which
// then holds the same dataset (DEBUG DIGEST, keys, expiry times). A last command cut anywhere is cut
// off with aof-load-truncated yes (the file truncated to the last whole command, every command before
// it replayed) and refused with aof-load-truncated no (the file left as it is); a corrupt command in
// the middle is refused whatever the setting.
import Foundation
import Testing
@testable import Engine
@testable import Persistence
import StorageFormat
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

func aofSettings(_ dir: String, preamble: Bool, loadTruncated: Bool = true) -> AOFSettings {
    AOFSettings(dir: dir, dirName: "appendonlydir", fileName: "appendonly.aof", useRDBPreamble: preamble,
                autoRewritePercentage: 0, autoRewriteMinSize: 64 << 20, disableAutoGC: false, loadTruncated: loadTruncated,
                rdbCompression: true, rdbChecksum: true)
}

/// A fresh engine with the AOF folder of `settings` loaded into it, and what the loader reported.
func loadAOF(_ settings: AOFSettings) throws -> (engine: Engine, manifest: AOFManifest, summary: AOFLoadSummary) {
    let engine = Engine(config: EngineConfig())
    engine.updateClock()
    let aof = AppendOnlyFile(engine: engine, settings: { settings })
    let (manifest, summary) = try #require(try aof.loadAtStart())
    return (engine, manifest, summary)
}

@Suite struct AOFLoaderTests {
    /// Writes after the base: expiries (relative ones propagate as absolute times), non-deterministic
    /// commands (propagated in their deterministic form), a transaction, other databases, deletions.
    static let workload = [
        "SET t1 v EX 100000", "SETEX t2 200000 v", "SET t3 v PX 300000000", "EXPIRE s-small 400000", "PERSIST s-ttl",
        "INCRBYFLOAT f 1.5", "INCRBYFLOAT f 0.25", "SADD popme a b c d e f g", "SPOP popme", "SPOP popme 2",
        "RPUSH l-new x y z", "LPOP l-big", "RPOP l-wrap", "LREM l-small 0 a", "HSET h-small f3 v3", "HDEL h-big field-7",
        "HINCRBYFLOAT h-small fl 2.5", "ZINCRBY z-small 0.5 a", "ZREM z-big member-3", "SREM set-ints 70000", "DEL s-big",
        "MULTI", "SET m1 1", "INCR m1", "EXPIRE m1 500000", "EXEC",
        "SELECT 7", "SET in7 x", "HSET h7 a 1", "SELECT 3", "DEL db3-hash", "SET db3-new y", "SELECT 0",
        "RENAME s-int s-int-renamed", "COPY s-neg s-neg-copy", "APPEND s-small tail", "SETRANGE s-large 2 xyz",
        "SET last-before v",
    ]

    /// Runs `workload` (and then `last`, if given) through an AOF in `dir`; returns the dataset
    /// before `last` and the engine.
    func writeAOF(_ settings: AOFSettings, last: [String]? = nil) throws -> (before: DatasetState, engine: Engine) {
        let h = EngineHarness()
        SnapshotWalkTests().populated(h)
        let aof = AppendOnlyFile(engine: h.engine, settings: { settings })
        aof.policy = .always
        try aof.openAtStart(loadedManifest: nil)
        for line in AOFLoaderTests.workload {
            let reply = h.run(argv(line).map { String(decoding: $0, as: UTF8.self) })
            #expect(!reply.hasPrefix("-"), "\(line) → \(reply)")
            aof.flush()
        }
        let before = DatasetState(h.engine)
        if let last {
            h.run(last)
            aof.flush()
        }
        aof.turnOff()
        return (before, h.engine)
    }

    /// The folder's INCR file (the one the writes went to).
    func incrPath(_ settings: AOFSettings) throws -> String {
        let m = try AOFManifest.read(path: settings.dirPath + "/appendonly.aof.manifest")
        return settings.dirPath + "/" + (try #require(m.incrs.last)).name
    }

    @Test(arguments: [true, false])
    func writesReplayToTheSameDataset(preamble: Bool) throws {
        try withTempDir("cairn-aofload") { dir in
            let s = aofSettings(dir, preamble: preamble)
            let (_, source) = try writeAOF(s)
            let files = try FileManager.default.contentsOfDirectory(atPath: s.dirPath).sorted()
            #expect(files == ["appendonly.aof.1.base.\(preamble ? "rdb" : "aof")", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"])
            let (loaded, manifest, summary) = try loadAOF(s)
            #expect(DatasetState(loaded) == DatasetState(source))
            #expect(manifest.base?.name == files[0])
            #expect(manifest.incrs.map(\.name) == [files[1]])
            #expect(summary.truncatedAt == nil)
            // The base holds the dataset written before the AOF was on, the INCR the workload.
            if preamble {
                #expect(summary.rdbKeys > 10)
            } else {
                #expect(summary.rdbKeys == 0)
            }
            #expect(summary.commands >= AOFLoaderTests.workload.count - 8)
            // Loading never touches the files.
            let reloaded = try loadAOF(s)
            #expect(DatasetState(reloaded.engine) == DatasetState(source))
        }
    }

    /// The last command cut at every byte: with aof-load-truncated yes the loader replays everything
    /// before it and truncates the file to where it starts; with no it refuses and leaves the file.
    @Test(arguments: [true, false])
    func truncatedLastCommandIsCutOffOrRefused(loadTruncated: Bool) throws {
        try withTempDir("cairn-aofload") { dir in
            let s = aofSettings(dir, preamble: true)
            let (before, source) = try writeAOF(s, last: ["SET", "the-last-key", String(repeating: "L", count: 40)])
            let incr = try incrPath(s)
            let pristine = try readBytes(incr)
            // Where the last command starts, as the reader sees the file.
            let reader = try AOFReader(path: incr)
            var lastStart = -1
            while let record = try reader.next() { if case .command(_, let start, _) = record { lastStart = start } }
            #expect(lastStart > 0 && lastStart < pristine.count)
            // Whole, it loads to the source's dataset (the last key included).
            #expect(DatasetState(try loadAOF(aofSettings(dir, preamble: true, loadTruncated: loadTruncated)).engine) == DatasetState(source))
            for cut in lastStart + 1 ..< pristine.count {
                try writeBytes(incr, Array(pristine[0 ..< cut]))
                let settings = aofSettings(dir, preamble: true, loadTruncated: loadTruncated)
                if loadTruncated {
                    let (loaded, _, summary) = try loadAOF(settings)
                    #expect(DatasetState(loaded) == before, "cut at \(cut)")
                    #expect(summary.truncatedAt == lastStart, "cut at \(cut)")
                    #expect(try readBytes(incr) == Array(pristine[0 ..< lastStart]), "cut at \(cut)")
                } else {
                    let error = #expect(throws: LoadError.self, "cut at \(cut)") { try loadAOF(settings) }
                    #expect(error?.description.contains("Unexpected end of file reading the append only file appendonly.aof.1.incr.aof") == true,
                            "cut at \(cut): \(String(describing: error))")
                    #expect(try readBytes(incr).count == cut, "cut at \(cut)")
                }
            }
        }
    }

    /// A command that is not RESP in the middle of the INCR is refused with its offset, even with
    /// aof-load-truncated yes (only a cut tail is forgiven).
    @Test func corruptCommandInTheMiddleIsRefused() throws {
        try withTempDir("cairn-aofload") { dir in
            let s = aofSettings(dir, preamble: false)
            _ = try writeAOF(s)
            let incr = try incrPath(s)
            var bytes = try readBytes(incr)
            let reader = try AOFReader(path: incr)
            var starts: [Int] = []
            while let record = try reader.next() { if case .command(_, let start, _) = record { starts.append(start) } }
            let victim = starts[starts.count / 2]
            bytes[victim] = UInt8(ascii: "!")
            try writeBytes(incr, bytes)
            let error = #expect(throws: LoadError.self) { try loadAOF(s) }
            #expect(error?.description.contains("Bad file format reading the append only file appendonly.aof.1.incr.aof at offset \(victim)") == true,
                    "\(String(describing: error))")
            #expect(try readBytes(incr) == bytes)
        }
    }
}
