// cairn-rdb jsonl FILE: one JSON object per selected key, one per line:
//   {"db":0,"key":"…","type":"hash","expiry":4102444800000,"value":{…}}
// `expiry` is the absolute Unix time in ms (null without a TTL); `value` as in `json`
// (ValueJSON.swift). A hash with field TTLs (Redis 7.4+) also has "field_expiry": {field: ms}.
// A function library is a line of its own: {"function":"<library name>","code":"…"} (not when a filter
// selects keys: libraries are not keys).
// Strings are binary-safe (one \u00XX escape per non-printable byte). Streams the file: values are
// walked element by element; only the names of hash fields with a TTL are kept until the key's end.
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
            let writer = JSONValueWriter(out: out)
            // Fields with a TTL, written after the value (only those are kept until the key's end).
            var fieldTTLs: [([UInt8], Int64)] = []
            let collector = FieldTTLCollector { f, at in fieldTTLs.append((Array(f), at)) }
            writer.onBegin = { h in
                fieldTTLs.removeAll()
                try out.write("{\"db\":\(h.db),\"key\":")
                out.writeJSONString(h.key)
                try out.write(",\"type\":\"\(h.typeName)\",\"expiry\":" + (h.expiresAt.map { String($0) } ?? "null") + ",\"value\":")
            }
            writer.onEnd = { _ in
                if !fieldTTLs.isEmpty {
                    out.writeASCII(",\"field_expiry\":{")
                    for (i, (f, at)) in fieldTTLs.enumerated() {
                        if i > 0 { out.writeASCII(",") }
                        out.writeJSONString(f)
                        try out.write(":\(at)")
                    }
                    out.writeASCII("}")
                }
                out.writeASCII("}\n")
            }
            collector.next = writer
            try input.forEachKey(filter, onRecord: { record in
                guard case .function(let code) = record, filter.selectsEverything else { return }
                out.writeASCII("{\"function\":")
                out.writeJSONString(Array(RDBStats.libraryName(code).utf8))
                out.writeASCII(",\"code\":")
                out.writeJSONString(code)
                out.writeASCII("}\n")
            }, visitor: collector)
            try out.flush()
        }
    }
}

/// Passes everything to `next`, noting hash fields that carry a TTL on the way.
final class FieldTTLCollector: RDBElementVisitor {
    var next: RDBElementVisitor?
    let note: (UnsafeRawBufferPointer, Int64) -> Void
    init(_ note: @escaping (UnsafeRawBufferPointer, Int64) -> Void) { self.note = note }
    func beginValue(_ h: RDBKeyHeader) throws { try next?.beginValue(h) }
    func string(_ v: UnsafeRawBufferPointer) throws { try next?.string(v) }
    func listElement(_ e: UnsafeRawBufferPointer) throws { try next?.listElement(e) }
    func setMember(_ m: UnsafeRawBufferPointer) throws { try next?.setMember(m) }
    func sortedSetMember(_ m: UnsafeRawBufferPointer, score: Double) throws { try next?.sortedSetMember(m, score: score) }
    func hashField(_ f: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64) throws {
        if expiresAt != 0 { note(f, expiresAt) }
        try next?.hashField(f, value: value, expiresAt: expiresAt)
    }
    func streamNode(_ n: RDBStreamNode) throws { try next?.streamNode(n) }
    func streamEnd(_ s: RDBStream) throws { try next?.streamEnd(s) }
    func module(_ m: RDBModuleValue) throws { try next?.module(m) }
    func endValue() throws { try next?.endValue() }
}
