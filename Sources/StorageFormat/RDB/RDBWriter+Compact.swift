// RDBWriter+Compact: writes a value in the compact encodings Redis 7.0 keeps small values in, element by
// element, from the caller's own structures (the snapshot child walking the engine): nothing is built
// per value but the listpack itself, in one scratch encoder the writer reuses.
//   hash listpack   type 16   str(listpack: field, value, field, value, ...)
//   zset listpack   type 17   str(listpack: member, score, ...)   lowest score first
//   intset          type 11   str(intset)
//   quicklist       type 18   len nodes, nodes × (len container (2 = packed), str(listpack))
// The plain encodings of big values (HASH, SET, ZSET_2) go through RDBWriter+Streaming's beginValue.
// Byte for byte what writeEntry(key:value:) writes for the same value and encoding.

struct RDBQuicklistState {
    /// Where the node count goes (written at the end, when it is known).
    var countAt: Int
    var nodes = 0
    var nodeBytesLimit: Int
    var nodeEntriesLimit: Int
}

extension RDBWriter {
    /// Begins a key whose value is one listpack (`RDBType.hashListpack`, `.zsetListpack` or
    /// `.setListpack`); append its entries, then `endListpackValue()`.
    public func beginListpackValue(_ type: UInt8, key: UnsafeRawBufferPointer, expiresAt: Int64? = nil,
                                   idle: UInt64? = nil, freq: UInt8? = nil) {
        writeKeyOpcodes(expiresAt: expiresAt, idle: idle, freq: freq)
        out.append(type)
        writeString(key)
        scratch.reset()
    }

    /// A string entry of the listpack being written (stored as an integer when it is one).
    @inline(__always)
    public func appendListpackEntry(_ bytes: UnsafeRawBufferPointer) { scratch.append(bytes) }

    /// An integer entry of the listpack being written.
    @inline(__always)
    public func appendListpackEntry(int v: Int64) { scratch.append(int: v) }

    /// A sorted-set score entry, written as Redis writes it (an integer when it is one, else %.17g).
    public func appendListpackScore(_ score: Double) { appendScore(score, to: &scratch) }

    public func endListpackValue() throws {
        scratch.withFinished { writeString($0) }
        try maybeFlush()
    }

    /// A set in the intset encoding, from its members in ascending order (no duplicates).
    public func writeIntsetValue(key: UnsafeRawBufferPointer, sortedMembers m: UnsafeBufferPointer<Int64>,
                                 expiresAt: Int64? = nil, idle: UInt64? = nil, freq: UInt8? = nil) throws {
        writeKeyOpcodes(expiresAt: expiresAt, idle: idle, freq: freq)
        out.append(RDBType.setIntset)
        writeString(key)
        var blob = ByteWriter()
        Intset.encode(sortedUnique: m, to: &blob)
        blob.bytes.withUnsafeBytes { writeString($0) }
        try maybeFlush()
    }

    /// Begins a list in the quicklist encoding (RDB 10+); append its elements in order, then
    /// `endQuicklistValue()`. Nodes fill as in Redis 7.0 (see writeQuicklist2).
    public func beginQuicklistValue(key: UnsafeRawBufferPointer, expiresAt: Int64? = nil, idle: UInt64? = nil, freq: UInt8? = nil) {
        writeKeyOpcodes(expiresAt: expiresAt, idle: idle, freq: freq)
        out.append(RDBType.listQuicklist2)
        writeString(key)
        let fill = options.listMaxListpackSize
        quicklist = RDBQuicklistState(countAt: out.count, nodeBytesLimit: fill < 0 ? listNodeByteLimit : 8192,
                                      nodeEntriesLimit: fill < 0 ? Int.max : max(fill, 1))
        scratch.reset()
    }

    public func appendQuicklistElement(_ item: UnsafeRawBufferPointer) {
        guard var q = quicklist else { preconditionFailure("appendQuicklistElement outside a quicklist") }
        if item.count >= 1 << 30 {
            // A plain node of its own.
            closeQuicklistNode(&q)
            writeLength(1)
            writeString(item)
            q.nodes += 1
        } else {
            if scratch.count > 0 && (scratch.byteSize + item.count + 8 > q.nodeBytesLimit || scratch.count >= q.nodeEntriesLimit) {
                closeQuicklistNode(&q)
            }
            scratch.append(item)
        }
        quicklist = q
    }

    func closeQuicklistNode(_ q: inout RDBQuicklistState) {
        guard scratch.count > 0 else { return }
        writeLength(2)
        scratch.withFinished { writeString($0) }
        scratch.reset()
        q.nodes += 1
    }

    public func endQuicklistValue() throws {
        guard var q = quicklist else { preconditionFailure("endQuicklistValue outside a quicklist") }
        closeQuicklistNode(&q)
        quicklist = nil
        // The node count comes first in the file: insert its length encoding before the nodes.
        let nodesEnd = out.count
        writeLength(UInt64(q.nodes))
        let encoded = Array(out.bytes[nodesEnd...])
        out.bytes.removeSubrange(nodesEnd...)
        out.bytes.insert(contentsOf: encoded, at: q.countAt)
        try maybeFlush()
    }
}
