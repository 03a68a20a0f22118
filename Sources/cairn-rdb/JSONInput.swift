// JSONInput: a dump written by `json` or `jsonl` read back as RDB entries, one key at a time, for
// `convert` (JSON → RDB) and `restore`. The layout is told by the first non-space byte, not the name:
//   '[' json, rdbtools' layout: [ {key: value, …}, … ], one object per database. It carries neither
//       database numbers nor types nor TTLs, so: the n-th object becomes database n (counting from 0);
//       a JSON string is a string; an array a list (a set comes back as a list); an object whose
//       values are all strings a hash; an object of numbers (or "inf"/"-inf"/"nan") a sorted set (a
//       sorted set whose every score is ±inf comes back as a hash); {"entries", "length", "last_id",
//       "groups"} a stream; and no key has a TTL.
//   '{' jsonl: {"db":N,"key":…,"type":…,"expiry":ms|null,"value":…[,"field_expiry":{field: ms}]}
//       per key: databases, types, TTLs and hash field TTLs come back as they were.
// Neither layout carries a stream's pending entries (only their count), its consumers' times, its
// deleted-entry history, or a module value's bytes, nor function libraries: a stream comes back with
// its entries, last ID and groups (last delivered ID, consumers) with empty PELs, noted once per
// group; a module value is refused unless `lossy`, which skips the key with a note.
// Memory: one key's value at a time (an aggregate is materialised before it is written).
import StorageFormat
import ToolKit

final class JSONDumpReader {
    enum Layout { case json, jsonl }
    let scanner: JSONScanner
    let layout: Layout
    let lossy: Bool
    /// Receives each note (a loss the layout implies, a skipped key).
    var onNote: (String) -> Void = { _ in }
    /// Receives the code of each function library (json: the last element's "functions"; jsonl: a "function" line).
    var onFunction: ([UInt8]) throws -> Void = { _ in }
    private var dbIndex = -1
    private var inObject = false
    private var firstKey = true
    private var isFirstKey = false
    private var done = false

    /// The layout of `source` from its first non-space byte; nil when it is not JSON.
    static func sniff(_ source: ByteSource) throws -> (Layout?, ByteSource) {
        var head = [UInt8](repeating: 0, count: 4096)
        var n = 0
        while n < head.count {
            let got = try head.withUnsafeMutableBytes { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[n...])) }
            if got == 0 { break }
            n += got
            if head[..<n].contains(where: { !($0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09) }) { break }
        }
        head.removeSubrange(n...)
        let first = head.first { !($0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09) }
        let layout: Layout? = first == UInt8(ascii: "[") ? .json : first == UInt8(ascii: "{") ? .jsonl : nil
        return (layout, PrefixedSource(prefix: head, rest: source))
    }

    init(source: ByteSource, layout: Layout, lossy: Bool) throws {
        scanner = JSONScanner(source: source)
        self.layout = layout
        self.lossy = lossy
        if layout == .json { try scanner.expect(UInt8(ascii: "[")) }
    }

    var offset: Int { scanner.offset }

    /// The next key, nil at the end of the input.
    func next() throws -> RDBEntry? {
        while !done {
            let start = scanner.offset
            let e: RDBEntry?
            switch layout {
            case .json: e = try nextInJSON()
            case .jsonl: e = try nextInJSONL()
            }
            guard var entry = e else { return nil }
            entry.offset = start
            if isEmpty(entry.value) {
                onNote("key \"\(printableKey(entry.key))\" in db \(entry.db): an empty \(entry.value.typeName) skipped (Redis holds no empty keys)")
                continue
            }
            return entry
        }
        return nil
    }

    private func isEmpty(_ v: RDBValue) -> Bool {
        switch v {
        case .list(let a), .set(let a): return a.isEmpty
        case .sortedSet(let a): return a.isEmpty
        case .hash(let a): return a.isEmpty
        default: return false
        }
    }

    private func finishDocument() throws {
        done = true
        if let b = try scanner.peekNonSpace() {
            throw scanner.error("the end of the input after the JSON document", found: "byte 0x\(String(b, radix: 16))")
        }
    }

    private func nextInJSON() throws -> RDBEntry? {
        while true {
            if !inObject {
                if try scanner.consume(UInt8(ascii: "]")) {
                    try finishDocument()
                    return nil
                }
                if dbIndex >= 0 { try scanner.expect(UInt8(ascii: ",")) }
                try scanner.expect(UInt8(ascii: "{"))
                dbIndex += 1
                inObject = true
                firstKey = true
                continue
            }
            if try scanner.consume(UInt8(ascii: "}")) {
                inObject = false
                continue
            }
            if !firstKey { try scanner.expect(UInt8(ascii: ",")) }
            isFirstKey = firstKey
            firstKey = false
            let keyAt = scanner.offset
            let key = try scanner.readString()
            try scanner.expect(UInt8(ascii: ":"))
            let value = try scanner.readValue()
            if firstKeyOfElement(key, value) {
                try functions(value, at: keyAt)
                try scanner.expect(UInt8(ascii: "}"))
                inObject = false
                dbIndex -= 1
                continue
            }
            guard let v = try inferredValue(value, key: key, db: dbIndex, at: keyAt) else { continue }
            return RDBEntry(db: dbIndex, key: key, value: v, typeCode: 0)
        }
    }

    private func nextInJSONL() throws -> RDBEntry? {
        while true {
            guard try scanner.peekNonSpace() != nil else {
                done = true
                return nil
            }
            let at = scanner.offset
            let line = try scanner.readValue()
            guard case .object = line else { throw bad(at, nil, "an object per line", line.kind) }
            if line["function"] != nil, line["key"] == nil {
                guard case .string(let code)? = line["code"] else { throw bad(at, nil, "a function library's \"code\" string", line["code"]?.kind ?? "none") }
                try onFunction(code)
                continue
            }
            guard case .string(let key)? = line["key"] else { throw bad(at, nil, "a \"key\" string", line["key"]?.kind ?? "none") }
            var db = 0
            if let d = line["db"] {
                guard case .number(let t) = d, let n = Int(String(decoding: t, as: UTF8.self)), n >= 0 else { throw bad(at, key, "a database number", d.kind) }
                db = n
            }
            var expiresAt: Int64?
            switch line["expiry"] {
            case nil, .null?: break
            case .number(let t)?:
                guard let ms = Int64(String(decoding: t, as: UTF8.self)) else { throw bad(at, key, "an expiry in Unix ms", String(decoding: t, as: UTF8.self)) }
                expiresAt = ms
            case let other?: throw bad(at, key, "an expiry in Unix ms or null", other.kind)
            }
            guard let value = line["value"] else { throw bad(at, key, "a \"value\"", "none") }
            let v: RDBValue?
            switch line["type"] {
            case nil: v = try inferredValue(value, key: key, db: db, at: at)
            case .string(let t)?: v = try typedValue(value, type: String(decoding: t, as: UTF8.self), key: key, db: db, at: at)
            case let other?: throw bad(at, key, "a type name", other.kind)
            }
            guard var value = v else { continue }
            if let fe = line["field_expiry"], case .hash(var fields) = value {
                guard case .object(let members) = fe else { throw bad(at, key, "field_expiry as an object", fe.kind) }
                var expiry: [[UInt8]: Int64] = [:]
                for (f, ms) in members {
                    guard case .number(let t) = ms, let n = Int64(String(decoding: t, as: UTF8.self)) else { throw bad(at, key, "a field expiry in Unix ms", ms.kind) }
                    expiry[f] = n
                }
                for i in fields.indices { if let n = expiry[fields[i].field] { fields[i].expiresAt = n } }
                value = .hash(fields)
            }
            return RDBEntry(db: db, key: key, value: value, typeCode: 0, expiresAt: expiresAt)
        }
    }

    /// Whether a json element's first member is the function libraries' element ("functions": an array of
    /// objects, which no key's value can be).
    private func firstKeyOfElement(_ key: [UInt8], _ value: JSONValue) -> Bool {
        guard isFirstKey, key == Array("functions".utf8), case .array(let items) = value, let first = items.first,
              case .object = first else { return false }
        return true
    }

    private func functions(_ v: JSONValue, at: Int) throws {
        guard case .array(let items) = v else { return }
        for item in items {
            guard case .string(let code)? = item["code"] else { throw bad(at, nil, "a function library's \"code\" string", item["code"]?.kind ?? "none") }
            try onFunction(code)
        }
    }

    private func bad(_ at: Int, _ key: [UInt8]?, _ expected: String, _ found: String) -> FormatError {
        FormatError(offset: at, key: key, context: layout == .json ? "JSON" : "JSON lines", expected: expected, found: found)
    }

    // MARK: - values

    private func strings(_ v: JSONValue, _ at: Int, _ key: [UInt8], _ what: String) throws -> [[UInt8]] {
        guard case .array(let items) = v else { throw bad(at, key, "\(what) as an array", v.kind) }
        return try items.map {
            guard case .string(let s) = $0 else { throw bad(at, key, "\(what) elements as strings", $0.kind) }
            return s
        }
    }

    private static let nonFinite: [[UInt8]: Double] = [Array("inf".utf8): .infinity, Array("-inf".utf8): -.infinity,
                                                        Array("+inf".utf8): .infinity, Array("nan".utf8): .nan]

    /// A score as `json` writes it: a number, or "inf"/"-inf"/"nan".
    private static func score(_ v: JSONValue) -> Double? {
        switch v {
        case .number(let t): return Double(String(decoding: t, as: UTF8.self))
        case .string(let s): return nonFinite[s]
        default: return nil
        }
    }

    private func typedValue(_ v: JSONValue, type: String, key: [UInt8], db: Int, at: Int) throws -> RDBValue? {
        switch type {
        case "string":
            guard case .string(let s) = v else { throw bad(at, key, "a string value", v.kind) }
            return .string(s)
        case "list": return .list(try strings(v, at, key, "a list"))
        case "set": return .set(try strings(v, at, key, "a set"))
        case "zset":
            guard case .object(let members) = v else { throw bad(at, key, "a sorted set as an object", v.kind) }
            return .sortedSet(try members.map {
                guard let d = JSONDumpReader.score($0.value) else { throw bad(at, key, "a score", $0.value.kind) }
                return RDBScoredMember(member: $0.key, score: d)
            })
        case "hash":
            guard case .object(let members) = v else { throw bad(at, key, "a hash as an object", v.kind) }
            return .hash(try members.map {
                guard case .string(let s) = $0.value else { throw bad(at, key, "hash values as strings", $0.value.kind) }
                return RDBHashField(field: $0.key, value: s)
            })
        case "stream": return .stream(try stream(v, key: key, db: db, at: at))
        case "module": return try module(v, key: key, db: db, at: at)
        default: throw bad(at, key, "a type: string, list, set, zset, hash, stream", "\"\(type)\"")
        }
    }

    /// What the rdbtools layout's shape implies (see the file comment).
    private func inferredValue(_ v: JSONValue, key: [UInt8], db: Int, at: Int) throws -> RDBValue? {
        switch v {
        case .string(let s): return .string(s)
        case .array: return .list(try strings(v, at, key, "a list"))
        case .object(let members):
            if isStream(v) { return .stream(try stream(v, key: key, db: db, at: at)) }
            if isModule(v) { return try module(v, key: key, db: db, at: at) }
            if members.allSatisfy({ if case .string = $0.value { return true } else { return false } }) {
                return .hash(members.map { m in
                    if case .string(let s) = m.value { return RDBHashField(field: m.key, value: s) }
                    return RDBHashField(field: m.key, value: [])
                })
            }
            return try typedValue(v, type: "zset", key: key, db: db, at: at)
        default:
            throw bad(at, key, "a string, an array or an object", v.kind)
        }
    }

    private func names(_ v: JSONValue) -> [String] {
        guard case .object(let members) = v else { return [] }
        return members.map { String(decoding: $0.key, as: UTF8.self) }
    }

    private func isStream(_ v: JSONValue) -> Bool {
        guard case .object? = v["entries"], case .string? = v["last_id"] else { return false }
        return Set(names(v)).isSubset(of: ["entries", "length", "last_id", "groups"])
    }

    private func isModule(_ v: JSONValue) -> Bool {
        guard case .string? = v["module"] else { return false }
        return Set(names(v)).isSubset(of: ["module", "encver", "bytes"])
    }

    private func module(_ v: JSONValue, key: [UInt8], db: Int, at: Int) throws -> RDBValue? {
        var name = "?"
        if case .string(let n)? = v["module"] { name = String(decoding: n, as: UTF8.self) }
        let what = "key \"\(printableKey(key))\" in db \(db) holds a value of module type \(name), whose bytes the JSON does not carry"
        guard lossy else { throw bad(at, key, "a value the JSON carries", what + "; use --lossy to skip such keys") }
        onNote(what + ": skipped")
        return nil
    }

    private func streamID(_ v: JSONValue?, _ at: Int, _ key: [UInt8], _ what: String) throws -> StreamID {
        guard case .string(let s)? = v else { throw bad(at, key, what + " as \"ms-seq\"", v?.kind ?? "none") }
        let parts = s.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        guard parts.count == 2, let ms = UInt64(String(decoding: parts[0], as: UTF8.self)),
              let seq = UInt64(String(decoding: parts[1], as: UTF8.self)) else {
            throw bad(at, key, what + " as \"ms-seq\"", "\"\(String(decoding: s, as: UTF8.self))\"")
        }
        return StreamID(ms: ms, seq: seq)
    }

    /// A stream from its entries (re-encoded into listpack nodes as Redis builds them), last ID and groups.
    private func stream(_ v: JSONValue, key: [UInt8], db: Int, at: Int) throws -> RDBStream {
        guard case .object(let entries)? = v["entries"] else { throw bad(at, key, "a stream's \"entries\" object", v["entries"]?.kind ?? "none") }
        var builder = StreamNodeBuilder()
        var previous: StreamID?
        for (idText, fields) in entries {
            let id = try streamID(.string(idText), at, key, "a stream entry ID")
            if let previous, !(previous < id) { throw bad(at, key, "stream entry IDs in increasing order", "\(id) after \(previous)") }
            previous = id
            guard case .object(let fv) = fields else { throw bad(at, key, "a stream entry's fields as an object", fields.kind) }
            var flat: [[UInt8]] = []
            for (f, value) in fv {
                guard case .string(let s) = value else { throw bad(at, key, "stream values as strings", value.kind) }
                flat.append(f)
                flat.append(s)
            }
            builder.append(id: id, fieldsAndValues: flat)
        }
        let nodes = builder.finish()
        var lastID = previous ?? .zero
        if v["last_id"] != nil { lastID = try streamID(v["last_id"], at, key, "the stream's last_id") }
        if let previous, lastID < previous { throw bad(at, key, "a last_id not below the last entry's ID", "\(lastID) < \(previous)") }
        var groups: [RDBStreamGroup] = []
        if let g = v["groups"] {
            guard case .array(let items) = g else { throw bad(at, key, "the stream's groups as an array", g.kind) }
            for item in items {
                guard case .string(let name)? = item["name"] else { throw bad(at, key, "a group name", item["name"]?.kind ?? "none") }
                let last = try streamID(item["last_delivered_id"], at, key, "a group's last_delivered_id")
                var consumers: [RDBStreamConsumer] = []
                if case .array(let cs)? = item["consumers"] {
                    for c in cs {
                        guard case .string(let cname) = c else { throw bad(at, key, "consumer names as strings", c.kind) }
                        consumers.append(RDBStreamConsumer(name: cname, seenTime: 0, activeTime: nil, pending: []))
                    }
                }
                if case .number(let t)? = item["pending"], let n = Int(String(decoding: t, as: UTF8.self)), n > 0 {
                    onNote("key \"\(printableKey(key))\" in db \(db): group \"\(printableKey(name))\" had \(n) pending entries, which the JSON does not carry: restored with none")
                }
                groups.append(RDBStreamGroup(name: name, lastDelivered: last, entriesRead: nil, pending: [], consumers: consumers))
            }
        }
        let count = UInt64(entries.count)
        return RDBStream(nodes: nodes, length: count, lastID: lastID, firstID: nil, maxDeletedID: nil,
                         entriesAdded: nil, groups: groups)
    }
}

/// Packs stream entries into listpack nodes the way Redis appends them: a node holds at most 100
/// entries and is closed once it reaches 4096 bytes (stream-node-max-entries / -bytes defaults);
/// its master entry holds the first entry's fields, and entries with the same fields are SAMEFIELDS.
struct StreamNodeBuilder {
    static let maxEntries = 100
    static let maxBytes = 4096
    private var nodes: [RDBStreamNode] = []
    private var master = StreamID.zero
    private var masterFields: [[UInt8]] = []
    private var isOpen = false
    private var entries = 0
    // The master entry's count is written when the node closes, so entries are kept until then.
    private var body = ListpackEncoder()

    mutating func append(id: StreamID, fieldsAndValues fv: [[UInt8]]) {
        if !isOpen || entries >= StreamNodeBuilder.maxEntries || body.byteSize >= StreamNodeBuilder.maxBytes { close(); open(id, fv) }
        let fields = stride(from: 0, to: fv.count, by: 2).map { fv[$0] }
        let same = fields == masterFields
        body.append(int: same ? 2 : 0)
        body.append(int: Int64(bitPattern: id.ms &- master.ms))
        body.append(int: Int64(bitPattern: id.seq &- master.seq))
        if same {
            for i in stride(from: 1, to: fv.count, by: 2) { body.append(fv[i]) }
            body.append(int: Int64(fields.count + 3))
        } else {
            body.append(int: Int64(fields.count))
            for x in fv { body.append(x) }
            body.append(int: Int64(fv.count + 4))
        }
        entries += 1
    }

    private mutating func open(_ id: StreamID, _ fv: [[UInt8]]) {
        master = id
        masterFields = stride(from: 0, to: fv.count, by: 2).map { fv[$0] }
        isOpen = true
        body = ListpackEncoder()
        entries = 0
    }

    private mutating func close() {
        guard isOpen, entries > 0 else { return }
        var lp = ListpackEncoder()
        lp.append(int: Int64(entries))
        lp.append(int: 0)
        lp.append(int: Int64(masterFields.count))
        for f in masterFields { lp.append(f) }
        lp.append(int: 0)
        // Splice the entries after the master entry: a listpack is a 6-byte header (total bytes,
        // element count), the elements back to back, and a 0xFF terminator, so the elements of
        // `body` are appended as they are and the header is rewritten.
        var bytes = lp.finish()
        let entryBytes = body.finish()
        bytes.removeLast() // terminator
        bytes.append(contentsOf: entryBytes[6 ..< entryBytes.count - 1])
        bytes.append(0xFF)
        let total = UInt32(bytes.count)
        let count = min(lp.count + body.count, 65535) // 65535: "count unknown"
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: total.littleEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: UInt16(count).littleEndian, toByteOffset: 4, as: UInt16.self)
        }
        nodes.append(RDBStreamNode(masterID: master, listpack: bytes))
        isOpen = false
    }

    mutating func finish() -> [RDBStreamNode] {
        close()
        return nodes
    }
}
