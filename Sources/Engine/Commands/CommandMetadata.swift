// Command metadata: what COMMAND INFO, COMMAND DOCS, COMMAND LIST FILTERBY and COMMAND GETKEYS(ANDFLAGS)
// report for each command and subcommand, and the ACL categories access control will use. The facts
// are Redis 7.0's (tools/make-command-metadata reads them from a live redis-server); the prose is ours.
//
// CommandMetadataTable.text holds one command per line as nested lists, decoded once, on first use:
//   command  = (name arity (flags) firstkey lastkey step (acl-categories) (tips) (key-spec...) (command...) docs)
//   key-spec = (notes (flags) begin find); begin = (index N) | (keyword KW startfrom) | (unknown)
//              find = (range lastkey keystep limit) | (keynum keynumidx firstkey keystep) | (unknown)
//   docs     = (summary since group complexity (doc-flags) deprecated-since replaced-by ((version text)...) (argument...))
//   argument = (name type key-spec-index token since deprecated-since (flags) (argument...))
// An atom is bare, or "quoted" with \" and \\ escapes; a bare ~ means absent.

/// One command or subcommand as Redis 7.0 describes it.
public struct CommandMetadata: Sendable {
    /// Lower-case name; "container|sub" for a subcommand.
    public let name: String
    public let arity: Int
    /// Redis's flag names ("write", "readonly", "denyoom", "no_mandatory_keys", "movablekeys"...).
    public let flags: [String]
    /// The legacy key range (COMMAND INFO's fourth to sixth fields).
    public let firstKey: Int
    public let lastKey: Int
    public let step: Int
    /// ACL categories with their "@" ("@keyspace", "@read", "@fast"...).
    public let aclCategories: [String]
    /// Hints for clients and proxies ("nondeterministic_output", "request_policy:all_shards"...).
    public let tips: [String]
    public let keySpecs: [KeySpec]
    public let subcommands: [CommandMetadata]
    public let docs: CommandDocs

    /// True when the command has `flag` (a Redis flag name such as "write" or "noscript").
    public func hasFlag(_ flag: String) -> Bool { flags.contains(flag) }

    /// True when one of its ACL categories is `category` (with or without "@", any case).
    public func isInCategory(_ category: String) -> Bool {
        let c = category.lowercased()
        let want = c.hasPrefix("@") ? c : "@" + c
        return aclCategories.contains(want)
    }

    /// A subcommand by its own name ("list") or full name ("client|list"), any case.
    public func subcommand(_ sub: String) -> CommandMetadata? {
        let s = sub.lowercased()
        let full = s.hasPrefix(name + "|") ? s : name + "|" + s
        return subcommands.first { $0.name == full }
    }
}

/// Where a command's keys are and how it uses them (Redis 7.0 key specifications).
public struct KeySpec: Sendable {
    public enum BeginSearch: Sendable {
        /// The first key is at argument `index`.
        case index(Int)
        /// The first key follows `keyword`, searched from `startFrom` (negative: from the end, backwards).
        case keyword(String, startFrom: Int)
        case unknown
    }
    public enum FindKeys: Sendable {
        /// Keys up to `lastKey` (relative to the first; negative: from the end) every `keyStep`;
        /// with lastKey -1 and `limit` > 1, only the first 1/limit of the remaining arguments.
        case range(lastKey: Int, keyStep: Int, limit: Int)
        /// The count of keys is at `keyNumIndex` (relative to the first), keys from `firstKey` every `keyStep`.
        case keynum(keyNumIndex: Int, firstKey: Int, keyStep: Int)
        case unknown
    }
    /// Our own words on the spec, where Redis carries a note.
    public let notes: String?
    /// "RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key", "incomplete", "variable_flags".
    public let flags: [String]
    public let beginSearch: BeginSearch
    public let findKeys: FindKeys
}

/// COMMAND DOCS for one command.
public struct CommandDocs: Sendable {
    public let summary: String?
    public let since: String?
    public let group: String?
    public let complexity: String?
    public let docFlags: [String]
    public let deprecatedSince: String?
    public let replacedBy: String?
    public let history: [(version: String, change: String)]
    public let arguments: [CommandArgument]
}

/// One node of a command's argument tree.
public struct CommandArgument: Sendable {
    public let name: String
    /// "key", "string", "integer", "double", "pattern", "unix-time", "pure-token", "oneof", "block".
    public let type: String
    public let keySpecIndex: Int?
    public let token: String?
    public let since: String?
    public let deprecatedSince: String?
    /// "optional", "multiple", "multiple_token".
    public let flags: [String]
    public let arguments: [CommandArgument]
}

public extension CommandMetadata {
    /// Every command in the table by name (top level; subcommands hang under their container).
    static var table: [String: CommandMetadata] { CommandMetadataStore.shared.byName }

    /// The metadata for "name" or "container|sub" (any case), nil when the table has none.
    static func lookup(_ name: String) -> CommandMetadata? {
        let n = name.lowercased()
        if let bar = n.firstIndex(of: "|") {
            guard let parent = table[String(n[..<bar])] else { return nil }
            return parent.subcommands.first { $0.name == n }
        }
        return table[n]
    }

    /// The ACL categories of a command or subcommand ("@read", "@string", ...), nil when unknown.
    static func aclCategories(of name: String) -> [String]? { lookup(name)?.aclCategories }

    /// Every ACL category name some command in the table belongs to, without "@", sorted.
    static var allACLCategories: [String] {
        var all = Set<String>()
        func visit(_ m: CommandMetadata) {
            for c in m.aclCategories { all.insert(String(c.dropFirst())) }
            m.subcommands.forEach(visit)
        }
        table.values.forEach(visit)
        return all.sorted()
    }
}

/// The decoded table, built on first use.
final class CommandMetadataStore: Sendable {
    static let shared = CommandMetadataStore(text: CommandMetadataTable.text)
    let byName: [String: CommandMetadata]

    init(text: String) {
        var byName: [String: CommandMetadata] = [:]
        var reader = SExpressionReader(Array(text.utf8))
        while let node = reader.next() {
            let m = CommandMetadataStore.command(node)
            byName[m.name] = m
        }
        self.byName = byName
    }

    static func command(_ n: SExpression) -> CommandMetadata {
        let f = n.items
        return CommandMetadata(name: f[0].string!, arity: f[1].int!, flags: f[2].strings, firstKey: f[3].int!,
                               lastKey: f[4].int!, step: f[5].int!, aclCategories: f[6].strings, tips: f[7].strings,
                               keySpecs: f[8].items.map(keySpec), subcommands: f[9].items.map(command),
                               docs: docs(f[10]))
    }

    static func keySpec(_ n: SExpression) -> KeySpec {
        let f = n.items
        let b = f[2].items, k = f[3].items
        let begin: KeySpec.BeginSearch
        switch b[0].string! {
        case "index": begin = .index(b[1].int!)
        case "keyword": begin = .keyword(b[1].string!, startFrom: b[2].int!)
        default: begin = .unknown
        }
        let find: KeySpec.FindKeys
        switch k[0].string! {
        case "range": find = .range(lastKey: k[1].int!, keyStep: k[2].int!, limit: k[3].int!)
        case "keynum": find = .keynum(keyNumIndex: k[1].int!, firstKey: k[2].int!, keyStep: k[3].int!)
        default: find = .unknown
        }
        return KeySpec(notes: f[0].string, flags: f[1].strings, beginSearch: begin, findKeys: find)
    }

    static func docs(_ n: SExpression) -> CommandDocs {
        let f = n.items
        return CommandDocs(summary: f[0].string, since: f[1].string, group: f[2].string, complexity: f[3].string,
                           docFlags: f[4].strings, deprecatedSince: f[5].string, replacedBy: f[6].string,
                           history: f[7].items.map { (version: $0.items[0].string!, change: $0.items[1].string!) },
                           arguments: f[8].items.map(argument))
    }

    static func argument(_ n: SExpression) -> CommandArgument {
        let f = n.items
        return CommandArgument(name: f[0].string!, type: f[1].string!, keySpecIndex: f[2].int, token: f[3].string,
                               since: f[4].string, deprecatedSince: f[5].string, flags: f[6].strings,
                               arguments: f[7].items.map(argument))
    }
}

/// A node of the table text: an atom (nil when absent) or a list.
enum SExpression {
    case atom(String?)
    case list([SExpression])

    var items: [SExpression] {
        if case .list(let l) = self { return l }
        return []
    }
    var string: String? {
        if case .atom(let s) = self { return s }
        return nil
    }
    var int: Int? { string.flatMap { Int($0) } }
    var strings: [String] { items.compactMap(\.string) }
}

/// Reads the table text one top-level list at a time.
struct SExpressionReader {
    let bytes: [UInt8]
    var i = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 32 || bytes[i] == 10 || bytes[i] == 13 || bytes[i] == 9 { i += 1 }
    }

    /// The next node, nil at the end of the text.
    mutating func next() -> SExpression? {
        skipSpace()
        guard i < bytes.count else { return nil }
        switch bytes[i] {
        case UInt8(ascii: "("):
            i += 1
            var items: [SExpression] = []
            while true {
                skipSpace()
                precondition(i < bytes.count, "command metadata: unbalanced list")
                if bytes[i] == UInt8(ascii: ")") { i += 1; break }
                items.append(next()!)
            }
            return .list(items)
        case UInt8(ascii: "\""):
            i += 1
            var out: [UInt8] = []
            while bytes[i] != UInt8(ascii: "\"") {
                if bytes[i] == UInt8(ascii: "\\") {
                    i += 1
                    out.append(bytes[i] == UInt8(ascii: "n") ? 10 : bytes[i])
                } else {
                    out.append(bytes[i])
                }
                i += 1
            }
            i += 1
            return .atom(String(decoding: out, as: UTF8.self))
        default:
            let start = i
            while i < bytes.count, !(bytes[i] == 32 || bytes[i] == 10 || bytes[i] == 13 || bytes[i] == 9),
                  bytes[i] != UInt8(ascii: "("), bytes[i] != UInt8(ascii: ")") { i += 1 }
            let s = String(decoding: bytes[start ..< i], as: UTF8.self)
            return .atom(s == "~" ? nil : s)
        }
    }
}
