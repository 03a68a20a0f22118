// FormatError: every problem found in stored or wire bytes, with its place.
// A format error carries the absolute byte offset where the reader stopped, the key when one is known,
// what the reader expected there and what it found, so a tool can print it and the server can log it.

/// A problem in the bytes of a file, payload or blob.
public struct FormatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Byte offset of the problem, counted from the start of the outermost input (file or payload).
    public var offset: Int
    /// The key whose value was being read, when known.
    public var key: [UInt8]?
    /// What was being read: "listpack", "RDB length", "ziplist entry", ...
    public var context: String
    /// What the reader expected at `offset`.
    public var expected: String
    /// What it found instead.
    public var found: String
    /// The RDB type byte of the value being read, when known.
    public var typeCode: UInt8? = nil

    public init(offset: Int, key: [UInt8]? = nil, context: String, expected: String, found: String) {
        self.offset = offset
        self.key = key
        self.context = context
        self.expected = expected
        self.found = found
    }

    /// The same error with its offset moved by `base`: decoders of embedded blobs report offsets
    /// relative to the blob, and the RDB reader adds the blob's position in the file.
    public func rebased(by base: Int) -> FormatError {
        var e = self
        e.offset += base
        return e
    }

    /// The same error naming `key`, unless it already names one.
    public func withKey(_ key: [UInt8]?) -> FormatError {
        var e = self
        if e.key == nil { e.key = key }
        return e
    }

    /// The same error naming the value's RDB type, unless it already names one.
    public func withTypeCode(_ code: UInt8) -> FormatError {
        var e = self
        if e.typeCode == nil { e.typeCode = code }
        return e
    }

    public var description: String {
        var s = "offset \(offset)"
        if let key { s += " key \(ByteText.quoted(key))" }
        s += ": \(context): expected \(expected), found \(found)"
        return s
    }
}

/// Printable renderings of byte strings for messages (never used on hot paths).
public enum ByteText {
    /// `"text"` with non-printable bytes as `\xNN`, the way redis-cli shows binary strings.
    public static func quoted<C: Collection>(_ bytes: C, limit: Int = 64) -> String where C.Element == UInt8 {
        var s = "\""
        var n = 0
        for b in bytes {
            if n == limit { s += "..."; break }
            n += 1
            switch b {
            case UInt8(ascii: "\""): s += "\\\""
            case UInt8(ascii: "\\"): s += "\\\\"
            case 0x20...0x7e: s.unicodeScalars.append(Unicode.Scalar(b))
            case 0x0a: s += "\\n"
            case 0x0d: s += "\\r"
            case 0x09: s += "\\t"
            default: s += "\\x" + hex2(b)
            }
        }
        return s + "\""
    }

    /// Lower-case hex of every byte.
    public static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var s = ""
        s.reserveCapacity(bytes.count * 2)
        for b in bytes { s += hex2(b) }
        return s
    }

    static func hex2(_ b: UInt8) -> String {
        let digits: [Character] = ["0","1","2","3","4","5","6","7","8","9","a","b","c","d","e","f"]
        return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
    }
}
