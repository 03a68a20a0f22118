// convert from an AOF: an appendonlydir (through its manifest), a manifest, or a single AOF file (a
// Redis 6 `appendonly.aof`, with or without an RDB preamble) becomes one RDB file, with no server:
// the files are replayed in the manifest's order into an in-process Engine through the server's own
// start-up loader (Persistence.AOFReplay: RDBLoader for an RDB base or preamble, Engine.replay for
// every command), and the keyspace is written by the server's snapshot writer (SnapshotWriter,
// temp file + rename). `--to T` stops at the first #TS: annotation later than T. A truncated last
// file is replayed up to its last complete command, as Redis loads it; the input is never modified.
// What the engine cannot hold yet (streams, function libraries, module values) stops the conversion
// with the server's message.
import ArgumentParser
import Engine
import Persistence
import StorageFormat
import ToolKit

extension ConvertCommand {
    func convertAOF(_ aof: AOFInput) throws {
        var options = SnapshotOptions()
        options.version = toVersion
        options.compression = !noCompression
        options.checksum = !noChecksum
        do {
            let r = try AOFConversion.run(aof, output: output, until: toTime, options: options, progress: !noProgress)
            var line = "cairn-rdb: replayed \(aof.files.count) AOF file" + (aof.files.count == 1 ? "" : "s") + " (\(r.rdbKeys) keys from RDB parts, \(r.commands) commands)"
            if let ts = r.stoppedAt { line += ", stopped at #TS:\(ts) (later than --to)" }
            printError(line + "; wrote \(r.keys) keys to \(output) as RDB version \(toVersion)")
        } catch let e as AOFConversionError {
            printError("cairn-rdb: invalid input: \(e.message)")
            throw ExitCode(ToolExit.invalid.rawValue)
        }
    }
}

struct AOFConversion {
    var keys = 0
    var commands = 0
    var rdbKeys = 0
    var stoppedAt: Int64?
    var truncatedNote: String?

    static func run(_ aof: AOFInput, output: String, until: Int64?, options: SnapshotOptions, progress: Bool) throws -> AOFConversion {
        var result = AOFConversion()
        let engine = Engine()
        engine.updateClock()
        var summary = AOFLoadSummary()
        let total = aof.files.reduce(0) { $0 + (FileSourceSize.of($1) ?? 0) }
        let bar = Progress(label: "convert", total: total, enabled: progress)
        do {
            files: for (i, path) in aof.files.enumerated() {
                guard let size = FileSourceSize.of(path) else { throw IOError(path: path, reason: "the manifest names it, but it does not exist") }
                if size == 0 { continue }
                let name = path.split(separator: "/").last.map(String.init) ?? path
                let base = summary.bytes
                let end = try AOFReplay.replayFile(path, name: name, into: engine, until: until, summary: &summary,
                                                   log: { _ in }, progress: { bar.update($0) })
                summary.bytes = base + size
                bar.update(summary.bytes)
                switch end {
                case .complete:
                    break
                case .stoppedAt(let ts):
                    result.stoppedAt = ts
                    break files
                case .truncated(let validUpTo, let offset, let reason):
                    guard i == aof.files.count - 1 else {
                        throw FormatError(offset: offset, context: "AOF \(path)", expected: "a complete file (only the last one may be truncated)", found: reason)
                    }
                    result.truncatedNote = "\(path) is truncated at offset \(offset) (\(reason)): replayed up to offset \(validUpTo), as Redis loads it"
                }
            }
        } catch let e as LoadError {
            bar.finish()
            throw AOFConversionError(message: e.description)
        }
        bar.finish()
        // As in the server once loading is over: keys whose expiry passed are gone (a replay keeps
        // them while it runs, as Redis's loading does).
        engine.updateClock()
        engine.removeExpiredKeys()
        if let note = result.truncatedNote { printError("cairn-rdb: \(note)") }
        result.commands = summary.commands
        result.rdbKeys = summary.rdbKeys
        let slash = output.lastIndex(of: "/")
        let dir = slash.map { $0 == output.startIndex ? "/" : String(output[..<$0]) } ?? "."
        let file = slash.map { String(output[output.index(after: $0)...]) } ?? output
        do {
            result.keys = try SnapshotWriter.saveFile(engine, dir: dir, dbfilename: file, options: options, usedMemory: 0)
        } catch let e as SnapshotError {
            throw IOError(path: output, reason: e.description)
        }
        return result
    }
}

/// The AOF could not be replayed (a corrupt file, an unknown command, a value the engine cannot hold).
struct AOFConversionError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
