// RDBWriter: writes RDB files (v9–v12, v10 by default, what Redis 7.0 writes) and DUMP payload bodies.
// The pairs mirror RDBReader: writeLength/readLength, writeString/readString, one per encoding.
// Encoding choices follow Redis 7.0's defaults (FORMATS.md §11): listpack for small hashes, zsets and
// list nodes, intset for small integer sets, integer-encoded strings, LZF for strings over 20 bytes
// when it saves at least 4 bytes. Bytes are buffered and handed to a sink in large chunks; the CRC64
// runs over everything written.
#if canImport(Glibc)
import Glibc
#endif

/// A value the target RDB version cannot hold.
public struct RDBWriteError: Error, Sendable, CustomStringConvertible {
    public var key: [UInt8]?
    public var message: String
    public init(key: [UInt8]?, message: String) { self.key = key; self.message = message }
    public var description: String {
        (key.map { "key \(ByteText.quoted($0)): " } ?? "") + message
    }
}

/// Encoding thresholds (Redis's config names) and output choices.
public struct RDBWriterOptions: Sendable {
    /// RDB version to write: 9, 10, 11 or 12.
    public var version: Int = 10
    /// `rdbcompression`: LZF for strings over 20 bytes.
    public var compression = true
    /// `rdbchecksum`: write the CRC64 trailer (0 when off).
    public var checksum = true
    /// Drop what the target version cannot hold (hash field TTLs below v12) instead of refusing.
    public var lossy = false
    public var hashMaxListpackEntries = 512
    public var hashMaxListpackValue = 64
    public var zsetMaxListpackEntries = 128
    public var zsetMaxListpackValue = 64
    public var setMaxIntsetEntries = 512
    public var setMaxListpackEntries = 128
    public var setMaxListpackValue = 64
    /// `list-max-listpack-size`: negative = byte limit class (-2 = 8 KiB), positive = entries per node.
    public var listMaxListpackSize = -2

    public init(version: Int = 10) { self.version = version }

    public static let supportedVersions = 9 ... 12
}

/// Streams an RDB file (or a DUMP payload body) to a sink.
public final class RDBWriter {
    public let options: RDBWriterOptions
    var out = ByteWriter(capacity: 1 << 17)
    var crc: UInt64 = 0
    let sink: (UnsafeRawBufferPointer) throws -> Void
    /// Called with a note for each piece of data dropped or changed to fit the target version.
    public var onNote: ((String) -> Void)?
    /// Bytes handed to the sink so far plus those buffered.
    public private(set) var bytesWritten = 0
    /// The value being written element by element (RDBWriter+Streaming.swift), if any.
    var streaming: RDBStreamingValue? = nil
    /// The listpack being built for a compact value (RDBWriter+Compact.swift), reused value after value.
    var scratch = ListpackEncoder()
    /// The quicklist being written (RDBWriter+Compact.swift), if any.
    var quicklist: RDBQuicklistState? = nil
    static let flushThreshold = 1 << 16
    /// Where strings are compressed before they are appended, reused string after string (no allocation
    /// per value in a snapshot child).
    var lzfBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)

    deinit { lzfBuffer.deallocate() }

    /// A writer that hands bytes to `sink` in chunks.
    public init(options: RDBWriterOptions = RDBWriterOptions(), sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        guard RDBWriterOptions.supportedVersions.contains(options.version) else {
            throw RDBWriteError(key: nil, message: "cannot write RDB version \(options.version): supported versions are 9 to 12")
        }
        self.options = options
        self.sink = sink
    }

    // MARK: - Buffering

    @inline(__always) func maybeFlush() throws {
        if out.count >= RDBWriter.flushThreshold { try flush() }
    }

    /// Hands buffered bytes to the sink.
    public func flush() throws {
        if out.count == 0 { return }
        try out.bytes.withUnsafeBytes { b in
            if options.checksum { crc = CRC64.update(crc, b) }
            try sink(b)
        }
        bytesWritten += out.count
        out.removeAll()
    }

    // MARK: - File structure

    /// The magic, e.g. `REDIS0010`.
    public func writeHeader() throws {
        out.append(contentsOf: RDBDialect(family: .redis, version: options.version).magic)
    }

    public func writeAux(_ key: [UInt8], _ value: [UInt8]) throws {
        out.append(RDBOpcode.aux)
        writeString(key)
        writeString(value)
        try maybeFlush()
    }

    /// The AUX fields Redis 7.0 writes first: redis-ver, redis-bits, ctime, used-mem, aof-base.
    public func writeStandardAux(redisVersion: String = "7.0.15", ctime: Int64, usedMem: Int64, aofBase: Bool = false) throws {
        try writeAux(Array("redis-ver".utf8), Array(redisVersion.utf8))
        try writeAux(Array("redis-bits".utf8), StrictInteger.format(64))
        try writeAux(Array("ctime".utf8), StrictInteger.format(ctime))
        try writeAux(Array("used-mem".utf8), StrictInteger.format(usedMem))
        if options.version >= 10 {
            try writeAux(Array("aof-base".utf8), StrictInteger.format(aofBase ? 1 : 0))
        } else {
            try writeAux(Array("aof-preamble".utf8), StrictInteger.format(aofBase ? 1 : 0))
        }
    }

    public func writeFunction(code: [UInt8]) throws {
        guard options.version >= 10 else {
            throw RDBWriteError(key: nil, message: "function libraries need RDB version 10 or later")
        }
        out.append(RDBOpcode.function2)
        writeString(code)
        try maybeFlush()
    }

    public func writeModuleAux(_ value: RDBModuleValue, when: UInt64) throws {
        out.append(RDBOpcode.moduleAux)
        writeLength(value.moduleID)
        writeLength(2)
        writeLength(when)
        out.append(contentsOf: value.raw)
        try maybeFlush()
    }

    public func writeSelectDB(_ db: Int) throws {
        out.append(RDBOpcode.selectDB)
        writeLength(UInt64(db))
    }

    public func writeResizeDB(dbSize: UInt64, expiresSize: UInt64) throws {
        out.append(RDBOpcode.resizeDB)
        writeLength(dbSize)
        writeLength(expiresSize)
    }

    /// One key with its per-key opcodes (expiry, idle, freq) and its value.
    public func writeEntry(key: [UInt8], value: RDBValue, expiresAt: Int64? = nil, idle: UInt64? = nil, freq: UInt8? = nil) throws {
        try key.withUnsafeBytes { try writeEntry(key: $0, value: value, expiresAt: expiresAt, idle: idle, freq: freq) }
    }

    public func writeEntry(key: UnsafeRawBufferPointer, value: RDBValue, expiresAt: Int64? = nil, idle: UInt64? = nil, freq: UInt8? = nil) throws {
        writeKeyOpcodes(expiresAt: expiresAt, idle: idle, freq: freq)
        let typeAt = out.count
        out.append(0)
        writeString(key)
        let type = try writeValueBody(value, key: Array(key))
        out.bytes[typeAt] = type
        try maybeFlush()
    }

    /// A string key written straight from its bytes (the snapshot child's path: nothing materialised).
    public func writeStringEntry(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64? = nil,
                                 idle: UInt64? = nil, freq: UInt8? = nil) throws {
        writeKeyOpcodes(expiresAt: expiresAt, idle: idle, freq: freq)
        out.append(RDBType.string)
        writeString(key)
        writeString(value)
        try maybeFlush()
    }

    /// A string key holding an integer (Redis's int encoding), without formatting it first when it
    /// fits the RDB integer encodings.
    public func writeIntegerEntry(key: UnsafeRawBufferPointer, value: Int64, expiresAt: Int64? = nil,
                                  idle: UInt64? = nil, freq: UInt8? = nil) throws {
        writeKeyOpcodes(expiresAt: expiresAt, idle: idle, freq: freq)
        out.append(RDBType.string)
        writeString(key)
        if value >= Int64(Int32.min) && value <= Int64(Int32.max) {
            writeIntegerString(value)
        } else {
            writeString(StrictInteger.format(value))
        }
        try maybeFlush()
    }

    @inline(__always)
    func writeKeyOpcodes(expiresAt: Int64?, idle: UInt64?, freq: UInt8?) {
        if let e = expiresAt {
            out.append(RDBOpcode.expireTimeMS)
            out.appendLE(e)
        }
        if let idle {
            out.append(RDBOpcode.idle)
            writeLength(idle)
        }
        if let freq {
            out.append(RDBOpcode.freq)
            out.append(freq)
        }
    }

    /// EOF and the CRC64 trailer (0 when checksums are off); flushes everything.
    public func finish() throws {
        out.append(RDBOpcode.eof)
        try flush()
        out.appendLE(options.checksum ? crc : 0)
        let b = out.bytes
        try b.withUnsafeBytes { try sink($0) }
        bytesWritten += b.count
        out.removeAll()
    }

    // MARK: - Lengths, strings, numbers

    /// An RDB length in its shortest form (FORMATS.md §4).
    @inline(__always)
    public func writeLength(_ n: UInt64) {
        if n < 1 << 6 {
            out.append(UInt8(n))
        } else if n < 1 << 14 {
            out.append(UInt8(n >> 8) | 0x40)
            out.append(UInt8(n & 0xFF))
        } else if n <= UInt64(UInt32.max) {
            out.append(0x80)
            out.appendBE(UInt32(n))
        } else {
            out.append(0x81)
            out.appendBE(n)
        }
    }

    /// An RDB string with Redis's choices: int8/16/32 when it is a canonical integer of at most 11
    /// bytes that fits int32, else LZF (compression on, over 20 bytes, saves ≥ 4 bytes), else raw.
    public func writeString(_ s: [UInt8]) {
        s.withUnsafeBytes { writeString($0) }
    }

    public func writeString(_ s: UnsafeRawBufferPointer) {
        if s.count <= 11, let v = StrictInteger.parse(s), v >= Int64(Int32.min), v <= Int64(Int32.max) {
            writeIntegerString(v)
            return
        }
        if options.compression && s.count > 20 {
            // Only a gain of more than 4 bytes is kept, as Redis does.
            let limit = s.count - 4
            if limit > lzfBuffer.count {
                lzfBuffer.deallocate()
                lzfBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(limit, lzfBuffer.count * 2), alignment: 16)
            }
            let n = LZF.compress(s, into: UnsafeMutableRawBufferPointer(rebasing: lzfBuffer[0 ..< limit]))
            if n > 0 {
                out.append(0xC3)
                writeLength(UInt64(n))
                writeLength(UInt64(s.count))
                out.append(UnsafeRawBufferPointer(rebasing: lzfBuffer[0 ..< n]))
                return
            }
        }
        writeLength(UInt64(s.count))
        out.append(s)
    }

    /// The int8/int16/int32 string encodings.
    func writeIntegerString(_ v: Int64) {
        if v >= -128 && v <= 127 {
            out.append(0xC0)
            out.append(UInt8(bitPattern: Int8(v)))
        } else if v >= -32768 && v <= 32767 {
            out.append(0xC1)
            out.appendLE(Int16(v))
        } else {
            out.append(0xC2)
            out.appendLE(Int32(v))
        }
    }

    func writeBinaryDouble(_ d: Double) { out.appendLE(d.bitPattern) }

    func writeStreamID16(_ id: StreamID) {
        out.appendBE(id.ms)
        out.appendBE(id.seq)
    }

    // MARK: - Values

    /// Writes the value body (everything after the key) and returns the type code it chose.
    public func writeValueBody(_ value: RDBValue, key: [UInt8]?) throws -> UInt8 {
        let v = options.version
        switch value {
        case .string(let s):
            writeString(s)
            return RDBType.string
        case .list(let items):
            if v < 10 {
                writeLength(UInt64(items.count))
                for i in items { writeString(i) }
                return RDBType.list
            }
            writeQuicklist2(items)
            return RDBType.listQuicklist2
        case .set(let items):
            return writeSet(items)
        case .sortedSet(let items):
            return writeSortedSet(items)
        case .hash(let fields):
            return try writeHash(fields, key: key)
        case .stream(let s):
            return try writeStream(s, key: key)
        case .module(let m):
            writeLength(m.moduleID)
            out.append(contentsOf: m.raw)
            return RDBType.module2
        }
    }

    /// Bytes per node for `list-max-listpack-size` (negative classes: 4, 8, 16, 32, 64 KiB).
    var listNodeByteLimit: Int {
        let f = options.listMaxListpackSize
        if f < 0 { return 4096 << min(4, max(0, -f - 1)) }
        return 8192
    }

    func writeQuicklist2(_ items: [[UInt8]]) {
        // Split into nodes the way Redis 7.0's quicklist fills them when elements are pushed at the tail:
        // an element joins the last node while its bytes + the element's length + 8 (the quicklist's
        // overhead estimate) stay within the size class (negative list-max-listpack-size), or, for a
        // positive size, while the node holds fewer entries than that and stays within 8 KiB.
        // Elements of 1 GiB or more are plain nodes of their own.
        let fill = options.listMaxListpackSize
        let limit = fill < 0 ? listNodeByteLimit : 8192
        let maxEntries = fill < 0 ? Int.max : max(fill, 1)
        var nodes: [(container: UInt64, bytes: [UInt8])] = []
        var lp = ListpackEncoder()
        for item in items {
            if item.count >= 1 << 30 {
                if lp.count > 0 { nodes.append((2, lp.finish())); lp = ListpackEncoder() }
                nodes.append((1, item))
                continue
            }
            if lp.count > 0 && (lp.byteSize + item.count + 8 > limit || lp.count >= maxEntries) {
                nodes.append((2, lp.finish()))
                lp = ListpackEncoder()
            }
            lp.append(item)
        }
        if lp.count > 0 { nodes.append((2, lp.finish())) }
        writeLength(UInt64(nodes.count))
        for n in nodes {
            writeLength(n.container)
            writeString(n.bytes)
        }
    }

    func writeSet(_ items: [[UInt8]]) -> UInt8 {
        if items.count <= options.setMaxIntsetEntries {
            var ints = [Int64]()
            ints.reserveCapacity(items.count)
            var allInts = true
            for i in items {
                guard let n = StrictInteger.parse(i) else { allInts = false; break }
                ints.append(n)
            }
            if allInts {
                writeString(Intset.encode(ints))
                return RDBType.setIntset
            }
        }
        if options.version >= 11 && items.count <= options.setMaxListpackEntries
            && items.allSatisfy({ $0.count <= options.setMaxListpackValue }) {
            var lp = ListpackEncoder()
            for i in items { lp.append(i) }
            writeString(lp.finish())
            return RDBType.setListpack
        }
        writeLength(UInt64(items.count))
        for i in items { writeString(i) }
        return RDBType.set
    }

    func writeSortedSet(_ items: [RDBScoredMember]) -> UInt8 {
        if options.version >= 10 && items.count <= options.zsetMaxListpackEntries
            && items.allSatisfy({ $0.member.count <= options.zsetMaxListpackValue }) {
            let sorted = items.sorted { a, b in
                a.score != b.score ? a.score < b.score : a.member.lexicographicallyPrecedes(b.member)
            }
            var lp = ListpackEncoder()
            for m in sorted {
                lp.append(m.member)
                appendScore(m.score, to: &lp)
            }
            writeString(lp.finish())
            return RDBType.zsetListpack
        }
        // Highest score first, so a loader always inserts at the head.
        let sorted = items.sorted { a, b in
            a.score != b.score ? a.score > b.score : b.member.lexicographicallyPrecedes(a.member)
        }
        writeLength(UInt64(sorted.count))
        for m in sorted {
            writeString(m.member)
            writeBinaryDouble(m.score)
        }
        return RDBType.zset2
    }

    func writeHash(_ fields: [RDBHashField], key: [UInt8]?) throws -> UInt8 {
        var fields = fields
        let hasTTL = fields.contains { $0.expiresAt != 0 }
        if hasTTL && options.version < 12 {
            guard options.lossy else {
                throw RDBWriteError(key: key, message: "hash field TTLs need RDB version 12 (Redis 7.4+); use --lossy to drop them")
            }
            onNote?("key \(ByteText.quoted(key ?? [])): dropped the TTLs of \(fields.filter { $0.expiresAt != 0 }.count) hash fields (RDB \(options.version) cannot hold them)")
            for i in fields.indices { fields[i].expiresAt = 0 }
        }
        let small = fields.count <= options.hashMaxListpackEntries
            && fields.allSatisfy { $0.field.count <= options.hashMaxListpackValue && $0.value.count <= options.hashMaxListpackValue }
        if hasTTL && options.version >= 12 {
            let minExpire = fields.lazy.filter { $0.expiresAt != 0 }.map(\.expiresAt).min() ?? 0
            if small {
                out.appendLE(minExpire)
                // Triplets by TTL ascending, fields without a TTL last.
                let ordered = fields.filter { $0.expiresAt != 0 }.sorted { $0.expiresAt < $1.expiresAt } + fields.filter { $0.expiresAt == 0 }
                var lp = ListpackEncoder()
                for f in ordered {
                    lp.append(f.field)
                    lp.append(f.value)
                    lp.append(int: f.expiresAt)
                }
                writeString(lp.finish())
                return RDBType.hashListpackEx
            }
            out.appendLE(minExpire)
            writeLength(UInt64(fields.count))
            for f in fields {
                writeLength(f.expiresAt == 0 ? 0 : UInt64(f.expiresAt - minExpire + 1))
                writeString(f.field)
                writeString(f.value)
            }
            return RDBType.hashMetadata
        }
        if options.version >= 10 && small {
            var lp = ListpackEncoder()
            for f in fields {
                lp.append(f.field)
                lp.append(f.value)
            }
            writeString(lp.finish())
            return RDBType.hashListpack
        }
        writeLength(UInt64(fields.count))
        for f in fields {
            writeString(f.field)
            writeString(f.value)
        }
        return RDBType.hash
    }

    func writeStream(_ s: RDBStream, key: [UInt8]?) throws -> UInt8 {
        writeLength(UInt64(s.nodes.count))
        for n in s.nodes { n.listpack.withUnsafeBytes { writeStreamNode(n.masterID, $0) } }
        return try writeStreamMetadata(s, key: key)
    }

    /// The stream type code this writer's RDB version writes (15, 19 or 21).
    public var streamTypeCode: UInt8 {
        let v = options.version
        return v >= 11 ? RDBType.streamListpacks3 : v >= 10 ? RDBType.streamListpacks2 : RDBType.streamListpacks
    }

    /// One node: its 16-byte key (master ID, big-endian) and its listpack.
    func writeStreamNode(_ master: StreamID, _ listpack: UnsafeRawBufferPointer) {
        var nodeKey = ByteWriter(capacity: 16)
        nodeKey.appendBE(master.ms)
        nodeKey.appendBE(master.seq)
        writeString(nodeKey.bytes)
        writeString(listpack)
    }

    /// What follows a stream's nodes: length, IDs, and the consumer groups (`s.nodes` is not read,
    /// except to find a first ID a model without one lacks).
    func writeStreamMetadata(_ s: RDBStream, key: [UInt8]?) throws -> UInt8 {
        let v = options.version
        let streamVersion = v >= 11 ? 3 : v >= 10 ? 2 : 1
        let keyText = ByteText.quoted(key ?? [])
        writeLength(s.length)
        writeLength(s.lastID.ms)
        writeLength(s.lastID.seq)
        if streamVersion >= 2 {
            let first = try s.firstID ?? StreamNodes.firstLiveID(s.nodes) ?? .zero
            let maxDeleted = s.maxDeletedID ?? .zero
            writeLength(first.ms); writeLength(first.seq)
            writeLength(maxDeleted.ms); writeLength(maxDeleted.seq)
            writeLength(s.entriesAdded ?? s.length)
        } else if s.firstID != nil {
            onNote?("key \(keyText): stream first id, max deleted id and entries added dropped (RDB \(v) has no field for them)")
        }
        writeLength(UInt64(s.groups.count))
        for g in s.groups {
            writeString(g.name)
            writeLength(g.lastDelivered.ms)
            writeLength(g.lastDelivered.seq)
            if streamVersion >= 2 {
                writeLength(UInt64(bitPattern: g.entriesRead ?? -1))
            } else if g.entriesRead != nil {
                onNote?("key \(keyText): group \(ByteText.quoted(g.name)) entries-read dropped (RDB \(v) has no field for it)")
            }
            writeLength(UInt64(g.pending.count))
            for p in g.pending {
                writeStreamID16(p.id)
                out.appendLE(p.deliveryTime)
                writeLength(p.deliveryCount)
            }
            writeLength(UInt64(g.consumers.count))
            for c in g.consumers {
                writeString(c.name)
                out.appendLE(c.seenTime)
                if streamVersion >= 3 {
                    out.appendLE(c.activeTime ?? c.seenTime)
                } else if c.activeTime != nil {
                    onNote?("key \(keyText): consumer \(ByteText.quoted(c.name)) active time dropped (RDB \(v) has no field for it)")
                }
                writeLength(UInt64(c.pending.count))
                for id in c.pending { writeStreamID16(id) }
            }
            try maybeFlush()
        }
        return streamTypeCode
    }

    // MARK: - A stream written node by node (the snapshot child's walk)

    /// Starts a stream value of `nodes` nodes under `key`.
    public func beginStreamValue(key: UnsafeRawBufferPointer, nodes: Int, expiresAt: Int64? = nil, idle: UInt64? = nil,
                                 freq: UInt8? = nil) {
        writeKeyOpcodes(expiresAt: expiresAt, idle: idle, freq: freq)
        out.append(streamTypeCode)
        writeString(key)
        writeLength(UInt64(nodes))
    }

    /// One node of the stream begun, in order.
    public func appendStreamNode(master: StreamID, listpack: UnsafeRawBufferPointer) throws {
        writeStreamNode(master, listpack)
        try maybeFlush()
    }

    /// Ends the stream begun with its metadata and groups (`meta.nodes` must be empty).
    public func endStreamValue(_ meta: RDBStream) throws {
        _ = try writeStreamMetadata(meta, key: nil)
        try maybeFlush()
    }
}

/// Appends a zset score to a listpack as Redis 7.0 stores it: an integral score within ±2^62 (where
/// its d2string prints integers) as an integer, any other as `%.17g` text.
func appendScore(_ score: Double, to lp: inout ListpackEncoder) {
    if score == score.rounded(), abs(score) <= 4611686018427387904.0 {
        lp.append(int: Int64(score))
        return
    }
    lp.append(formatScore17g(score))
}

/// `%.17g` formatting of a double (inf as "inf"/"-inf").
public func formatScore17g(_ d: Double) -> [UInt8] {
    if d == .infinity { return Array("inf".utf8) }
    if d == -.infinity { return Array("-inf".utf8) }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 40) { buf -> [UInt8] in
        let n = withVaList([d]) { vsnprintf(buf.baseAddress!, 40, "%.17g", $0) }
        return (0 ..< Int(n)).map { UInt8(bitPattern: buf[$0]) }
    }
}
