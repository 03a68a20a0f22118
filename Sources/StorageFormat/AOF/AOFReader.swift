// AOFReader: streams one AOF file (a BASE or an INCR, or a pre-7.0 single file) record by record.
// Layout (FORMATS.md §13.3–13.4): an optional RDB preamble (the file starts with "REDIS"; read it with
// RDBReader, then `seek(to:)` its end), then commands as RESP arrays of bulk strings,
//   *<argc>\r\n  then per argument  $<len>\r\n<len bytes>\r\n
// and annotation lines starting with '#' (`#TS:<unix seconds>\r\n`), which loaders skip.
// Memory: one ~1 MiB read buffer plus the command being read. A bulk's buffer only grows as its
// bytes arrive, so a lying length cannot make the reader allocate what is not in the file.
// MULTI/EXEC are tracked so that a file ending inside a transaction reports the offset before the
// MULTI, the point to truncate to.
#if canImport(Glibc)
import Glibc
#endif

/// One record of an AOF file.
public enum AOFRecord: Sendable, Equatable {
    /// A command: its arguments, the offset of its '*' and the offset just past its last "\r\n".
    case command(args: [[UInt8]], start: Int, end: Int)
    /// A line starting with '#' (without its "\r\n"), and its offset.
    case annotation(line: [UInt8], start: Int)
}

/// Why an AOF file could not be read to its end.
public enum AOFReadError: Error, CustomStringConvertible {
    /// The file ends in the middle of a command, or with a MULTI not closed by EXEC. `validUpTo` is
    /// the end of the last complete command outside the open MULTI (where the file may be truncated
    /// to); `offset` is where the reader was when the input ran out. This is the point Redis 7.0's
    /// loader truncates to, except where that loader is wrong: a short command inside an open MULTI
    /// (Redis keeps the MULTI and the commands after it) and a short first command after an RDB
    /// preamble (Redis truncates to 0, losing the preamble); here both stop at the last safe command,
    /// as redis-check-aof does.
    case truncated(validUpTo: Int, offset: Int, reason: String)
    /// Bytes that are there but wrong. The error's offset follows redis-check-aof: the start of the
    /// line or of the bulk data being read.
    case corrupt(FormatError)

    public var description: String {
        switch self {
        case .truncated(let valid, let offset, let reason):
            return "AOF truncated at offset \(offset): \(reason) (valid up to offset \(valid))"
        case .corrupt(let e):
            return "Bad AOF format at offset \(e.offset): \(AOFReadError.checkAOFText(e))"
        }
    }

    /// redis-check-aof's wording for a format problem: "Expected <what>, got: <found>".
    public static func checkAOFText(_ e: FormatError) -> String {
        "Expected \(e.expected), got: \(e.found)"
    }
}

/// Reads one AOF file.
public final class AOFReader {
    /// Read size for files.
    static let chunkSize = 1 << 20
    /// Redis 7.0 reads lines with a 1024-byte fgets buffer: an annotation line longer than 1023 bytes
    /// (with its "\r\n") splits and the remainder is not a valid line.
    static let maxAnnotationLine = 1023
    /// Digits allowed in a '*' or '$' number (more would not fit the reader's Int arithmetic safely).
    static let maxDigits = 18

    let file: FileSource?
    let path: String
    var buf: [UInt8]
    /// Absolute offset of buf[0].
    var bufStart = 0
    /// Index in buf of the next unread byte.
    var pos = 0
    /// Valid bytes in buf.
    var bufEnd = 0
    var sourceDone = false

    /// End of the last complete command (or the seek offset).
    var lastCommandEnd = 0
    /// True between a MULTI and the EXEC/DISCARD that closes it.
    public private(set) var inMulti = false
    var beforeMulti = 0
    var failure: AOFReadError?
    var finished = false

    /// True when the file starts with "REDIS": an RDB preamble comes first.
    public let hasRDBPreamble: Bool

    /// Absolute offset of the next unread byte.
    public var offset: Int { bufStart + pos }

    /// The offset a truncation would keep: the end of the last complete command outside an open MULTI.
    public var validUpTo: Int { inMulti ? beforeMulti : lastCommandEnd }

    /// Opens `path`; throws IOError when it cannot be opened.
    public init(path: String) throws {
        let f = try FileSource(path: path)
        file = f
        self.path = path
        buf = [UInt8](repeating: 0, count: AOFReader.chunkSize)
        var magic = [UInt8](repeating: 0, count: 5)
        let n = magic.withUnsafeMutableBytes { pread(f.fd, $0.baseAddress, 5, 0) }
        hasRDBPreamble = n == 5 && magic == Array("REDIS".utf8)
    }

    /// Reads from bytes in memory.
    public init(bytes: [UInt8]) {
        file = nil
        path = "<memory>"
        buf = bytes
        bufEnd = bytes.count
        sourceDone = true
        hasRDBPreamble = bytes.count >= 5 && bytes[0 ..< 5].elementsEqual("REDIS".utf8)
    }

    /// Starts reading commands at absolute `offset` (after an RDB preamble, at RDBReader's `.offset`).
    /// Resets the MULTI state and the valid-up-to point to `offset`.
    public func seek(to offset: Int) throws {
        guard offset >= 0 else { throw IOError(path: path, reason: "cannot seek to negative offset \(offset)") }
        if let file {
            if lseek(file.fd, off_t(offset), SEEK_SET) < 0 { throw IOError(path: path, errno: errno) }
            bufStart = offset
            pos = 0
            bufEnd = 0
            sourceDone = false
        } else {
            guard offset <= buf.count else {
                throw IOError(path: path, reason: "cannot seek to offset \(offset) beyond the end (\(buf.count) bytes)")
            }
            pos = offset
        }
        lastCommandEnd = offset
        inMulti = false
        beforeMulti = offset
        failure = nil
        finished = false
    }

    // MARK: - Input

    /// Makes at least one unread byte available; false at the end of the input.
    @inline(__always)
    func fill() throws -> Bool {
        if pos < bufEnd { return true }
        return try refill()
    }

    func refill() throws -> Bool {
        guard let file, !sourceDone else { return false }
        bufStart += bufEnd
        pos = 0
        bufEnd = 0
        let n = try buf.withUnsafeMutableBytes { try file.read(into: $0) }
        if n == 0 { sourceDone = true; return false }
        bufEnd = n
        return true
    }

    /// Bytes the input still holds after the current position, when known.
    var knownRemaining: Int? {
        if file == nil { return bufEnd - pos }
        guard let size = file?.knownSize else { return nil }
        return max(0, size - offset)
    }

    // MARK: - Records

    /// The next record; nil at a clean end of file. Throws AOFReadError (and IOError on read failure).
    /// After an AOFReadError the same error is thrown again.
    public func next() throws -> AOFRecord? {
        if let failure { throw failure }
        if finished { return nil }
        do {
            return try readRecord()
        } catch let e as AOFReadError {
            failure = e
            throw e
        }
    }

    func truncated(_ reason: String) -> AOFReadError {
        .truncated(validUpTo: validUpTo, offset: offset, reason: reason)
    }

    func corrupt(_ at: Int, _ expected: String, _ found: String) -> AOFReadError {
        .corrupt(FormatError(offset: at, context: "AOF", expected: expected, found: found))
    }

    static func shown(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7f ? "'\(Character(Unicode.Scalar(c)))'" : "'\\x\(ByteText.hex2(c))'"
    }

    func readRecord() throws -> AOFRecord? {
        guard try fill() else {
            if inMulti { throw truncated("Reached EOF before reading EXEC for MULTI") }
            finished = true
            return nil
        }
        let start = offset
        let first = buf[pos]
        if first == UInt8(ascii: "#") { return try readAnnotation(start) }
        guard first == UInt8(ascii: "*") else { throw corrupt(start, "prefix '*'", AOFReader.shown(first)) }
        pos += 1
        let argc = try readNumber(lineStart: start, what: "an argument count")
        guard argc >= 1 else { throw corrupt(start, "an argument count of at least 1", String(argc)) }
        var args: [[UInt8]] = []
        args.reserveCapacity(min(argc, 64))
        for _ in 0 ..< argc {
            let lineStart = offset
            guard try fill() else { throw truncated("Expected prefix '$', got: end of file") }
            let c = buf[pos]
            guard c == UInt8(ascii: "$") else { throw corrupt(lineStart, "prefix '$'", AOFReader.shown(c)) }
            pos += 1
            let len = try readNumber(lineStart: lineStart, what: "a bulk length")
            guard len >= 0 else {
                throw corrupt(lineStart, "a bulk length of 0 or more", String(len))
            }
            args.append(try readBulk(len))
        }
        let end = offset
        let name = args[0]
        if equalsIgnoringCase(name, "multi") {
            if !inMulti { inMulti = true; beforeMulti = lastCommandEnd }
        } else if equalsIgnoringCase(name, "exec") || equalsIgnoringCase(name, "discard") {
            inMulti = false
        }
        lastCommandEnd = end
        return .command(args: args, start: start, end: end)
    }

    func equalsIgnoringCase(_ a: [UInt8], _ lower: StaticString) -> Bool {
        guard a.count == lower.utf8CodeUnitCount else { return false }
        return lower.withUTF8Buffer { l in
            for i in 0 ..< a.count {
                let c = a[i] >= 65 && a[i] <= 90 ? a[i] + 32 : a[i]
                if c != l[i] { return false }
            }
            return true
        }
    }

    /// An annotation line: through '\n' (or the end of the file, as Redis's fgets reads it).
    func readAnnotation(_ start: Int) throws -> AOFRecord {
        var line: [UInt8] = []
        while true {
            guard try fill() else { break }
            let c = buf[pos]
            pos += 1
            if c == 10 {
                if line.last == 13 { line.removeLast() }
                return .annotation(line: line, start: start)
            }
            line.append(c)
            if line.count >= AOFReader.maxAnnotationLine {
                throw corrupt(start, "an annotation line of at most \(AOFReader.maxAnnotationLine) bytes with its \\r\\n",
                              "a longer line")
            }
        }
        if line.last == 13 { line.removeLast() }
        return .annotation(line: line, start: start)
    }

    /// The rest of a '*' or '$' line after its prefix: an optional '-', digits, "\r\n".
    func readNumber(lineStart: Int, what: String) throws -> Int {
        var negative = false
        var digits = 0
        var v = 0
        let eof = "Unexpected end of file in \(what) line"
        guard try fill() else { throw truncated(eof) }
        if buf[pos] == UInt8(ascii: "-") { negative = true; pos += 1 }
        while true {
            guard try fill() else { throw truncated(eof) }
            let c = buf[pos]
            guard c >= 48 && c <= 57 else { break }
            digits += 1
            guard digits <= AOFReader.maxDigits else {
                throw corrupt(lineStart, "\(what) of at most \(AOFReader.maxDigits) digits", "more digits")
            }
            v = v * 10 + Int(c - 48)
            pos += 1
        }
        guard digits > 0 else {
            throw corrupt(lineStart, "digits in \(what)", AOFReader.shown(buf[pos]))
        }
        // Now "\r\n", as redis-check-aof checks after strtol.
        let c1 = buf[pos]
        pos += 1
        guard try fill() else {
            if c1 == 13 { throw truncated(eof) }
            throw corrupt(lineStart, "\\r\\n", ByteText.hex2(c1) + "00")
        }
        let c2 = buf[pos]
        guard c1 == 13 && c2 == 10 else { throw corrupt(lineStart, "\\r\\n", ByteText.hex2(c1) + ByteText.hex2(c2)) }
        pos += 1
        return negative ? -v : v
    }

    /// `len` bytes of bulk data and the "\r\n" after them.
    func readBulk(_ len: Int) throws -> [UInt8] {
        let dataStart = offset
        var out: [UInt8] = []
        // Reserve only what the file can hold; a lying length fails at the end of the input.
        out.reserveCapacity(min(len, knownRemaining ?? 0))
        var need = len
        while need > 0 {
            guard try fill() else {
                throw truncated("Expected to read \(len + 2) bytes, got \(len - need) bytes")
            }
            let n = min(need, bufEnd - pos)
            let from = pos
            buf.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[from ..< from + n])) }
            pos += n
            need -= n
        }
        guard try fill() else { throw truncated("Expected to read \(len + 2) bytes, got \(len) bytes") }
        let c1 = buf[pos]
        pos += 1
        guard try fill() else {
            if c1 == 13 { throw truncated("Expected to read \(len + 2) bytes, got \(len + 1) bytes") }
            throw corrupt(dataStart, "\\r\\n", ByteText.hex2(c1) + "00")
        }
        let c2 = buf[pos]
        guard c1 == 13 && c2 == 10 else { throw corrupt(dataStart, "\\r\\n", ByteText.hex2(c1) + ByteText.hex2(c2)) }
        pos += 1
        return out
    }

    // MARK: - Annotations

    /// The time of a `#TS:<unix seconds>` annotation (digits only, fitting Int64; a trailing "\r\n"
    /// is allowed); nil for any other line.
    public static func timestamp(_ annotation: [UInt8]) -> Int64? {
        var s = annotation[...]
        if s.last == 10 { s = s.dropLast() }
        if s.last == 13 { s = s.dropLast() }
        guard s.starts(with: "#TS:".utf8) else { return nil }
        let digits = s.dropFirst(4)
        guard !digits.isEmpty else { return nil }
        var v: Int64 = 0
        for c in digits {
            guard c >= 48 && c <= 57 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (r, o2) = m.addingReportingOverflow(Int64(c - 48))
            if o1 || o2 { return nil }
            v = r
        }
        return v
    }
}
