// cairn-rdb convert IN OUT --to-version N: rewrite any readable RDB file as RDB version N (9–12,
// default 10), with the encodings that version holds. Data N cannot hold (hash field TTLs below 12,
// function libraries below 10) is refused unless --lossy, which drops it and reports each loss.
// Metadata the older format has no field for (stream consumer active time below 11) is dropped with a note.
// IN may also be a dump `json`/`jsonl` wrote (ConvertFromJSON.swift; told by content) or an AOF — an
// appendonlydir, its manifest, a single AOF file — replayed without a server (ConvertFromAOF.swift).
import ArgumentParser
import StorageFormat
import ToolKit

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Rewrite an RDB file as another RDB version; turn a JSON dump or an AOF into an RDB file.",
        discussion: """
            IN is read by content: an RDB file (.gz too); a JSON dump from `cairn-rdb json` or `jsonl` (first \
            non-space byte '[' or '{'); or an AOF — an appendonlydir, its manifest, or a single AOF file (with \
            or without an RDB preamble) — replayed as the server loads it at start, no server needed (--to T: \
            stop at the first #TS: annotation later than T). \
            jsonl carries databases, types, TTLs and hash field TTLs, so it comes back as it was. The json \
            (rdbtools) layout carries none of them: the n-th object becomes database n, arrays become lists \
            (sets come back as lists), objects of strings hashes, objects of numbers sorted sets, and no key \
            has a TTL: prefer jsonl. Neither layout carries a stream's pending entries or consumer times (the \
            groups come back with empty PELs, noted) or module values (refused; --lossy skips them). Both \
            carry function libraries (json: a last element {"functions": [...]}; jsonl: a "function" line).
            """)

    @Argument(help: "The input: an RDB file (.gz is decompressed transparently), a json/jsonl dump, or an AOF (appendonlydir, manifest, or .aof file).")
    var input: String

    @Argument(help: "The RDB file to write (written under a temporary name, renamed when complete).")
    var output: String

    @Option(name: .customLong("to-version"), help: "RDB version to write: 9 (Redis 5–6.2), 10 (7.0), 11 (7.2), 12 (7.4+).")
    var toVersion: Int = 10

    @Flag(help: "Drop data the target version cannot hold, reporting each loss, instead of refusing.")
    var lossy = false

    @Flag(name: .customLong("no-compression"), help: "Do not LZF-compress strings (rdbcompression no).")
    var noCompression = false

    @Flag(name: .customLong("no-checksum"), help: "Write a zero checksum (rdbchecksum no).")
    var noChecksum = false

    @Option(name: .customLong("to"), help: ArgumentHelp("AOF input only: stop at the first #TS: annotation later than this Unix time (seconds): a point-in-time conversion.", valueName: "UNIX-SECONDS"))
    var toTime: Int64?

    @Flag(name: .customLong("no-progress"), help: "Never draw the progress bar.")
    var noProgress = false

    func validate() throws {
        guard RDBWriterOptions.supportedVersions.contains(toVersion) else {
            throw ValidationError("--to-version must be 9, 10, 11 or 12")
        }
    }

    func run() throws {
        try CairnRDB.guarded {
            if let aof = try AOFInput.detect(input) {
                try convertAOF(aof)
                return
            }
            if toTime != nil { throw ValidationError("--to applies to an AOF input (its #TS: annotations)") }
            var options = RDBWriterOptions(version: toVersion)
            options.compression = !noCompression
            options.checksum = !noChecksum
            options.lossy = lossy
            let reader: RDBReader
            switch try DumpInput.open(path: input, label: "convert", progress: !noProgress, lossy: lossy) {
            case .json(let json):
                try convertJSON(json, options: options)
                return
            case .rdb(let file):
                reader = file.reader
            }
            var keys = 0
            var notes = 0
            try writeAtomically(to: output) { out in
                let writer = try RDBWriter(options: options) { try out.write($0) }
                writer.onNote = { note in
                    notes += 1
                    printError("cairn-rdb: note: \(note)")
                }
                try writer.writeHeader()
                // The decoder hands each value to the writer (RDBWriterVisitor): big values are written
                // as their elements arrive, never built.
                let visitor = RDBWriterVisitor(writer: writer)
                while let walked = try reader.nextWalking({ _ in visitor }) {
                    guard case .record(let record) = walked else { continue }
                    switch record {
                    case .aux(let k, let v):
                        try writer.writeAux(auxKey(k), v)
                    case .selectDB(let db):
                        try writer.writeSelectDB(db)
                    case .resizeDB(let a, let b):
                        try writer.writeResizeDB(dbSize: a, expiresSize: b)
                    case .slotInfo:
                        break // cluster sizing hints; the loader recomputes them
                    case .moduleAux(let m, let when):
                        try writer.writeModuleAux(m, when: when)
                    case .function(let code):
                        try writeFunction(code, to: writer)
                    case .entry:
                        break // keys come as .key above
                    case .end:
                        try writer.finish()
                    }
                }
                keys = visitor.keysWritten
            }
            printError("cairn-rdb: wrote \(keys) keys to \(output) as RDB version \(toVersion)" + (notes > 0 ? " (\(notes) notes above)" : ""))
        }
    }

    /// `aof-base` (v10+) and `aof-preamble` (v8–v9) name the same fact.
    func auxKey(_ k: [UInt8]) -> [UInt8] {
        if toVersion >= 10 && k == Array("aof-preamble".utf8) { return Array("aof-base".utf8) }
        if toVersion < 10 && k == Array("aof-base".utf8) { return Array("aof-preamble".utf8) }
        return k
    }
}

extension ConvertCommand {
    /// A function library into the output: RDB 10 and later hold them (FUNCTION2); below, --lossy drops it.
    func writeFunction(_ code: [UInt8], to writer: RDBWriter) throws {
        if toVersion >= 10 {
            try writer.writeFunction(code: code)
        } else if lossy {
            writer.onNote?("dropped function library '\(RDBStats.libraryName(code))' (RDB \(toVersion) cannot hold functions)")
        } else {
            throw RDBWriteError(key: nil, message: "function libraries need RDB version 10 or later; use --lossy to drop them")
        }
    }
}
