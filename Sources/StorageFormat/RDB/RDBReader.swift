// RDBReader: streams an RDB file one record at a time (FORMATS.md §2–§8).
// Layout: 9-byte magic (REDIS0001..REDIS0012, VALKEY080..), then opcodes (AUX, SELECTDB, RESIZEDB,
// per-key EXPIRETIME/IDLE/FREQ, MODULE_AUX, FUNCTION2, SLOT_INFO) and keys (type byte, key, value),
// then EOF and, from v5, a CRC64 of everything before it. Decoding is keyed on the dialect (magic +
// version): Redis and Valkey give some codes different meanings. Every error carries the offset.
#if canImport(Glibc)
import Glibc
#endif

/// Reads an RDB file record by record. Memory is bounded by the largest single value.
public final class RDBReader {
    /// What the reader does with an aggregate stored with no elements (older Redis could write them).
    public struct Options: Sendable {
        /// Skip empty aggregates (Redis does, with a notice) rather than returning them.
        public var skipEmptyAggregates = true
        /// Verify the CRC64 trailer.
        public var verifyChecksum = true
        public init() {}
    }

    public let dialect: RDBDialect
    public let options: Options
    let input: RDBInput
    var db = 0
    var finished = false
    /// Keys skipped because their aggregate was empty, with their offsets.
    public internal(set) var skippedEmptyKeys: [(key: [UInt8], offset: Int)] = []

    /// Absolute offset of the next unread byte.
    public var offset: Int { input.offset }

    /// Opens `path` (gzip-compressed files are decompressed transparently).
    public convenience init(path: String, options: Options = Options()) throws {
        try self.init(source: openByteSource(path: path), options: options)
    }

    /// Reads from bytes in memory.
    public convenience init(bytes: [UInt8], options: Options = Options()) throws {
        try self.init(source: MemorySource(bytes), options: options)
    }

    public init(source: ByteSource, options: Options = Options()) throws {
        self.options = options
        input = RDBInput(source: source)
        input.crcEnabled = options.verifyChecksum
        dialect = try RDBReader.readMagic(input)
    }

    static func readMagic(_ input: RDBInput) throws -> RDBDialect {
        let m = Array(try input.span(9, "the 9-byte magic"))
        func digits(_ s: ArraySlice<UInt8>) -> Int? {
            var v = 0
            for c in s {
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        let shown = ByteText.quoted(m)
        if m.starts(with: Array("REDIS".utf8)) {
            guard let v = digits(m[5...]) else {
                throw FormatError(offset: 5, context: "RDB magic", expected: "four decimal digits after REDIS", found: shown)
            }
            guard v >= 1 && v <= RDBDialect.newestRedisVersion else {
                throw FormatError(offset: 5, context: "RDB magic", expected: "a Redis RDB version from 1 to \(RDBDialect.newestRedisVersion)",
                                  found: "version \(v) (\(shown))" + (v >= 13 && v < 80 ? ", a Redis 8.6+ format this reader does not know" : ""))
            }
            return RDBDialect(family: .redis, version: v)
        }
        if m.starts(with: Array("VALKEY".utf8)) {
            guard let v = digits(m[6...]) else {
                throw FormatError(offset: 6, context: "RDB magic", expected: "three decimal digits after VALKEY", found: shown)
            }
            guard v == 80 else {
                throw FormatError(offset: 6, context: "RDB magic", expected: "Valkey RDB version 80", found: "version \(v) (\(shown))")
            }
            return RDBDialect(family: .valkey, version: v)
        }
        throw FormatError(offset: 0, context: "RDB magic", expected: "\"REDIS\" or \"VALKEY\" followed by a version", found: shown)
    }

    // MARK: - Records

    /// Per-key opcodes (EXPIRETIME, IDLE, FREQ) read before a key's type byte.
    struct PendingKeyOpcodes {
        var expiresAt: Int64? = nil
        var idle: UInt64? = nil
        var freq: UInt8? = nil
        var seen = false
    }

    /// What one opcode or type byte turned out to be.
    enum OpcodeStep {
        case record(RDBRecord)
        case keyOpcode
        case key(UInt8)
    }

    /// Reads what follows the opcode `code` (read at `at`): a record, a per-key opcode (kept in
    /// `pending`), or a key's type byte (returned; the key and value are left to the caller).
    @inline(__always)
    func step(_ code: UInt8, at: Int, _ pending: inout PendingKeyOpcodes) throws -> OpcodeStep {
        switch code {
        case RDBOpcode.eof:
            // An expire/idle/freq opcode with no key after it is ignored, as Redis ignores it.
            finished = true
            guard dialect.version >= 5 else { return .record(.end(checksum: nil, verified: false)) }
            let computed = input.checksumSoFar()
            let stored = try input.readLE(UInt64.self, "the CRC64 trailer")
            if stored == 0 || !options.verifyChecksum { return .record(.end(checksum: stored, verified: false)) }
            if stored != computed {
                throw FormatError(offset: at + 1, context: "RDB checksum",
                                  expected: "CRC64 0x\(String(computed, radix: 16))", found: "0x\(String(stored, radix: 16))")
            }
            return .record(.end(checksum: stored, verified: true))
        case RDBOpcode.selectDB:
            let n = try readLength("database number")
            guard n < 1 << 31 else { throw formatError(at + 1, "a database number", "\(n)") }
            db = Int(n)
            return .record(.selectDB(db))
        case RDBOpcode.resizeDB:
            let a = try readLength("RESIZEDB db_size")
            let b = try readLength("RESIZEDB expires_size")
            return .record(.resizeDB(dbSize: a, expiresSize: b))
        case RDBOpcode.aux:
            let k = try readString("AUX key")
            let v = try readString("AUX value")
            return .record(.aux(key: k, value: v))
        case RDBOpcode.expireTimeMS:
            pending.expiresAt = try input.readLE(Int64.self, "EXPIRETIME_MS")
            pending.seen = true
            return .keyOpcode
        case RDBOpcode.expireTime:
            pending.expiresAt = Int64(try input.readLE(Int32.self, "EXPIRETIME")) * 1000
            pending.seen = true
            return .keyOpcode
        case RDBOpcode.idle where dialect.version >= 9 || dialect.family == .valkey:
            pending.idle = try readLength("IDLE seconds")
            pending.seen = true
            return .keyOpcode
        case RDBOpcode.freq where dialect.version >= 9 || dialect.family == .valkey:
            pending.freq = try input.readByte("FREQ counter")
            pending.seen = true
            return .keyOpcode
        case RDBOpcode.moduleAux where dialect.version >= 9 || dialect.family == .valkey:
            let id = try readLength("MODULE_AUX module id")
            let whenOp = try readLength("MODULE_AUX when-opcode")
            guard whenOp == 2 else { throw formatError(input.offset, "MODULE_AUX when-opcode 2 (UINT)", "\(whenOp)") }
            let when = try readLength("MODULE_AUX when")
            let raw = try readModuleOpcodes(key: nil)
            return .record(.moduleAux(RDBModuleValue(moduleID: id, raw: raw), when: when))
        case RDBOpcode.functionPreGA where dialect.version >= 10:
            throw formatError(at, "a released function format", "FUNCTION_PRE_GA (0xF6), a Redis 7.0 release-candidate format that Redis refuses")
        case RDBOpcode.function2 where dialect.version >= 10:
            return .record(.function(code: try readString("function library code")))
        case RDBOpcode.slotInfo where dialect.family == .redis && dialect.version >= 12:
            let slot = try readLength("SLOT_INFO slot")
            let size = try readLength("SLOT_INFO size")
            let exp = try readLength("SLOT_INFO expires size")
            return .record(.slotInfo(slot: slot, size: size, expiresSize: exp))
        default:
            guard isKnownType(code) else {
                throw formatError(at, "an opcode or an object type known to \(dialect)",
                                  "byte 0x\(String(code, radix: 16)) (\(code))")
            }
            return .key(code)
        }
    }

    /// The next record, or nil after `.end` has been returned.
    public func next() throws -> RDBRecord? {
        if finished { return nil }
        var pending = PendingKeyOpcodes()
        var recordStart = input.offset
        while true {
            let at = input.offset
            let code = try input.readByte("an opcode or type byte")
            switch try step(code, at: at, &pending) {
            case .record(let r):
                return r
            case .keyOpcode:
                continue
            case .key(let code):
                if !pending.seen { recordStart = at }
                let key = try readString("key")
                let value: RDBValue
                do {
                    value = try readValue(type: code, key: key)
                } catch let e as FormatError {
                    throw e.withKey(key).withTypeCode(code)
                }
                if options.skipEmptyAggregates && value.isEmptyAggregate {
                    skippedEmptyKeys.append((key, recordStart))
                    pending = PendingKeyOpcodes()
                    recordStart = input.offset
                    continue
                }
                return .entry(RDBEntry(db: db, key: key, value: value, typeCode: code, expiresAt: pending.expiresAt,
                                       idle: pending.idle, freq: pending.freq, offset: recordStart))
            }
        }
    }

    /// True when `code` is an object type in this file's dialect.
    func isKnownType(_ code: UInt8) -> Bool {
        switch code {
        case 0...5, 7, 9...21: return true
        case 22: return dialect.family == .valkey || dialect.version >= 12
        case 23, 24, 25: return dialect.family == .redis && dialect.version >= 12
        case 6: return true // refused with a clear message in readValue
        default: return false
        }
    }

    func formatError(_ at: Int, _ expected: String, _ found: String, key: [UInt8]? = nil) -> FormatError {
        FormatError(offset: at, key: key, context: "RDB", expected: expected, found: found)
    }

    // MARK: - Lengths, strings, numbers (the readX twins of RDBWriter's writeX)

    /// An RDB length (FORMATS.md §4). A special string encoding (`11xxxxxx`) here is an error.
    @inline(__always)
    func readLength(_ what: @autoclosure () -> String) throws -> UInt64 {
        let at = input.offset
        let b = try input.readByte(what())
        switch b >> 6 {
        case 0: return UInt64(b & 0x3F)
        case 1: return UInt64(b & 0x3F) << 8 | UInt64(try input.readByte(what()))
        case 2:
            if b == 0x80 { return UInt64(try input.readBE(UInt32.self, what())) }
            if b == 0x81 { return try input.readBE(UInt64.self, what()) }
            throw formatError(at, "a length for \(what())", "unknown length encoding 0x\(String(b, radix: 16))")
        default:
            throw formatError(at, "a length for \(what())", "a string encoding byte 0x\(String(b, radix: 16))")
        }
    }

    /// A length used as an element count: must fit what the file can still hold (each element needs
    /// at least `minBytes` bytes), so a lying count never drives an allocation.
    func readCount(_ what: String, minBytes: Int = 1) throws -> Int {
        let at = input.offset
        let n = try readLength(what)
        let limit = input.remainingKnown.map { ($0 + input.end - input.position) / max(minBytes, 1) } ?? Int.max
        guard n <= UInt64(Int.max), Int(n) <= limit else {
            throw formatError(at, "\(what) that fits in the rest of the file", "\(n)")
        }
        return Int(n)
    }

    /// Converts a stored length to a byte count, checking it against what the source can deliver.
    func byteCount(_ n: UInt64, at: Int, _ what: String) throws -> Int {
        guard n <= UInt64(Int.max >> 1) else { throw formatError(at, "a length for \(what)", "\(n)") }
        if let rest = input.remainingKnown, Int(n) > rest + (input.end - input.position) {
            throw formatError(at, "\(n) bytes of \(what)", "only \(rest + input.end - input.position) bytes left in the file")
        }
        return Int(n)
    }

    /// For a raw string whose first byte `b` (read at `at`) is not an encoding marker (top bits 11):
    /// the number of bytes that follow, reading the rest of the length.
    func rawStringLength(_ b: UInt8, at: Int, _ what: @autoclosure () -> String) throws -> Int {
        let n: UInt64
        switch b >> 6 {
        case 0: n = UInt64(b & 0x3F)
        case 1: n = UInt64(b & 0x3F) << 8 | UInt64(try input.readByte(what()))
        default:
            if b == 0x80 { n = UInt64(try input.readBE(UInt32.self, what())) }
            else if b == 0x81 { n = try input.readBE(UInt64.self, what()) }
            else { throw formatError(at, "a string length for \(what())", "unknown length encoding 0x\(String(b, radix: 16))") }
        }
        return try byteCount(n, at: at, what())
    }

    /// An RDB string (FORMATS.md §5): raw, int8/16/32 as decimal text, or LZF.
    func readString(_ what: @autoclosure () -> String) throws -> [UInt8] {
        let at = input.offset
        let b = try input.readByte(what())
        if b >> 6 != 3 {
            return Array(try input.span(try rawStringLength(b, at: at, what()), what()))
        }
        switch b & 0x3F {
        case 0: return StrictInteger.format(Int64(Int8(bitPattern: try input.readByte(what()))))
        case 1: return StrictInteger.format(Int64(try input.readLE(Int16.self, what())))
        case 2: return StrictInteger.format(Int64(try input.readLE(Int32.self, what())))
        case 3:
            let clen = try byteCount(try readLength("LZF compressed length"), at: input.offset, "LZF data")
            let ulen = try readLength("LZF original length")
            guard ulen <= 512 * 1024 * 1024 + 1024 * 1024 else {
                throw formatError(at, "an LZF original length up to 513 MiB", "\(ulen)")
            }
            let dataAt = input.offset
            let data = try input.span(clen, "LZF data")
            return try LZF.decompress(data, originalLength: Int(ulen), baseOffset: dataAt)
        default:
            throw formatError(at, "a string encoding for \(what()) (0xC0-0xC3)", "0x\(String(b, radix: 16))")
        }
    }

    /// A string that holds an encoded blob; returns it with its offset in the file.
    func readBlob(_ what: String) throws -> (bytes: [UInt8], offset: Int) {
        let at = input.offset
        let s = try readString(what)
        // For LZF blobs the in-blob offsets are offsets into the decompressed bytes; report them from the string's start.
        return (s, at)
    }

    func readBinaryDouble(_ what: String) throws -> Double {
        Double(bitPattern: try input.readLE(UInt64.self, what))
    }

    /// The old ASCII score of type 3: u8 length, then text (a number prefix, as Redis reads it);
    /// 253/254/255 are NaN/+inf/-inf.
    func readASCIIDouble(_ what: String) throws -> Double {
        let at = input.offset
        let n = try input.readByte(what)
        switch n {
        case 253: return .nan
        case 254: return .infinity
        case 255: return -.infinity
        default:
            // Redis reads it with sscanf("%lg"): the longest number prefix counts ("1.5x" is 1.5).
            let s = try input.span(Int(n), what)
            guard let d = parseScorePrefix(s) else { throw formatError(at, "a number for \(what)", ByteText.quoted(s)) }
            return d
        }
    }

    // MARK: - Values

    func readValue(type: UInt8, key: [UInt8]) throws -> RDBValue {
        switch type {
        case RDBType.string:
            return .string(try readString("string value"))
        case RDBType.list:
            let n = try readCount("list length")
            var items = [[UInt8]]()
            items.reserveCapacity(n)
            for _ in 0 ..< n { items.append(try readString("list element")) }
            return .list(items)
        case RDBType.set:
            let n = try readCount("set size")
            var items = [[UInt8]]()
            items.reserveCapacity(n)
            for _ in 0 ..< n { items.append(try readString("set member")) }
            return .set(items)
        case RDBType.zset, RDBType.zset2:
            let n = try readCount("sorted set size", minBytes: 2)
            var items = [RDBScoredMember]()
            items.reserveCapacity(n)
            for _ in 0 ..< n {
                let m = try readString("sorted set member")
                let at = input.offset
                let s = type == RDBType.zset ? try readASCIIDouble("score") : try readBinaryDouble("score")
                if s.isNaN { throw formatError(at, "a score that is a number", "NaN") }
                items.append(RDBScoredMember(member: m, score: s))
            }
            return .sortedSet(items)
        case RDBType.hash:
            let n = try readCount("hash size", minBytes: 2)
            var items = [RDBHashField]()
            items.reserveCapacity(n)
            for _ in 0 ..< n {
                let f = try readString("hash field")
                let v = try readString("hash value")
                items.append(RDBHashField(field: f, value: v))
            }
            return .hash(items)
        case RDBType.modulePreGA:
            throw formatError(input.offset - 1, "a released module format", "MODULE_PRE_GA (type 6), which Redis refuses")
        case RDBType.module2:
            let id = try readLength("module id")
            return .module(RDBModuleValue(moduleID: id, raw: try readModuleOpcodes(key: key)))
        case RDBType.hashZipmap:
            let (blob, at) = try readBlob("zipmap")
            var items = [RDBHashField]()
            _ = try blob.withUnsafeBytes { b in
                try Zipmap.forEach(b, baseOffset: at) { f, v in items.append(RDBHashField(field: Array(f), value: Array(v))) }
            }
            // Redis's zipmap check refuses an empty one (Redis never wrote one).
            if items.isEmpty {
                throw FormatError(offset: at, key: key, context: "zipmap", expected: "at least one field/value pair", found: "an empty zipmap")
            }
            return .hash(items)
        case RDBType.listZiplist:
            let (blob, at) = try readBlob("ziplist")
            return .list(try Ziplist.elements(blob, baseOffset: at))
        case RDBType.setIntset:
            let (blob, at) = try readBlob("intset")
            var items = [[UInt8]]()
            _ = try blob.withUnsafeBytes { b in
                try Intset.forEach(b, baseOffset: at) { items.append(StrictInteger.format($0)) }
            }
            return .set(items)
        case RDBType.zsetZiplist, RDBType.zsetListpack:
            let (blob, at) = try readBlob(type == RDBType.zsetZiplist ? "ziplist" : "listpack")
            return .sortedSet(try scoredPairs(blob, at: at, ziplist: type == RDBType.zsetZiplist))
        case RDBType.hashZiplist, RDBType.hashListpack:
            let (blob, at) = try readBlob(type == RDBType.hashZiplist ? "ziplist" : "listpack")
            let elems = type == RDBType.hashZiplist ? try Ziplist.elements(blob, baseOffset: at) : try Listpack.elements(blob, baseOffset: at)
            guard elems.count % 2 == 0 else { throw formatError(at, "an even number of hash elements", "\(elems.count)") }
            var items = [RDBHashField]()
            items.reserveCapacity(elems.count / 2)
            var i = 0
            while i < elems.count {
                items.append(RDBHashField(field: elems[i], value: elems[i + 1]))
                i += 2
            }
            return .hash(items)
        case RDBType.listQuicklist, RDBType.listQuicklist2:
            let nodes = try readCount("quicklist node count")
            var items = [[UInt8]]()
            for _ in 0 ..< nodes {
                var container: UInt64 = 2
                if type == RDBType.listQuicklist2 {
                    let at = input.offset
                    container = try readLength("quicklist node container")
                    guard container == 1 || container == 2 else {
                        throw formatError(at, "quicklist container 1 (plain) or 2 (packed)", "\(container)")
                    }
                }
                let (blob, at) = try readBlob("quicklist node")
                if container == 1 {
                    // A plain node holds one element; Redis refuses an empty one.
                    guard !blob.isEmpty else { throw formatError(at, "a non-empty quicklist plain node", "0 bytes") }
                    items.append(blob)
                } else if type == RDBType.listQuicklist {
                    // An empty ziplist node adds nothing (Redis skips those).
                    _ = try blob.withUnsafeBytes { b in try Ziplist.forEach(b, baseOffset: at) { items.append($0.materialized) } }
                } else {
                    // An empty listpack node adds nothing (Redis skips those too; an all-empty list is an empty key).
                    _ = try blob.withUnsafeBytes { b in try Listpack.forEach(b, baseOffset: at) { items.append($0.materialized) } }
                }
            }
            return .list(items)
        case RDBType.setListpack:
            let (blob, at) = try readBlob("listpack")
            return .set(try Listpack.elements(blob, baseOffset: at))
        case RDBType.streamListpacks, RDBType.streamListpacks2, RDBType.streamListpacks3:
            return .stream(try readStream(version: type == RDBType.streamListpacks ? 1 : type == RDBType.streamListpacks2 ? 2 : 3))
        case 22 where dialect.family == .valkey:
            // Valkey HASH_2: per field str field, str value, ms64 expiry (-1 = none).
            let n = try readCount("hash size", minBytes: 10)
            var items = [RDBHashField]()
            items.reserveCapacity(n)
            for _ in 0 ..< n {
                let f = try readString("hash field")
                let v = try readString("hash value")
                let e = try input.readLE(Int64.self, "field expiry")
                items.append(RDBHashField(field: f, value: v, expiresAt: e < 0 ? 0 : e))
            }
            return .hash(items)
        case RDBType.hashMetadataPreGA, RDBType.hashMetadata:
            let minExpire: Int64 = type == RDBType.hashMetadata ? try input.readLE(Int64.self, "hash minimum expiry") : 0
            let n = try readCount("hash size", minBytes: 3)
            var items = [RDBHashField]()
            items.reserveCapacity(n)
            for _ in 0 ..< n {
                let at = input.offset
                let ttl = try readLength("field TTL")
                let f = try readString("hash field")
                let v = try readString("hash value")
                var e: Int64 = 0
                if ttl != 0 {
                    guard let expiry = RDBType.hashFieldExpiry(ttl, minExpire: minExpire, preGA: type == RDBType.hashMetadataPreGA) else {
                        throw formatError(at, "a field expiry below 2^48 ms", "TTL \(ttl) with minimum \(minExpire)")
                    }
                    e = expiry
                }
                items.append(RDBHashField(field: f, value: v, expiresAt: e))
            }
            return .hash(items)
        case RDBType.hashListpackExPreGA, RDBType.hashListpackEx:
            if type == RDBType.hashListpackEx { _ = try input.readLE(Int64.self, "hash minimum expiry") }
            let (blob, at) = try readBlob("listpack")
            let elems = try Listpack.elements(blob, baseOffset: at)
            guard elems.count % 3 == 0 else { throw formatError(at, "hash field/value/ttl triplets", "\(elems.count) elements") }
            var items = [RDBHashField]()
            var i = 0
            while i < elems.count {
                guard let ttl = StrictInteger.parse(elems[i + 2]), ttl >= 0, ttl < Int64(1) << 48 else {
                    throw formatError(at, "a field TTL in ms", ByteText.quoted(elems[i + 2]))
                }
                items.append(RDBHashField(field: elems[i], value: elems[i + 1], expiresAt: ttl))
                i += 3
            }
            return .hash(items)
        default:
            throw formatError(input.offset, "an object type known to \(dialect)", "type \(type)")
        }
    }

    /// Member/score pairs from a ziplist or listpack zset.
    func scoredPairs(_ blob: [UInt8], at: Int, ziplist: Bool) throws -> [RDBScoredMember] {
        var items = [RDBScoredMember]()
        var member: [UInt8]? = nil
        var bad: String? = nil
        let body: (CompactElement) throws -> Void = { e in
            if let m = member {
                let score: Double?
                switch e {
                case .int(let v): score = Double(v)
                case .bytes(let b): score = parseDouble(b)
                }
                if let s = score, !s.isNaN { items.append(RDBScoredMember(member: m, score: s)) } else if bad == nil { bad = ByteText.quoted(e.materialized) }
                member = nil
            } else {
                member = e.materialized
            }
        }
        _ = try blob.withUnsafeBytes { b in
            if ziplist { try Ziplist.forEach(b, baseOffset: at, body) } else { try Listpack.forEach(b, baseOffset: at, body) }
        }
        if let bad { throw formatError(at, "a sorted-set score", bad) }
        if member != nil { throw formatError(at, "an even number of sorted set elements", "an odd number") }
        return items
    }

    /// A module value's opcode stream, through its EOF opcode, kept raw (FORMATS.md §6.7).
    func readModuleOpcodes(key: [UInt8]?) throws -> [UInt8] {
        input.beginCapture()
        var ok = false
        defer { if !ok { _ = input.endCapture() } }
        while true {
            let at = input.offset
            let op = try readLength("module opcode")
            switch op {
            case 0:
                ok = true
                return input.endCapture()
            case 1, 2: _ = try readLength("module integer")
            case 3: _ = try input.span(4, "module float")
            case 4: _ = try input.span(8, "module double")
            case 5: _ = try readString("module string")
            default: throw formatError(at, "a module opcode 0-5", "\(op)", key: key)
            }
        }
    }

    // MARK: - Streams

    func readStreamID16(_ what: String) throws -> StreamID {
        let ms = try input.readBE(UInt64.self, what)
        let seq = try input.readBE(UInt64.self, what)
        return StreamID(ms: ms, seq: seq)
    }

    func readStream(version: Int) throws -> RDBStream {
        var nodes = [RDBStreamNode]()
        var s = try readStream(version: version) { nodes.append($0) }
        s.nodes = nodes
        return s
    }

    /// A stream, its nodes handed to `onNode` one at a time as they are read (the returned stream has
    /// no nodes): memory is one node plus the consumer groups, whatever the stream's length.
    func readStream(version: Int, onNode: (RDBStreamNode) throws -> Void) throws -> RDBStream {
        let nodeCount = try readCount("stream node count", minBytes: 2)
        for _ in 0 ..< nodeCount {
            let at = input.offset
            let nodeKey = try readString("stream node key")
            guard nodeKey.count == 16 else { throw formatError(at, "a 16-byte stream node key", "\(nodeKey.count) bytes") }
            let id = nodeKey.withUnsafeBytes {
                StreamID(ms: UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)),
                         seq: UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
            let (lp, lpAt) = try readBlob("stream listpack")
            let n = try lp.withUnsafeBytes { try Listpack.forEach($0, baseOffset: lpAt) { _ in } }
            if n == 0 { throw formatError(lpAt, "a non-empty stream listpack", "an empty listpack") }
            try onNode(RDBStreamNode(masterID: id, listpack: lp))
        }
        let length = try readLength("stream length")
        let lastID = StreamID(ms: try readLength("stream last id"), seq: try readLength("stream last id"))
        var firstID: StreamID? = nil, maxDeleted: StreamID? = nil, added: UInt64? = nil
        if version >= 2 {
            firstID = StreamID(ms: try readLength("stream first id"), seq: try readLength("stream first id"))
            maxDeleted = StreamID(ms: try readLength("stream max deleted id"), seq: try readLength("stream max deleted id"))
            added = try readLength("stream entries added")
        }
        let groupCount = try readCount("stream group count", minBytes: 4)
        var groups = [RDBStreamGroup]()
        for _ in 0 ..< groupCount {
            let name = try readString("consumer group name")
            let last = StreamID(ms: try readLength("group last id"), seq: try readLength("group last id"))
            var entriesRead: Int64? = nil
            if version >= 2 { entriesRead = Int64(bitPattern: try readLength("group entries read")) }
            let pelCount = try readCount("group PEL size", minBytes: 25)
            var pel = [RDBStreamPending]()
            pel.reserveCapacity(pelCount)
            var pelIDs = Set<StreamID>()
            for _ in 0 ..< pelCount {
                let at = input.offset
                let id = try readStreamID16("PEL entry id")
                let t = try input.readLE(Int64.self, "PEL delivery time")
                let c = try readLength("PEL delivery count")
                guard pelIDs.insert(id).inserted else { throw formatError(at, "unique PEL ids", "duplicate \(id)") }
                pel.append(RDBStreamPending(id: id, deliveryTime: t, deliveryCount: c))
            }
            let consumerCount = try readCount("consumer count", minBytes: 10)
            var consumers = [RDBStreamConsumer]()
            var owned = 0
            for _ in 0 ..< consumerCount {
                let cname = try readString("consumer name")
                let seen = try input.readLE(Int64.self, "consumer seen time")
                var active: Int64? = nil
                if version >= 3 { active = try input.readLE(Int64.self, "consumer active time") }
                let n = try readCount("consumer PEL size", minBytes: 16)
                var ids = [StreamID]()
                ids.reserveCapacity(n)
                for _ in 0 ..< n {
                    let at = input.offset
                    let id = try readStreamID16("consumer PEL id")
                    guard pelIDs.contains(id) else { throw formatError(at, "a consumer PEL id present in the group PEL", "\(id)") }
                    ids.append(id)
                }
                owned += n
                consumers.append(RDBStreamConsumer(name: cname, seenTime: seen, activeTime: active, pending: ids))
            }
            if owned != pelCount {
                throw formatError(input.offset, "every group PEL entry owned by a consumer", "\(pelCount) PEL entries, \(owned) owned")
            }
            groups.append(RDBStreamGroup(name: name, lastDelivered: last, entriesRead: entriesRead, pending: pel, consumers: consumers))
        }
        return RDBStream(nodes: [], length: length, lastID: lastID, firstID: firstID, maxDeletedID: maxDeleted,
                         entriesAdded: added, groups: groups)
    }
}

extension RDBValue {
    /// An aggregate with no elements (strings and modules never count as empty).
    var isEmptyAggregate: Bool {
        switch self {
        case .list(let a): return a.isEmpty
        case .set(let a): return a.isEmpty
        case .sortedSet(let a): return a.isEmpty
        case .hash(let a): return a.isEmpty
        case .stream, .string, .module: return false
        }
    }
}

/// Parses a score as Redis does (strtod over the whole text, no spaces, NaN refused).
func parseDouble(_ b: UnsafeRawBufferPointer) -> Double? {
    if b.count == 0 || b.count > 256 { return nil }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: b.count + 1) { tmp -> Double? in
        for i in 0 ..< b.count { tmp[i] = CChar(bitPattern: b[i]) }
        tmp[b.count] = 0
        let first = b[0]
        if first == 0x20 || first == 0x09 || first == 0x0a { return nil }
        var endp: UnsafeMutablePointer<CChar>? = nil
        let d = strtod(tmp.baseAddress!, &endp)
        guard let e = endp, e - tmp.baseAddress! == b.count, !d.isNaN else { return nil }
        return d
    }
}

func parseDouble(_ b: [UInt8]) -> Double? { b.withUnsafeBytes { parseDouble($0) } }
