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
// Input: an RDB file or .rdb.gz; or an AOF — an appendonlydir (or its manifest) or a single AOF
// file — whose RDB parts (a .rdb base, an RDB preamble) are restored as above and whose commands
// are sent as they are, in the manifest's order; --to T stops at the first #TS: annotation later
// than T (point-in-time restore); only --db filters an AOF's commands: those run in the selected
// databases are sent (MOVE, COPY … DB and SWAPDB among them still reach other databases).
// A truncated last file is restored up to its last complete command, as Redis loads it.
// Or a dump `json`/`jsonl` wrote (told by its first non-space byte, '[' or '{'): its keys are restored
// as an RDB file's are; what the layout does not carry is inferred or noted (JSONInput.swift).
// Exit codes: 0 every selected key restored (and verified), 1 a key failed or differed or the input
// is invalid, 2 usage, I/O or connection error.
import ArgumentParser
import StorageFormat
import ToolKit

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Load the keys of an RDB file, a JSON dump or an AOF into a running server.",
        discussion: """
            Pipelined RESTORE … REPLACE ABSTTL with DUMP payloads of the target's RDB version (from INFO server), \
            type commands in chunks for values too big for one payload. Ends with a report: keys restored, \
            skipped, failed. Exit codes: 0 ok, 1 a key failed (named on stderr) or --verify found differences \
            or the input is invalid, 2 usage, I/O or connection error. \
            A json/jsonl dump (cairn-rdb json or jsonl output, told by content) is restored key by key like an RDB file; \
            jsonl carries databases, types and TTLs, the json (rdbtools) layout does not (see convert --help for what is inferred).
            """)

    @Argument(help: "The RDB file to restore (.gz is decompressed transparently; - reads standard input), a json/jsonl dump, or an AOF: an appendonlydir, its manifest, or a single .aof file.")
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

    @Option(name: .customLong("to"), help: ArgumentHelp("AOF input only: stop at the first #TS: annotation later than this Unix time (seconds): a point-in-time restore.", valueName: "UNIX-SECONDS"))
    var toTime: Int64?

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

    func run() throws {
        var ok = true
        try CairnRDB.guarded {
            let filter = try filters.makeFilter()
            let aof = try AOFInput.detect(file)
            if aof != nil {
                if verify { throw ValidationError("--verify compares with an RDB file; an AOF input has no dataset to compare with") }
                if filters.key != nil || filters.notKey != nil || !filters.types.isEmpty || filters.expiring || filters.persistent {
                    throw ValidationError("an AOF's commands can only be filtered by --db")
                }
            } else if toTime != nil {
                throw ValidationError("--to applies to an AOF directory (its #TS: annotations)")
            }
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
            let session = RestoreSession(client: client, filter: filter, version: version, limit: limit, commands: commands,
                                         lossy: lossy, dryRun: dryRun, pipeline: pipeline, progress: !noProgress)
            if let aof {
                try session.restoreAOF(aof, until: toTime)
            } else {
                switch try DumpInput.open(path: file, label: "restore", progress: !noProgress, lossy: lossy) {
                case .rdb(let input): try session.restore(input)
                case .json(let input): try session.restore(input)
                }
            }
            try session.drain()

            let out = FileOutput.standardOutput()
            try out.write(session.summary() + "\n")
            try out.flush()
            if session.failed > 0 { ok = false }

            if verify && !dryRun {
                let report = try DiffReport(json: false, labelA: file, labelB: server, tolerance: 1000)
                let comparer = try ServerComparer(client: client, report: report)
                func skip(db: Int, key: [UInt8], expiresAt: Int64?) -> Bool {
                    if let at = expiresAt, at <= session.now { return true }
                    return session.failedKeys.contains(KeyDigest.key(db: db, key))
                }
                switch try DumpInput.open(path: file, label: "verify", progress: !noProgress, lossy: lossy, onNote: { _ in }) {
                case .rdb(let input):
                    // Element by element: the fingerprint is built as the value is read, never the whole value.
                    let digester = ValueDigester()
                    try input.forEachKey(filter, visitor: digester) { h in
                        if skip(db: h.db, key: h.key, expiresAt: h.expiresAt) { return }
                        report.keysA += 1
                        try comparer.add(db: h.db, key: h.key, summary: KeySummary(value: digester.digest, expiresAt: h.expiresAt, type: digester.kindCode))
                    }
                case .json(let input):
                    try input.forEachEntry(filter) { e in
                        if skip(db: e.db, key: e.key, expiresAt: e.expiresAt) { return }
                        report.keysA += 1
                        try comparer.add(db: e.db, key: e.key, summary: KeySummary(e.value, expiresAt: e.expiresAt))
                    }
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
