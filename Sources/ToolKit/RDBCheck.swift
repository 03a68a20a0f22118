// RDBCheck: what cairn-check-rdb and `cairn-rdb stats` do — walk an RDB file with RDBDecoder, print the
// lines redis-check-rdb prints ("[offset N] Checksum OK", "[info] N keys read"…), gather RDBStats, and on
// a problem report the offset, key, type, what was expected and what was found. With `salvage`, reading
// resumes after a corrupt value at the next offset where records parse again (RDBResync), and every
// skipped region is reported.
import StorageFormat
#if canImport(Glibc)
import Glibc
#endif

public enum RDBCheckFormat: String, CaseIterable, Sendable {
    case table, json, csv
}

public struct RDBCheckOptions: Sendable {
    /// Continue past corrupt values where the format allows resynchronising.
    public var salvage = false
    /// Draw a progress bar on a terminal.
    public var progress = true
    public var scanner = RDBDecoder.Options()
    /// Unix ms for "already expired".
    public var now: Int64 = RDBCheck.currentTimeMS()
    /// Databases redis-server has by default; a SELECTDB at or above it is reported as a warning.
    public var databases = 16
    public init() {}
}

/// One problem found, as the checker reports it.
public struct RDBCheckProblem: Sendable {
    public var error: FormatError
    /// redis-check-rdb's "While doing:" word.
    public var phase: String
    public var typeCode: UInt8?
    /// Offset of the record the problem is in.
    public var recordOffset: Int
    /// Salvage: where reading resumed (nil when it stopped there).
    public var resumedAt: Int?
}

/// How the CRC64 trailer turned out.
public enum RDBChecksumState: String, Sendable {
    case verified = "ok"
    case disabled = "disabled"
    case absent = "absent"
    case notChecked = "not-checked"
    case notReached = "not-reached"
}

public final class RDBCheck {
    public let path: String
    public let options: RDBCheckOptions
    public let stats: RDBStats
    public private(set) var problems: [RDBCheckProblem] = []
    public private(set) var warnings: [RDBScanWarning] = []
    /// redis-check-rdb's counters: key names read (the failing one included), keys with an expiry, and
    /// keys whose expiry has passed.
    @exclusivity(unchecked) public private(set) var keysRead = 0
    @exclusivity(unchecked) public private(set) var expires = 0
    @exclusivity(unchecked) public private(set) var alreadyExpired = 0
    public private(set) var checksum = RDBChecksumState.notReached
    public private(set) var dialect: RDBDialect?
    /// Offset after the last byte read (after the trailer when the file was read to its end).
    public private(set) var endOffset = 0
    /// Called with each redis-check-rdb style line.
    public var emit: (String) -> Void = { _ in }

    public var ok: Bool { problems.isEmpty }

    public init(path: String, options: RDBCheckOptions = RDBCheckOptions()) {
        self.path = path
        self.options = options
        stats = RDBStats(now: options.now)
        stats.file = path
    }

    /// The size of a file on disk, when it is one.
    static func fileSize(_ path: String) -> Int? {
        var st = stat()
        guard path != "-", stat(path, &st) == 0 else { return nil }
        return Int(st.st_size)
    }

    public static func currentTimeMS() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    func line(_ offset: Int, _ text: String) {
        // redis-check-rdb formats its messages into a 1024-byte buffer.
        var t = text
        if t.utf8.count > 1023 { t = String(decoding: Array(t.utf8.prefix(1023)), as: UTF8.self) }
        emit("[offset \(offset)] \(t)")
    }

    /// Text of stored bytes as redis-check-rdb prints them (%s: up to the first NUL byte).
    static func cText(_ b: [UInt8]) -> String {
        String(decoding: b.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// Runs the check. Throws only I/O errors (and FormatErrors from the gzip layer); format problems
    /// are collected in `problems`.
    public func run() throws {
        line(0, "Checking RDB file \(path)")
        let source = try openByteSource(path: path)
        let isPlainFile = source is FileSource && path != "-" && source.knownSize != nil
        stats.fileSize = RDBCheck.fileSize(path)
        if options.salvage && !isPlainFile {
            throw IOError(path: path, reason: "--salvage needs an uncompressed regular file (decompress it first)")
        }
        let progress = Progress(label: "checking", total: isPlainFile ? source.knownSize : nil, enabled: options.progress)
        defer { progress.finish() }
        var scanner: RDBDecoder
        do {
            scanner = isPlainFile ? try RDBDecoder(path: path, options: options.scanner) : try RDBDecoder(source: source, options: options.scanner)
        } catch let e as FormatError {
            report(e, phase: "start", type: nil, record: e.offset, resumedAt: nil)
            finishLines(offset: e.offset)
            return
        }
        dialect = scanner.dialect
        stats.dialect = scanner.dialect
        scanner.onWarning = { [unowned self] w in self.warn(w) }
        var keysBefore = 0
        var sinceProgress = 0
        var resumed = false
        while true {
            let rec: RDBScanRecord?
            do {
                rec = try scanner.next()
            } catch let e as FormatError {
                let record = scanner.recordOffset
                var problem = RDBCheckProblem(error: e, phase: scanner.phase.rawValue, typeCode: scanner.currentType,
                                              recordOffset: record, resumedAt: nil)
                if problem.error.key == nil { problem.error.key = scanner.currentKey }
                if scanner.phase == .readValue, let code = scanner.currentType {
                    // Name the value being read: "type 16 (hash-listpack) value: listpack".
                    let c = problem.error.context
                    problem.error.context = "type \(code) (\(RDBType.checkerName(code))) value" + (c == "RDB" ? "" : ": " + c)
                }
                guard options.salvage, let dialect,
                      let (at, db) = try resync(from: max(record, 0) + 1, dialect: dialect, db: scanner.db) else {
                    endOffset = scanner.offset
                    report(problem)
                    break
                }
                problem.resumedAt = at
                report(problem)
                line(at, "salvage: skipped \(at - record) bytes from offset \(record)" + (problem.error.key.map { ", key '\(RDBCheck.cText($0))'" } ?? "") + "; reading resumes here")
                keysBefore += scanner.keysRead
                let range = try FileRangeSource(path: path, offset: at)
                scanner = try RDBDecoder(source: range, startingAt: at, dialect: dialect, db: db, options: options.scanner)
                scanner.onWarning = { [unowned self] w in self.warn(w) }
                resumed = true
                continue
            }
            guard let rec else { break }
            keysRead = keysBefore + scanner.keysRead
            switch rec {
            case .aux(let k, let v):
                line(scanner.offset, "AUX FIELD \(RDBCheck.cText(k)) = '\(RDBCheck.cText(v))'")
                stats.aux.append((k, v))
            case .selectDB(let n):
                line(scanner.offset, "Selecting DB ID \(n)")
                if n >= options.databases {
                    warn(RDBScanWarning(offset: scanner.offset, key: nil,
                                        message: "database \(n) needs a server with more than \(options.databases) databases (redis-server refuses the file with its default config)"))
                }
            case .resizeDB, .slotInfo:
                break
            case .moduleAux(let id, _, _):
                let name = RDBModuleValue(moduleID: id, raw: []).name
                line(scanner.offset, "MODULE AUX for: \(name)")
                stats.moduleAux[name, default: 0] += 1
            case .function(let code):
                stats.addFunction(code)
            case .key(let s):
                stats.add(s)
                if s.expiresAt != nil { expires += 1 }
                if let t = s.expiresAt, t < options.now { alreadyExpired += 1 }
                sinceProgress += 1
                if sinceProgress >= 4096 {
                    sinceProgress = 0
                    progress.update(scanner.offset)
                }
            case .emptyKey(let s):
                stats.emptyKeys += 1
                warn(RDBScanWarning(offset: s.offset, key: s.keyBytes,
                                    message: "an empty \(RDBType.typeName(s.typeCode)) (type \(s.typeCode)); Redis skips such keys when loading"))
            case .end(let stored, let verified):
                endOffset = scanner.offset
                if scanner.dialect.version < 5 {
                    checksum = .absent
                } else if resumed || !options.scanner.verifyChecksum {
                    checksum = .notChecked
                } else if stored == 0 {
                    checksum = .disabled
                    line(scanner.offset, "RDB file was saved with checksum disabled: no check performed.")
                } else if verified {
                    checksum = .verified
                    line(scanner.offset, "Checksum OK")
                }
                if let fp = try scanner.duplicateKeyAfterEnd() {
                    // A second look names the key and both places (not possible for piped input).
                    let found = (try? RDBDecoder.findKeys(withFingerprint: fp, source: openByteSource(path: path))) ?? []
                    let second = found.count >= 2 ? found[1].offset : endOffset
                    let e = FormatError(offset: second, key: found.first?.key, context: "RDB",
                                        expected: "each key once per database",
                                        found: found.count >= 2 ? "the key of db \(found[0].db) at offset \(found[0].offset) again" : "a key twice (by fingerprint)")
                    report(RDBCheckProblem(error: e, phase: "read-key", typeCode: nil, recordOffset: second, resumedAt: nil))
                }
            }
        }
        keysRead = keysBefore + scanner.keysRead
        finishLines(offset: endOffset)
    }

    func warn(_ w: RDBScanWarning) {
        warnings.append(w)
        line(w.offset, "WARNING: " + (w.key.map { "key '\(RDBCheck.cText($0))': " } ?? "") + w.message)
    }

    func report(_ e: FormatError, phase: String, type: UInt8?, record: Int, resumedAt: Int?) {
        report(RDBCheckProblem(error: e, phase: phase, typeCode: type, recordOffset: record, resumedAt: resumedAt))
    }

    func report(_ p: RDBCheckProblem) {
        problems.append(p)
        emit("--- RDB ERROR DETECTED ---")
        // Redis's own words for it where it has some ("Hash ziplist integrity check failed.", "RDB CRC error").
        let reason = RDBCorruption.reason(p.error, typeCode: p.typeCode ?? p.error.typeCode).map { " (\($0))" } ?? ""
        line(p.error.offset, "\(p.error.context): expected \(p.error.expected), found \(p.error.found)\(reason)")
        emit("[additional info] While doing: \(p.phase)")
        if let k = p.error.key { emit("[additional info] Reading key '\(RDBCheck.cText(k))'") }
        if let t = p.typeCode { emit("[additional info] Reading type \(t) (\(RDBType.checkerName(t)))") }
    }

    func finishLines(offset: Int) {
        if problems.isEmpty {
            line(offset, "\\o/ RDB looks OK! \\o/")
        } else if options.salvage {
            line(offset, "salvage: \(problems.count) problem(s); \(problems.filter { $0.error.key != nil }.count) key(s) skipped")
        }
        emit("[info] \(keysRead) keys read")
        emit("[info] \(expires) expires")
        emit("[info] \(alreadyExpired) already expired")
        if !stats.functionLibraries.isEmpty {
            emit("[info] \(stats.functionLibraries.count) function librar\(stats.functionLibraries.count == 1 ? "y" : "ies") read (\(stats.functionLibraries.joined(separator: ", ")))")
        }
        stats.expires = expires
        stats.alreadyExpired = alreadyExpired
    }

    // MARK: - Salvage

    /// The first offset at or after `from` where records parse again, and the database in effect there.
    func resync(from: Int, dialect: RDBDialect, db: Int) throws -> (Int, Int)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw IOError(path: path, errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw IOError(path: path, errno: errno) }
        let size = Int(st.st_size)
        let windowSize = 8 << 20
        let window = UnsafeMutableRawBufferPointer.allocate(byteCount: windowSize, alignment: 16)
        defer { window.deallocate() }
        var p = from
        while p < size {
            let loaded = try preadFully(fd, window, count: min(windowSize, size - p), at: p)
            let view = UnsafeMutableRawBufferPointer(rebasing: window[0 ..< loaded])
            var q = p
            var reload = false
            while q < p + loaded {
                switch RDBResync.trial(window: view, windowOffset: p, at: q, fileSize: size, dialect: dialect, db: db) {
                case .plausible(_, let start):
                    return (start, db)
                case .rejected:
                    q += 1
                case .needsMoreData:
                    if q == p || p + loaded == size {
                        q += 1      // a record larger than the window (or cut by the file's end): not provable
                    } else {
                        reload = true
                    }
                }
                if reload { break }
            }
            p = q
        }
        return nil
    }

    func preadFully(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, count: Int, at offset: Int) throws -> Int {
        var done = 0
        while done < count {
            let n = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw IOError(path: path, errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    // MARK: - JSON

    /// The whole result as one JSON object.
    public func writeJSON(to out: FileOutput) throws {
        out.writeASCII("{\"file\":")
        out.writeJSONString(Array(path.utf8))
        if let d = dialect {
            out.writeASCII(",\"magic\":")
            out.writeJSONString(d.magic)
            try out.write(",\"family\":\"\(d.family == .valkey ? "valkey" : "redis")\",\"version\":\(d.version)")
        }
        if let size = stats.fileSize { try out.write(",\"size\":\(size)") }
        try out.write(",\"ok\":\(ok),\"checksum\":\"\(checksum.rawValue)\",\"end_offset\":\(endOffset),\"keys_read\":\(keysRead),\"expires\":\(expires),\"already_expired\":\(alreadyExpired),\"problems\":[")
        for (i, p) in problems.enumerated() {
            if i > 0 { out.writeASCII(",") }
            try out.write("{\"offset\":\(p.error.offset),\"record_offset\":\(p.recordOffset),\"key\":")
            if let k = p.error.key { out.writeJSONString(k) } else { out.writeASCII("null") }
            out.writeASCII(",\"type\":")
            if let t = p.typeCode {
                try out.write("\(t),\"type_name\":\"\(RDBType.checkerName(t))\"")
            } else {
                out.writeASCII("null,\"type_name\":null")
            }
            try out.write(",\"doing\":\"\(p.phase)\",\"context\":")
            out.writeJSONString(Array(p.error.context.utf8))
            out.writeASCII(",\"expected\":")
            out.writeJSONString(Array(p.error.expected.utf8))
            out.writeASCII(",\"found\":")
            out.writeJSONString(Array(p.error.found.utf8))
            out.writeASCII(",\"resumed_at\":")
            try out.write(p.resumedAt.map { String($0) } ?? "null")
            out.writeASCII("}")
        }
        out.writeASCII("],\"warnings\":[")
        for (i, w) in warnings.enumerated() {
            if i > 0 { out.writeASCII(",") }
            try out.write("{\"offset\":\(w.offset),\"key\":")
            if let k = w.key { out.writeJSONString(k) } else { out.writeASCII("null") }
            out.writeASCII(",\"message\":")
            out.writeJSONString(Array(w.message.utf8))
            out.writeASCII("}")
        }
        out.writeASCII("],\"stats\":")
        try stats.writeJSON(to: out)
        out.writeASCII("}\n")
    }
}

/// Reads a regular file from an offset on (for resuming after a skipped region).
public final class FileRangeSource: ByteSource {
    let fd: Int32
    let path: String
    var position: Int
    let size: Int
    public var knownSize: Int? { size - start }
    let start: Int

    public init(path: String, offset: Int) throws {
        let d = open(path, O_RDONLY | O_CLOEXEC)
        if d < 0 { throw IOError(path: path, errno: errno) }
        var st = stat()
        guard fstat(d, &st) == 0 else { close(d); throw IOError(path: path, errno: errno) }
        fd = d
        self.path = path
        size = Int(st.st_size)
        position = offset
        start = offset
    }

    deinit { close(fd) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = pread(fd, buffer.baseAddress, buffer.count, off_t(position))
            if n >= 0 { position += n; return n }
            if errno == EINTR { continue }
            throw IOError(path: path, errno: errno)
        }
    }
}
