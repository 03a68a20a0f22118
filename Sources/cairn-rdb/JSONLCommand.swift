// cairn-rdb jsonl FILE: one JSON object per selected key, one per line:
//   {"db":0,"key":"…","type":"hash","expiry":4102444800000,"value":{…}}
// `expiry` is the absolute Unix time in ms (null without a TTL); `value` as in `json`
// (ValueJSON.swift). A hash with field TTLs (Redis 7.4+) also has "field_expiry": {field: ms}.
// Strings are binary-safe (one \u00XX escape per non-printable byte). Streams the file.
import ArgumentParser
import StorageFormat
import ToolKit

struct JSONLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jsonl",
        abstract: "Print the keys of an RDB file as JSON lines: db, key, type, expiry, value.",
        discussion: "Exit codes: 0 ok, 1 invalid input, 2 usage or I/O error.")

    @Argument(help: "The RDB file to read (.gz is decompressed transparently; - reads standard input).")
    var file: String

    @OptionGroup var filters: FilterOptions

    @Flag(name: .customLong("no-progress"), help: "Never draw the progress bar.")
    var noProgress = false

    func run() throws {
        try CairnRDB.guarded {
            let filter = try filters.makeFilter()
            let input = try RDBInputFile(path: file, label: "jsonl", progress: !noProgress)
            let out = FileOutput.standardOutput()
            try input.forEachEntry(filter) { e in
                try out.write("{\"db\":\(e.db),\"key\":")
                out.writeJSONString(e.key)
                try out.write(",\"type\":\"\(e.value.typeName)\",\"expiry\":" + (e.expiresAt.map { String($0) } ?? "null") + ",\"value\":")
                try out.writeJSONValue(e.value)
                if case .hash(let fields) = e.value, fields.contains(where: { $0.expiresAt != 0 }) {
                    out.writeASCII(",\"field_expiry\":{")
                    var first = true
                    for f in fields where f.expiresAt != 0 {
                        if !first { out.writeASCII(",") }
                        first = false
                        out.writeJSONString(f.field)
                        try out.write(":\(f.expiresAt)")
                    }
                    out.writeASCII("}")
                }
                out.writeASCII("}\n")
                try out.flushIfFull()
            }
            try out.flush()
        }
    }
}
