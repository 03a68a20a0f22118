// RDBWriter+Visitor: the writer as an RDBElementVisitor, so that `cairn-rdb convert` is the decoder
// feeding the writer. A value the writer would store in a plain or quicklist encoding is written as its
// elements arrive, never built: lists (RDB 10+: the quicklist, nodes filled as Redis fills them), sets
// past the intset and listpack limits, hashes past the listpack limit (when the source encoding
// cannot carry field TTLs). Anything else is small by the encoding limits, or needs all of its
// elements before its encoding can be chosen (a zset is written sorted, a hash with field TTLs by TTL,
// a stream with its groups), and goes through writeEntry as before. The bytes are writeEntry's either
// way (RDBWriterVisitorTests).

/// Writes every value the decoder hands it; count written keys with `keysWritten`.
public final class RDBWriterVisitor: RDBElementVisitor {
    let w: RDBWriter
    var header = RDBKeyHeader(db: 0, key: [], typeCode: 0)
    var mode = Mode.buffer
    let builder = RDBValueBuilder()
    public private(set) var keysWritten = 0

    enum Mode { case buffer, quicklist, plainList, plainSet, plainHash }

    public init(writer: RDBWriter) { w = writer }

    /// Source encodings that may carry hash field TTLs (Redis 7.4+, Valkey 8).
    static func mayCarryFieldTTLs(_ code: UInt8) -> Bool {
        code == RDBType.hashMetadataPreGA || code == RDBType.hashMetadata || code == RDBType.hashListpackExPreGA
            || code == RDBType.hashListpackEx || code == 22
    }

    public func beginValue(_ h: RDBKeyHeader) throws {
        header = h
        let o = w.options
        let n = h.count ?? -1
        switch RDBType.typeName(h.typeCode) {
        case "list" where o.version >= 10:
            mode = .quicklist
            h.key.withUnsafeBytes { w.beginQuicklistValue(key: $0, expiresAt: h.expiresAt, idle: h.idle, freq: h.freq) }
            return
        case "list" where n > 0:
            mode = .plainList
        case "set" where n > o.setMaxIntsetEntries && (o.version < 11 || n > o.setMaxListpackEntries):
            mode = .plainSet
        case "hash" where n > o.hashMaxListpackEntries && !Self.mayCarryFieldTTLs(h.typeCode):
            mode = .plainHash
        default:
            mode = .buffer
            try builder.beginValue(h)
            return
        }
        let kind: RDBStreamingKind = mode == .plainList ? .list : mode == .plainSet ? .set : .hash
        try h.key.withUnsafeBytes { try w.beginValue(kind, key: $0, count: n, expiresAt: h.expiresAt, idle: h.idle, freq: h.freq) }
    }

    public func string(_ value: UnsafeRawBufferPointer) throws { try builder.string(value) }

    public func listElement(_ element: UnsafeRawBufferPointer) throws {
        switch mode {
        case .quicklist: w.appendQuicklistElement(element)
        case .plainList: try w.appendListElement(element)
        default: try builder.listElement(element)
        }
    }

    public func setMember(_ member: UnsafeRawBufferPointer) throws {
        if mode == .plainSet { try w.appendSetMember(member) } else { try builder.setMember(member) }
    }

    public func sortedSetMember(_ member: UnsafeRawBufferPointer, score: Double) throws {
        try builder.sortedSetMember(member, score: score)
    }

    public func hashField(_ field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64) throws {
        if mode == .plainHash { try w.appendHashField(field, value: value) } else {
            try builder.hashField(field, value: value, expiresAt: expiresAt)
        }
    }

    public func streamNode(_ node: RDBStreamNode) throws { try builder.streamNode(node) }
    public func streamEnd(_ stream: RDBStream) throws { try builder.streamEnd(stream) }
    public func module(_ value: RDBModuleValue) throws { try builder.module(value) }

    public func endValue() throws {
        switch mode {
        case .quicklist: try w.endQuicklistValue()
        case .plainList, .plainSet, .plainHash: try w.endValue()
        case .buffer:
            try builder.endValue()
            try w.writeEntry(key: header.key, value: builder.value, expiresAt: header.expiresAt, idle: header.idle, freq: header.freq)
        }
        keysWritten += 1
    }
}
