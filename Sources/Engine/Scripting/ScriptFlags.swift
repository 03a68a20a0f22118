// A script's flags: the `#!lua flags=...` shebang of an EVAL script (or the flags a function was
// registered with). A script without a shebang runs in compatibility mode: no flag applies and it
// may write. Also the shebang parser, with Redis's error texts.

public struct ScriptFlags: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let noWrites = ScriptFlags(rawValue: 1 << 0)
    public static let allowOOM = ScriptFlags(rawValue: 1 << 1)
    public static let allowStale = ScriptFlags(rawValue: 1 << 2)
    public static let noCluster = ScriptFlags(rawValue: 1 << 3)
    public static let allowCrossSlot = ScriptFlags(rawValue: 1 << 4)
    /// No shebang: Redis's EVAL compatibility mode.
    public static let evalCompat = ScriptFlags(rawValue: 1 << 5)

    /// The flag names in Redis's order, as shebangs and register_function spell them.
    public static let names: [(String, ScriptFlags)] = [
        ("no-writes", .noWrites), ("allow-oom", .allowOOM), ("allow-stale", .allowStale),
        ("no-cluster", .noCluster), ("allow-cross-slot-keys", .allowCrossSlot),
    ]

    /// The names of the flags set (FUNCTION LIST).
    public var flagNames: [String] { ScriptFlags.names.filter { contains($0.1) }.map(\.0) }

    /// Parses `body`'s shebang: the flags and the shebang's length (the code starts there), or
    /// Redis's error text.
    static func parseShebang(_ body: [UInt8]) -> Result<(ScriptFlags, Int), ScriptError> {
        guard body.count >= 2, body[0] == UInt8(ascii: "#"), body[1] == UInt8(ascii: "!") else {
            return .success((.evalCompat, 0))
        }
        guard let end = body.firstIndex(of: 10) else { return .failure(ScriptError("ERR Invalid script shebang")) }
        guard let parts = splitArgs(Array(body[0 ..< end])), !parts.isEmpty else {
            return .failure(ScriptError("ERR Invalid engine in script shebang"))
        }
        let engine = String(decoding: parts[0], as: UTF8.self)
        guard engine == "#!lua" else { return .failure(ScriptError("ERR Unexpected engine in script shebang: \(engine)")) }
        var flags: ScriptFlags = []
        for part in parts.dropFirst() {
            let text = String(decoding: part, as: UTF8.self)
            guard text.hasPrefix("flags=") else { return .failure(ScriptError("ERR Unknown lua shebang option: \(text)")) }
            let list = text.dropFirst(6)
            if list.isEmpty { continue }
            for name in list.split(separator: ",", omittingEmptySubsequences: false) {
                guard let f = ScriptFlags.names.first(where: { $0.0 == name }) else {
                    return .failure(ScriptError("ERR Unexpected flag in script shebang: \(name)"))
                }
                flags.insert(f.1)
            }
        }
        return .success((flags, end))
    }
}

/// An error reply from the scripting layer, with its code ("ERR Invalid script shebang").
public struct ScriptError: Error, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// Splits a line into words as Redis's sdssplitargs does (quotes and escapes); nil on unbalanced quotes.
func splitArgs(_ line: [UInt8]) -> [[UInt8]]? {
    var out: [[UInt8]] = []
    var i = 0
    let n = line.count
    func isSpace(_ b: UInt8) -> Bool { b == 32 || b == 10 || b == 13 || b == 9 || b == 11 || b == 12 }
    func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case 48 ... 57: return Int(b - 48)
        case 97 ... 102: return Int(b - 87)
        case 65 ... 70: return Int(b - 55)
        default: return nil
        }
    }
    while true {
        while i < n && isSpace(line[i]) { i += 1 }
        if i >= n { return out }
        var word: [UInt8] = []
        var inDouble = false, inSingle = false
        while true {
            if inDouble {
                guard i < n else { return nil }
                let c = line[i]
                if c == 92 && i + 3 < n && line[i + 1] == UInt8(ascii: "x"), let h = hexValue(line[i + 2]), let l = hexValue(line[i + 3]) {
                    word.append(UInt8(h * 16 + l)); i += 3
                } else if c == 92 && i + 1 < n {
                    i += 1
                    switch line[i] {
                    case UInt8(ascii: "n"): word.append(10)
                    case UInt8(ascii: "r"): word.append(13)
                    case UInt8(ascii: "t"): word.append(9)
                    case UInt8(ascii: "b"): word.append(8)
                    case UInt8(ascii: "a"): word.append(7)
                    default: word.append(line[i])
                    }
                } else if c == UInt8(ascii: "\"") {
                    if i + 1 < n && !isSpace(line[i + 1]) { return nil }
                    inDouble = false
                    i += 1
                    break
                } else {
                    word.append(c)
                }
            } else if inSingle {
                guard i < n else { return nil }
                let c = line[i]
                if c == 92 && i + 1 < n && line[i + 1] == UInt8(ascii: "'") {
                    word.append(UInt8(ascii: "'")); i += 1
                } else if c == UInt8(ascii: "'") {
                    if i + 1 < n && !isSpace(line[i + 1]) { return nil }
                    inSingle = false
                    i += 1
                    break
                } else {
                    word.append(c)
                }
            } else {
                if i >= n || isSpace(line[i]) { break }
                let c = line[i]
                if c == UInt8(ascii: "\"") { inDouble = true } else if c == UInt8(ascii: "'") { inSingle = true } else { word.append(c) }
            }
            i += 1
        }
        out.append(word)
    }
}
