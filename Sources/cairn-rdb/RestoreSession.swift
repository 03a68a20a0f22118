// RestoreSession: what `restore` sends and how it keeps count. Keys of an RDB file become RESTORE
// (or type commands); an AOF's commands are forwarded as they are. Everything is pipelined: commands
// are buffered until `pipeline` replies are pending (or 8 MB are buffered), then all replies are read
// and matched to the key or command they answer.
// Values are walked element by element (RDBReader.nextWalking): a value up to BoundedValue.defaultLimit
// (16 MiB, estimated) is held whole and sent as RESTORE (or type commands); a bigger aggregate is sent
// as type commands while it is walked (a RESTORE payload would need it whole), so memory stays flat.
import ArgumentParser
import StorageFormat
import ToolKit
#if canImport(Glibc)
import Glibc
#endif

/// An AOF input: its files in load order.
struct AOFInput {
    var files: [String]

    /// An appendonlydir, its manifest, or a single AOF file (starting with '*', or an RDB preamble in
    /// a file named *.aof); nil for anything else (an RDB file).
    static func detect(_ path: String) throws -> AOFInput? {
        if path == "-" { return nil }
        var st = stat()
        guard stat(path, &st) == 0 else { return nil } // let the RDB path report the error
        if (st.st_mode & S_IFMT) == S_IFDIR {
            guard let dir = opendir(path) else { throw IOError(path: path, errno: errno) }
            defer { closedir(dir) }
            var manifests: [String] = []
            while let ent = readdir(dir) {
                let name = withUnsafeBytes(of: ent.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if name.hasSuffix(".manifest") && !name.hasPrefix("temp-") { manifests.append(name) }
            }
            guard manifests.count == 1 else {
                throw IOError(path: path, reason: manifests.isEmpty ? "a directory without an AOF manifest" : "more than one AOF manifest (\(manifests.sorted().joined(separator: ", ")))")
            }
            return try fromManifest(path + "/" + manifests[0])
        }
        if path.hasSuffix(".manifest") { return try fromManifest(path) }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var first: UInt8 = 0
        guard read(fd, &first, 1) == 1 else { return nil }
        if first == UInt8(ascii: "*") || (first == UInt8(ascii: "R") && path.hasSuffix(".aof")) { return AOFInput(files: [path]) }
        return nil
    }

    static func fromManifest(_ path: String) throws -> AOFInput {
        let manifest = try AOFManifest.read(path: path)
        let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        return AOFInput(files: manifest.loadOrder.map { dir + "/" + $0.name })
    }
}

final class RestoreSession {
    let client: RESPClient
    let filter: KeyFilter
    let version: Int
    let limit: Int
    let commands: Bool
    let lossy: Bool
    let dryRun: Bool
    let pipeline: Int
    let progress: Bool
    let now = nowMilliseconds()

    var restoredPayloads = 0, restoredCommands = 0, failed = 0, expired = 0, unsupported = 0
    /// Function libraries loaded (FUNCTION LOAD REPLACE, as keys go with RESTORE … REPLACE).
    var restoredFunctions = 0
    var aofCommands = 0, aofSkipped = 0, aofFailed = 0
    var stoppedAt: Int64?
    var truncatedNote: String?
    var failedKeys = Set<Digest128>()
    var errorsShown = 0
    /// The database the connection has selected (-1 = unknown).
    var selected = -1

    /// What was sent for one key, one AOF command or a SELECT, and how many replies it expects.
    struct InFlight {
        /// `keyPart`: commands of a key still being walked (its `key` item follows).
        enum Kind { case key([UInt8], asCommands: Bool), keyPart, select, aofCommand([UInt8]), function(String) }
        var kind: Kind
        var db: Int
        var replies: Int
    }
    var inflight: [InFlight] = []
    /// Commands sent for the key being walked and not yet in `inflight`, and the first error among
    /// the replies of its parts already read.
    var partReplies = 0
    var partError: String?

    init(client: RESPClient, filter: KeyFilter, version: Int, limit: Int, commands: Bool, lossy: Bool, dryRun: Bool,
         pipeline: Int, progress: Bool) {
        self.client = client; self.filter = filter; self.version = version; self.limit = limit
        self.commands = commands; self.lossy = lossy; self.dryRun = dryRun; self.pipeline = pipeline; self.progress = progress
    }

    func complain(_ message: String) {
        errorsShown += 1
        if errorsShown <= 100 {
            printError("cairn-rdb: \(message)")
        } else if errorsShown == 101 {
            printError("cairn-rdb: more failures; not naming each")
        }
    }

    func fail(_ db: Int, _ key: [UInt8], _ why: String) {
        failed += 1
        failedKeys.insert(KeyDigest.key(db: db, key))
        complain("key \"\(printableKey(key))\" in db \(db): \(why)")
    }

    func select(_ db: Int) {
        guard db != selected else { return }
        if !dryRun {
            client.send([Array("SELECT".utf8), Array(String(db).utf8)])
            inflight.append(InFlight(kind: .select, db: db, replies: 1))
        }
        selected = db
    }

    func maybeDrain() throws {
        if client.pending >= pipeline || client.bufferedBytes >= 8 << 20 { try drain() }
    }

    /// Reads every pending reply.
    func drain() throws {
        try client.flush()
        for item in inflight {
            var firstError: String?
            for _ in 0 ..< item.replies {
                let r = try client.readReply()
                if firstError == nil, let e = r.errorText { firstError = e }
            }
            switch item.kind {
            case .keyPart:
                if partError == nil { partError = firstError }
            case .key(let key, let asCommands):
                if let e = partError { firstError = firstError ?? e }
                partError = nil
                if let firstError {
                    fail(item.db, key, firstError)
                } else if asCommands {
                    restoredCommands += 1
                } else {
                    restoredPayloads += 1
                }
            case .select:
                if let firstError { throw RESPClientError("SELECT \(item.db) failed: \(firstError)") }
            case .function(let name):
                if let firstError {
                    failed += 1
                    complain("function library '\(name)': \(firstError)")
                } else {
                    restoredFunctions += 1
                }
            case .aofCommand(let name):
                if let firstError {
                    aofFailed += 1
                    failed += 1
                    complain("AOF command \(String(decoding: name, as: UTF8.self)) in db \(item.db): \(firstError)")
                }
            }
        }
        inflight.removeAll(keepingCapacity: true)
    }

    // MARK: - RDB

    func restoreRDB(path: String) throws {
        let input = try RDBInputFile(path: path, label: "restore", progress: progress)
        try restore(input)
    }

    /// Restores the keys of an RDB input, walked element by element: a small value goes through
    /// `restoreKey` whole; a big one (BoundedValue) as type commands sent while it is walked.
    func restore(_ input: RDBInputFile) throws {
        let value = BoundedValue()
        value.onBegin = { [unowned self] h in
            if let at = h.expiresAt, at <= now {
                expired += 1
                return false
            }
            return true
        }
        value.onWhole = { [unowned self] e in try restoreKey(e) }
        value.spill = { [unowned self] h in
            if !dryRun { select(h.db) }
            return TypeCommandWriter(chunk: max(1, min(64 << 20, limit / 2))) { [unowned self] args in
                guard !dryRun else { return }
                client.send(args)
                partReplies += 1
                if client.pending >= pipeline || client.bufferedBytes >= 8 << 20 {
                    inflight.append(InFlight(kind: .keyPart, db: h.db, replies: partReplies))
                    partReplies = 0
                    try drain()
                }
            }
        }
        value.onSpilled = { [unowned self] h in
            if dryRun {
                restoredCommands += 1
                return
            }
            inflight.append(InFlight(kind: .key(h.key, asCommands: true), db: h.db, replies: partReplies))
            partReplies = 0
            try maybeDrain()
        }
        try input.forEachKey(filter, onRecord: { [unowned self] record in
            if case .function(let code) = record, filter.selectsEverything { try restoreFunction(code) }
        }, visitor: value)
    }

    /// A function library of the input, loaded with FUNCTION LOAD REPLACE (a library of that name is replaced,
    /// as RESTORE … REPLACE replaces a key). Only without key filters: libraries are not keys.
    func restoreFunction(_ code: [UInt8]) throws {
        if dryRun {
            restoredFunctions += 1
            return
        }
        client.send([Array("FUNCTION".utf8), Array("LOAD".utf8), Array("REPLACE".utf8), code])
        inflight.append(InFlight(kind: .function(RDBStats.libraryName(code)), db: selected, replies: 1))
        try maybeDrain()
    }

    func restoreKey(_ e: RDBEntry) throws {
        if let at = e.expiresAt, at <= now {
            expired += 1
            return
        }
        var cmds: [[[UInt8]]] = []
        var asCommands = commands
        if case .module = e.value { asCommands = false }
        do {
            if !asCommands {
                let payload = try dumpPayload(e.value, version: version, lossy: lossy) { note in
                    printError("cairn-rdb: key \"\(printableKey(e.key))\" in db \(e.db): \(note)")
                }
                if payload.count > limit {
                    if case .module = e.value {
                        throw KeyCommands.Unsupported(message: "a module value of \(payload.count) bytes is larger than the server's limit (\(limit))")
                    }
                    asCommands = true
                } else {
                    cmds.append(KeyCommands.restore(key: e.key, payload: payload, expiresAt: e.expiresAt))
                }
            }
            if asCommands {
                try KeyCommands.typeCommands(key: e.key, value: e.value, expiresAt: e.expiresAt,
                                             chunk: max(1, min(64 << 20, limit / 2))) { cmds.append($0) }
            }
        } catch let err as RDBWriteError {
            unsupported += 1
            fail(e.db, e.key, "skipped: \(err.message)")
            return
        } catch let err as KeyCommands.Unsupported {
            unsupported += 1
            fail(e.db, e.key, "skipped: \(err.message)")
            return
        } catch let err as FormatError where err.context == "AOF rewrite" {
            unsupported += 1
            fail(e.db, e.key, "skipped: \(err.found)")
            return
        }
        if dryRun {
            if asCommands { restoredCommands += 1 } else { restoredPayloads += 1 }
            return
        }
        select(e.db)
        for c in cmds { client.send(c) }
        inflight.append(InFlight(kind: .key(e.key, asCommands: asCommands), db: e.db, replies: cmds.count))
        try maybeDrain()
    }

    // MARK: - AOF

    static func lower(_ b: [UInt8]) -> [UInt8] { b.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 } }

    /// Restores the files of an AOF in order; stops at the first #TS: annotation later than `until`.
    func restoreAOF(_ aof: AOFInput, until: Int64?) throws {
        for (i, path) in aof.files.enumerated() {
            let last = i == aof.files.count - 1
            if path.hasSuffix(".rdb") {
                try restoreRDB(path: path)
                continue
            }
            let reader = try AOFReader(path: path)
            if reader.hasRDBPreamble {
                let input = try RDBInputFile(path: path, label: "restore", progress: progress)
                try restore(input) // reads up to the preamble's EOF
                try reader.seek(to: input.reader.offset)
            }
            let bar = Progress(label: "restore", total: FileSourceSize.of(path), enabled: progress)
            defer { bar.finish() }
            var db = 0 // every AOF file is loaded by a fresh client, in database 0
            var openMulti = false
            do {
                while let record = try reader.next() {
                    bar.update(reader.offset)
                    switch record {
                    case .annotation(let line, _):
                        if let until, let ts = AOFReader.timestamp(line), ts > until {
                            stoppedAt = ts
                            if openMulti && !dryRun { client.send("DISCARD"); inflight.append(InFlight(kind: .aofCommand(Array("DISCARD".utf8)), db: db, replies: 1)) }
                            return
                        }
                    case .command(let args, _, _):
                        let name = RestoreSession.lower(args[0])
                        if name == Array("select".utf8), args.count == 2, let n = Int(String(decoding: args[1], as: UTF8.self)) {
                            db = n
                            continue
                        }
                        let always = name == Array("multi".utf8) || name == Array("exec".utf8) || name == Array("discard".utf8)
                        guard always || filter.accepts(db: db) else {
                            aofSkipped += 1
                            continue
                        }
                        if name == Array("multi".utf8) { openMulti = true }
                        if name == Array("exec".utf8) || name == Array("discard".utf8) { openMulti = false }
                        aofCommands += 1
                        if dryRun { continue }
                        select(db)
                        client.send(args)
                        inflight.append(InFlight(kind: .aofCommand(args[0]), db: db, replies: 1))
                        try maybeDrain()
                    }
                }
            } catch AOFReadError.truncated(let validUpTo, let offset, let reason) {
                guard last else {
                    throw FormatError(offset: offset, context: "AOF \(path)", expected: "a complete file (only the last one may be truncated)", found: reason)
                }
                truncatedNote = "\(path) is truncated at offset \(offset) (\(reason)): restored up to offset \(validUpTo), as Redis loads it"
                printError("cairn-rdb: \(truncatedNote!)")
                if openMulti && !dryRun {
                    client.send("DISCARD")
                    inflight.append(InFlight(kind: .aofCommand(Array("DISCARD".utf8)), db: db, replies: 1))
                }
            } catch AOFReadError.corrupt(let e) {
                throw FormatError(offset: e.offset, key: e.key, context: "AOF \(path)", expected: e.expected, found: e.found)
            }
        }
    }

    func summary() -> String {
        let restored = restoredPayloads + restoredCommands
        var s = dryRun ? "dry run: would restore \(restored) keys" : "restored \(restored) keys"
        s += " (\(restoredPayloads) as RESTORE payloads of RDB \(version), \(restoredCommands) as type commands)"
        s += ", \(failed - aofFailed) failed"
        if unsupported > 0 { s += " (\(unsupported) not representable)" }
        s += ", \(expired) skipped as already expired"
        if restoredFunctions > 0 {
            s += dryRun ? "; would load \(restoredFunctions) function libraries" : "; loaded \(restoredFunctions) function libraries"
        }
        if aofCommands > 0 || aofSkipped > 0 {
            s += dryRun ? "; would replay \(aofCommands) AOF commands" : "; replayed \(aofCommands) AOF commands (\(aofFailed) failed)"
            if aofSkipped > 0 { s += ", \(aofSkipped) skipped by --db" }
        }
        if let stoppedAt { s += "; stopped at #TS:\(stoppedAt) (later than --to)" }
        return s
    }
}

enum FileSourceSize {
    static func of(_ path: String) -> Int? {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : nil
    }
}
