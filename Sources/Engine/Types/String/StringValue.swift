// StringValue: the string type. An integer when the text is a canonical integer of at most 20
// bytes (Redis's "int" encoding), else bytes: "embstr" up to 44 bytes, "raw" beyond, and "raw"
// whatever the length once APPEND, SETRANGE, SETBIT or BITOP has touched it.
import StorageFormat

/// A string value: an integer when the text is a canonical integer, else bytes.
public enum StringValue: Sendable, Equatable {
    case int(Int64)
    case bytes(ByteString)
    /// Bytes Redis keeps in its `raw` encoding whatever their length (what APPEND, SETRANGE,
    /// SETBIT and BITOP leave behind).
    case raw(ByteString)

    /// Stores `b` as an integer when it is one (Redis's `int` encoding, strings of at most 20 bytes).
    @inlinable public init(_ b: ByteString) {
        if b.count <= 20, let v = b.integerValue { self = .int(v) } else { self = .bytes(b) }
    }
    @inlinable public init(_ b: [UInt8]) { self.init(ByteString(b)) }

    /// The value's bytes (integers as decimal text).
    @inlinable public var byteString: ByteString {
        switch self {
        case .int(let v): return ByteString(integer: v)
        case .bytes(let b), .raw(let b): return b
        }
    }

    @inlinable public var count: Int {
        switch self {
        case .int(let v): return StrictInteger.format(v).count
        case .bytes(let b), .raw(let b): return b.count
        }
    }

    /// `OBJECT ENCODING`: int, embstr (at most 44 bytes), raw (longer, or `.raw`).
    public var encodingName: String {
        switch self {
        case .int: return "int"
        case .bytes(let b): return b.count <= 44 ? "embstr" : "raw"
        case .raw: return "raw"
        }
    }
}
