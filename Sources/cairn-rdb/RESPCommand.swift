// cairn-rdb resp FILE (alias aof): the selected keys as RESP commands for `redis-cli --pipe`.
// SELECT n before each database's keys, then per key either
//   RESTORE key <expiry ms|0> <DUMP payload> REPLACE [ABSTTL]    (default; payload of --payload-version)
// or, with --commands, DEL key and the type commands of the AOF rewrite (ToolKit.KeyCommands: big
// aggregates split 64 items per command, big strings as SET + APPEND chunks, streams as XADD /
// XSETID / XGROUP / XCLAIM) followed by PEXPIREAT. Module values can only be RESTOREd; with
// --commands they are still written as RESTORE, and counted.
// Values are walked element by element: one held whole is at most BoundedValue.defaultLimit (16 MiB,
// estimated); a bigger aggregate is written as type commands while it is walked, in either mode
// (a RESTORE payload would need it whole), so memory stays flat whatever the size of a key.
import ArgumentParser
import StorageFormat
import ToolKit

struct RESPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resp",
        abstract: "Print the keys of an RDB file as RESP commands (for redis-cli --pipe).",
        discussion: """
            Default: RESTORE … REPLACE ABSTTL with DUMP payloads of --payload-version (10 = Redis 7.0; \
            use 9 for Redis 6.x, 11 for 7.2, 12 for 7.4+). --commands writes type commands instead \
            (SET, RPUSH, SADD, ZADD, HMSET, XADD…, at most 64 elements each, then PEXPIREAT). \
            Example: cairn-rdb resp dump.rdb | redis-cli --pipe. \
            Exit codes: 0 ok, 1 invalid input or a key that could not be written (named on stderr), 2 usage or I/O error.
            """,
        aliases: ["aof"])

    @Argument(help: "The RDB file to read (.gz is decompressed transparently; - reads standard input).")
    var file: String

    @OptionGroup var filters: FilterOptions

    @Flag(help: "Type commands (SET, RPUSH, SADD, ZADD, HMSET, XADD…) instead of RESTORE payloads.")
    var commands = false

    @Option(name: .customLong("payload-version"), help: "RDB version of the RESTORE payloads: 9, 10, 11 or 12.")
    var payloadVersion: Int = 10

    @Flag(help: "Drop what the payload version cannot hold (hash field TTLs below 12), reporting each loss, instead of skipping the key.")
    var lossy = false

    @Flag(name: .customLong("no-progress"), help: "Never draw the progress bar.")
    var noProgress = false

    func validate() throws {
        guard RDBWriterOptions.supportedVersions.contains(payloadVersion) else {
            throw ValidationError("--payload-version must be 9, 10, 11 or 12")
        }
    }

    func run() throws {
        try CairnRDB.guarded {
            let filter = try filters.makeFilter()
            let input = try RDBInputFile(path: file, label: "resp", progress: !noProgress)
            let out = FileOutput.standardOutput()
            var db = -1
            var restored = 0, asCommands = 0, failed = 0
            var scratch: [UInt8] = []
            func emit(_ args: [[UInt8]]) throws {
                scratch.removeAll(keepingCapacity: true)
                AOFCommands.append(args, to: &scratch)
                try out.write(scratch)
            }
            // A value is held whole while it is small (the RESTORE payload needs it whole, and a small
            // value's commands are written as before); a big one is written as type commands while it is
            // walked (BoundedValue), whatever the mode.
            let value = BoundedValue()
            value.onBegin = { h in
                if h.db != db {
                    try emit([Array("SELECT".utf8), Array(String(h.db).utf8)])
                    db = h.db
                }
                return true
            }
            value.spill = { _ in TypeCommandWriter { try emit($0) } }
            value.onSpilled = { _ in asCommands += 1 }
            value.onWhole = { e in
                var restoreForm = !commands
                if case .module = e.value { restoreForm = true }
                do {
                    if restoreForm {
                        let payload = try dumpPayload(e.value, version: payloadVersion, lossy: lossy) { note in
                            printError("cairn-rdb: key \"\(printableKey(e.key))\" in db \(e.db): \(note)")
                        }
                        try emit(KeyCommands.restore(key: e.key, payload: payload, expiresAt: e.expiresAt))
                        restored += 1
                    } else {
                        var buffered: [[[UInt8]]] = []
                        try KeyCommands.typeCommands(key: e.key, value: e.value, expiresAt: e.expiresAt) { buffered.append($0) }
                        for c in buffered { try emit(c) }
                        asCommands += 1
                    }
                } catch let err as RDBWriteError {
                    failed += 1
                    printError("cairn-rdb: key \"\(printableKey(e.key))\" in db \(e.db) skipped: \(err.message)")
                } catch let err as FormatError where err.context == "AOF rewrite" {
                    failed += 1
                    printError("cairn-rdb: key \"\(printableKey(e.key))\" in db \(e.db) skipped: \(err.found)")
                }
            }
            // Function libraries as the AOF rewrite writes them.
            try input.forEachKey(filter, onRecord: { record in
                if case .function(let code) = record, filter.selectsEverything { try emit([Array("FUNCTION".utf8), Array("LOAD".utf8), code]) }
            }, visitor: value)
            try out.flush()
            var summary = "cairn-rdb: \(restored + asCommands) keys"
            if restored > 0 { summary += ", \(restored) as RESTORE payloads (RDB \(payloadVersion))" }
            if asCommands > 0 { summary += ", \(asCommands) as type commands" }
            if failed > 0 { summary += ", \(failed) skipped (named above)" }
            printError(summary)
            if failed > 0 { throw ExitCode(ToolExit.invalid.rawValue) }
        }
    }
}

/// A value's DUMP payload for RDB `version`. What the version cannot hold (hash field TTLs below 12)
/// makes it throw, or with `lossy` is dropped and described through `note`.
func dumpPayload(_ value: RDBValue, version: Int, lossy: Bool, note: (String) -> Void) throws -> [UInt8] {
    if version < 12, case .hash(let fields) = value {
        let ttls = fields.filter { $0.expiresAt != 0 }.count
        if ttls > 0 {
            guard lossy else {
                throw RDBWriteError(key: nil, message: "hash field TTLs need RDB version 12 (Redis 7.4+); use --lossy to drop them")
            }
            note("dropped the TTLs of \(ttls) hash fields (RDB \(version) cannot hold them)")
            return try DumpPayload.encode(.hash(fields.map { RDBHashField(field: $0.field, value: $0.value) }), version: version)
        }
    }
    return try DumpPayload.encode(value, version: version)
}
