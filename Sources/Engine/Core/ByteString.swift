// ByteString: the engine's key and value bytes. Value semantics, hashable, ordered like Redis
// (memcmp, then length). The representation is private so it can store short strings inline.

/// Bytes as Redis keys and values hold them. Never a `String`.
public struct ByteString: Hashable, Comparable, Sendable, CustomStringConvertible {
    @usableFromInline var storage: [UInt8]

    @inlinable public init() { storage = [] }
    @inlinable public init(_ bytes: [UInt8]) { storage = bytes }
    @inlinable public init(_ bytes: ArraySlice<UInt8>) { storage = Array(bytes) }
    @inlinable public init(_ bytes: UnsafeRawBufferPointer) { storage = Array(bytes) }
    /// For literals in code (command names, "OK"): the UTF-8 bytes of `s`.
    @inlinable public init(_ s: StaticString) {
        storage = s.withUTF8Buffer { Array($0) }
    }
    /// Decimal text of an integer.
    @inlinable public init(integer v: Int64) { storage = StrictIntegerText.format(v) }

    @inlinable public var count: Int { storage.count }
    @inlinable public var isEmpty: Bool { storage.isEmpty }
    @inlinable public var bytes: [UInt8] { storage }
    @inlinable public subscript(i: Int) -> UInt8 { storage[i] }

    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes(body)
    }

    /// Redis's ordering of strings (memcmp over the common prefix, then the shorter first).
    @inlinable
    public static func < (a: ByteString, b: ByteString) -> Bool {
        a.storage.lexicographicallyPrecedes(b.storage)
    }

    @inlinable public static func == (a: ByteString, b: ByteString) -> Bool { a.storage == b.storage }

    @inlinable public func hash(into h: inout Hasher) {
        storage.withUnsafeBytes { h.combine(bytes: $0) }
    }

    /// The integer this string spells under Redis's strict rule, if any.
    @inlinable public var integerValue: Int64? { storage.withUnsafeBytes { StrictIntegerText.parse($0) } }

    public var description: String { String(decoding: storage, as: UTF8.self) }
}

import StorageFormat

/// Re-exported strict integer text helpers (StorageFormat's StrictInteger).
public enum StrictIntegerText {
    @inlinable public static func parse(_ b: UnsafeRawBufferPointer) -> Int64? { StrictInteger.parse(b) }
    @inlinable public static func parse(_ b: [UInt8]) -> Int64? { StrictInteger.parse(b) }
    @inlinable public static func format(_ v: Int64) -> [UInt8] { StrictInteger.format(v) }
}
