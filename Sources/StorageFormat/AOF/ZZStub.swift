// TEMPORARY STUB (not committed): replaced by the aof-format branch.
public enum AOFFileType: Character, Sendable { case base = "b", history = "h", incr = "i" }
public struct AOFManifestEntry: Equatable, Sendable {
    public var name: String; public var seq: Int64; public var type: AOFFileType
    public init(name: String, seq: Int64, type: AOFFileType) { self.name = name; self.seq = seq; self.type = type }
}
public struct AOFManifestError: Error, CustomStringConvertible, Sendable { public var description: String }
public struct AOFManifest: Equatable, Sendable {
    public var base: AOFManifestEntry?
    public var history: [AOFManifestEntry]
    public var incrs: [AOFManifestEntry]
    public init(base: AOFManifestEntry? = nil, history: [AOFManifestEntry] = [], incrs: [AOFManifestEntry] = []) {
        self.base = base; self.history = history; self.incrs = incrs
    }
    public static func parse(_ bytes: [UInt8]) throws -> AOFManifest {
        var m = AOFManifest()
        for line in bytes.split(separator: 10) {
            let t = line.split(separator: 32).map { String(decoding: $0, as: UTF8.self) }
            guard t.count >= 6 else { throw AOFManifestError(description: "Invalid AOF manifest file format") }
            let e = AOFManifestEntry(name: t[1], seq: Int64(t[3])!, type: AOFFileType(rawValue: Character(t[5]))!)
            switch e.type { case .base: m.base = e; case .history: m.history.append(e); case .incr: m.incrs.append(e) }
        }
        return m
    }
    public func encoded() -> [UInt8] {
        var s = ""
        for e in (base.map { [$0] } ?? []) + history + incrs { s += "file \(e.name) seq \(e.seq) type \(e.type.rawValue)\n" }
        return Array(s.utf8)
    }
    public var nextBaseSeq: Int64 { (base?.seq ?? 0) + 1 }
    public var nextIncrSeq: Int64 { (incrs.last?.seq ?? 0) + 1 }
    public static func manifestName(_ f: String) -> String { f + ".manifest" }
    public static func baseName(_ f: String, seq: Int64, rdb: Bool) -> String { "\(f).\(seq).base.\(rdb ? "rdb" : "aof")" }
    public static func incrName(_ f: String, seq: Int64) -> String { "\(f).\(seq).incr.aof" }
}
public enum AOFRecord { case command(args: [[UInt8]], start: Int, end: Int); case annotation(line: [UInt8], start: Int) }
public enum AOFReadError: Error, CustomStringConvertible {
    case truncated(validUpTo: Int, offset: Int, reason: String)
    case corrupt(FormatError)
    public var description: String { "\(self)" }
}
public final class AOFReader {
    var bytes: [UInt8]
    public private(set) var offset = 0
    var multiStart: Int? = nil
    var lastGood = 0
    public let hasRDBPreamble: Bool
    public init(path: String) throws {
        let src = try FileSource(path: path)
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true { let n = try buf.withUnsafeMutableBytes { try src.read(into: $0) }; if n == 0 { break }; out += buf[0..<n] }
        bytes = out
        hasRDBPreamble = out.starts(with: Array("REDIS".utf8))
    }
    public init(bytes: [UInt8]) { self.bytes = bytes; hasRDBPreamble = bytes.starts(with: Array("REDIS".utf8)) }
    public func seek(to o: Int) throws { offset = o; lastGood = o }
    func line(_ at: inout Int) -> [UInt8]? {
        var i = at
        while i + 1 < bytes.count { if bytes[i] == 13 && bytes[i+1] == 10 { let l = Array(bytes[at..<i]); at = i + 2; return l }; i += 1 }
        return nil
    }
    public func next() throws -> AOFRecord? {
        if offset >= bytes.count {
            if let m = multiStart { throw AOFReadError.truncated(validUpTo: m, offset: offset, reason: "EOF in MULTI") }
            return nil
        }
        let start = offset
        var at = offset
        func trunc() -> AOFReadError { .truncated(validUpTo: multiStart ?? lastGood, offset: bytes.count, reason: "short read") }
        guard let l = line(&at) else { throw trunc() }
        if l.first == UInt8(ascii: "#") { offset = at; return .annotation(line: l, start: start) }
        guard l.first == UInt8(ascii: "*"), let n = Int(String(decoding: l.dropFirst(), as: UTF8.self)) else {
            throw AOFReadError.corrupt(FormatError(offset: start, context: "AOF", expected: "*", found: "x"))
        }
        var args: [[UInt8]] = []
        for _ in 0..<n {
            guard let h = line(&at) else { throw trunc() }
            guard h.first == UInt8(ascii: "$"), let len = Int(String(decoding: h.dropFirst(), as: UTF8.self)) else {
                throw AOFReadError.corrupt(FormatError(offset: at, context: "AOF", expected: "$", found: "x"))
            }
            guard at + len + 2 <= bytes.count else { throw trunc() }
            args.append(Array(bytes[at..<at+len])); at += len + 2
        }
        offset = at
        let name = String(decoding: args[0], as: UTF8.self).lowercased()
        if name == "multi" { multiStart = start } else if name == "exec" { multiStart = nil }
        if multiStart == nil { lastGood = at }
        return .command(args: args, start: start, end: at)
    }
    public static func timestamp(_ a: [UInt8]) -> Int64? { nil }
}
public enum AOFCommands {
    public static func append(_ args: [[UInt8]], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "*")); out += Array(String(args.count).utf8); out += [13, 10]
        for a in args { out.append(UInt8(ascii: "$")); out += Array(String(a.count).utf8); out += [13, 10]; out += a; out += [13, 10] }
    }
    public static func appendTimestamp(_ t: Int64, to out: inout [UInt8]) { out += Array("#TS:\(t)\r\n".utf8) }
    public static func rewrite(key: [UInt8], value: RDBValue, expiresAt: Int64?, emit: ([[UInt8]]) throws -> Void) throws {
        if case .string(let s) = value { try emit([Array("SET".utf8), key, s]) }
        if let t = expiresAt { try emit([Array("PEXPIREAT".utf8), key, Array(String(t).utf8)]) }
    }
}
