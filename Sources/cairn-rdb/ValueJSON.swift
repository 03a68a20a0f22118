// The JSON of one value, shared by `json` and `jsonl`: strings binary-safe (ToolKit's writer: one
// \u00XX escape per non-printable byte); lists and sets as arrays; hashes as objects field → value;
// sorted sets as objects member → score; streams as {"entries": {id: {field: value}}, "length",
// "last_id", "groups": [...]}; module values as {"module": name, "encver", "bytes"}.
// Written while the value is walked element by element (RDBReader.nextWalking): nothing of the value
// is held, the output is flushed as it fills, so a key of any size costs the output buffer.
import StorageFormat
import ToolKit

final class JSONValueWriter: RDBElementVisitor {
    let out: FileOutput
    /// Called before the value's JSON (json: the key and the database's object; jsonl: the line's head).
    var onBegin: (RDBKeyHeader) throws -> Void = { _ in }
    /// Called after it.
    var onEnd: (RDBKeyHeader) throws -> Void = { _ in }
    var header = RDBKeyHeader(db: 0, key: [], typeCode: 0)
    var first = true

    init(out: FileOutput) { self.out = out }

    func beginValue(_ h: RDBKeyHeader) throws {
        header = h
        first = true
        try onBegin(h)
        switch h.typeName {
        case "list", "set": out.writeASCII("[")
        case "zset", "hash": out.writeASCII("{")
        case "stream": out.writeASCII("{\"entries\":{")
        default: break
        }
    }

    @inline(__always) func separator() {
        if !first { out.writeASCII(",") }
        first = false
    }

    func string(_ s: UnsafeRawBufferPointer) throws {
        out.writeJSONString(s)
        try out.flushIfFull()
    }

    func listElement(_ e: UnsafeRawBufferPointer) throws {
        separator()
        out.writeJSONString(e)
        try out.flushIfFull()
    }

    func setMember(_ m: UnsafeRawBufferPointer) throws { try listElement(m) }

    func sortedSetMember(_ m: UnsafeRawBufferPointer, score: Double) throws {
        separator()
        out.writeJSONString(m)
        out.writeASCII(":")
        try out.writeJSONNumber(score)
        try out.flushIfFull()
    }

    func hashField(_ f: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64) throws {
        separator()
        out.writeJSONString(f)
        out.writeASCII(":")
        out.writeJSONString(value)
        try out.flushIfFull()
    }

    func streamNode(_ node: RDBStreamNode) throws {
        for entry in try StreamNodes.entries(node) where !entry.deleted {
            separator()
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

    func streamEnd(_ s: RDBStream) throws {
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
        out.writeASCII("]")
    }

    func module(_ m: RDBModuleValue) throws {
        try out.write("{\"module\":\"\(m.name)\",\"encver\":\(m.encodingVersion),\"bytes\":\(m.raw.count)}")
    }

    func endValue() throws {
        switch header.typeName {
        case "list", "set": out.writeASCII("]")
        case "zset", "hash", "stream": out.writeASCII("}")
        default: break
        }
        try onEnd(header)
        try out.flushIfFull()
    }
}
