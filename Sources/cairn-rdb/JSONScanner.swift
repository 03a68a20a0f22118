// JSONScanner: a streaming JSON reader over a ByteSource, for reading back what `json` and `jsonl`
// write. It pulls 1 MiB at a time and materialises one value at a time (a key's value), never the
// whole document, and keeps object members in document order (a hash's fields, a sorted set's
// members). Strings decode to bytes, undoing ToolKit's binary-safe escaping: \u00XX is the byte XX
// (how the writers escape every control or non-ASCII byte); \uXXXX above 00FF (a surrogate pair for
// one code point) and raw non-ASCII bytes, which other writers produce, stand for their UTF-8 bytes.
import StorageFormat

/// One JSON value. Numbers are kept as their text, so an integer or a double is read exactly.
indirect enum JSONValue {
    case string([UInt8])
    case number([UInt8])
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(key: [UInt8], value: JSONValue)])

    var kind: String {
        switch self {
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// The value of the first member named `name`, for an object.
    subscript(_ name: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        let n = Array(name.utf8)
        return members.first { $0.key == n }?.value
    }
}

final class JSONScanner {
    let source: ByteSource
    private var buffer: [UInt8]
    private var position = 0
    private var end = 0
    /// Bytes consumed before buffer[0].
    private var base = 0
    private var atEOF = false
    /// The nesting limit: deeper input is refused rather than recursed into.
    static let maxDepth = 64

    init(source: ByteSource) {
        self.source = source
        buffer = [UInt8](repeating: 0, count: 1 << 20)
    }

    /// Offset of the next byte from the start of the input.
    var offset: Int { base + position }

    /// Makes at least one unread byte available; false at the end of input.
    @inline(__always)
    private func fill() throws -> Bool {
        if position < end { return true }
        if atEOF { return false }
        base += end
        position = 0
        end = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
        if end == 0 { atEOF = true }
        return end > 0
    }

    /// The next byte without consuming it, nil at the end.
    @inline(__always)
    func peek() throws -> UInt8? {
        try fill() ? buffer[position] : nil
    }

    /// The next byte that is not JSON white space, without consuming it; nil at the end.
    func peekNonSpace() throws -> UInt8? {
        while try fill() {
            let b = buffer[position]
            if b == 0x20 || b == 0x0a || b == 0x0d || b == 0x09 { position += 1 } else { return b }
        }
        return nil
    }

    func error(_ expected: String, found: String? = nil) -> FormatError {
        var what = found ?? "the end of the input"
        if found == nil, position < end {
            let b = buffer[position]
            what = (0x21 ... 0x7e).contains(b) ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16))"
        }
        return FormatError(offset: offset, context: "JSON", expected: expected, found: what)
    }

    /// Consumes `c` (after white space) or throws naming what was expected.
    func expect(_ c: UInt8) throws {
        guard try peekNonSpace() == c else { throw error("'\(Character(Unicode.Scalar(c)))'") }
        position += 1
    }

    /// Consumes the next non-space byte if it is `c`.
    func consume(_ c: UInt8) throws -> Bool {
        guard try peekNonSpace() == c else { return false }
        position += 1
        return true
    }

    private func hexDigit() throws -> UInt32 {
        guard try fill() else { throw error("a hex digit") }
        let b = buffer[position]
        let v: UInt32
        switch b {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): v = UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a") ... UInt8(ascii: "f"): v = UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A") ... UInt8(ascii: "F"): v = UInt32(b - UInt8(ascii: "A") + 10)
        default: throw error("a hex digit")
        }
        position += 1
        return v
    }

    private func hex4() throws -> UInt32 {
        var v: UInt32 = 0
        for _ in 0 ..< 4 { v = v << 4 | (try hexDigit()) }
        return v
    }

    private static func appendUTF8(_ cp: UInt32, to out: inout [UInt8]) {
        switch cp {
        case ..<0x80: out.append(UInt8(cp))
        case ..<0x800:
            out.append(UInt8(0xC0 | cp >> 6)); out.append(UInt8(0x80 | cp & 0x3F))
        case ..<0x10000:
            out.append(UInt8(0xE0 | cp >> 12)); out.append(UInt8(0x80 | cp >> 6 & 0x3F)); out.append(UInt8(0x80 | cp & 0x3F))
        default:
            out.append(UInt8(0xF0 | cp >> 18)); out.append(UInt8(0x80 | cp >> 12 & 0x3F))
            out.append(UInt8(0x80 | cp >> 6 & 0x3F)); out.append(UInt8(0x80 | cp & 0x3F))
        }
    }

    /// A JSON string (after white space), as bytes.
    func readString() throws -> [UInt8] {
        try expect(UInt8(ascii: "\""))
        var out: [UInt8] = []
        while true {
            guard try fill() else { throw error("the end of a string (\")") }
            // Copy the run of plain bytes in one go.
            var i = position
            while i < end, buffer[i] != UInt8(ascii: "\""), buffer[i] != UInt8(ascii: "\\"), buffer[i] >= 0x20 { i += 1 }
            if i > position {
                out.append(contentsOf: buffer[position ..< i])
                position = i
                continue
            }
            let b = buffer[position]
            if b == UInt8(ascii: "\"") {
                position += 1
                return out
            }
            if b < 0x20 { throw error("a control character escaped inside a string", found: "byte 0x\(String(b, radix: 16))") }
            position += 1 // the backslash
            guard try fill() else { throw error("an escape") }
            let e = buffer[position]
            position += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                let u = try hex4()
                if u <= 0xFF {
                    out.append(UInt8(u)) // one byte, as ToolKit's writer escapes it
                } else if (0xD800 ..< 0xDC00).contains(u) {
                    guard try fill(), buffer[position] == UInt8(ascii: "\\") else { throw error("the low half of a surrogate pair") }
                    position += 1
                    guard try fill(), buffer[position] == UInt8(ascii: "u") else { throw error("the low half of a surrogate pair") }
                    position += 1
                    let low = try hex4()
                    guard (0xDC00 ..< 0xE000).contains(low) else { throw error("the low half of a surrogate pair") }
                    JSONScanner.appendUTF8(0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00), to: &out)
                } else {
                    JSONScanner.appendUTF8(u, to: &out)
                }
            default:
                position -= 1
                throw error("an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)")
            }
        }
    }

    private func readLiteral(_ word: StaticString) throws {
        for c in UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount) {
            guard try fill(), buffer[position] == c else { throw error("\"\(word)\"") }
            position += 1
        }
    }

    private func readNumber() throws -> [UInt8] {
        var out: [UInt8] = []
        while try fill() {
            let b = buffer[position]
            switch b {
            case UInt8(ascii: "0") ... UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."),
                 UInt8(ascii: "e"), UInt8(ascii: "E"):
                out.append(b)
                position += 1
            default:
                return out
            }
        }
        return out
    }

    /// One whole value (after white space).
    func readValue(depth: Int = 0) throws -> JSONValue {
        guard depth < JSONScanner.maxDepth else { throw error("at most \(JSONScanner.maxDepth) nested levels") }
        guard let c = try peekNonSpace() else { throw error("a value") }
        switch c {
        case UInt8(ascii: "\""):
            return .string(try readString())
        case UInt8(ascii: "{"):
            position += 1
            var members: [(key: [UInt8], value: JSONValue)] = []
            if try consume(UInt8(ascii: "}")) { return .object(members) }
            repeat {
                let k = try readString()
                try expect(UInt8(ascii: ":"))
                members.append((k, try readValue(depth: depth + 1)))
            } while try consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "}"))
            return .object(members)
        case UInt8(ascii: "["):
            position += 1
            var items: [JSONValue] = []
            if try consume(UInt8(ascii: "]")) { return .array(items) }
            repeat {
                items.append(try readValue(depth: depth + 1))
            } while try consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "]"))
            return .array(items)
        case UInt8(ascii: "t"):
            try readLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try readLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try readLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"):
            return .number(try readNumber())
        default:
            throw error("a value")
        }
    }
}

/// A source that first replays bytes already read (to sniff the input) and then continues with the rest.
final class PrefixedSource: ByteSource {
    private var prefix: [UInt8]
    private var used = 0
    let rest: ByteSource
    init(prefix: [UInt8], rest: ByteSource) { self.prefix = prefix; self.rest = rest }
    var knownSize: Int? { rest.knownSize }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if used < prefix.count {
            let n = min(buffer.count, prefix.count - used)
            prefix.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + used, byteCount: n) }
            used += n
            if used == prefix.count { prefix = []; used = 0 }
            return n
        }
        return try rest.read(into: buffer)
    }
}
