// The JSON of one value, shared by `json` and `jsonl`: strings binary-safe (ToolKit's writer: one
// \u00XX escape per non-printable byte); lists and sets as arrays; hashes as objects field → value;
// sorted sets as objects member → score; streams as {"entries": {id: {field: value}}, "length",
// "last_id", "groups": [...]}; module values as {"module": name, "encver", "bytes"}.
// The value arrives materialised (RDBValue); an element-wise walk would write the same bytes.
import StorageFormat
import ToolKit

extension FileOutput {
    func writeJSONValue(_ value: RDBValue) throws {
        let out = self
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
