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

    /// Calls `body` for every entry the filter selects, updating the progress bar.
    func forEachEntry(_ filter: KeyFilter, _ body: (RDBEntry) throws -> Void) throws {
        defer { progress.finish() }
        while let record = try reader.next() {
            if case .entry(let e) = record, filter.matches(e) {
                try body(e)
            }
            progress.update(reader.offset)
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
