// RDBWriter+Streaming: writes an aggregate element by element, for values too large to build in memory
// (DESIGN.md: "begin an aggregate with its count, append elements, end"). The encodings are the ones that
// can be written without knowing the elements in advance, and that every Redis from 2.x to 8.x loads:
//   hash    type 4 HASH      len n, n × (str field, str value)
//   set     type 2 SET       len n, n × str
//   zset    type 5 ZSET_2    len n, n × (str member, f64le score)   — Redis writes the highest score first
//   list    type 1 LIST      len n, n × str                          — Redis 7.0 loads it into a quicklist
// Redis converts small ones to listpacks (or an intset) on load, as it does for any file. Bytes are handed
// to the sink as the buffer fills, so memory stays at the writer's buffer whatever the count.

/// The kind of aggregate being streamed.
public enum RDBStreamingKind: Sendable {
    case hash, set, sortedSet, list
}

struct RDBStreamingValue {
    var kind: RDBStreamingKind
    var key: [UInt8]
    var remaining: Int
}

extension RDBWriter {
    /// Begins a key whose value of `count` elements follows through the `append…` calls, then `endValue()`.
    public func beginValue(_ kind: RDBStreamingKind, key: UnsafeRawBufferPointer, count: Int, expiresAt: Int64? = nil,
                           idle: UInt64? = nil, freq: UInt8? = nil) throws {
        guard streaming == nil else { throw RDBWriteError(key: Array(key), message: "a streamed value is already open") }
        guard count > 0 else { throw RDBWriteError(key: Array(key), message: "an aggregate needs at least one element") }
        writeKeyOpcodes(expiresAt: expiresAt, idle: idle, freq: freq)
        switch kind {
        case .hash: out.append(RDBType.hash)
        case .set: out.append(RDBType.set)
        case .sortedSet: out.append(RDBType.zset2)
        case .list: out.append(RDBType.list)
        }
        writeString(key)
        writeLength(UInt64(count))
        streaming = RDBStreamingValue(kind: kind, key: Array(key), remaining: count)
        try maybeFlush()
    }

    public func beginValue(_ kind: RDBStreamingKind, key: [UInt8], count: Int, expiresAt: Int64? = nil) throws {
        try key.withUnsafeBytes { try beginValue(kind, key: $0, count: count, expiresAt: expiresAt) }
    }

    @inline(__always)
    func takeElement(_ kind: RDBStreamingKind) throws {
        guard var s = streaming, s.kind == kind else {
            throw RDBWriteError(key: streaming?.key, message: "no streamed \(kind) value is open")
        }
        guard s.remaining > 0 else { throw RDBWriteError(key: s.key, message: "more elements than the count given to beginValue") }
        s.remaining -= 1
        streaming = s
    }

    /// One field of a streamed hash.
    public func appendHashField(_ field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws {
        try takeElement(.hash)
        writeString(field)
        writeString(value)
        try maybeFlush()
    }

    /// One member of a streamed set.
    public func appendSetMember(_ member: UnsafeRawBufferPointer) throws {
        try takeElement(.set)
        writeString(member)
        try maybeFlush()
    }

    /// One member of a streamed sorted set (append from the highest score down, as Redis does).
    public func appendSortedSetMember(_ member: UnsafeRawBufferPointer, score: Double) throws {
        guard !score.isNaN else { throw RDBWriteError(key: streaming?.key, message: "a sorted set score cannot be NaN") }
        try takeElement(.sortedSet)
        writeString(member)
        writeBinaryDouble(score)
        try maybeFlush()
    }

    /// One element of a streamed list, in order.
    public func appendListElement(_ element: UnsafeRawBufferPointer) throws {
        try takeElement(.list)
        writeString(element)
        try maybeFlush()
    }

    /// Ends the streamed value; every announced element must have been appended.
    public func endValue() throws {
        guard let s = streaming else { throw RDBWriteError(key: nil, message: "no streamed value is open") }
        streaming = nil
        guard s.remaining == 0 else {
            throw RDBWriteError(key: s.key, message: "\(s.remaining) announced elements were not appended")
        }
        try maybeFlush()
    }
}
