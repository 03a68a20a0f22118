// SnapshotWriter: the whole keyspace as an RDB file (version 10, what Redis 7.0 writes, unless the
// options ask for another), through StorageFormat's RDBWriter, to a descriptor. Used by SAVE in the
// server process, by the fork()ed BGSAVE child (where it must use only the writer and plain system
// calls), and by cairn-rdb convert to write a replayed AOF.
#if canImport(Glibc)
import Glibc
#endif
import Engine
import StorageFormat

public struct SnapshotOptions: Sendable {
    public var compression = true
    public var checksum = true
    /// Marks the file as an AOF base (aux field aof-base).
    public var aofBase = false
    /// RDB version to write (9–12); the server always writes 10.
    public var version = 10
    /// Aggregates written straight from their structures (false: through StorageFormat's value model,
    /// the slower path that copies each value; kept to check the two give the same bytes).
    public var inPlace = true
    /// The replication aux fields to write (repl-stream-db, repl-id, repl-offset), if any.
    public var replicationAux: ReplicationAux? = nil
    /// Leave out the keys / the function libraries (a filtered RDB for a replica that asked for one).
    public var excludeData = false
    public var excludeFunctions = false
    public init() {}
}

/// A node's replication ID and offset, and the database its stream last selected, as an RDB keeps them.
public struct ReplicationAux: Sendable {
    public var streamDB: Int
    public var id: String
    public var offset: Int
    public init(streamDB: Int, id: String, offset: Int) {
        self.streamDB = streamDB; self.id = id; self.offset = offset
    }
}

public struct SnapshotError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

public enum SnapshotWriter {
    /// Writes every database of `engine` to `fd`. Returns the number of keys written.
    /// `syncEvery4MB`: fsync as it goes (files; not a pipe or a socket).
    static func write(_ engine: Engine, to fd: Int32, options: SnapshotOptions, usedMemory: Int,
                      onKey: (() -> Void)? = nil, syncEvery4MB: Bool = true) throws -> Int {
        var w = RDBWriterOptions(version: options.version)
        w.compression = options.compression
        w.checksum = options.checksum
        var sinceSync = 0
        let writer = try RDBWriter(options: w) { bytes in
            do throws(FileError) {
                try DurableFile.writeAll(fd, bytes, path: "RDB")
                // Like rdb-save-incremental-fsync: flush to disk every 4 MB so the final fsync is short.
                sinceSync += bytes.count
                if syncEvery4MB && sinceSync >= 4 << 20 {
                    try DurableFile.syncData(fd, path: "RDB")
                    sinceSync = 0
                }
            } catch {
                let what = error.operation == .fsync ? " (fsync)" : ""
                throw SnapshotError("Write error saving DB on disk\(what): \(error.reason)")
            }
        }
        try writer.writeHeader()
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        try writer.writeStandardAux(ctime: Int64(ts.tv_sec), usedMem: Int64(usedMemory), aofBase: options.aofBase)
        if let r = options.replicationAux {
            try writer.writeAux(Array("repl-stream-db".utf8), StrictInteger.format(Int64(r.streamDB)))
            try writer.writeAux(Array("repl-id".utf8), Array(r.id.utf8))
            try writer.writeAux(Array("repl-offset".utf8), StrictInteger.format(Int64(r.offset)))
        }
        // Function libraries come before the keys, as Redis writes them.
        if !options.excludeFunctions {
            for code in engine.functionLibraryCodes { try writer.writeFunction(code: code) }
        }
        var keys = 0
        let layout = BorrowedValue.layout
        let access = engine.keyAccess
        let saveIdle = access.lruPolicy, saveFreq = access.lfuPolicy
        for db in engine.databases where db.count > 0 && !options.excludeData {
            try writer.writeSelectDB(db.id)
            try writer.writeResizeDB(dbSize: UInt64(db.count), expiresSize: UInt64(db.expiresCount))
            // Borrowed walk: no copies and no reference counting on the stored keys and values,
            // so a forked child does not dirty (and copy) the pages the dataset lives on.
            db.expires.pauseRehashing()
            defer { db.expires.resumeRehashing() }
            let marks = db.expiryMarks()
            var index = 0
            try db.keys.forEachBorrowed { keyPtr, valuePtr, bits in
                let expire = marks.map { $0[index >> 6] & (1 &<< UInt64(index & 63)) != 0 } == true ? db.expireTime(keyPtr.pointee) : nil
                index += 1
                // Under an LRU or LFU maxmemory policy each key carries its idle time or counter, as Redis writes them.
                let idle: UInt64? = saveIdle ? UInt64(access.idleSeconds(bits)) : nil
                let freq: UInt8? = saveFreq ? UInt8(access.decayedCounter(bits)) : nil
                try BorrowedValue.withKeyBytes(keyPtr, layout) { key in
                    // Strings read in place, no reference counting (BorrowedValue): in a forked
                    // child that is what keeps the pages holding string buffers shared.
                    if let layout, let kind = BorrowedValue.kind(valuePtr, layout) {
                        switch kind {
                        case .int, .smallString, .largeString:
                            return try StringValue.writeInPlace(valuePtr, kind, layout, key: key, to: writer,
                                                                expiresAt: expire, idle: idle, freq: freq)
                        case .list, .hash, .set, .zset, .stream:
                            if options.inPlace, try BorrowedValue.writeAggregate(valuePtr, kind, layout, key: key, to: writer,
                                                                                  expiresAt: expire, idle: idle, freq: freq) {
                                return
                            }
                        }
                    }
                    switch valuePtr.pointee {
                    case .string(.int(let v)):
                        try writer.writeIntegerEntry(key: key, value: v, expiresAt: expire, idle: idle, freq: freq)
                    case .string(.bytes(let b)), .string(.raw(let b)):
                        try b.withUnsafeBytes { try writer.writeStringEntry(key: key, value: $0, expiresAt: expire, idle: idle, freq: freq) }
                    default:
                        try writer.writeEntry(key: key, value: valuePtr.pointee.rdbValue, expiresAt: expire, idle: idle, freq: freq)
                    }
                }
                keys += 1
                ChildInfo.keyDone()
                DebugDelays.pause(DebugDelays.keySave)
                onKey?()
            }
        }
        try writer.finish()
        return keys
    }

    /// Writes the snapshot to `temp-<pid>.rdb` in `dir`, fsyncs it, renames it over `dbfilename`,
    /// and fsyncs the directory. On failure the temporary file is removed and the old file stays.
    public static func saveFile(_ engine: Engine, dir: String, dbfilename: String, options: SnapshotOptions, usedMemory: Int,
                                onKey: (() -> Void)? = nil) throws -> Int {
        let temp = dir + "/temp-\(getpid()).rdb"
        let target = dbfilename.hasPrefix("/") ? dbfilename : dir + "/" + dbfilename
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 {
            throw SnapshotError("Failed opening the temp RDB file \(temp) (in server root dir \(dir)) for saving: \(String(cString: strerror(errno)))")
        }
        let keys: Int
        do {
            keys = try write(engine, to: fd, options: options, usedMemory: usedMemory, onKey: onKey)
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        do throws(FileError) {
            try DurableFile.commit(fd, temp: temp, to: target)
        } catch {
            switch error.operation {
            case .rename:
                throw SnapshotError("Error moving temp DB file \(temp) on the final destination \(target) (in server root dir \(dir)): \(error.reason)")
            case .fsyncDirectory:
                throw SnapshotError("Failed to fsync the directory \(DurableFile.directory(of: target)) after saving the DB: \(error.reason)")
            default:
                throw SnapshotError("Write error saving DB on disk (\(error.operation.rawValue)): \(error.reason)")
            }
        }
        return keys
    }
}
