// Options every subcommand shares: the key filters, the server to talk to, and opening an RDB input
// with a progress bar.
import ArgumentParser
import StorageFormat
import ToolKit

struct FilterOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: ArgumentHelp("Only database N (repeatable).", valueName: "N"))
    var databases: [Int] = []

    @Option(name: .customLong("key"), help: ArgumentHelp(
        "Only keys in which REGEX finds a match (Swift Regex syntax; anchor with ^…$). Key bytes are matched one character per byte (Latin-1), so \\xFF matches the byte 0xFF.",
        valueName: "REGEX"))
    var key: String?

    @Option(name: .customLong("not-key"), help: ArgumentHelp("Skip keys in which REGEX finds a match.", valueName: "REGEX"))
    var notKey: String?

    @Option(name: .customLong("type"), help: ArgumentHelp("Only keys of this type (repeatable): string, list, set, zset, hash, stream, module.", valueName: "TYPE"))
    var types: [String] = []

    @Flag(help: "Only keys with a TTL.")
    var expiring = false

    @Flag(help: "Only keys without a TTL.")
    var persistent = false

    func validate() throws {
        for d in databases where d < 0 { throw ValidationError("--db must not be negative") }
        do { _ = try makeFilter() } catch let e as FilterError { throw ValidationError(e.message) }
    }

    func makeFilter() throws -> KeyFilter {
        try KeyFilter(databases: databases, types: types, expiring: expiring, persistent: persistent, key: key, notKey: notKey)
    }
}

struct ServerOptions: ParsableArguments {
    @Option(name: .customLong("password"), help: "AUTH password (default: $REDISCLI_AUTH).")
    var password: String?

    @Option(name: .customLong("user"), help: "ACL user for AUTH.")
    var user: String?

    func connect(_ address: String) throws -> RESPClient {
        let client = try RESPClient(try ServerAddress(parsing: address))
        let pw = password ?? ProcessEnvironment.get("REDISCLI_AUTH")
        try client.authenticate(user: user, password: pw)
        return client
    }
}

enum ProcessEnvironment {
    static func get(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }
}

/// An RDB input and the progress bar that follows it.
struct RDBInputFile {
    let reader: RDBReader
    let progress: Progress

    init(path: String, label: String, progress enabled: Bool = true) throws {
        let source = try openByteSource(path: path)
        reader = try RDBReader(source: source)
        progress = Progress(label: label, total: source.knownSize, enabled: enabled)
    }

    /// Walks the file element by element (RDBReader.nextWalking), updating the progress bar: the value
    /// of every key the filter selects goes to `visitor`, then `done(header)` is called; the other keys
    /// are walked (and checked) without handing anything out; other records go to `onRecord`. Memory is
    /// the visitor's, whatever the size of a value.
    func forEachKey(_ filter: KeyFilter, onRecord: (RDBRecord) throws -> Void = { _ in }, visitor: RDBElementVisitor,
                    _ done: (RDBKeyHeader) throws -> Void = { _ in }) throws {
        defer { progress.finish() }
        var chosen = false
        while let record = try reader.nextWalking({ h in
            chosen = filter.matches(db: h.db, key: h.key, type: h.typeName, expiresAt: h.expiresAt)
            return chosen ? visitor : nil
        }) {
            switch record {
            case .record(let r): try onRecord(r)
            case .key(let h): if chosen { try done(h) }
            }
            progress.update(reader.offset)
        }
    }
}

/// Holds a value while it is small (up to `limit` bytes, estimated), and past that hands what it holds,
/// and every later element, to the visitor `spill` makes: the RESTORE form of `resp` and `restore` needs
/// a value whole, a big one goes as type commands written while it is walked. Strings and module values
/// come whole and never spill.
final class BoundedValue: RDBElementVisitor {
    /// 16 MiB: a value below it is held whole (about that much memory), one above is streamed.
    static let defaultLimit = 16 << 20

    let limit: Int
    let builder = RDBValueBuilder()
    var spilled: RDBElementVisitor?
    var ignoring = false
    var header = RDBKeyHeader(db: 0, key: [], typeCode: 0)
    /// Whether to take the key at all (false: its elements are dropped).
    var onBegin: (RDBKeyHeader) throws -> Bool = { _ in true }
    /// A small value, whole, after its last element.
    var onWhole: (RDBEntry) throws -> Void = { _ in }
    /// The visitor a big value goes to (it gets beginValue, the elements so far, the rest, endValue).
    var spill: (RDBKeyHeader) throws -> RDBElementVisitor = { _ in RDBValueBuilder() }
    /// After a spilled value's endValue.
    var onSpilled: (RDBKeyHeader) throws -> Void = { _ in }

    init(limit: Int = BoundedValue.defaultLimit) { self.limit = limit }

    func beginValue(_ h: RDBKeyHeader) throws {
        spilled = nil
        header = h
        ignoring = !(try onBegin(h))
        try builder.beginValue(h)
    }

    @inline(__always) func check() throws {
        if builder.estimatedBytes > limit {
            let s = try spill(header)
            try s.beginValue(header)
            try builder.replayElements(into: s)
            builder.reset()
            spilled = s
        }
    }

    func string(_ s: UnsafeRawBufferPointer) throws {
        if !ignoring { try builder.string(s) }
    }
    func module(_ m: RDBModuleValue) throws {
        if !ignoring { try builder.module(m) }
    }
    func listElement(_ e: UnsafeRawBufferPointer) throws {
        if ignoring { return }
        if let s = spilled { return try s.listElement(e) }
        try builder.listElement(e)
        try check()
    }
    func setMember(_ m: UnsafeRawBufferPointer) throws {
        if ignoring { return }
        if let s = spilled { return try s.setMember(m) }
        try builder.setMember(m)
        try check()
    }
    func sortedSetMember(_ m: UnsafeRawBufferPointer, score: Double) throws {
        if ignoring { return }
        if let s = spilled { return try s.sortedSetMember(m, score: score) }
        try builder.sortedSetMember(m, score: score)
        try check()
    }
    func hashField(_ f: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64) throws {
        if ignoring { return }
        if let s = spilled { return try s.hashField(f, value: value, expiresAt: expiresAt) }
        try builder.hashField(f, value: value, expiresAt: expiresAt)
        try check()
    }
    func streamNode(_ node: RDBStreamNode) throws {
        if ignoring { return }
        if let s = spilled { return try s.streamNode(node) }
        try builder.streamNode(node)
        try check()
    }
    func streamEnd(_ stream: RDBStream) throws {
        if ignoring { return }
        if let s = spilled { return try s.streamEnd(stream) }
        try builder.streamEnd(stream)
    }
    func endValue() throws {
        if ignoring { return }
        if let s = spilled {
            spilled = nil
            try s.endValue()
            try onSpilled(header)
        } else if let e = builder.entry {
            builder.reset()
            try onWhole(e)
        }
    }
}

/// A key as text: printable ASCII as is, `"` and `\` escaped, other bytes as \xHH.
func printableKey(_ key: [UInt8]) -> String {
    var s = ""
    let hex = Array("0123456789abcdef")
    for b in key {
        switch b {
        case UInt8(ascii: "\\"): s += "\\\\"
        case UInt8(ascii: "\""): s += "\\\""
        case 0x20 ... 0x7e: s.append(Character(Unicode.Scalar(b)))
        default: s += "\\x"; s.append(hex[Int(b >> 4)]); s.append(hex[Int(b & 15)])
        }
    }
    return s
}

#if canImport(Glibc)
import Glibc
#endif
