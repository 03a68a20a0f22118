// RDBElementVisitor: what RDBDecoder hands a key's value to, one element at a time — the reading twin
// of RDBWriter+Streaming's beginValue / append… / endValue. Buffers handed out are valid only during the
// call. Memory for one value, per encoding:
//   list, set, zset, hash (plain encodings)   one element at a time
//   listpack, ziplist, intset, zipmap blobs   the blob (one RDB string, which Redis caps with its
//                                             encoding thresholds) is validated whole first, then its
//                                             elements are handed out from it, no array built
//   quicklist                                 one node's blob at a time
//   stream                                    one node (a listpack of a few hundred entries) at a time;
//                                             the consumer groups and their PELs come whole at the end
//   string                                    whole: one value, bounded by proto-max-bulk-len (512 MB)
//   module                                    whole (its raw opcode stream)
// A compact blob is checked whole before any of its elements is handed out; in a plain or quicklist
// encoding an error in a later element arrives after the earlier ones were handed out (the visitor's
// endValue is then never called). An aggregate stored with no elements is never begun.

/// What is known of a key before its value: everything an RDBEntry holds but the value.
public struct RDBKeyHeader: Sendable {
    public var db: Int
    public var key: [UInt8]
    /// The type code the file used (tells the encoding).
    public var typeCode: UInt8
    /// Absolute expiry in Unix ms, if any.
    public var expiresAt: Int64?
    public var idle: UInt64?
    public var freq: UInt8?
    /// Offset of the record's first byte.
    public var offset: Int
    /// The element count when the file states it before the elements (plain encodings) or the blob
    /// tells it (compact encodings): list items, set members, zset members, hash fields. Nil for
    /// quicklists, strings, streams and modules.
    public var count: Int?

    public init(db: Int, key: [UInt8], typeCode: UInt8, expiresAt: Int64? = nil, idle: UInt64? = nil, freq: UInt8? = nil,
                offset: Int = 0, count: Int? = nil) {
        self.db = db; self.key = key; self.typeCode = typeCode; self.expiresAt = expiresAt
        self.idle = idle; self.freq = freq; self.offset = offset; self.count = count
    }

    /// Redis's type name (`TYPE`): string, list, set, zset, hash, stream, module.
    public var typeName: String { RDBType.typeName(typeCode) }
}

/// Receives one key's value element by element. Buffers are valid only during the call. Every method
/// has a default that does nothing.
public protocol RDBElementVisitor: AnyObject {
    /// Before the value's first element (for a string, stream or module: before its one call).
    func beginValue(_ header: RDBKeyHeader) throws
    /// A string value, whole.
    func string(_ value: UnsafeRawBufferPointer) throws
    func listElement(_ element: UnsafeRawBufferPointer) throws
    func setMember(_ member: UnsafeRawBufferPointer) throws
    func sortedSetMember(_ member: UnsafeRawBufferPointer, score: Double) throws
    /// `expiresAt`: the field's absolute expiry in Unix ms, 0 for none (Redis 7.4+ field TTLs).
    func hashField(_ field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64) throws
    /// One node of a stream, in order (StreamNodes.entries decodes its entries).
    func streamNode(_ node: RDBStreamNode) throws
    /// After a stream's last node: its metadata and consumer groups (`nodes` is empty).
    func streamEnd(_ stream: RDBStream) throws
    func module(_ value: RDBModuleValue) throws
    /// After the last element.
    func endValue() throws
}

extension RDBElementVisitor {
    public func beginValue(_ header: RDBKeyHeader) throws {}
    public func string(_ value: UnsafeRawBufferPointer) throws {}
    public func listElement(_ element: UnsafeRawBufferPointer) throws {}
    public func setMember(_ member: UnsafeRawBufferPointer) throws {}
    public func sortedSetMember(_ member: UnsafeRawBufferPointer, score: Double) throws {}
    public func hashField(_ field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64) throws {}
    public func streamNode(_ node: RDBStreamNode) throws {}
    public func streamEnd(_ stream: RDBStream) throws {}
    public func module(_ value: RDBModuleValue) throws {}
    public func endValue() throws {}
}

/// One record of an element-wise walk.
public enum RDBWalkRecord {
    /// Anything but a key (never `.entry`).
    case record(RDBRecord)
    /// A key whose value has been walked (and handed to the visitor chosen for it, if any).
    case key(RDBKeyHeader)
}

/// Rebuilds the RDBValue of the elements it is handed (for values known to be small, and for tests).
public final class RDBValueBuilder: RDBElementVisitor {
    public private(set) var header: RDBKeyHeader?
    var strings: [[UInt8]] = []
    var scored: [RDBScoredMember] = []
    var fields: [RDBHashField] = []
    var nodes: [RDBStreamNode] = []
    var whole: RDBValue?
    /// Element bytes plus 64 per element: roughly what the value costs in memory once built.
    public private(set) var estimatedBytes = 0

    public init() {}

    public func reset() {
        header = nil; strings = []; scored = []; fields = []; nodes = []; whole = nil; estimatedBytes = 0
    }

    public func beginValue(_ header: RDBKeyHeader) throws { reset(); self.header = header }
    public func string(_ value: UnsafeRawBufferPointer) throws {
        whole = .string(Array(value)); estimatedBytes += value.count + 64
    }
    public func listElement(_ element: UnsafeRawBufferPointer) throws {
        strings.append(Array(element)); estimatedBytes += element.count + 64
    }
    public func setMember(_ member: UnsafeRawBufferPointer) throws {
        strings.append(Array(member)); estimatedBytes += member.count + 64
    }
    public func sortedSetMember(_ member: UnsafeRawBufferPointer, score: Double) throws {
        scored.append(RDBScoredMember(member: Array(member), score: score)); estimatedBytes += member.count + 72
    }
    public func hashField(_ field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64) throws {
        fields.append(RDBHashField(field: Array(field), value: Array(value), expiresAt: expiresAt))
        estimatedBytes += field.count + value.count + 128
    }
    public func streamNode(_ node: RDBStreamNode) throws {
        nodes.append(node); estimatedBytes += node.listpack.count + 64
    }
    public func streamEnd(_ stream: RDBStream) throws {
        var s = stream
        s.nodes = nodes
        nodes = []
        whole = .stream(s)
    }
    public func module(_ value: RDBModuleValue) throws { whole = .module(value); estimatedBytes += value.raw.count + 64 }

    /// Hands the elements collected so far to `visitor` (no beginValue, no endValue): for switching to
    /// a streaming consumer part way through a value.
    public func replayElements(into visitor: RDBElementVisitor) throws {
        switch header.map({ RDBType.typeName($0.typeCode) }) {
        case "list": for s in strings { try s.withUnsafeBytes { try visitor.listElement($0) } }
        case "set": for s in strings { try s.withUnsafeBytes { try visitor.setMember($0) } }
        default: break
        }
        for m in scored { try m.member.withUnsafeBytes { try visitor.sortedSetMember($0, score: m.score) } }
        for f in fields {
            try f.field.withUnsafeBytes { fb in try f.value.withUnsafeBytes { try visitor.hashField(fb, value: $0, expiresAt: f.expiresAt) } }
        }
        for n in nodes { try visitor.streamNode(n) }
    }

    /// The value handed so far (call after `endValue`).
    public var value: RDBValue {
        if let whole { return whole }
        switch header.map({ RDBType.typeName($0.typeCode) }) {
        case "list": return .list(strings)
        case "set": return .set(strings)
        case "zset": return .sortedSet(scored)
        default: return .hash(fields)
        }
    }

    /// The entry handed so far (call after `endValue`).
    public var entry: RDBEntry? {
        header.map { RDBEntry(db: $0.db, key: $0.key, value: value, typeCode: $0.typeCode, expiresAt: $0.expiresAt,
                              idle: $0.idle, freq: $0.freq, offset: $0.offset) }
    }
}

extension RDBValue {
    /// Hands the value to `visitor` as the element-wise walk would (beginValue … endValue), so code
    /// written against the walk also serves materialised values (DUMP payloads, tests).
    /// A header whose type code is not of the value's type gets `plainTypeCode`.
    public func replay(_ header: RDBKeyHeader, into visitor: RDBElementVisitor) throws {
        var header = header
        if RDBType.typeName(header.typeCode) != typeName { header.typeCode = plainTypeCode }
        switch self {
        case .list(let a), .set(let a): header.count = a.count
        case .sortedSet(let a): header.count = a.count
        case .hash(let a): header.count = a.count
        default: header.count = nil
        }
        try visitor.beginValue(header)
        switch self {
        case .string(let s): try s.withUnsafeBytes { try visitor.string($0) }
        case .list(let items): for i in items { try i.withUnsafeBytes { try visitor.listElement($0) } }
        case .set(let items): for i in items { try i.withUnsafeBytes { try visitor.setMember($0) } }
        case .sortedSet(let items):
            for m in items { try m.member.withUnsafeBytes { try visitor.sortedSetMember($0, score: m.score) } }
        case .hash(let fields):
            for f in fields {
                try f.field.withUnsafeBytes { fb in try f.value.withUnsafeBytes { try visitor.hashField(fb, value: $0, expiresAt: f.expiresAt) } }
            }
        case .stream(let s):
            for n in s.nodes { try visitor.streamNode(n) }
            var meta = s
            meta.nodes = []
            try visitor.streamEnd(meta)
        case .module(let m): try visitor.module(m)
        }
        try visitor.endValue()
    }
}

extension RDBValue {
    /// A type code of the value's type (its plain encoding).
    public var plainTypeCode: UInt8 {
        switch self {
        case .string: return RDBType.string
        case .list: return RDBType.list
        case .set: return RDBType.set
        case .sortedSet: return RDBType.zset2
        case .hash: return RDBType.hash
        case .stream: return RDBType.streamListpacks3
        case .module: return RDBType.module2
        }
    }
}
