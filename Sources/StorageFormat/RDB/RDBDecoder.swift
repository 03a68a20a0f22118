// RDBDecoder: the one reader of RDB bytes (FORMATS.md §2–§9). Opcode dispatch, lengths, strings (with
// LZF) and the element walk of every type code exist here once; what is done with a value is up to an
// RDBElementVisitor (RDBElementVisitor.swift), which gets it element by element:
//   no visitor         validate and count (cairn-check-rdb, resynchronising): strings pass through in
//                      pieces (a 500 MB value costs one window), large LZF data goes through a 64 KiB
//                      streaming decoder, so memory is independent of the file and of the largest key
//   RDBValueBuilder    a materialised RDBValue (RDBReader: the tools, DUMP payloads, tests)
//   the server loader  engine values built directly (Persistence/RDBLoader.swift)
//   RDBWriter          `cairn-rdb convert`, written without ever building the value
// Compact blobs (listpack, ziplist, intset, zipmap) are checked whole by the validating decoders of
// Encodings/ before any of their elements is handed out; duplicate members, fields and keys are found
// by 64-bit fingerprints in a bounded table that spills to a temporary file (RDBFingerprintSet).
//
// Checks follow what Redis 7.0 refuses when it loads a file with deep sanitisation (as redis-check-rdb
// does), plus what no writer produces: length bytes in the string-encoding form, duplicate keys, and
// (an option) type codes newer than the file's version. Where Redis accepts something odd (an empty
// aggregate, an empty quicklist node), the decoder reports a warning and goes on. Every error carries
// its offset, the key and the value's type code.
import CLZF
#if canImport(Glibc)
import Glibc
#endif

/// What the scanner learnt about one key. The scanner reuses one instance: it and `key` are valid until
/// the next call to `next()`.
public final class RDBKeySummary {
    @exclusivity(unchecked) public internal(set) var db = 0
    @exclusivity(unchecked) public internal(set) var key = UnsafeRawBufferPointer(start: nil, count: 0)
    @exclusivity(unchecked) public internal(set) var typeCode: UInt8 = 0
    /// Absolute expiry in Unix ms, if any.
    @exclusivity(unchecked) public internal(set) var expiresAt: Int64?
    @exclusivity(unchecked) public internal(set) var idle: UInt64?
    @exclusivity(unchecked) public internal(set) var freq: UInt8?
    /// Offset of the record's first byte (its first per-key opcode, or its type byte).
    @exclusivity(unchecked) public internal(set) var offset = 0
    /// Offset of the value (after the key).
    @exclusivity(unchecked) public internal(set) var valueOffset = 0
    /// Offset of the byte after the value.
    @exclusivity(unchecked) public internal(set) var end = 0
    /// Strings: 1. Lists, sets: members. Hashes: fields. Sorted sets: members. Streams: the stored length
    /// (live entries). Modules: 0.
    @exclusivity(unchecked) public internal(set) var elements: UInt64 = 0
    /// Bytes of all elements as strings (integers counted by their decimal length; scores not counted).
    @exclusivity(unchecked) public internal(set) var dataBytes: UInt64 = 0
    /// The longest element, in bytes (hash fields and values, set/zset members, list elements, strings).
    @exclusivity(unchecked) public internal(set) var largestElement = 0
    /// True when every element is a canonical integer (strings: the value; sets: every member).
    @exclusivity(unchecked) public internal(set) var allIntegers = true
    /// Hash fields that carry a TTL (Redis 7.4+).
    @exclusivity(unchecked) public internal(set) var fieldsWithTTL = 0
    /// Module type id for module values.
    @exclusivity(unchecked) public internal(set) var moduleID: UInt64?
    /// Consumer groups (streams).
    @exclusivity(unchecked) public internal(set) var streamGroups = 0
    /// Quicklist nodes (lists), stream nodes (streams).
    @exclusivity(unchecked) public internal(set) var nodes = 0

    init() {}

    @inline(__always)
    func reset(db: Int, key: UnsafeRawBufferPointer, typeCode: UInt8, expiresAt: Int64?, idle: UInt64?, freq: UInt8?,
               offset: Int, valueOffset: Int) {
        self.db = db; self.key = key; self.typeCode = typeCode
        self.expiresAt = expiresAt; self.idle = idle; self.freq = freq
        self.offset = offset; self.valueOffset = valueOffset; end = 0
        elements = 0; dataBytes = 0; largestElement = 0; allIntegers = true; fieldsWithTTL = 0
        moduleID = nil; streamGroups = 0; nodes = 0
    }

    /// The key as bytes.
    public var keyBytes: [UInt8] { Array(key) }
    /// Bytes the value takes in the file.
    public var valueSize: Int { end - valueOffset }
    /// Bytes the whole record takes in the file (per-key opcodes, type, key, value).
    public var recordSize: Int { end - offset }
    /// The module type's 9-character name.
    public var moduleName: String? { moduleID.map { RDBModuleValue(moduleID: $0, raw: []).name } }
}

/// One record of the walk, in file order.
public enum RDBScanRecord {
    case aux(key: [UInt8], value: [UInt8])
    case selectDB(Int)
    case resizeDB(dbSize: UInt64, expiresSize: UInt64)
    case slotInfo(slot: UInt64, size: UInt64, expiresSize: UInt64)
    /// A module's auxiliary data: its type id, when it is loaded, and its size in the file.
    case moduleAux(moduleID: UInt64, when: UInt64, size: Int)
    /// A function library's source (FUNCTION2).
    case function(code: [UInt8])
    /// A key whose value is valid.
    case key(RDBKeySummary)
    /// An aggregate stored with no elements: Redis skips such keys when loading (with a notice).
    case emptyKey(RDBKeySummary)
    /// The EOF opcode. `checksum` is the stored CRC64 (nil before v5); `verified` is false when it was 0
    /// (written with rdbchecksum no) or checking was turned off.
    case end(checksum: UInt64?, verified: Bool)
}

/// Something odd that Redis accepts, reported without stopping.
public struct RDBScanWarning: Sendable, CustomStringConvertible {
    public var offset: Int
    public var key: [UInt8]?
    public var message: String
    public init(offset: Int, key: [UInt8]?, message: String) {
        self.offset = offset; self.key = key; self.message = message
    }
    public var description: String {
        "offset \(offset)" + (key.map { " key \(ByteText.quoted($0))" } ?? "") + ": " + message
    }
}

/// Decodes an RDB file record by record, validating every byte; see the file comment.
public final class RDBDecoder {
    public struct Options: Sendable {
        /// Verify the CRC64 trailer.
        public var verifyChecksum = true
        /// Refuse set members, hash fields and zset members that repeat (Redis does).
        public var checkDuplicateMembers = true
        /// Refuse a key that appears twice in a database (redis-server does; redis-check-rdb 7.0 does not).
        public var checkDuplicateKeys = true
        /// Refuse type codes newer than the file's RDB version (no writer of that version emits them).
        public var strictTypeVersions = true
        /// Memory for each fingerprint table (keys; members of one aggregate) before it spills to disk.
        public var fingerprintBudget = 16 << 20
        /// Keep MODULE_AUX data (`lastModuleAuxData`).
        public var keepModuleData = false
        public init() {}
    }

    /// What the scanner was doing, in redis-check-rdb's words ("While doing: read-object-value").
    public enum Phase: String, Sendable {
        case start = "start"
        case readType = "read-type"
        case readExpire = "read-expire"
        case readKey = "read-key"
        case readValue = "read-object-value"
        case checkSum = "check-sum"
        case readAux = "read-aux"
        case readModuleAux = "read-module-aux"
        case readFunction = "read-functions"
    }

    public let dialect: RDBDialect
    public let options: Options
    let input: RDBInput
    var finished = false

    /// Database of the keys that follow.
    public private(set) var db = 0
    /// What the scanner was doing when it last stopped (for error reports).
    public private(set) var phase = Phase.start
    /// Type code of the record being read (valid after an error in a value).
    public private(set) var currentType: UInt8?
    /// Key names read so far, the failing one included (redis-check-rdb's "keys read").
    public private(set) var keysRead = 0
    /// Offset of the record being read.
    public private(set) var recordOffset = 0
    /// Called for each warning (Redis accepts the bytes; the scanner goes on).
    public var onWarning: ((RDBScanWarning) -> Void)?

    /// Absolute offset of the next unread byte.
    public var offset: Int { input.offset }

    /// Bytes the decoder read from its source past what it consumed (after `.end`: what followed the
    /// RDB, such as a diskless transfer's end mark).
    public var unreadBytes: [UInt8] {
        input.mappedSize >= 0 ? [] : Array(UnsafeRawBufferPointer(rebasing: input.buffer[input.position ..< input.end]))
    }

    /// The key being read (after its name was read), for error reports.
    public var currentKey: [UInt8]? {
        keyLength >= 0 ? Array(UnsafeRawBufferPointer(start: keyBuffer, count: keyLength)) : nil
    }

    // Key buffer (the current key's bytes).
    var keyBuffer: UnsafeMutableRawPointer
    var keyCapacity = 256
    var keyLength = -1
    // Scratch for decompressed LZF blobs and small compressed strings.
    var scratch: UnsafeMutableRawPointer
    var scratchCapacity = 1 << 16
    // Fingerprints of keys (all databases) and of the members of the aggregate being read; a third for
    // stream consumer PELs.
    let keySet: RDBFingerprintLog
    let memberSet: RDBFingerprintSet
    let innerSet: RDBFingerprintSet
    /// Per-key facts being collected.
    let summary: RDBKeySummary
    // Per-key opcodes seen before the next key (Redis keeps them across AUX/SELECTDB records too).
    var expiresAt: Int64? = nil
    var idle: UInt64? = nil
    var freq: UInt8? = nil
    var start = -1
    /// MODULE_AUX's raw opcode stream, kept when `options.keepModuleData` (for RDBReader).
    public internal(set) var lastModuleAuxData: [UInt8] = []

    // The value's visitor (nil: validate and count only), the header it was chosen by, whether its
    // beginValue was called (lazily, before the first element, so an empty aggregate is never begun).
    var visitor: RDBElementVisitor?
    var header = RDBKeyHeader(db: 0, key: [], typeCode: 0)
    var began = false
    // The first element of a pair (field, member), kept while the second is read.
    var keep: UnsafeMutableRawPointer
    var keepCapacity = 256
    // Decimal text of integers handed to a visitor: two 32-byte slots (a field and its value).
    let digits: UnsafeMutableRawPointer

    /// Strings up to this size are checked in one piece; longer ones stream through in pieces.
    static let inlineLimit = 1 << 20

    /// Opens `path` (gzip-compressed files are decompressed transparently). A regular uncompressed file
    /// is read through a mapping, without copying it into a window.
    public convenience init(path: String, options: Options = Options()) throws {
        if path != "-", let input = RDBInput(mapping: path),
           !(input.mappedSize >= 2 && input.buffer[0] == 0x1f && input.buffer[1] == 0x8b) {
            input.crcEnabled = options.verifyChecksum
            if options.verifyChecksum && input.mappedSize > 4 * RDBInput.chunk { input.crcWorker = RDBHelperThread() }
            try self.init(input: input, dialect: nil, options: options)
            keySet.helper = input.crcWorker
            return
        }
        try self.init(source: openByteSource(path: path), options: options)
    }

    /// Reads from bytes in memory.
    public convenience init(bytes: [UInt8], options: Options = Options()) throws {
        try self.init(source: MemorySource(bytes), options: options)
    }

    public convenience init(source: ByteSource, options: Options = Options()) throws {
        let input = RDBInput(source: source)
        input.crcEnabled = options.verifyChecksum
        // Large inputs: checksum on a second thread while parsing.
        if options.verifyChecksum && (source.knownSize ?? Int.max) > 4 * RDBInput.chunk {
            input.attach(RDBHelperThread())
        }
        try self.init(input: input, dialect: nil, options: options)
        keySet.helper = input.crcWorker
    }

    /// A scanner that starts in the middle of a file (its source positioned at `offset`), for
    /// resynchronising after a corrupt region: no magic is read, no checksum is kept.
    public convenience init(source: ByteSource, startingAt offset: Int, dialect: RDBDialect, db: Int, options: Options = Options()) throws {
        let input = RDBInput(source: source, startOffset: offset)
        input.crcEnabled = false
        var o = options
        o.verifyChecksum = false
        try self.init(input: input, dialect: dialect, options: o)
        self.db = db
    }

    /// A scanner over a window of the file already in memory, read in place (for resynchronising).
    public convenience init(window: UnsafeMutableRawBufferPointer, startingAt offset: Int, fileSize: Int?, dialect: RDBDialect,
                            db: Int, options: Options = Options()) throws {
        var o = options
        o.verifyChecksum = false
        try self.init(input: RDBInput(window: window, startOffset: offset, fileSize: fileSize), dialect: dialect, options: o)
        self.db = db
    }

    init(input: RDBInput, dialect: RDBDialect?, options: Options) throws {
        // The magic first: a throw after the buffers below are allocated would leak them (no deinit runs
        // for a partly initialised object).
        self.dialect = try dialect ?? RDBDecoder.readMagic(input)
        self.options = options
        self.input = input
        keyBuffer = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 16)
        scratch = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 16)
        keySet = RDBFingerprintLog(budgetBytes: options.checkDuplicateKeys ? options.fingerprintBudget : 1 << 15)
        memberSet = RDBFingerprintSet(budgetBytes: options.fingerprintBudget)
        innerSet = RDBFingerprintSet(budgetBytes: max(1 << 20, options.fingerprintBudget / 4))
        summary = RDBKeySummary()
        keep = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 16)
        digits = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 16)
    }

    deinit {
        keyBuffer.deallocate()
        scratch.deallocate()
        keep.deallocate()
        digits.deallocate()
    }

    /// The 9-byte magic: REDIS0001..REDIS0012 or VALKEY080.
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

    /// Decodes one value of type `type` at the input (a DUMP payload body), handing it to `visitor`.
    /// Returns false for an aggregate with no elements (the visitor was not begun).
    func decodeValue(type: UInt8, into visitor: RDBElementVisitor?) throws -> Bool {
        summary.reset(db: 0, key: UnsafeRawBufferPointer(start: nil, count: 0), typeCode: type, expiresAt: nil, idle: nil,
                      freq: nil, offset: input.offset, valueOffset: input.offset)
        header = RDBKeyHeader(db: 0, key: [], typeCode: type)
        self.visitor = visitor
        began = false
        defer { self.visitor = nil }
        do {
            try readValue(type: type)
        } catch var e as FormatError {
            if e.typeCode == nil { e.typeCode = type }
            throw e
        }
        if summary.elements == 0 && isAggregate(type) { return false }
        try begin()
        try visitor?.endValue()
        return true
    }

    func warn(_ at: Int, _ message: String, key: [UInt8]? = nil) {
        onWarning?(RDBScanWarning(offset: at, key: key, message: message))
    }

    @inline(never)
    func formatError(_ at: Int, _ expected: String, _ found: String) -> FormatError {
        FormatError(offset: at, key: currentKey, context: "RDB", expected: expected, found: found)
    }

    // MARK: - Records

    /// The next record, or nil after `.end` has been returned. Values are validated and counted only.
    public func next() throws -> RDBScanRecord? {
        try next(headers: false, keyBytes: false, fixed: nil) { _ in nil }
    }

    /// The next record, every key's value handed to `visitor` (whose headers carry no key bytes: the
    /// key is `keySummary.key`, valid until the next call).
    public func next(into visitor: RDBElementVisitor) throws -> RDBScanRecord? {
        try next(headers: true, keyBytes: false, fixed: visitor) { _ in nil }
    }

    /// The facts of the key being read or last read.
    public var keySummary: RDBKeySummary { summary }

    /// The next record; a key's value is handed element by element to the visitor `choose(header)`
    /// names (nil: validated and counted only). The visitor is begun before the value's first element
    /// and ended after its last; an aggregate with no elements (`.emptyKey`) is neither.
    public func next(choosing choose: (RDBKeyHeader) throws -> RDBElementVisitor?) throws -> RDBScanRecord? {
        try next(headers: true, keyBytes: true, fixed: nil, choose)
    }

    @inline(__always)
    func next(headers: Bool, keyBytes: Bool, fixed: RDBElementVisitor?,
              _ choose: (RDBKeyHeader) throws -> RDBElementVisitor?) throws -> RDBScanRecord? {
        if finished { return nil }
        keyLength = -1
        currentType = nil
        while true {
            let at = input.offset
            phase = .readType
            recordOffset = start >= 0 ? start : at
            let code = try input.readByte("an opcode or type byte")
            switch code {
            case RDBOpcode.eof:
                if start >= 0 { warn(start, "an expire/idle/freq opcode with no key after it (Redis ignores it)") }
                phase = .checkSum
                finished = true
                if dialect.version < 5 { return .end(checksum: nil, verified: false) }
                let computed = input.checksumSoFar()
                let stored = try input.readLE(UInt64.self, "the CRC64 trailer")
                if stored == 0 || !options.verifyChecksum { return .end(checksum: stored, verified: false) }
                if stored != computed {
                    throw FormatError(offset: at + 1, context: "RDB checksum",
                                      expected: "CRC64 0x\(String(computed, radix: 16))", found: "0x\(String(stored, radix: 16))")
                }
                return .end(checksum: stored, verified: true)
            case RDBOpcode.selectDB:
                let n = try readLength("database number")
                guard n < 1 << 31 else { throw formatError(at + 1, "a database number", "\(n)") }
                db = Int(n)
                if start >= 0 { warn(start, "an expire/idle/freq opcode before SELECTDB (Redis applies it to the next key)") }
                return .selectDB(db)
            case RDBOpcode.resizeDB:
                let a = try readLength("RESIZEDB db_size")
                let b = try readLength("RESIZEDB expires_size")
                return .resizeDB(dbSize: a, expiresSize: b)
            case RDBOpcode.aux:
                phase = .readAux
                let k = try readSmallString("AUX key")
                let v = try readSmallString("AUX value")
                return .aux(key: k, value: v)
            case RDBOpcode.expireTimeMS:
                phase = .readExpire
                expiresAt = try input.readLE(Int64.self, "EXPIRETIME_MS")
                if start < 0 { start = at }
            case RDBOpcode.expireTime:
                phase = .readExpire
                expiresAt = Int64(try input.readLE(Int32.self, "EXPIRETIME")) * 1000
                if start < 0 { start = at }
            case RDBOpcode.idle where dialect.version >= 9 || dialect.family == .valkey:
                idle = try readLength("IDLE seconds")
                if start < 0 { start = at }
            case RDBOpcode.freq where dialect.version >= 9 || dialect.family == .valkey:
                freq = try input.readByte("FREQ counter")
                if start < 0 { start = at }
            case RDBOpcode.moduleAux where dialect.version >= 9 || dialect.family == .valkey:
                phase = .readModuleAux
                let id = try readLength("MODULE_AUX module id")
                let whenAt = input.offset
                let whenOp = try readLength("MODULE_AUX when-opcode")
                guard whenOp == 2 else { throw formatError(whenAt, "MODULE_AUX when-opcode 2 (UINT)", "\(whenOp)") }
                let when = try readLength("MODULE_AUX when")
                if options.keepModuleData { input.beginCapture() }
                try walkModuleOpcodes()
                if options.keepModuleData { lastModuleAuxData = input.endCapture() }
                return .moduleAux(moduleID: id, when: when, size: input.offset - at)
            case RDBOpcode.functionPreGA where dialect.version >= 10:
                throw formatError(at, "a released function format", "FUNCTION_PRE_GA (0xF6), a Redis 7.0 release-candidate format that Redis refuses")
            case RDBOpcode.function2 where dialect.version >= 10:
                phase = .readFunction
                return .function(code: try readSmallString("function library code"))
            case RDBOpcode.slotInfo where dialect.family == .redis && dialect.version >= 12:
                let slot = try readLength("SLOT_INFO slot")
                let size = try readLength("SLOT_INFO size")
                let exp = try readLength("SLOT_INFO expires size")
                return .slotInfo(slot: slot, size: size, expiresSize: exp)
            default:
                guard let first = RDBType.firstVersion(code, in: dialect) else {
                    throw formatError(at, "an opcode or an object type known to \(dialect)", "byte 0x\(String(code, radix: 16)) (\(code))")
                }
                // Codes from 22 on mean different things in different versions: never read ahead of the version.
                if first > dialect.version && (options.strictTypeVersions || code >= 22) && !(dialect.family == .valkey && code <= 21) {
                    throw formatError(at, "a type that RDB \(dialect.version) can hold",
                                      "type \(code) (\(RDBType.checkerName(code))), which first appears in RDB \(first)")
                }
                currentType = code
                let recordStart = start >= 0 ? start : at
                defer { expiresAt = nil; idle = nil; freq = nil; start = -1 }
                phase = .readKey
                try readKey()
                keysRead += 1
                phase = .readValue
                summary.reset(db: db, key: UnsafeRawBufferPointer(start: keyBuffer, count: keyLength), typeCode: code,
                              expiresAt: expiresAt, idle: idle, freq: freq, offset: recordStart, valueOffset: input.offset)
                visitor = nil
                began = false
                if headers {
                    if keyBytes { header.key = Array(summary.key) }
                    header.db = db; header.typeCode = code; header.expiresAt = expiresAt; header.idle = idle
                    header.freq = freq; header.offset = recordStart; header.count = nil
                    if let fixed { visitor = fixed } else { visitor = try choose(header) }
                }
                do {
                    try readValue(type: code)
                    if visitor != nil && !(summary.elements == 0 && isAggregate(code)) {
                        try begin()
                        try visitor!.endValue()
                    }
                } catch var e as FormatError {
                    if e.key == nil { e.key = currentKey }
                    if e.typeCode == nil { e.typeCode = code }
                    visitor = nil
                    throw e
                }
                visitor = nil
                summary.end = input.offset
                input.shrinkIfLarge()
                if summary.elements == 0 && isAggregate(code) {
                    return .emptyKey(summary)
                }
                if options.checkDuplicateKeys {
                    try keySet.append(RDBDecoder.keyFingerprint(db: db, key: summary.key))
                }
                return .key(summary)
            }
        }
    }

    /// After `.end`: the fingerprint of a (database, key) that appeared twice, or nil. `findKeys` names them.
    public func duplicateKeyAfterEnd() throws -> UInt64? {
        guard options.checkDuplicateKeys else { return nil }
        return try keySet.finish()
    }

    /// The fingerprint the duplicate-key check gives a key of a database.
    @inline(__always)
    static func keyFingerprint(db: Int, key: UnsafeRawBufferPointer) -> UInt64 {
        RDBFingerprint.mum(RDBFingerprint.of(key) ^ (UInt64(truncatingIfNeeded: db) &* RDBFingerprint.k2), RDBFingerprint.k1)
    }

    /// Reads the whole input and returns the keys whose (database, key) fingerprint is `fingerprint`, with
    /// their databases and record offsets (a second look after `duplicateKeyAfterEnd`).
    public static func findKeys(withFingerprint fingerprint: UInt64, source: ByteSource) throws -> [(db: Int, key: [UInt8], offset: Int)] {
        var options = Options()
        options.checkDuplicateKeys = false
        options.verifyChecksum = false
        let scanner = try RDBDecoder(source: source, options: options)
        var found: [(db: Int, key: [UInt8], offset: Int)] = []
        while let rec = try scanner.next() {
            if case .key(let s) = rec, keyFingerprint(db: s.db, key: s.key) == fingerprint {
                found.append((s.db, s.keyBytes, s.offset))
            }
        }
        return found
    }

    func isAggregate(_ code: UInt8) -> Bool {
        switch code {
        case RDBType.string, RDBType.module2, RDBType.modulePreGA, RDBType.streamListpacks, RDBType.streamListpacks2, RDBType.streamListpacks3:
            return false
        default:
            return true
        }
    }

    // MARK: - Lengths and strings

    /// An RDB length (FORMATS.md §4). The string-encoding form (`11xxxxxx`) is an error here (Redis reads
    /// its low 6 bits, but no writer puts it where a length belongs).
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

    /// A length used as an element count: each element needs at least `minBytes` bytes of the rest of the file.
    @inline(__always)
    func readCount(_ what: @autoclosure () -> String, minBytes: Int = 1) throws -> Int {
        let at = input.offset
        let n = try readLength(what())
        let limit = input.remainingKnown.map { ($0 + input.end - input.position) / max(minBytes, 1) } ?? Int.max
        guard n <= UInt64(Int.max), Int(n) <= limit else {
            throw formatError(at, "\(what()) that fits in the rest of the file", "\(n)")
        }
        return Int(n)
    }

    @inline(__always)
    func byteCount(_ n: UInt64, at: Int, _ what: @autoclosure () -> String) throws -> Int {
        guard n <= UInt64(Int.max >> 1) else { throw formatError(at, "a length for \(what())", "\(n)") }
        if let rest = input.remainingKnown, Int(n) > rest + (input.end - input.position) {
            throw formatError(at, "\(n) bytes of \(what())", "only \(rest + input.end - input.position) bytes left in the file")
        }
        return Int(n)
    }

    func ensureScratch(_ n: Int) {
        if n <= scratchCapacity { return }
        scratch.deallocate()
        var c = scratchCapacity
        while c < n { c *= 2 }
        scratch = UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 16)
        scratchCapacity = c
    }

    func releaseLargeScratch() {
        if scratchCapacity > 16 << 20 {
            scratch.deallocate()
            scratchCapacity = 1 << 16
            scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchCapacity, alignment: 16)
        }
    }

    /// The LZF header of a `0xC3` string: compressed and original lengths, checked against the file.
    @inline(__always)
    func readLZFHeader(at: Int) throws -> (clen: Int, ulen: Int) {
        let clen = try byteCount(try readLength("LZF compressed length"), at: input.offset, "LZF data")
        let ulen = try readLength("LZF original length")
        guard ulen <= UInt64(LZF.maxOriginalLength) else {
            throw formatError(at, "an LZF original length up to \(LZF.maxOriginalLength) bytes", "\(ulen)")
        }
        return (clen, Int(ulen))
    }

    /// Decompresses `clen` bytes at the input into `scratch` (at most `ulen` bytes; liblzf).
    func decompressToScratch(clen: Int, ulen: Int) throws -> UnsafeRawBufferPointer {
        let dataAt = input.offset
        let data = try input.span(clen, "LZF data")
        // Refuse an original length the compressed bytes cannot produce before allocating for it.
        guard ulen <= LZF.expansionBound(inputCount: clen) else {
            throw FormatError(offset: dataAt, context: "LZF", expected: "an original length that \(clen) compressed bytes can produce",
                              found: "\(ulen)")
        }
        ensureScratch(max(ulen, 1))
        try LZF.decompress(data, into: UnsafeMutableRawBufferPointer(start: scratch, count: ulen), baseOffset: dataAt)
        return UnsafeRawBufferPointer(start: scratch, count: ulen)
    }

    /// A string read whole (AUX fields, function code): small by nature, materialised.
    func readSmallString(_ what: String) throws -> [UInt8] {
        let s = try readBlob(what)
        return Array(s.bytes)
    }

    /// The key of the current record into `keyBuffer`.
    func readKey() throws {
        let s = try readBlob("key")
        if s.bytes.count > keyCapacity {
            keyBuffer.deallocate()
            var c = keyCapacity
            while c < s.bytes.count { c *= 2 }
            keyBuffer = UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 16)
            keyCapacity = c
        }
        if s.bytes.count > 0 { keyBuffer.copyMemory(from: s.bytes.baseAddress!, byteCount: s.bytes.count) }
        keyLength = s.bytes.count
    }

    /// A string needed whole (a key, a compact blob, a stream node key): the bytes are valid until the
    /// next read. Integer encodings become their decimal text in `scratch`.
    func readBlob(_ what: @autoclosure () -> String) throws -> (bytes: UnsafeRawBufferPointer, offset: Int) {
        let at = input.offset
        let b = try input.readByte(what())
        switch b >> 6 {
        case 3:
            switch b & 0x3F {
            case 0, 1, 2:
                let v: Int64
                switch b & 0x3F {
                case 0: v = Int64(Int8(bitPattern: try input.readByte(what())))
                case 1: v = Int64(try input.readLE(Int16.self, what()))
                default: v = Int64(try input.readLE(Int32.self, what()))
                }
                let text = StrictInteger.format(v)
                ensureScratch(text.count)
                text.withUnsafeBytes { scratch.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                return (UnsafeRawBufferPointer(start: scratch, count: text.count), at)
            case 3:
                let (clen, ulen) = try readLZFHeader(at: at)
                return (try decompressToScratch(clen: clen, ulen: ulen), at)
            default:
                throw formatError(at, "a string encoding for \(what()) (0xC0-0xC3)", "0x\(String(b, radix: 16))")
            }
        default:
            let n = try lengthAfter(b, at: at, what())
            let count = try byteCount(n, at: at, what())
            return (try input.span(count, what()), at)
        }
    }

    /// The rest of a string length whose first byte `b` (not `11xxxxxx`) was read at `at`.
    @inline(__always)
    func lengthAfter(_ b: UInt8, at: Int, _ what: @autoclosure () -> String) throws -> UInt64 {
        switch b >> 6 {
        case 0: return UInt64(b & 0x3F)
        case 1: return UInt64(b & 0x3F) << 8 | UInt64(try input.readByte(what()))
        default:
            if b == 0x80 { return UInt64(try input.readBE(UInt32.self, what())) }
            if b == 0x81 { return try input.readBE(UInt64.self, what()) }
            throw formatError(at, "a string length for \(what())", "unknown length encoding 0x\(String(b, radix: 16))")
        }
    }

    /// What `element` learnt about one string.
    struct ElementFacts {
        var length: Int
        var isInteger: Bool
        var fingerprint: UInt64
    }

    /// Reads one string element (a value, member, field…) without keeping it: its length, whether it is a
    /// canonical integer, and (when `fingerprint`) its fingerprint as Redis compares members.
    @inline(__always)
    func element(_ what: @autoclosure () -> String, fingerprint: Bool) throws -> ElementFacts {
        let at = input.offset
        let b = try input.readByte(what())
        if b < 0xC0 {
            let n = b < 0x40 ? UInt64(b) : try lengthAfter(b, at: at, what())
            let count = try byteCount(n, at: at, what())
            if count <= RDBDecoder.inlineLimit {
                let s = try input.span(count, what())
                return facts(of: s, fingerprint: fingerprint)
            }
            var f = RDBFingerprint()
            try input.consume(count, what()) { piece in if fingerprint { f.update(piece) } }
            return ElementFacts(length: count, isInteger: false, fingerprint: f.finish())
        }
        switch b & 0x3F {
        case 0:
            let v = Int64(Int8(bitPattern: try input.readByte(what())))
            return ElementFacts(length: decimalLength(v), isInteger: true, fingerprint: RDBFingerprint.of(int: v))
        case 1:
            let v = Int64(try input.readLE(Int16.self, what()))
            return ElementFacts(length: decimalLength(v), isInteger: true, fingerprint: RDBFingerprint.of(int: v))
        case 2:
            let v = Int64(try input.readLE(Int32.self, what()))
            return ElementFacts(length: decimalLength(v), isInteger: true, fingerprint: RDBFingerprint.of(int: v))
        case 3:
            let (clen, ulen) = try readLZFHeader(at: at)
            if clen <= RDBDecoder.inlineLimit && ulen <= 4 * RDBDecoder.inlineLimit {
                let s = try decompressToScratch(clen: clen, ulen: ulen)
                return facts(of: s, fingerprint: fingerprint)
            }
            // Too large for one buffer: stream it through a 64 KiB window.
            var lzf = RDBLZFStream(originalLength: ulen, baseOffset: input.offset)
            defer { lzf.release() }
            var f = RDBFingerprint()
            try input.consume(clen, "LZF data") { piece in
                try lzf.feed(piece) { out in if fingerprint { f.update(out) } }
            }
            try lzf.finish { out in if fingerprint { f.update(out) } }
            return ElementFacts(length: ulen, isInteger: false, fingerprint: f.finish())
        default:
            throw formatError(at, "a string encoding for \(what()) (0xC0-0xC3)", "0x\(String(b, radix: 16))")
        }
    }

    @inline(__always)
    func facts(of s: UnsafeRawBufferPointer, fingerprint: Bool) -> ElementFacts {
        var isInt = false
        var v: Int64 = 0
        if s.count <= 20 && s.count > 0 {
            let c = s[0]
            if c == UInt8(ascii: "-") || (c >= 48 && c <= 57), let x = StrictInteger.parse(s) { isInt = true; v = x }
        }
        let fp: UInt64 = fingerprint ? (isInt ? RDBFingerprint.of(int: v) : RDBFingerprint.of(s)) : 0
        return ElementFacts(length: s.count, isInteger: isInt, fingerprint: fp)
    }

    // MARK: - Handing elements to the visitor

    /// Begins the visitor's value (once, before its first element).
    @inline(__always)
    func begin() throws {
        if !began {
            began = true
            try visitor?.beginValue(header)
        }
    }

    /// Reads one string element whole, for a visitor: its bytes (valid until the next read, or until the
    /// next kept element when `keep`) and its facts. Integer encodings become decimal text.
    @inline(__always)
    func elementBytes(_ what: @autoclosure () -> String, fingerprint: Bool, keep: Bool = false) throws
        -> (bytes: UnsafeRawBufferPointer, facts: ElementFacts) {
        let at = input.offset
        let b = try input.readByte(what())
        var s: UnsafeRawBufferPointer
        if b < 0xC0 {
            let n = b < 0x40 ? UInt64(b) : try lengthAfter(b, at: at, what())
            s = try input.span(try byteCount(n, at: at, what()), what())
        } else {
            switch b & 0x3F {
            case 0, 1, 2:
                let v: Int64
                switch b & 0x3F {
                case 0: v = Int64(Int8(bitPattern: try input.readByte(what())))
                case 1: v = Int64(try input.readLE(Int16.self, what()))
                default: v = Int64(try input.readLE(Int32.self, what()))
                }
                s = RDBDecoder.format(v, into: digits + (keep ? 32 : 0))
                return (s, ElementFacts(length: s.count, isInteger: true, fingerprint: fingerprint ? RDBFingerprint.of(int: v) : 0))
            case 3:
                let (clen, ulen) = try readLZFHeader(at: at)
                s = try decompressToScratch(clen: clen, ulen: ulen)
            default:
                throw formatError(at, "a string encoding for \(what()) (0xC0-0xC3)", "0x\(String(b, radix: 16))")
            }
        }
        if keep { s = kept(s) }
        return (s, facts(of: s, fingerprint: fingerprint))
    }

    /// Reads one string element: with a visitor, whole (its bytes as `elementBytes` gives them); without
    /// one, only its facts (`element`: a huge string passes through in pieces), the bytes then empty.
    @inline(__always)
    func nextElement(_ what: @autoclosure () -> String, fingerprint: Bool, keep: Bool = false) throws
        -> (bytes: UnsafeRawBufferPointer, facts: ElementFacts) {
        if visitor != nil { return try elementBytes(what(), fingerprint: fingerprint, keep: keep) }
        return (UnsafeRawBufferPointer(start: nil, count: 0), try element(what(), fingerprint: fingerprint))
    }

    /// A copy of `s` in the keep buffer.
    func kept(_ s: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        if s.count > keepCapacity {
            keep.deallocate()
            var c = keepCapacity
            while c < s.count { c *= 2 }
            keep = UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 16)
            keepCapacity = c
        }
        if s.count > 0 { keep.copyMemory(from: s.baseAddress!, byteCount: s.count) }
        return UnsafeRawBufferPointer(start: keep, count: s.count)
    }

    /// A compact element's bytes for a visitor (an integer as decimal text in digit slot `slot`).
    @inline(__always)
    func bytes(_ e: CompactElement, slot: Int) -> UnsafeRawBufferPointer {
        switch e {
        case .bytes(let b): return b
        case .int(let v): return RDBDecoder.format(v, into: digits + slot * 32)
        }
    }

    /// Decimal text of `v` at `p` (at most 20 bytes).
    static func format(_ v: Int64, into p: UnsafeMutableRawPointer) -> UnsafeRawBufferPointer {
        var x = v.magnitude
        var tmp = (UInt64(0), UInt64(0), UInt64(0))
        let n: Int = withUnsafeMutableBytes(of: &tmp) { t in
            var i = 24
            repeat {
                i -= 1
                t[i] = UInt8(x % 10) + 48
                x /= 10
            } while x > 0
            if v < 0 { i -= 1; t[i] = UInt8(ascii: "-") }
            let n = 24 - i
            p.copyMemory(from: t.baseAddress! + i, byteCount: n)
            return n
        }
        return UnsafeRawBufferPointer(start: p, count: n)
    }

    @inline(__always)
    func note(_ f: ElementFacts) {
        summary.dataBytes &+= UInt64(f.length)
        if f.length > summary.largestElement { summary.largestElement = f.length }
        if !f.isInteger { summary.allIntegers = false }
    }

    @inline(__always)
    func note(_ e: CompactElement) {
        switch e {
        case .int(let v):
            let n = decimalLength(v)
            summary.dataBytes &+= UInt64(n)
            if n > summary.largestElement { summary.largestElement = n }
        case .bytes(let b):
            summary.dataBytes &+= UInt64(b.count)
            if b.count > summary.largestElement { summary.largestElement = b.count }
            if summary.allIntegers {
                if b.count > 20 || b.count == 0 || StrictInteger.parse(b) == nil { summary.allIntegers = false }
            }
        }
    }

    /// Adds a member's fingerprint to the aggregate's set; a repeat already in memory is an error.
    @inline(__always)
    func member(_ fp: UInt64, at: Int, _ what: StaticString) throws {
        if let first = try memberSet.insert(fp, tag: Int64(at)) {
            throw FormatError(offset: at, key: currentKey, context: "RDB", expected: "\(what)s that are all different",
                              found: "a duplicate of the \(what) at offset \(first)")
        }
    }

    /// After the last member: repeats among fingerprints that were spilled to disk.
    func membersDone(_ what: StaticString) throws {
        if memberSet.spilled, let r = try memberSet.finish() {
            throw FormatError(offset: Int(r.secondTag), key: currentKey, context: "RDB", expected: "\(what)s that are all different",
                              found: "a duplicate of the \(what) at offset \(r.firstTag)")
        }
    }

    func resetMembers(_ expected: Int) {
        if options.checkDuplicateMembers { memberSet.reset(expected: expected) }
    }

    // MARK: - Values

    func readValue(type: UInt8) throws {
        let dups = options.checkDuplicateMembers
        let v = visitor
        switch type {
        case RDBType.string:
            let (s, f) = try nextElement("string value", fingerprint: false)
            note(f)
            if let v {
                try begin()
                try v.string(s)
            }
            summary.elements = 1

        case RDBType.list:
            let n = try readCount("list length")
            header.count = n
            for _ in 0 ..< n {
                let (s, f) = try nextElement("list element", fingerprint: false)
                note(f)
                if let v {
                    try begin()
                    try v.listElement(s)
                }
            }
            summary.elements = UInt64(n)

        case RDBType.set:
            let n = try readCount("set size")
            header.count = n
            resetMembers(n)
            for _ in 0 ..< n {
                let at = input.offset
                let (s, f) = try nextElement("set member", fingerprint: dups)
                note(f)
                if dups { try member(f.fingerprint, at: at, "set member") }
                if let v {
                    try begin()
                    try v.setMember(s)
                }
            }
            if dups { try membersDone("set member") }
            summary.elements = UInt64(n)

        case RDBType.zset, RDBType.zset2:
            let n = try readCount("sorted set size", minBytes: 2)
            header.count = n
            resetMembers(n)
            for _ in 0 ..< n {
                let at = input.offset
                let (m, f) = try nextElement("sorted set member", fingerprint: dups, keep: true)
                if f.length > summary.largestElement { summary.largestElement = f.length }
                summary.dataBytes &+= UInt64(f.length)
                if dups { try member(f.fingerprint, at: at, "sorted set member") }
                let sat = input.offset
                let score: Double
                if type == RDBType.zset {
                    score = try readASCIIScore()
                } else {
                    score = Double(bitPattern: try input.readLE(UInt64.self, "score"))
                }
                if score.isNaN { throw formatError(sat, "a score that is a number", "NaN") }
                if let v {
                    try begin()
                    try v.sortedSetMember(m, score: score)
                }
            }
            if dups { try membersDone("sorted set member") }
            summary.elements = UInt64(n)

        case RDBType.hash:
            let n = try readCount("hash size", minBytes: 2)
            header.count = n
            resetMembers(n)
            for _ in 0 ..< n {
                try hashFieldAndValue(dups: dups, expiresAt: 0)
            }
            if dups { try membersDone("hash field") }
            summary.elements = UInt64(n)

        case RDBType.modulePreGA:
            throw formatError(input.offset - 1, "a released module format", "MODULE_PRE_GA (type 6), which Redis refuses")

        case RDBType.module2:
            let id = try readLength("module id")
            summary.moduleID = id
            if let v {
                input.beginCapture()
                var ok = false
                defer { if !ok { _ = input.endCapture() } }
                try walkModuleOpcodes()
                ok = true
                let raw = input.endCapture()
                try begin()
                try v.module(RDBModuleValue(moduleID: id, raw: raw))
            } else {
                try walkModuleOpcodes()
            }

        case RDBType.hashZipmap:
            let (blob, at) = try readBlob("zipmap")
            resetMembers(max(1, blob.count / 4))
            var problem: FormatError? = nil
            let n = try Zipmap.forEach(blob, baseOffset: at) { f, v in
                self.noteBytes(f)
                self.noteBytes(v)
                if dups && problem == nil {
                    do { try self.member(RDBFingerprint.ofCanonical(f), at: at, "hash field") } catch let e as FormatError { problem = e }
                }
            }
            if let problem { throw problem }
            // Redis's zipmap check refuses an empty one (Redis never wrote one).
            if n == 0 {
                throw FormatError(offset: at, key: currentKey, context: "zipmap", expected: "at least one field/value pair", found: "an empty zipmap")
            }
            summary.elements = UInt64(n)
            if let v {
                header.count = n
                try Zipmap.forEach(blob, baseOffset: at) { f, val in
                    try self.begin()
                    try v.hashField(f, value: val, expiresAt: 0)
                }
            }

        case RDBType.listZiplist:
            let (blob, at) = try readBlob("ziplist")
            let n = try Ziplist.forEach(blob, baseOffset: at) { e in self.note(e) }
            summary.elements = UInt64(n)
            if let v {
                header.count = n
                _ = try Ziplist.forEach(blob, baseOffset: at) { e in
                    try self.begin()
                    try v.listElement(self.bytes(e, slot: 0))
                }
            }

        case RDBType.setIntset:
            let (blob, at) = try readBlob("intset")
            let n = try Intset.forEach(blob, baseOffset: at) { v in self.note(.int(v)) }
            summary.elements = UInt64(n)
            if let v {
                header.count = n
                _ = try Intset.forEach(blob, baseOffset: at) { i in
                    try self.begin()
                    try v.setMember(RDBDecoder.format(i, into: self.digits))
                }
            }

        case RDBType.zsetZiplist, RDBType.zsetListpack:
            try readGroups(ziplist: type == RDBType.zsetZiplist, per: 2, what: "sorted set member", kind: .zset)

        case RDBType.hashZiplist, RDBType.hashListpack:
            try readGroups(ziplist: type == RDBType.hashZiplist, per: 2, what: "hash field", kind: .hash)

        case RDBType.listQuicklist, RDBType.listQuicklist2:
            let nodes = try readCount("quicklist node count")
            summary.nodes = nodes
            var total: UInt64 = 0
            for _ in 0 ..< nodes {
                var container: UInt64 = 2
                if type == RDBType.listQuicklist2 {
                    let at = input.offset
                    container = try readLength("quicklist node container")
                    guard container == 1 || container == 2 else {
                        throw formatError(at, "quicklist container 1 (plain) or 2 (packed)", "\(container)")
                    }
                }
                if container == 1 {
                    let nodeAt = input.offset
                    let (s, plain) = try nextElement("quicklist plain node", fingerprint: false)
                    // A plain node holds one element; Redis refuses an empty one.
                    guard plain.length > 0 else { throw formatError(nodeAt, "a non-empty quicklist plain node", "0 bytes") }
                    note(plain)
                    total += 1
                    if let v {
                        try begin()
                        try v.listElement(s)
                    }
                    continue
                }
                let (blob, at) = try readBlob("quicklist node")
                let zl = type == RDBType.listQuicklist
                let n = zl ? try Ziplist.forEach(blob, baseOffset: at) { e in self.note(e) }
                           : try Listpack.forEach(blob, baseOffset: at) { e in self.note(e) }
                if n == 0 { warn(at, "an empty quicklist node (Redis skips it)", key: currentKey) }
                total += UInt64(n)
                if let v, n > 0 {
                    let each: (CompactElement) throws -> Void = { e in
                        try self.begin()
                        try v.listElement(self.bytes(e, slot: 0))
                    }
                    _ = zl ? try Ziplist.forEach(blob, baseOffset: at, each) : try Listpack.forEach(blob, baseOffset: at, each)
                }
            }
            summary.elements = total

        case RDBType.setListpack:
            try readGroups(ziplist: false, per: 1, what: "set member", kind: .set)

        case RDBType.streamListpacks, RDBType.streamListpacks2, RDBType.streamListpacks3:
            try readStream(version: type == RDBType.streamListpacks ? 1 : type == RDBType.streamListpacks2 ? 2 : 3)

        case 22 where dialect.family == .valkey:
            // Valkey HASH_2: per field str field, str value, ms64 expiry (-1 = none).
            let n = try readCount("hash size", minBytes: 10)
            header.count = n
            resetMembers(n)
            for _ in 0 ..< n {
                try hashFieldAndValue(dups: dups, expiresAt: nil)
            }
            if dups { try membersDone("hash field") }
            summary.elements = UInt64(n)

        case RDBType.hashMetadataPreGA, RDBType.hashMetadata:
            let minExpire: Int64 = type == RDBType.hashMetadata ? try input.readLE(Int64.self, "hash minimum expiry") : 0
            let n = try readCount("hash size", minBytes: 3)
            header.count = n
            resetMembers(n)
            for _ in 0 ..< n {
                let at = input.offset
                let ttl = try readLength("field TTL")
                var e: Int64 = 0
                if ttl != 0 {
                    guard let expiry = RDBType.hashFieldExpiry(ttl, minExpire: minExpire, preGA: type == RDBType.hashMetadataPreGA) else {
                        throw formatError(at, "a field expiry below 2^48 ms", "TTL \(ttl) with minimum \(minExpire)")
                    }
                    e = expiry
                    summary.fieldsWithTTL += 1
                }
                try hashFieldAndValue(dups: dups, expiresAt: e)
            }
            if dups { try membersDone("hash field") }
            summary.elements = UInt64(n)

        case RDBType.hashListpackExPreGA, RDBType.hashListpackEx:
            if type == RDBType.hashListpackEx { _ = try input.readLE(Int64.self, "hash minimum expiry") }
            try readGroups(ziplist: false, per: 3, what: "hash field", kind: .hash)

        default:
            throw formatError(input.offset, "an object type known to \(dialect)", "type \(type)")
        }
    }

    /// One field and value of a plain-encoded hash. `expiresAt`: the field's expiry (0 none), or nil to
    /// read Valkey's per-field ms64 after the value (-1 none).
    @inline(__always)
    func hashFieldAndValue(dups: Bool, expiresAt: Int64?) throws {
        let at = input.offset
        let (field, f) = try nextElement("hash field", fingerprint: dups, keep: true)
        note(f)
        if dups { try member(f.fingerprint, at: at, "hash field") }
        let (value, vf) = try nextElement("hash value", fingerprint: false)
        note(vf)
        if let e = expiresAt {
            if let v = visitor {
                try begin()
                try v.hashField(field, value: value, expiresAt: e)
            }
            return
        }
        // Valkey's expiry follows the value, whose bytes the read may move: copied first (a rare format).
        let copy = visitor != nil ? Array(value) : []
        let x = try input.readLE(Int64.self, "field expiry")
        if x >= 0 { summary.fieldsWithTTL += 1 }
        if let v = visitor {
            try begin()
            try copy.withUnsafeBytes { try v.hashField(field, value: $0, expiresAt: x < 0 ? 0 : x) }
        }
    }

    enum HandOut { case set, zset, hash }

    /// A listpack or ziplist of groups of `per` elements (set members; zset member, score; hash field,
    /// value [, TTL]): checked whole and counted (`pairs`), then handed to the visitor (`handOut`).
    func readGroups(ziplist: Bool, per: Int, what: StaticString, kind: HandOut) throws {
        let (blob, at) = try readBlob(ziplist ? "ziplist" : "listpack")
        let n = try pairs(blob, at: at, ziplist: ziplist, per: per, what: what, dups: options.checkDuplicateMembers,
                          scores: kind == .zset)
        summary.elements = UInt64(n / per)
        if visitor != nil {
            header.count = n / per
            try handOut(blob, at: at, ziplist: ziplist, per: per, kind: kind)
        }
    }

    /// Hands a validated listpack or ziplist (set members, zset member/score pairs, hash field/value
    /// pairs or field/value/TTL triplets) to the visitor.
    func handOut(_ blob: UnsafeRawBufferPointer, at: Int, ziplist: Bool, per: Int, kind: HandOut) throws {
        guard let v = visitor else { return }
        var i = 0
        var first = UnsafeRawBufferPointer(start: nil, count: 0)
        var second = UnsafeRawBufferPointer(start: nil, count: 0)
        let each: (CompactElement) throws -> Void = { e in
            defer { i += 1 }
            switch kind {
            case .set:
                try self.begin()
                try v.setMember(self.bytes(e, slot: 0))
            case .zset:
                if i & 1 == 0 { first = self.bytes(e, slot: 0); return }
                let score: Double
                switch e {
                case .int(let x): score = Double(x)
                case .bytes(let b): score = parseDouble(b) ?? 0
                }
                try self.begin()
                try v.sortedSetMember(first, score: score)
            case .hash:
                let role = i % per
                if role == 0 { first = self.bytes(e, slot: 0); return }
                if role == 1 && per == 3 { second = self.bytes(e, slot: 1); return }
                if per == 2 {
                    try self.begin()
                    try v.hashField(first, value: self.bytes(e, slot: 1), expiresAt: 0)
                    return
                }
                let ttl: Int64
                switch e {
                case .int(let x): ttl = x
                case .bytes(let b): ttl = StrictInteger.parse(b) ?? 0
                }
                try self.begin()
                try v.hashField(first, value: second, expiresAt: ttl)
            }
        }
        _ = ziplist ? try Ziplist.forEach(blob, baseOffset: at, each) : try Listpack.forEach(blob, baseOffset: at, each)
    }

    @inline(__always)
    func noteBytes(_ b: UnsafeRawBufferPointer) {
        note(.bytes(b))
    }

    /// Walks a listpack or ziplist of groups of `per` elements (member [, score] or field, value [, ttl]):
    /// the count must be a multiple of `per`, the first of each group unique. Returns the element count.
    func pairs(_ blob: UnsafeRawBufferPointer, at: Int, ziplist: Bool, per: Int, what: StaticString, dups: Bool, scores: Bool) throws -> Int {
        var role = 0
        var repeated = false
        var badScore: String? = nil // the first score that is not a number
        var badTTL = -1            // index of the first TTL that is not a valid one
        var index = 0
        if dups {
            let header = blob.count >= 10 ? Int(UInt16(littleEndian: blob.loadUnaligned(fromByteOffset: ziplist ? 8 : 4, as: UInt16.self))) : 0
            resetMembers(header / per)
        }
        let set = memberSet
        let body: (CompactElement) throws -> Void = { e in
            defer { index += 1; role += 1; if role == per { role = 0 } }
            if role == 0 {
                self.note(e)
                if dups && !repeated, try set.insert(RDBFingerprint.of(e), tag: Int64(index)) != nil { repeated = true }
            } else if scores {
                if badScore == nil, case .bytes(let b) = e, !isPlainNumber(b) {
                    if let d = parseDouble(b), !d.isNaN {} else { badScore = ByteText.quoted(b) }
                }
            } else if per == 3 && role == 2 {
                if badTTL < 0 {
                    let ttl: Int64?
                    switch e {
                    case .int(let v): ttl = v
                    case .bytes(let b): ttl = StrictInteger.parse(b)
                    }
                    if let t = ttl, t >= 0, t < Int64(1) << 48 {
                        if t != 0 { self.summary.fieldsWithTTL += 1 }
                    } else {
                        badTTL = index
                    }
                }
            } else {
                self.note(e)
            }
        }
        let n = ziplist ? try Ziplist.forEach(blob, baseOffset: at, body) : try Listpack.forEach(blob, baseOffset: at, body)
        if dups && !repeated && set.spilled, try set.finish() != nil { repeated = true }
        if repeated { throw formatError(at, "\(what)s that are all different", "a \(what) that repeats in the \(ziplist ? "ziplist" : "listpack")") }
        if badTTL >= 0 { throw formatError(at, "a field TTL in ms", "element \(badTTL)") }
        if n % per != 0 {
            throw formatError(at, per == 2 ? "an even number of elements (\(what) pairs)" : "a multiple of \(per) elements", "\(n) elements")
        }
        if let badScore { throw formatError(at, "a sorted-set score", badScore) }
        return n
    }

    /// The old ASCII score of type 3: u8 length, then text read the way Redis reads it (a number prefix,
    /// like sscanf "%lg"); 253/254/255 are NaN/+inf/-inf.
    func readASCIIScore() throws -> Double {
        let at = input.offset
        let n = try input.readByte("score")
        switch n {
        case 253: return .nan
        case 254: return .infinity
        case 255: return -.infinity
        default:
            let s = try input.span(Int(n), "score")
            guard let d = parseScorePrefix(s) else { throw formatError(at, "a number for a sorted set score", ByteText.quoted(s)) }
            return d
        }
    }

    /// Module opcodes through EOF (FORMATS.md §6.7), skipped.
    func walkModuleOpcodes() throws {
        while true {
            let at = input.offset
            let op = try readLength("module opcode")
            switch op {
            case 0: return
            case 1, 2: _ = try readLength("module integer")
            case 3: _ = try input.span(4, "module float")
            case 4: _ = try input.span(8, "module double")
            case 5: _ = try element("module string", fingerprint: false)
            default: throw formatError(at, "a module opcode 0-5", "\(op)")
            }
        }
    }

    // MARK: - Streams

    func readStream(version: Int) throws {
        let v = visitor
        if v != nil { try begin() }
        let nodeCount = try readCount("stream node count", minBytes: 2)
        summary.nodes = nodeCount
        resetMembers(nodeCount)
        for _ in 0 ..< nodeCount {
            let at = input.offset
            let (nodeKey, _) = try readBlob("stream node key")
            guard nodeKey.count == 16 else { throw formatError(at, "a 16-byte stream node key", "\(nodeKey.count) bytes") }
            try member(RDBFingerprint.of(nodeKey), at: at, "stream node key")
            let id = StreamID(ms: UInt64(bigEndian: nodeKey.loadUnaligned(as: UInt64.self)),
                              seq: UInt64(bigEndian: nodeKey.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            let (lp, lpAt) = try readBlob("stream listpack")
            let facts = try StreamNodeCheck.check(lp, baseOffset: lpAt)
            summary.largestElement = max(summary.largestElement, facts.largestElement)
            summary.dataBytes &+= UInt64(facts.bytes)
            try v?.streamNode(RDBStreamNode(masterID: id, listpack: Array(lp)))
        }
        try membersDone("stream node key")
        let length = try readLength("stream length")
        summary.elements = length
        let lastID = StreamID(ms: try readLength("stream last id"), seq: try readLength("stream last id"))
        var firstID: StreamID? = nil, maxDeleted: StreamID? = nil, added: UInt64? = nil
        if version >= 2 {
            firstID = StreamID(ms: try readLength("stream first id"), seq: try readLength("stream first id"))
            maxDeleted = StreamID(ms: try readLength("stream max deleted id"), seq: try readLength("stream max deleted id"))
            added = try readLength("stream entries added")
        }
        let groupCount = try readCount("stream group count", minBytes: 4)
        summary.streamGroups = groupCount
        var groups: [RDBStreamGroup] = []
        var groupNames = Set<UInt64>()
        for _ in 0 ..< groupCount {
            let nameAt = input.offset
            let (nameBytes, name) = try elementBytes("consumer group name", fingerprint: true)
            guard groupNames.insert(name.fingerprint).inserted else {
                throw formatError(nameAt, "consumer group names that are all different", "a duplicate group name")
            }
            let groupName = v != nil ? Array(nameBytes) : []
            let last = StreamID(ms: try readLength("group last id"), seq: try readLength("group last id"))
            var entriesRead: Int64? = nil
            if version >= 2 { entriesRead = Int64(bitPattern: try readLength("group entries read")) }
            let pelCount = try readCount("group PEL size", minBytes: 25)
            resetMembers(pelCount)
            var pel: [RDBStreamPending] = []
            var pelSum: UInt64 = 0
            for _ in 0 ..< pelCount {
                let at = input.offset
                let idBytes = try input.span(16, "PEL entry id")
                let fp = RDBFingerprint.of(idBytes)
                let id = StreamID(ms: UInt64(bigEndian: idBytes.loadUnaligned(as: UInt64.self)),
                                  seq: UInt64(bigEndian: idBytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
                try member(fp, at: at, "PEL entry")
                pelSum &+= fp
                let t = try input.readLE(Int64.self, "PEL delivery time")
                let c = try readLength("PEL delivery count")
                if v != nil { pel.append(RDBStreamPending(id: id, deliveryTime: t, deliveryCount: c)) }
            }
            try membersDone("PEL entry")
            let consumerCount = try readCount("consumer count", minBytes: 10)
            var consumers: [RDBStreamConsumer] = []
            var consumerNames = Set<UInt64>()
            var owned = 0
            var ownedSum: UInt64 = 0
            for _ in 0 ..< consumerCount {
                let cat = input.offset
                let (cnameBytes, cname) = try elementBytes("consumer name", fingerprint: true)
                guard consumerNames.insert(cname.fingerprint).inserted else {
                    throw formatError(cat, "consumer names that are all different within a group", "a duplicate consumer name")
                }
                let consumerName = v != nil ? Array(cnameBytes) : []
                let seen = try input.readLE(Int64.self, "consumer seen time")
                var active: Int64? = nil
                if version >= 3 { active = try input.readLE(Int64.self, "consumer active time") }
                let n = try readCount("consumer PEL size", minBytes: 16)
                innerSet.reset(expected: n)
                var ids: [StreamID] = []
                for _ in 0 ..< n {
                    let at = input.offset
                    let idBytes = try input.span(16, "consumer PEL id")
                    let fp = RDBFingerprint.of(idBytes)
                    if let first = try innerSet.insert(fp, tag: Int64(at)) {
                        throw formatError(at, "consumer PEL ids that are all different", "a duplicate of the id at offset \(first)")
                    }
                    ownedSum &+= fp
                    if v != nil {
                        ids.append(StreamID(ms: UInt64(bigEndian: idBytes.loadUnaligned(as: UInt64.self)),
                                            seq: UInt64(bigEndian: idBytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))))
                    }
                }
                if innerSet.spilled, let r = try innerSet.finish() {
                    throw formatError(Int(r.secondTag), "consumer PEL ids that are all different", "a duplicate of the id at offset \(r.firstTag)")
                }
                owned += n
                if v != nil { consumers.append(RDBStreamConsumer(name: consumerName, seenTime: seen, activeTime: active, pending: ids)) }
            }
            if owned != pelCount || ownedSum != pelSum {
                throw formatError(input.offset, "the consumers' PELs to hold exactly the group PEL's \(pelCount) ids",
                                  "\(owned) ids" + (owned == pelCount ? ", not the same ones" : ""))
            }
            if v != nil {
                groups.append(RDBStreamGroup(name: groupName, lastDelivered: last, entriesRead: entriesRead, pending: pel, consumers: consumers))
            }
        }
        try v?.streamEnd(RDBStream(nodes: [], length: length, lastID: lastID, firstID: firstID, maxDeletedID: maxDeleted,
                                   entriesAdded: added, groups: groups))
    }
}

extension CompactElement {
    /// Text for messages.
    var materializedText: String { ByteText.quoted(materialized) }
}

extension LZF {
    /// Decompresses `input` into exactly `output.count` bytes of `output` (liblzf), with the checks of
    /// `decompress(_:originalLength:baseOffset:)` and no allocation.
    static func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, baseOffset: Int) throws {
        func failure(_ expected: String, _ found: String) -> FormatError {
            FormatError(offset: baseOffset, context: "LZF", expected: expected, found: found)
        }
        let originalLength = output.count
        guard originalLength <= maxOriginalLength else {
            throw failure("an original length of at most \(maxOriginalLength) bytes", "\(originalLength)")
        }
        guard originalLength <= expansionBound(inputCount: input.count) else {
            throw failure("an original length that \(input.count) compressed bytes can produce", "\(originalLength)")
        }
        guard input.count <= Int(UInt32.max) else { throw failure("at most \(UInt32.max) compressed bytes", "\(input.count)") }
        guard let inBase = input.baseAddress, input.count > 0 else {
            if originalLength == 0 { return }
            throw failure("compressed data for \(originalLength) bytes", "no compressed bytes")
        }
        if originalLength == 0 { throw failure("no compressed bytes for an original length of 0", "\(input.count) bytes") }
        errno = 0
        let produced = Int(lzf_decompress(inBase, UInt32(input.count), output.baseAddress, UInt32(originalLength)))
        if produced == originalLength { return }
        if produced == 0 {
            switch errno {
            case E2BIG: throw failure("\(originalLength) bytes of output", "more output than that")
            case EINVAL: throw failure("a valid LZF stream", "truncated data or a back-reference before the start of the output")
            default: throw failure("\(originalLength) bytes of output", "a liblzf error (errno \(errno))")
            }
        }
        throw failure("\(originalLength) bytes of output", "\(produced) bytes")
    }
}

/// A score as Redis reads type-3 ASCII scores (sscanf "%lg"): leading spaces skipped, then the longest
/// number prefix; nil when there is none.
func parseScorePrefix(_ b: UnsafeRawBufferPointer) -> Double? {
    if b.count == 0 { return nil }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: b.count + 1) { tmp -> Double? in
        for i in 0 ..< b.count { tmp[i] = CChar(bitPattern: b[i]) }
        tmp[b.count] = 0
        var endp: UnsafeMutablePointer<CChar>? = nil
        let d = strtod(tmp.baseAddress!, &endp)
        guard let e = endp, e != tmp.baseAddress! else { return nil }
        return d
    }
}

/// True for `-?digits(.digits)?` — a score text that needs no strtod to be known valid.
@inline(__always)
func isPlainNumber(_ b: UnsafeRawBufferPointer) -> Bool {
    var i = 0
    let n = b.count
    if n == 0 || n > 24 { return false }
    if b[0] == UInt8(ascii: "-") { i = 1 }
    var digits = 0, dot = false
    while i < n {
        let c = b[i]
        if c >= 48 && c <= 57 { digits += 1 } else if c == UInt8(ascii: ".") && !dot { dot = true } else { return false }
        i += 1
    }
    return digits > 0
}
