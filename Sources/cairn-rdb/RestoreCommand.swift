// cairn-rdb restore FILE --server host:port: loads the selected keys of a backup into a running
// server (Cairn or Redis), pipelined.
//   Payload version: from the target's INFO server redis_version — below 7.0 → RDB 9, 7.0 → 10,
//   7.2 → 11, 7.4 and later → 12 (Cairn reports 7.0.15 → 10); --payload-version overrides.
//   Per key: RESTORE key <expiry> <payload> REPLACE [ABSTTL]; falls back to DEL + type commands
//   in chunks (ToolKit.KeyCommands) when the payload is larger than the server's proto-max-bulk-len
//   (CONFIG GET, else 512 MB; --max-payload overrides), or for every key with --commands. A value
//   the payload version cannot hold (hash field TTLs below 12) is skipped and named, or with --lossy
//   restored without what it cannot hold. Keys already expired in the file are skipped.
//   --dry-run: connects (for the version) and reports what it would send, sending nothing.
//   --verify: afterwards reads every restored key back (DUMP + PEXPIRETIME) and reports differences.
// Input: an RDB file or .rdb.gz. JSON and AOF-directory inputs are not supported yet.
// Exit codes: 0 every selected key restored (and verified), 1 a key failed or differed or the input
// is invalid, 2 usage, I/O or connection error.
import ArgumentParser
import StorageFormat
import ToolKit

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Load the keys of an RDB file into a running server.",
        discussion: """
            Pipelined RESTORE … REPLACE ABSTTL with DUMP payloads of the target's RDB version (from INFO server), \
            type commands in chunks for values too big for one payload. Ends with a report: keys restored, \
            skipped, failed. Exit codes: 0 ok, 1 a key failed (named on stderr) or --verify found differences \
            or the input is invalid, 2 usage, I/O or connection error.
            """)

    @Argument(help: "The RDB file to restore (.gz is decompressed transparently; - reads standard input).")
    var file: String

    @Option(name: .customLong("server"), help: ArgumentHelp("The server to restore into.", valueName: "HOST:PORT"))
    var server: String

    @OptionGroup var serverOptions: ServerOptions

    @OptionGroup var filters: FilterOptions

    @Flag(name: .customLong("dry-run"), help: "Report what would be restored without sending anything.")
    var dryRun = false

    @Flag(help: "Read every restored key back and report differences.")
    var verify = false

    @Flag(help: "Type commands (SET, RPUSH, SADD, ZADD, HMSET, XADD…) for every key instead of RESTORE.")
    var commands = false

    @Option(name: .customLong("payload-version"), help: "RDB version of the payloads (9–12), instead of the one the server's version implies.")
    var payloadVersion: Int?

    @Option(name: .customLong("max-payload"), help: ArgumentHelp("Largest RESTORE payload to send (bytes); bigger values go as type commands. Default: the server's proto-max-bulk-len.", valueName: "BYTES"))
    var maxPayload: Int?

    @Flag(help: "Drop what the payload version cannot hold (hash field TTLs below 12), reporting each loss, instead of skipping the key.")
    var lossy = false

    @Option(name: .customLong("pipeline"), help: "Commands in flight before reading replies.")
    var pipeline: Int = 1000

    @Flag(name: .customLong("no-progress"), help: "Never draw the progress bar.")
    var noProgress = false

    func validate() throws {
        if let v = payloadVersion, !RDBWriterOptions.supportedVersions.contains(v) {
            throw ValidationError("--payload-version must be 9, 10, 11 or 12")
        }
        if let m = maxPayload, m < 1 { throw ValidationError("--max-payload must be positive") }
        if pipeline < 1 { throw ValidationError("--pipeline must be at least 1") }
        if verify && file == "-" { throw ValidationError("--verify reads the input twice: give it as a file, not -") }
    }

    /// The RDB version a server of `redisVersion` (INFO's redis_version) reads.
    static func rdbVersion(forServer redisVersion: String) -> Int {
        let parts = redisVersion.split(separator: ".").map { Int($0) ?? 0 }
        let major = parts.first ?? 0, minor = parts.count > 1 ? parts[1] : 0
        switch (major, minor) {
        case (..<7, _): return 9
        case (7, 0 ..< 2): return 10
        case (7, 2 ..< 4): return 11
        default: return 12
        }
    }

    /// What was sent for one key (or a SELECT), and how many replies it expects.
    struct InFlight {
        var db: Int
        var key: [UInt8]?
        var replies: Int
        var asCommands: Bool
    }

    func run() throws {
        var ok = true
        try CairnRDB.guarded {
            let filter = try filters.makeFilter()
            let client = try serverOptions.connect(server)
            let serverVersion = try client.info("server", field: "redis_version") ?? "unknown"
            let version = payloadVersion ?? RestoreCommand.rdbVersion(forServer: serverVersion)
            var limit = maxPayload ?? 512 << 20
            if maxPayload == nil, case .array(let kv?) = try client.call("CONFIG", "GET", "proto-max-bulk-len"), kv.count == 2,
               let text = kv[1].bytes, let n = Int(String(decoding: text, as: UTF8.self)) {
                limit = n
            }
            printError("cairn-rdb: \(server) runs version \(serverVersion): RESTORE payloads of RDB version \(version)"
                       + (dryRun ? " (dry run: nothing is sent)" : ""))

            var restoredPayloads = 0, restoredCommands = 0, failed = 0, expired = 0, unsupported = 0
            var failedKeys = Set<Digest128>()
            var inflight: [InFlight] = []
            var inflightHead = 0
            var selected = -1
            var errorsShown = 0

            func fail(_ db: Int, _ key: [UInt8], _ why: String) {
                failed += 1
                failedKeys.insert(KeyDigest.key(db: db, key))
                errorsShown += 1
                if errorsShown <= 100 {
                    printError("cairn-rdb: key \"\(printableKey(key))\" in db \(db): \(why)")
                } else if errorsShown == 101 {
                    printError("cairn-rdb: more keys failed; not naming each")
                }
            }

            func drain() throws {
                try client.flush()
                while inflightHead < inflight.count {
                    let item = inflight[inflightHead]
                    var firstError: String?
                    for _ in 0 ..< item.replies {
                        let r = try client.readReply()
                        if firstError == nil, let e = r.errorText { firstError = e }
                    }
                    if let key = item.key {
                        if let firstError {
                            fail(item.db, key, firstError)
                        } else if item.asCommands {
                            restoredCommands += 1
                        } else {
                            restoredPayloads += 1
                        }
                    } else if let firstError {
                        throw RESPClientError("SELECT \(item.db) failed: \(firstError)")
                    }
                    inflightHead += 1
                }
                inflight.removeAll(keepingCapacity: true)
                inflightHead = 0
            }

            let now = nowMilliseconds()
            let input = try RDBInputFile(path: file, label: "restore", progress: !noProgress)
            try input.forEachEntry(filter) { e in
                if let at = e.expiresAt, at <= now {
                    expired += 1
                    return
                }
                // The commands for this key.
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
                if e.db != selected {
                    client.send([Array("SELECT".utf8), Array(String(e.db).utf8)])
                    inflight.append(InFlight(db: e.db, key: nil, replies: 1, asCommands: false))
                    selected = e.db
                }
                for c in cmds { client.send(c) }
                inflight.append(InFlight(db: e.db, key: e.key, replies: cmds.count, asCommands: asCommands))
                if client.pending >= pipeline || client.bufferedBytes >= 8 << 20 { try drain() }
            }
            try drain()

            let restored = restoredPayloads + restoredCommands
            var summary = dryRun ? "dry run: would restore \(restored) keys" : "restored \(restored) keys"
            summary += " (\(restoredPayloads) as RESTORE payloads of RDB \(version), \(restoredCommands) as type commands)"
            summary += ", \(failed) failed"
            if unsupported > 0 { summary += " (\(unsupported) not representable)" }
            summary += ", \(expired) skipped as already expired"
            let out = FileOutput.standardOutput()
            try out.write(summary + "\n")
            try out.flush()
            if failed > 0 { ok = false }

            if verify && !dryRun {
                let report = try DiffReport(json: false, labelA: file, labelB: server, tolerance: 1000)
                let comparer = try ServerComparer(client: client, report: report)
                try RDBInputFile(path: file, label: "verify", progress: !noProgress).forEachEntry(filter) { e in
                    if let at = e.expiresAt, at <= now { return }
                    if failedKeys.contains(KeyDigest.key(db: e.db, e.key)) { return }
                    report.keysA += 1
                    try comparer.add(db: e.db, key: e.key, summary: KeySummary(e.value, expiresAt: e.expiresAt))
                }
                try comparer.flush()
                try out.write("verify: ")
                try out.flush()
                if !(try report.finish()) { ok = false }
            }
        }
        if !ok { throw ExitCode(ToolExit.invalid.rawValue) }
    }
}
