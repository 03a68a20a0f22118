// AOFRewriter: the dataset as an AOF base file — an RDB (aof-use-rdb-preamble yes, what Redis 7 writes
// by default) or the commands that rebuild each key (StorageFormat's AOFCommands.rewrite). Runs in the
// fork()ed rewrite child, or in the server on a first start; only the writers and plain system calls.
#if canImport(Glibc)
import Glibc
#endif
import Engine
import StorageFormat

enum AOFRewriter {
    /// Writes the base file to `path`, fsyncs and closes it. On failure the file is removed.
    static func writeFile(_ engine: Engine, path: String, preamble: Bool, timestamps: Bool, compression: Bool,
                          checksum: Bool, usedMemory: Int) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 {
            throw SnapshotError("Opening the temp file for AOF rewrite in rewriteAppendOnlyFile(): \(String(cString: strerror(errno)))")
        }
        do {
            if preamble {
                var o = SnapshotOptions()
                o.compression = compression
                o.checksum = checksum
                o.aofBase = true
                _ = try SnapshotWriter.write(engine, to: fd, options: o, usedMemory: usedMemory)
            } else {
                try writeCommands(engine, to: fd, timestamps: timestamps)
            }
            try DurableFile.sync(fd, path: path)
        } catch {
            close(fd)
            unlink(path)
            if let e = error as? FileError {
                throw SnapshotError("Write error writing append only file on disk (fsync): \(e.reason)")
            }
            throw error
        }
        do throws(FileError) {
            try DurableFile.close(fd, path: path)
        } catch {
            unlink(path)
            throw SnapshotError("Write error writing append only file on disk (close): \(error.reason)")
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        do throws(FileError) {
            try DurableFile.writeAll(fd, bytes, path: "AOF")
        } catch {
            throw SnapshotError("Write error writing append only file on disk: \(error.reason)")
        }
    }

    /// The plain-commands base: SELECT per database, then each key's commands (64 items per command).
    static func writeCommands(_ engine: Engine, to fd: Int32, timestamps: Bool) throws {
        var out: [UInt8] = []
        out.reserveCapacity(1 << 17)
        var sinceSync = 0
        func spill() throws {
            guard out.count >= 1 << 16 else { return }
            try writeAll(fd, out)
            sinceSync += out.count
            out.removeAll(keepingCapacity: true)
            // Like aof-rewrite-incremental-fsync: flush to disk every 4 MB.
            if sinceSync >= 4 << 20 {
                do throws(FileError) {
                    try DurableFile.syncData(fd, path: "AOF")
                } catch {
                    throw SnapshotError("Write error writing append only file on disk (fsync): \(error.reason)")
                }
                sinceSync = 0
            }
        }
        if timestamps {
            AOFCommands.appendTimestamp(engine.now / 1000 == 0 ? AppendOnlyFile.nowSeconds() : engine.now / 1000, to: &out)
        }
        // Function libraries first, as FUNCTION LOAD commands (Redis's rewriteFunctions).
        for code in engine.functionLibraryCodes {
            AOFCommands.append([Array("FUNCTION".utf8), Array("LOAD".utf8), code], to: &out)
            try spill()
        }
        let layout = BorrowedValue.layout
        for db in engine.databases where db.count > 0 {
            AOFCommands.append([AppendOnlyFile.selectName, StrictInteger.format(Int64(db.id))], to: &out)
            db.expires.pauseRehashing()
            defer { db.expires.resumeRehashing() }
            let marks = db.expiryMarks()
            var index = 0
            try db.keys.forEachBorrowed { keyPtr, valuePtr, _ in
                let expire = marks.map { $0[index >> 6] & (1 &<< UInt64(index & 63)) != 0 } == true ? db.expireTime(keyPtr.pointee) : nil
                index += 1
                // Read in place (BorrowedValue): in the forked child, nothing retained, nothing copied.
                let done: Bool = try BorrowedValue.withKeyBytes(keyPtr, layout) { key in
                    guard let layout, let kind = BorrowedValue.kind(valuePtr, layout) else { return false }
                    switch kind {
                    case .int, .smallString, .largeString:
                        StringValue.rewriteInPlace(valuePtr, kind, layout, key: key, to: &out)
                    case .list, .hash, .set, .zset, .stream:
                        var visitor = AOFAggregateRewriter(out: [], key: key)
                        swap(&visitor.out, &out)
                        defer { swap(&visitor.out, &out) }
                        guard try BorrowedValue.visitAggregate(valuePtr, kind, layout, &visitor) else { return false }
                    }
                    if let expire {
                        var ms: [UInt8] = []
                        RESPEncoder.appendDecimal(Int(expire), to: &ms)
                        AOFCommands.appendCommandHead("PEXPIREAT", key: key, argc: 3, to: &out)
                        ms.withUnsafeBytes { AOFCommands.appendBulk($0, to: &out) }
                    }
                    return true
                }
                if !done {
                    try AOFCommands.rewrite(key: keyPtr.pointee.bytes, value: valuePtr.pointee.rdbValue, expiresAt: expire) { args in
                        AOFCommands.append(args, to: &out)
                    }
                }
                try spill()
                ChildInfo.keyDone()
                DebugDelays.pause(DebugDelays.keySave)
            }
        }
        try writeAll(fd, out)
    }
}
