// CompactElement: one element of a listpack or ziplist as it is stored: an integer or a byte span.

/// An element handed to a decoder's callback. A `.bytes` span points into the blob being walked and is
/// valid only during the callback.
public enum CompactElement {
    case int(Int64)
    case bytes(UnsafeRawBufferPointer)

    /// The element as Redis would return it: integers as decimal text.
    @inlinable public var materialized: [UInt8] {
        switch self {
        case .int(let v): return StrictInteger.format(v)
        case .bytes(let b): return Array(b)
        }
    }
}
