// Filters: which keys a tool works on — the same five filters for every cairn-rdb subcommand.
//   --db N            databases (repeatable; none given = all)
//   --key REGEX       keys the regex finds a match in (search, not whole-key: anchor with ^…$)
//   --not-key REGEX   keys it finds no match in
//   --type T          string|list|set|zset|hash|stream|module (repeatable; none given = all)
//   --expiring / --persistent   keys with / without a TTL
// Keys are bytes, regexes work on text, so a key is matched through a lossless byte → character
// mapping: each byte becomes the Unicode scalar of the same number (ISO-8859-1 / Latin-1), and the
// regex runs with Unicode-scalar semantics (one byte = one scalar, "\r\n" is two). ASCII keys match
// as written; a byte 0xFF is matched by `\xFF` (or `\u00FF`), any byte by `.` with (?s).
// The regex syntax is Swift Regex's (Perl/PCRE-like).

import StorageFormat

/// Keys with or without a TTL.
public enum ExpiryFilter: Sendable {
    case any
    case expiring
    case persistent
}

/// The selection a user asked for. `matches` is cheap for keys that do not need a regex.
public struct KeyFilter {
    /// Databases to keep; empty = all.
    public var databases: Set<Int> = []
    /// Type names (`TYPE`'s words) to keep; empty = all.
    public var types: Set<String> = []
    public var expiry: ExpiryFilter = .any
    public var keyPattern: Regex<AnyRegexOutput>?
    public var notKeyPattern: Regex<AnyRegexOutput>?

    public static let typeNames: [String] = ["string", "list", "set", "zset", "hash", "stream", "module"]

    public init() {}

    /// Compiles the regexes. Throws a `FilterError` naming the bad pattern.
    public init(databases: [Int] = [], types: [String] = [], expiring: Bool = false, persistent: Bool = false,
                key: String? = nil, notKey: String? = nil) throws {
        self.databases = Set(databases)
        for t in types {
            guard KeyFilter.typeNames.contains(t) else {
                throw FilterError(message: "unknown type \"\(t)\" (expected one of \(KeyFilter.typeNames.joined(separator: ", ")))")
            }
        }
        self.types = Set(types)
        if expiring && persistent { throw FilterError(message: "--expiring and --persistent exclude each other") }
        expiry = expiring ? .expiring : persistent ? .persistent : .any
        keyPattern = try key.map { try KeyFilter.compile($0, option: "--key") }
        notKeyPattern = try notKey.map { try KeyFilter.compile($0, option: "--not-key") }
    }

    static func compile(_ pattern: String, option: String) throws -> Regex<AnyRegexOutput> {
        do {
            return try Regex(pattern).matchingSemantics(.unicodeScalar)
        } catch {
            throw FilterError(message: "\(option) \"\(pattern)\" is not a valid regular expression: \(error)")
        }
    }

    /// True when nothing is filtered.
    public var selectsEverything: Bool {
        databases.isEmpty && types.isEmpty && expiry == .any && keyPattern == nil && notKeyPattern == nil
    }

    /// Whether keys of database `db` can be selected at all.
    @inline(__always)
    public func accepts(db: Int) -> Bool { databases.isEmpty || databases.contains(db) }

    /// Whether the key is selected. `type` is `TYPE`'s word; `expiresAt` nil = no TTL.
    public func matches(db: Int, key: [UInt8], type: String, expiresAt: Int64?) -> Bool {
        guard accepts(db: db) else { return false }
        if !types.isEmpty && !types.contains(type) { return false }
        switch expiry {
        case .any: break
        case .expiring: if expiresAt == nil { return false }
        case .persistent: if expiresAt != nil { return false }
        }
        return matchesName(key)
    }

    /// The --key / --not-key part alone (for a server's keys, whose type and TTL cost a round trip).
    public func matchesName(_ key: [UInt8]) -> Bool {
        if keyPattern == nil && notKeyPattern == nil { return true }
        let text = KeyFilter.latin1(key)
        if let p = keyPattern, (try? p.firstMatch(in: text)) == nil { return false }
        if let p = notKeyPattern, (try? p.firstMatch(in: text)) != nil { return false }
        return true
    }

    /// Whether an entry read from a file is selected.
    @inline(__always)
    public func matches(_ e: RDBEntry) -> Bool {
        matches(db: e.db, key: e.key, type: e.value.typeName, expiresAt: e.expiresAt)
    }

    /// The key as text, one Unicode scalar per byte (U+0000–U+00FF): lossless and reversible.
    public static func latin1(_ key: [UInt8]) -> String {
        var s = String.UnicodeScalarView()
        for b in key { s.append(Unicode.Scalar(b)) }
        return String(s)
    }
}

public struct FilterError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
