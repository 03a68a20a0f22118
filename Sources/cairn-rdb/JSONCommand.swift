// cairn-rdb json FILE: every key of every database as JSON, in rdbtools' layout — an array with one
// object per database, key → value; strings binary-safe; hashes as objects; lists and sets as arrays;
// sorted sets as member → score. Streams as an object of their entries and groups, module values as
// their module's name. Streams the file: one record in memory at a time.
import ArgumentParser
import StorageFormat
import ToolKit

struct JSONCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "json",
        abstract: "Print every key of an RDB file as JSON (rdbtools' layout).")

    @Argument(help: "The RDB file to read (.gz is decompressed transparently; - reads standard input).")
    var file: String

    func run() throws {
        try CairnRDB.guarded {
            let reader = try RDBReader(path: file)
            let out = FileOutput.standardOutput()
            var openDB = false
            var firstKey = true
            out.writeASCII("[")
            while let record = try reader.next() {
                switch record {
                case .selectDB:
                    if openDB { out.writeASCII("},") }
                    out.writeASCII("{")
                    openDB = true
                    firstKey = true
                case .entry(let e):
                    if !openDB { out.writeASCII("{"); openDB = true }
                    if !firstKey { out.writeASCII(",") }
                    firstKey = false
                    out.writeASCII("\n")
                    out.writeJSONString(e.key)
                    out.writeASCII(":")
                    try writeValue(e.value, to: out)
                    try out.flushIfFull()
                default:
                    break
                }
            }
            if openDB { out.writeASCII("}") }
            out.writeASCII("]\n")
            try out.flush()
        }
    }

    func writeValue(_ value: RDBValue, to out: FileOutput) throws {
        switch value {
        case .string(let s):
            out.writeJSONString(s)
        case .list(let items), .set(let items):
            out.writeASCII("[")
            for (i, s) in items.enumerated() {
                if i > 0 { out.writeASCII(",") }
                out.writeJSONString(s)
            }
            out.writeASCII("]")
        case .sortedSet(let items):
            out.writeASCII("{")
            for (i, m) in items.enumerated() {
                if i > 0 { out.writeASCII(",") }
                out.writeJSONString(m.member)
                out.writeASCII(":")
                try out.writeJSONNumber(m.score)
            }
            out.writeASCII("}")
        case .hash(let fields):
            out.writeASCII("{")
            for (i, f) in fields.enumerated() {
                if i > 0 { out.writeASCII(",") }
                out.writeJSONString(f.field)
                out.writeASCII(":")
                out.writeJSONString(f.value)
            }
            out.writeASCII("}")
        case .stream(let s):
            out.writeASCII("{\"entries\":{")
            var first = true
            for node in s.nodes {
                for entry in try StreamNodes.entries(node) where !entry.deleted {
                    if !first { out.writeASCII(",") }
                    first = false
                    try out.write("\"\(entry.id)\":{")
                    var i = 0
                    while i + 1 < entry.fieldsAndValues.count {
                        if i > 0 { out.writeASCII(",") }
                        out.writeJSONString(entry.fieldsAndValues[i])
                        out.writeASCII(":")
                        out.writeJSONString(entry.fieldsAndValues[i + 1])
                        i += 2
                    }
                    out.writeASCII("}")
                }
                try out.flushIfFull()
            }
            try out.write("},\"length\":\(s.length),\"last_id\":\"\(s.lastID)\",\"groups\":[")
            for (gi, g) in s.groups.enumerated() {
                if gi > 0 { out.writeASCII(",") }
                out.writeASCII("{\"name\":")
                out.writeJSONString(g.name)
                try out.write(",\"last_delivered_id\":\"\(g.lastDelivered)\",\"pending\":\(g.pending.count),\"consumers\":[")
                for (ci, c) in g.consumers.enumerated() {
                    if ci > 0 { out.writeASCII(",") }
                    out.writeJSONString(c.name)
                }
                out.writeASCII("]}")
            }
            out.writeASCII("]}")
        case .module(let m):
            try out.write("{\"module\":\"\(m.name)\",\"encver\":\(m.encodingVersion),\"bytes\":\(m.raw.count)}")
        }
    }
}
