// Loading the AOF at start-up (appendonly yes), as Redis 7 does: the manifest's BASE, then each INCR
// in order; an RDB preamble is loaded as an RDB and the commands after it are replayed. A legacy
// single-file `appendonly.aof` is moved into the directory as BASE 1 first. A truncated tail of the
// last file is cut off (aof-load-truncated yes) or refused; anything else wrong stops start-up with
// the file, the offset and the reason. The per-file step (AOFReplay.replayFile) is public: cairn-rdb
// convert replays an AOF through it without a server.
#if canImport(Glibc)
import Glibc
#endif
import Engine
import StorageFormat

public struct AOFLoadSummary: Sendable {
    public var commands = 0
    public var rdbKeys = 0
    public var bytes = 0
    public var truncatedAt: Int? = nil
    public init() {}
}

extension AppendOnlyFile {
    /// Loads the AOF into the (empty) engine. Returns the manifest to continue appending with, or nil
    /// when there are no AOF files at all. `progress` is called every few thousand commands with the
    /// bytes read so far. Throws LoadError with Redis-style text on anything fatal.
    public func loadAtStart(progress: ((Int) -> Void)? = nil) throws -> (AOFManifest, AOFLoadSummary)? {
        let s = settings()
        let manifestPath = path(AOFManifest.manifestName(s.fileName))
        var m = AOFManifest()
        if access(manifestPath, F_OK) == 0 {
            let bytes: [UInt8]
            do { bytes = try readWholeFile(manifestPath) } catch { throw LoadError("Can't read the AOF manifest \(manifestPath): \(error)") }
            do {
                m = try AOFManifest.parse(bytes)
            } catch let e as AOFManifestError {
                throw LoadError((["*** FATAL AOF MANIFEST FILE ERROR ***"] + e.logLines).joined(separator: "\n"))
            }
        }
        // Redis 7's upgrade from a single `appendonly.aof` in `dir`: when the AOF directory has no
        // manifest (or lists no files), or an interrupted upgrade left a manifest whose only file is
        // that BASE but did not move the file yet, the old file becomes BASE 1 inside the directory.
        let oldPath = s.dir + "/" + s.fileName
        if access(oldPath, F_OK) == 0 {
            let noFiles = m.base == nil && m.incrs.isEmpty
            let interrupted = m.incrs.isEmpty && m.base?.name == s.fileName && access(path(s.fileName), F_OK) != 0
            if noFiles || interrupted {
                try ensureDirectory()
                if noFiles { m = AOFManifest(base: AOFManifestEntry(name: s.fileName, seq: 1, type: .base)) }
                try persistManifest(m)
                guard rename(oldPath, path(s.fileName)) == 0 else {
                    throw LoadError("Error moving the old AOF file \(s.fileName) into dir \(s.dirName): \(AppendOnlyFile.errnoText())")
                }
                try AppendOnlyFile.fsyncDirectory(dirPath)
                log(false, "Successfully migrated an old-style AOF file (\(s.fileName)) into the AOF directory (\(s.dirName)).")
            }
        }
        // Like Redis's aofLoadManifestFromDisk: the manifest read is the one appended to from now on.
        manifest = m
        if m.base == nil && m.incrs.isEmpty { return nil }
        var files: [String] = []
        if let b = m.base { files.append(b.name) }
        files += m.incrs.map(\.name)
        for f in files {
            var st = stat()
            if stat(path(f), &st) != 0 {
                throw LoadError("Unable to obtain the AOF file \(f) length. stat: \(AppendOnlyFile.errnoText())")
            }
        }
        var summary = AOFLoadSummary()
        let t0 = AppendOnlyFile.monotonicMS()
        for (i, f) in files.enumerated() {
            let kind = (i == 0 && m.base != nil) ? "base" : "incr"
            let t1 = AppendOnlyFile.monotonicMS()
            let before = summary.bytes
            try loadFile(f, isLast: i == files.count - 1, summary: &summary, progress: progress)
            if summary.bytes > before {
                log(false, "DB loaded from \(kind) file \(f): \(formatSeconds(AppendOnlyFile.monotonicMS() - t1)) seconds")
            }
        }
        log(false, "DB loaded from append only file: \(formatSeconds(AppendOnlyFile.monotonicMS() - t0)) seconds")
        engine.dirty = 0
        return (m, summary)
    }

    /// DEBUG LOADAOF, as Redis does it (with the AOF on or off): reads the manifest again (the
    /// sequence numbers continue from its BASE and INCR lines), deletes the HISTORY files, and loads
    /// the files into the (emptied) engine.
    public func reloadForDebug() throws {
        _ = try loadAtStart()
        deleteHistory()
    }

    func formatSeconds(_ ms: Int64) -> String {
        let s = String(ms / 1000), frac = String(ms % 1000)
        return s + "." + String(repeating: "0", count: 3 - frac.count) + frac
    }

    func loadFile(_ name: String, isLast: Bool, summary: inout AOFLoadSummary, progress: ((Int) -> Void)?) throws {
        let p = path(name)
        let size = AppendOnlyFile.fileSize(p)
        if size == 0 { return }
        let base = summary.bytes
        let end = try AOFReplay.replayFile(p, name: name, into: engine, summary: &summary,
                                           log: { self.log(false, $0) }, progress: progress)
        switch end {
        case .complete, .stoppedAt:
            summary.bytes = base + size
        case .truncated(let validUpTo, let offset, let reason):
            log(true, "!!! Warning: short read while loading the AOF file \(name)!!! (\(reason) at offset \(offset))")
            if !isLast {
                throw LoadError("Fatal error: the truncated file \(name) is not the last file")
            }
            guard settings().loadTruncated else {
                throw LoadError("Unexpected end of file reading the append only file \(name). You can: 1) Make a backup of your AOF file, then use ./cairn-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.")
            }
            log(true, "!!! Truncating the AOF \(name) at offset \(validUpTo) !!!")
            if truncate(p, off_t(validUpTo)) != 0 {
                throw LoadError("Error truncating the AOF file \(name): \(AppendOnlyFile.errnoText())")
            }
            log(true, "AOF \(name) loaded anyway because aof-load-truncated is enabled")
            summary.truncatedAt = validUpTo
            summary.bytes = base + validUpTo
        }
    }
}

/// How replaying one AOF file ended.
public enum AOFReplayEnd: Sendable, Equatable {
    case complete
    /// The file ends inside a command; every command before `validUpTo` was replayed.
    case truncated(validUpTo: Int, offset: Int, reason: String)
    /// A `#TS:` annotation later than the requested time; nothing after it was replayed.
    case stoppedAt(timestamp: Int64)
}

/// Replays one AOF file into an engine: the start-up loader's per-file step, shared with the offline
/// tools (cairn-rdb convert), which replay an AOF without a server.
public enum AOFReplay {
    /// Replays `path` into `engine`: an RDB preamble (or a `.rdb` base) through RDBLoader, then every
    /// command through `Engine.replay` in one fresh session (database 0), as the server loads it at
    /// start. Never modifies the file. With `until`, stops at the first `#TS:` annotation later than
    /// that Unix time (seconds). A command left open in MULTI when the replay stops is not run.
    /// `name` is the file's name in messages; `progress` gets `summary.bytes` at entry plus the
    /// offset reached. Throws LoadError with Redis-style text on a corrupt file or an unknown command.
    public static func replayFile(_ path: String, name: String, into engine: Engine, until: Int64? = nil,
                                  summary: inout AOFLoadSummary, log: (String) -> Void,
                                  progress: ((Int) -> Void)?) throws -> AOFReplayEnd {
        let reader: AOFReader
        do { reader = try AOFReader(path: path) } catch { throw LoadError("Can't open the append-only file \(name): \(error)") }
        let base = summary.bytes
        if reader.hasRDBPreamble {
            log("Reading RDB base file on AOF loading...")
            do {
                let r = try RDBLoader.load(path: path, into: engine, keepExpired: true) { progress?(base + $0) }
                summary.rdbKeys += r.keysLoaded
                log("Done loading RDB, keys loaded: \(r.keysLoaded), keys expired: \(r.keysExpired).")
                try reader.seek(to: r.bytes)
                log("Reading the remaining AOF tail...")
            } catch let e as LoadError {
                throw e
            } catch {
                throw LoadError("Error reading the RDB base file \(name), AOF loading aborted: \(error)")
            }
        }
        let session = engine.newSession()
        session.authenticated = true
        // Like Redis's loading client, replay is not subject to any user's permissions.
        session.user = engine.acl.internalUser
        defer { engine.endSession(session) }
        var sinceProgress = 0
        let wasLoadingAOF = engine.loadingAOF
        engine.loadingAOF = true
        defer { engine.loadingAOF = wasLoadingAOF }
        do {
            while let record = try reader.next() {
                switch record {
                case .annotation(let line, _):
                    if let until, let ts = AOFReader.timestamp(line), ts > until { return .stoppedAt(timestamp: ts) }
                case .command(let args, let start, _):
                    if !engine.replay(session, args) {
                        throw LoadError("Unknown command '\(String(decoding: args[0].prefix(128), as: UTF8.self))' reading the append only file \(name) at offset \(start)")
                    }
                    summary.commands += 1
                    sinceProgress += 1
                    if sinceProgress >= 1024 {
                        sinceProgress = 0
                        progress?(base + reader.offset)
                    }
                }
            }
            return .complete
        } catch let e as AOFReadError {
            switch e {
            case .truncated(let validUpTo, let offset, let reason):
                return .truncated(validUpTo: validUpTo, offset: offset, reason: reason)
            case .corrupt(let f):
                throw LoadError("Bad file format reading the append only file \(name) at offset \(f.offset): \(f)")
            }
        }
    }
}
