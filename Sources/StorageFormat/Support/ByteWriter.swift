// ByteWriter: an appending byte buffer with the integer writers the formats need.

/// Bytes appended in order, with little- and big-endian integer writers.
public struct ByteWriter: Sendable {
    public var bytes: [UInt8]

    @inlinable public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable public var count: Int { bytes.count }

    @inlinable public mutating func append(_ b: UInt8) { bytes.append(b) }

    @inlinable public mutating func append<C: Collection>(contentsOf c: C) where C.Element == UInt8 {
        bytes.append(contentsOf: c)
    }

    @inlinable public mutating func append(_ span: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: span)
    }

    @inlinable public mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inlinable public mutating func appendBE<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
    }

    @inlinable public mutating func removeAll(keepingCapacity: Bool = true) {
        bytes.removeAll(keepingCapacity: keepingCapacity)
    }
}
