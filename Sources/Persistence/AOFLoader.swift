// Loading the AOF at start-up (appendonly yes), as Redis 7 does: the manifest's BASE, then each INCR
// in order; an RDB preamble is loaded as an RDB and the commands after it are replayed. A legacy
// single-file `appendonly.aof` is moved into the directory as BASE 1 first. A truncated tail of the
// last file is cut off (aof-load-truncated yes) or refused; anything else wrong stops start-up with
// the file, the offset and the reason.
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
}

extension AppendOnlyFile {
    /// Loads the AOF into the (empty) engine. Returns the manifest to continue appending with, or nil
    /// when there are no AOF files at all. `progress` is called every few thousand commands with the
    /// bytes read so far. Throws LoadError with Redis-style text on anything fatal.
    public func loadAtStart(progress: ((Int) -> Void)? = nil) throws -> (AOFManifest, AOFLoadSummary)? {
        let s = settings()
        let manifestPath = path(AOFManifest.manifestName(s.fileName))
        var m: AOFManifest
        if access(manifestPath, F_OK) == 0 {
            let bytes: [UInt8]
            do { bytes = try readWholeFile(manifestPath) } catch { throw LoadError("Can't read the AOF manifest \(manifestPath): \(error)") }
            do {
                m = try AOFManifest.parse(bytes)
            } catch let e as AOFManifestError {
                throw LoadError((["*** FATAL AOF MANIFEST FILE ERROR ***"] + e.logLines).joined(separator: "\n"))
            }
        } else if access(s.dir + "/" + s.fileName, F_OK) == 0 {
            // Redis 7's upgrade: the old single file becomes BASE 1 inside the directory.
            try ensureDirectory()
            m = AOFManifest(base: AOFManifestEntry(name: s.fileName, seq: 1, type: .base))
            guard rename(s.dir + "/" + s.fileName, path(s.fileName)) == 0 else {
                throw LoadError("Error moving the old AOF file \(s.fileName) into dir \(s.dirName): \(AppendOnlyFile.errnoText())")
            }
            try persistManifest(m)
            log(false, "Successfully migrated an old-style AOF file (\(s.fileName)) into the AOF directory (\(s.dirName)).")
        } else {
            return nil
        }
        var files: [String] = []
        if let b = m.base { files.append(b.name) }
        files += m.incrs.map(\.name)
        for f in files where access(path(f), F_OK) != 0 {
            throw LoadError("The AOF file \(f) doesn't exist")
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

    func formatSeconds(_ ms: Int64) -> String {
        let s = String(ms / 1000), frac = String(ms % 1000)
        return s + "." + String(repeating: "0", count: 3 - frac.count) + frac
    }

    func loadFile(_ name: String, isLast: Bool, summary: inout AOFLoadSummary, progress: ((Int) -> Void)?) throws {
        let p = path(name)
        let size = AppendOnlyFile.fileSize(p)
        if size == 0 { return }
        let reader: AOFReader
        do { reader = try AOFReader(path: p) } catch { throw LoadError("Can't open the append-only file \(name): \(error)") }
        let base = summary.bytes
        if reader.hasRDBPreamble {
            log(false, "Reading RDB base file on AOF loading...")
            do {
                let r = try RDBLoader.load(path: p, into: engine) { progress?(base + $0) }
                summary.rdbKeys += r.keysLoaded
                log(false, "Done loading RDB, keys loaded: \(r.keysLoaded), keys expired: \(r.keysExpired).")
                try reader.seek(to: r.bytes)
                log(false, "Reading the remaining AOF tail...")
            } catch let e as LoadError {
                throw e
            } catch {
                throw LoadError("Error reading the RDB base file \(name), AOF loading aborted: \(error)")
            }
        }
        let session = engine.newSession()
        session.authenticated = true
        defer { engine.endSession(session) }
        var sinceProgress = 0
        do {
            while let record = try reader.next() {
                guard case .command(let args, let start, _) = record else { continue }
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
            summary.bytes = base + size
        } catch let e as AOFReadError {
            switch e {
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
            case .corrupt(let f):
                throw LoadError("Bad file format reading the append only file \(name) at offset \(f.offset): \(f)")
            }
        }
    }
}
