// AOFManifest: the list of files that make up a multi-part AOF (Redis 7.0+, FORMATS.md §13.1–13.2).
// One record per line, ended by '\n':  file <name> seq <n> type <b|h|i>
// The writer emits exactly that, BASE first, then HISTORY, then INCR. The reader follows Redis 7.0:
// lines are taken in chunks of at most 1024 bytes (a chunk starting with '#' is a comment, any other
// must hold its '\n'), trimmed of " \t\r\n", split with Redis's quoting rules (RESPRequestParser.
// splitArguments); key/value pairs with case-insensitive keys, unknown keys ignored, the last value of
// a repeated key kept; `seq` read as C's atoll does; `type` is the value's first byte.
#if canImport(Glibc)
import Glibc
#endif

/// The kind of a file listed in the manifest.
public enum AOFFileType: Character, Sendable {
    case base = "b"
    case history = "h"
    case incr = "i"
}

/// One `file <name> seq <n> type <c>` record.
public struct AOFManifestEntry: Equatable, Sendable {
    public var name: String
    public var seq: Int64
    public var type: AOFFileType
    public init(name: String, seq: Int64, type: AOFFileType) {
        self.name = name; self.seq = seq; self.type = type
    }
}

/// A manifest Redis 7.0 would refuse to start with. `description` is Redis's message text.
public struct AOFManifestError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Redis's text: "Found an empty AOF manifest", "Invalid AOF manifest file format", ...
    public var description: String
    /// The 1-based line (fgets chunk) the error is on, for errors Redis reports with a line.
    public var lineNumber: Int?
    /// That line as Redis shows it: trimmed of " \t\r\n", cut at a NUL byte.
    public var lineText: [UInt8]?

    public init(_ description: String, lineNumber: Int? = nil, lineText: [UInt8]? = nil) {
        self.description = description; self.lineNumber = lineNumber; self.lineText = lineText
    }

    /// The message alone (same as `description`).
    public var message: String { description }

    /// The lines Redis 7.0 logs after "*** FATAL AOF MANIFEST FILE ERROR ***", one per log line.
    public var logLines: [String] {
        guard let lineNumber, let lineText else { return [description] }
        return ["Reading the manifest file, at line \(lineNumber)",
                ">>> '\(String(decoding: lineText, as: UTF8.self))'",
                description]
    }
}

/// The parsed manifest: at most one BASE, the HISTORY files, and the INCR files in load order.
public struct AOFManifest: Equatable, Sendable {
    public var base: AOFManifestEntry?
    public var history: [AOFManifestEntry]
    /// In load order.
    public var incrs: [AOFManifestEntry]

    /// The highest BASE and INCR seq handed out so far (Redis's curr_base_file_seq and
    /// curr_incr_file_seq). Taken from the BASE and INCR lines when a manifest is read (HISTORY lines
    /// do not count, as in Redis), then raised by `takeNextBaseSeq` / `takeNextIncrSeq`, so a number
    /// is never reused while files move to HISTORY.
    public var baseSeqCounter: Int64
    public var incrSeqCounter: Int64

    public init(base: AOFManifestEntry? = nil, history: [AOFManifestEntry] = [], incrs: [AOFManifestEntry] = []) {
        self.base = base; self.history = history; self.incrs = incrs
        baseSeqCounter = base?.seq ?? 0
        incrSeqCounter = incrs.map(\.seq).max() ?? 0
    }

    /// The files a load reads, in order: the BASE (if any), then every INCR. HISTORY is never loaded.
    public var loadOrder: [AOFManifestEntry] { (base.map { [$0] } ?? []) + incrs }

    // MARK: - Names

    /// `<appendfilename>.manifest`
    public static func manifestName(_ appendFilename: String) -> String { appendFilename + ".manifest" }

    /// `temp-<appendfilename>.manifest`: where an update is written before it is renamed over the manifest.
    public static func tempManifestName(_ appendFilename: String) -> String { "temp-" + manifestName(appendFilename) }

    /// `<appendfilename>.<seq>.base.rdb` (RDB preamble) or `.base.aof` (RESP).
    public static func baseName(_ appendFilename: String, seq: Int64, rdb: Bool) -> String {
        "\(appendFilename).\(seq).base.\(rdb ? "rdb" : "aof")"
    }

    /// `<appendfilename>.<seq>.incr.aof`
    public static func incrName(_ appendFilename: String, seq: Int64) -> String {
        "\(appendFilename).\(seq).incr.aof"
    }

    // MARK: - Sequence numbers

    /// The seq the next BASE gets: one more than the highest handed out (1 when there is none).
    public var nextBaseSeq: Int64 { max(baseSeqCounter, base?.seq ?? 0) + 1 }

    /// The seq the next INCR gets: one more than the highest handed out (1 when there is none).
    public var nextIncrSeq: Int64 { max(incrSeqCounter, incrs.map(\.seq).max() ?? 0) + 1 }

    /// Hands out `nextBaseSeq`.
    public mutating func takeNextBaseSeq() -> Int64 {
        let n = nextBaseSeq
        baseSeqCounter = n
        return n
    }

    /// Hands out `nextIncrSeq`.
    public mutating func takeNextIncrSeq() -> Int64 {
        let n = nextIncrSeq
        incrSeqCounter = n
        return n
    }

    // MARK: - Writing

    /// The manifest text: `file <name> seq <n> type <c>\n` for the BASE, then HISTORY, then INCR.
    /// A name Redis would write quoted (spaces, quotes, backslashes, control or non-ASCII bytes) is
    /// written as Redis writes it: in double quotes with \\ \" \n \r \t \a \b and \xhh escapes. Unlike
    /// Redis 7.0, a name with a single quote or an empty name is quoted too, so it reads back.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        func line(_ e: AOFManifestEntry) {
            out += Array("file ".utf8)
            AOFManifest.appendName(Array(e.name.utf8), to: &out)
            out += Array(" seq \(e.seq) type ".utf8)
            out.append(UInt8(ascii: e.type.rawValue.unicodeScalars.first!))
            out.append(10)
        }
        if let base { line(base) }
        for h in history { line(h) }
        for i in incrs { line(i) }
        return out
    }

    static func appendName(_ name: [UInt8], to out: inout [UInt8]) {
        func needsQuotes(_ c: UInt8) -> Bool {
            // Redis's sdsneedsrepr set (backslash, double quote, \n \r \t \a \b, not printable,
            // white space) plus the single quote its argument splitter would otherwise choke on.
            c == 0x5c || c == 0x22 || c == 0x27 || c < 0x21 || c > 0x7e
        }
        guard name.isEmpty || name.contains(where: needsQuotes) else { out += name; return }
        out.append(0x22)
        for c in name {
            switch c {
            case 0x5c: out += [0x5c, 0x5c]
            case 0x22: out += [0x5c, 0x22]
            case 0x0a: out += [0x5c, UInt8(ascii: "n")]
            case 0x0d: out += [0x5c, UInt8(ascii: "r")]
            case 0x09: out += [0x5c, UInt8(ascii: "t")]
            case 0x07: out += [0x5c, UInt8(ascii: "a")]
            case 0x08: out += [0x5c, UInt8(ascii: "b")]
            case 0x20 ... 0x7e: out.append(c)
            default: out += Array("\\x".utf8) + Array(ByteText.hex2(c).utf8)
            }
        }
        out.append(0x22)
    }

    // MARK: - Reading

    /// Reads and parses the manifest at `path`. Throws IOError if it cannot be read.
    public static func read(path: String) throws -> AOFManifest {
        let src = try FileSource(path: path)
        var all: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try src.read(into: $0) }
            if n == 0 { break }
            all += chunk[0 ..< n]
        }
        return try parse(all)
    }

    /// Redis 7.0's fgets buffer for manifest lines: a line (with its '\n') longer than this is refused.
    static let maxLine = 1024

    /// Parses manifest bytes with Redis 7.0's rules and error texts.
    public static func parse(_ bytes: [UInt8]) throws -> AOFManifest {
        if bytes.isEmpty { throw AOFManifestError("Found an empty AOF manifest") }
        var m = AOFManifest()
        var maxIncrSeq: Int64 = 0
        var pos = 0
        var lineNumber = 0
        while pos < bytes.count {
            // One fgets: up to and including '\n', at most maxLine bytes.
            var end = pos
            let limit = min(bytes.count, pos + maxLine)
            while end < limit {
                end += 1
                if bytes[end - 1] == 10 { break }
            }
            let chunk = bytes[pos ..< end]
            pos = end
            lineNumber += 1
            if chunk.first == UInt8(ascii: "#") { continue }
            // C string semantics: the chunk ends at a NUL.
            let text = chunk.prefix { $0 != 0 }
            guard text.contains(10) else { throw AOFManifestError("The AOF manifest file contains too long line") }
            let line = trim(text)
            func fail(_ msg: String) -> AOFManifestError { AOFManifestError(msg, lineNumber: lineNumber, lineText: Array(line)) }
            if line.isEmpty { throw fail("Invalid AOF manifest file format") }
            guard let args = line.withUnsafeBytes({ RESPRequestParser.splitArguments($0) }),
                  args.count >= 6, args.count % 2 == 0 else { throw fail("Invalid AOF manifest file format") }
            var name: [UInt8]? = nil
            var seq: Int64 = 0
            var type: UInt8 = 0
            for i in stride(from: 0, to: args.count, by: 2) {
                let key = args[i].map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
                let value = args[i + 1]
                if key == Array("file".utf8) {
                    if value.contains(UInt8(ascii: "/")) || value.contains(UInt8(ascii: "\\")) {
                        throw fail("File can't be a path, just a filename")
                    }
                    name = value
                } else if key == Array("seq".utf8) {
                    seq = atoll(value)
                } else if key == Array("type".utf8) {
                    type = value.first ?? 0
                }
                // Other keys: ignored, for forward compatibility.
            }
            guard let name, seq != 0, type != 0 else { throw fail("Invalid AOF manifest file format") }
            let n = String(decoding: name, as: UTF8.self)
            switch type {
            case UInt8(ascii: "b"):
                if m.base != nil { throw fail("Found duplicate base file information") }
                m.base = AOFManifestEntry(name: n, seq: seq, type: .base)
            case UInt8(ascii: "h"):
                m.history.append(AOFManifestEntry(name: n, seq: seq, type: .history))
            case UInt8(ascii: "i"):
                if seq <= maxIncrSeq { throw fail("Found a non-monotonic sequence number") }
                maxIncrSeq = seq
                m.incrs.append(AOFManifestEntry(name: n, seq: seq, type: .incr))
            default:
                throw fail("Unknown AOF file type")
            }
        }
        m.baseSeqCounter = m.base?.seq ?? 0
        m.incrSeqCounter = maxIncrSeq
        return m
    }

    /// sdstrim(" \t\r\n") on both ends.
    static func trim(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        func ws(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }
        var a = s.startIndex, b = s.endIndex
        while a < b && ws(s[a]) { a += 1 }
        while b > a && ws(s[b - 1]) { b -= 1 }
        return s[a ..< b]
    }

    /// C's atoll: leading white space, an optional sign, then digits up to the first non-digit;
    /// 0 when there are none; saturates on overflow (glibc's strtoll).
    static func atoll(_ s: [UInt8]) -> Int64 {
        var i = 0
        while i < s.count && (s[i] == 32 || (s[i] >= 9 && s[i] <= 13)) { i += 1 }
        var negative = false
        if i < s.count && (s[i] == UInt8(ascii: "-") || s[i] == UInt8(ascii: "+")) {
            negative = s[i] == UInt8(ascii: "-"); i += 1
        }
        var v: Int64 = 0
        var overflow = false
        while i < s.count && s[i] >= 48 && s[i] <= 57 {
            let d = Int64(s[i] - 48)
            if !overflow {
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (r, o2) = negative ? m.subtractingReportingOverflow(d) : m.addingReportingOverflow(d)
                if o1 || o2 { overflow = true } else { v = r }
            }
            i += 1
        }
        if overflow { return negative ? Int64.min : Int64.max }
        return v
    }
}
