// RDBReader: an RDB file as records with materialised values (FORMATS.md §2–§8), for the tools, DUMP
// payloads and tests: RDBDecoder with an RDBValueBuilder as the visitor. `nextWalking` hands a value to
// a visitor of the caller's choice instead, element by element.
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

        /// The decoder's options: Redis's loading checks (duplicate members refused; duplicate keys and
        /// type codes newer than the file's version left to the caller, as Redis's loader leaves them).
        var decoder: RDBDecoder.Options {
            var o = RDBDecoder.Options()
            o.verifyChecksum = verifyChecksum
            o.checkDuplicateKeys = false
            o.strictTypeVersions = false
            o.keepModuleData = true
            o.fingerprintBudget = 4 << 20
            return o
        }
    }

    public let options: Options
    public let decoder: RDBDecoder
    public var dialect: RDBDialect { decoder.dialect }
    var input: RDBInput { decoder.input }
    let builder = RDBValueBuilder()
    /// Keys skipped because their aggregate was empty, with their offsets.
    public internal(set) var skippedEmptyKeys: [(key: [UInt8], offset: Int)] = []

    /// Absolute offset of the next unread byte.
    public var offset: Int { decoder.offset }

    /// Opens `path` (gzip-compressed files are decompressed transparently).
    public init(path: String, options: Options = Options()) throws {
        self.options = options
        decoder = try RDBDecoder(path: path, options: options.decoder)
    }

    /// Reads from bytes in memory.
    public convenience init(bytes: [UInt8], options: Options = Options()) throws {
        try self.init(source: MemorySource(bytes), options: options)
    }

    public init(source: ByteSource, options: Options = Options()) throws {
        self.options = options
        decoder = try RDBDecoder(source: source, options: options.decoder)
    }

    init(decoder: RDBDecoder, options: Options) {
        self.options = options
        self.decoder = decoder
    }

    // MARK: - Records

    /// The next record, or nil after `.end` has been returned.
    public func next() throws -> RDBRecord? {
        let b = builder
        while let r = try decoder.next(choosing: { _ in b }) {
            switch r {
            case .key:
                return .entry(b.entry!)
            case .emptyKey(let s):
                if options.skipEmptyAggregates {
                    skippedEmptyKeys.append((s.keyBytes, s.offset))
                    continue
                }
                return .entry(RDBEntry(db: s.db, key: s.keyBytes, value: RDBValue.empty(typeCode: s.typeCode), typeCode: s.typeCode,
                                       expiresAt: s.expiresAt, idle: s.idle, freq: s.freq, offset: s.offset))
            default:
                return record(r)
            }
        }
        return nil
    }

    /// The next record, a key's value walked element by element: `choose(header)` names the visitor
    /// that gets the value's elements, or nil to walk (and check) it without handing anything out.
    /// Returns `.key(header)` after the value; nil after `.end` has been returned.
    public func nextWalking(_ choose: (RDBKeyHeader) throws -> RDBElementVisitor?) throws -> RDBWalkRecord? {
        var chosen: RDBElementVisitor? = nil
        while let r = try decoder.next(choosing: { h in chosen = try choose(h); return chosen }) {
            switch r {
            case .key:
                return .key(decoder.header)
            case .emptyKey(let s):
                if options.skipEmptyAggregates {
                    skippedEmptyKeys.append((s.keyBytes, s.offset))
                    continue
                }
                var h = decoder.header
                h.count = 0
                try chosen?.beginValue(h)
                try chosen?.endValue()
                return .key(h)
            default:
                return .record(record(r))
            }
        }
        return nil
    }

    /// A record that is not a key, in the reader's terms.
    func record(_ r: RDBScanRecord) -> RDBRecord {
        switch r {
        case .aux(let k, let v): return .aux(key: k, value: v)
        case .selectDB(let n): return .selectDB(n)
        case .resizeDB(let a, let b): return .resizeDB(dbSize: a, expiresSize: b)
        case .slotInfo(let slot, let size, let e): return .slotInfo(slot: slot, size: size, expiresSize: e)
        case .moduleAux(let id, let when, _): return .moduleAux(RDBModuleValue(moduleID: id, raw: decoder.lastModuleAuxData), when: when)
        case .function(let code): return .function(code: code)
        case .end(let c, let v): return .end(checksum: c, verified: v)
        case .key, .emptyKey: fatalError("keys are handled by the caller")
        }
    }
}

extension RDBValue {
    /// The empty aggregate of a type code's type.
    static func empty(typeCode: UInt8) -> RDBValue {
        switch RDBType.typeName(typeCode) {
        case "list": return .list([])
        case "set": return .set([])
        case "zset": return .sortedSet([])
        default: return .hash([])
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

