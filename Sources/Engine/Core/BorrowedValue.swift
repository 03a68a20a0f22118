// BorrowedValue: reads a stored RedisValue in place, without copying it and without touching any
// reference count. For the fork()ed snapshot child: there, a retain or release of a stored string's
// buffer writes its header, and the kernel copies the whole page it sits on. Walking a million string
// values the ordinary way copies about 100 MB (every page holding a string buffer).
//
// A RedisValue is 16 bytes: the payload first (an Int64, a small string's 14 bytes, or one pointer:
// a large string's array buffer, an aggregate's object), and the enum tags in the spare bits of bytes
// 14 and 15 (a small string's length sits in byte 14's low half). Rather than hard-coding where the
// compiler put the tags, `Layout` learns them once, from values of each kind it builds and inspects,
// and checks that they tell the kinds apart; it also learns where an array buffer keeps its count
// and its first element. If anything does not check out, `layout` is nil and callers take the
// ordinary path. Tests compare every kind against Swift's own pattern matching.

/// What a stored value is, read from its tags.
public enum BorrowedKind: Equatable, Sendable {
    case int, smallString, largeString, list, hash, set, zset, stream
}

import DequeModule

public enum BorrowedValue {
    public struct Layout: Sendable {
        /// (byte 15 << 8 | byte 14's high half) → kind.
        var kinds: [UInt16: BorrowedKind]
        /// Offsets in a [UInt8]'s buffer object of its count and its first element.
        var countOffset: Int
        var elementsOffset: Int
        /// The bit of a lone ByteString's byte 14 that marks it large (its other tags live in
        /// the enums around it).
        var largeStringBit: UInt8
        /// A Deque's buffer object: where its capacity, count, first slot and slots are (nil when
        /// they could not be learned: lists then take the ordinary path).
        var deque: DequeLayout?
    }

    public struct DequeLayout: Sendable {
        var capacityOffset: Int
        var countOffset: Int
        var startOffset: Int
        var elementsOffset: Int
    }

    @inline(__always)
    static func tagKey(_ p: UnsafeRawPointer) -> UInt16 {
        UInt16(p.load(fromByteOffset: 15, as: UInt8.self)) << 8 | UInt16(p.load(fromByteOffset: 14, as: UInt8.self) & 0xF0)
    }

    /// The layout learned from sample values (nil when the samples do not check out).
    public static let layout: Layout? = learn()

    static func learn() -> Layout? {
        let largeBytes = [UInt8](repeating: 0x5A, count: 40)
        let samples: [(RedisValue, BorrowedKind)] = [
            (.string(.int(0x1234_5678_9ABC)), .int), (.string(.int(-1)), .int), (.string(.int(0)), .int),
            (.string(.bytes(ByteString())), .smallString), (.string(.bytes(ByteString(Array("abc".utf8)))), .smallString),
            (.string(.raw(ByteString(Array("fourteen bytes".utf8)))), .smallString),
            (.string(.bytes(ByteString(largeBytes))), .largeString), (.string(.raw(ByteString(largeBytes))), .largeString),
            (.list(ListValue()), .list), (.hash(HashValue()), .hash), (.set(SetValue()), .set), (.zset(ZSetValue()), .zset),
            (.stream(StreamValue()), .stream),
        ]
        var kinds: [UInt16: BorrowedKind] = [:]
        for (value, kind) in samples {
            var v = value
            let key = withUnsafeBytes(of: &v) { tagKey($0.baseAddress!) }
            if let known = kinds[key], known != kind { return nil }
            kinds[key] = kind
        }
        // Every kind must be recognised, and the small string's length must read back.
        guard Set(kinds.values).count == 8 else { return nil }
        var small = RedisValue.string(.bytes(ByteString(Array("abcde".utf8))))
        guard withUnsafeBytes(of: &small, { $0[14] & 0x0F }) == 5 else { return nil }
        // Where the array buffer keeps its count and its elements.
        var large = RedisValue.string(.bytes(ByteString(largeBytes)))
        let object = withUnsafeBytes(of: &large) { UInt(bitPattern: $0.load(as: Int.self)) }
        guard object != 0, case .string(.bytes(let b)) = large, case .large(let array) = b.repr else { return nil }
        let first = array.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        guard first > object, first - object <= 64 else { return nil }
        let elementsOffset = Int(first - object)
        guard let raw = UnsafeRawPointer(bitPattern: object) else { return nil }
        var countOffset = -1
        var off = 8
        while off + 8 <= elementsOffset {
            if raw.load(fromByteOffset: off, as: Int.self) == largeBytes.count { countOffset = off; break }
            off += 8
        }
        guard countOffset > 0 else { return nil }
        // A lone ByteString: which bit of byte 14 differs between small and large.
        func byte14(_ b: ByteString) -> UInt8 { var b = b; return withUnsafeBytes(of: &b) { $0[14] } }
        let smallTags = [ByteString(), ByteString(Array("abc".utf8)), ByteString(Array("fourteen bytes".utf8))].map { byte14($0) & 0xF0 }
        let largeTag = byte14(ByteString(largeBytes)) & 0xF0
        let bit = largeTag & ~(smallTags.reduce(0) { $0 | $1 })
        guard bit.nonzeroBitCount == 1 else { return nil }
        return Layout(kinds: kinds, countOffset: countOffset, elementsOffset: elementsOffset, largeStringBit: bit,
                      deque: learnDeque())
    }

    /// A Deque<ByteString> of known capacity, count and first slot, inspected.
    static func learnDeque() -> DequeLayout? {
        var d = Deque<ByteString>(minimumCapacity: 40)
        for i in 0 ..< 30 { d.append(ByteString(Array("element-\(i)".utf8))) }
        let object = withUnsafeBytes(of: &d) { UInt(bitPattern: $0.load(as: Int.self)) }
        guard let raw = UnsafeRawPointer(bitPattern: object),
              let first = d.withContiguousStorageIfAvailable({ UInt(bitPattern: $0.baseAddress) }), first > object else { return nil }
        let elementsOffset = Int(first - object)
        d.removeFirst(7)
        // Header words: capacity (at least 40), count 23, first slot 7.
        var capacityOffset = -1, countOffset = -1, startOffset = -1
        var off = 8
        while off + 8 <= elementsOffset {
            let v = raw.load(fromByteOffset: off, as: Int.self)
            if v == 23 && countOffset < 0 { countOffset = off } else if v == 7 && startOffset < 0 { startOffset = off } else if v >= 40 && v < 1000 && capacityOffset < 0 { capacityOffset = off }
            off += 8
        }
        guard capacityOffset > 0, countOffset > 0, startOffset > 0 else { return nil }
        let layout = DequeLayout(capacityOffset: capacityOffset, countOffset: countOffset, startOffset: startOffset, elementsOffset: elementsOffset)
        // Check: the walk sees what iteration sees, also after the ring wraps.
        for i in 0 ..< 20 { d.append(ByteString(Array("wrapped-\(i)".utf8))) }
        var walked: [ByteString] = []
        dequeForEach(&d, layout) { walked.append($0.pointee) }
        guard walked == Array(d) else { return nil }
        return layout
    }

    /// Each element of the deque whose struct is at `p`, in order, by address.
    static func dequeForEach(_ p: UnsafeRawPointer, _ layout: DequeLayout, _ body: (UnsafePointer<ByteString>) throws -> Void) rethrows {
        let object = referent(p)!
        let capacity = object.load(fromByteOffset: layout.capacityOffset, as: Int.self)
        let count = object.load(fromByteOffset: layout.countOffset, as: Int.self)
        var slot = object.load(fromByteOffset: layout.startOffset, as: Int.self)
        let elements = object + layout.elementsOffset
        let stride = MemoryLayout<ByteString>.stride
        for _ in 0 ..< count {
            try body((elements + slot * stride).assumingMemoryBound(to: ByteString.self))
            slot += 1
            if slot == capacity { slot = 0 }
        }
    }

    /// The element count of the deque whose struct is at `p`.
    static func dequeCount(_ p: UnsafeRawPointer, _ layout: DequeLayout) -> Int {
        referent(p)!.load(fromByteOffset: layout.countOffset, as: Int.self)
    }

    static func dequeForEach(_ d: inout Deque<ByteString>, _ layout: DequeLayout, _ body: (UnsafePointer<ByteString>) throws -> Void) rethrows {
        try withUnsafeMutablePointer(to: &d) { try dequeForEach(UnsafeRawPointer($0), layout, body) }
    }

    /// The kind of the value at `p`, per `layout`.
    @inline(__always)
    public static func kind(_ p: UnsafePointer<RedisValue>, _ layout: Layout) -> BorrowedKind? {
        layout.kinds[tagKey(UnsafeRawPointer(p))]
    }

    /// An integer-encoded string's value.
    @inline(__always)
    public static func integer(_ p: UnsafePointer<RedisValue>) -> Int64 {
        UnsafeRawPointer(p).load(as: Int64.self)
    }

    /// A string's bytes, read in place (a small one from a stack copy of its 14 bytes).
    @inline(__always)
    public static func withStringBytes<R>(_ p: UnsafePointer<RedisValue>, _ kind: BorrowedKind, _ layout: Layout,
                                   _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let raw = UnsafeRawPointer(p)
        if kind == .smallString { return try withSmallBytes(raw, body) }
        return try withArrayBytes(raw, layout, body)
    }
}

extension BorrowedValue {
    /// A lone ByteString's bytes (a key, a member, a field), read in place.
    @inline(__always)
    public static func withBytes<R>(_ p: UnsafePointer<ByteString>, _ layout: Layout,
                                    _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let raw = UnsafeRawPointer(p)
        if raw.load(fromByteOffset: 14, as: UInt8.self) & layout.largeStringBit == 0 { return try withSmallBytes(raw, body) }
        return try withArrayBytes(raw, layout, body)
    }

    /// A small string's bytes: its 14 bytes copied to the stack, its length in byte 14's low half.
    @inline(__always)
    static func withSmallBytes<R>(_ raw: UnsafeRawPointer, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var words = (raw.load(as: UInt64.self), raw.load(fromByteOffset: 8, as: UInt64.self))
        let n = Int(raw.load(fromByteOffset: 14, as: UInt8.self) & 0x0F)
        return try Swift.withUnsafeBytes(of: &words) { try body(UnsafeRawBufferPointer(start: $0.baseAddress, count: n)) }
    }

    /// The bytes of the [UInt8] whose reference is stored at `p`.
    @inline(__always)
    static func withArrayBytes<R>(_ p: UnsafeRawPointer, _ layout: Layout, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let a = arrayInPlace(p, layout)
        return try body(UnsafeRawBufferPointer(start: a.elements, count: a.count))
    }

    /// The object a reference stored at `p` points to, unretained; nil for a null one (an empty
    /// optional of a single-reference struct, such as a KeyTable that was never created).
    @inline(__always)
    static func referent(_ p: UnsafeRawPointer) -> UnsafeRawPointer? {
        UnsafeRawPointer(bitPattern: p.load(as: UInt.self))
    }

    /// The object an aggregate value points to, unretained.
    @inline(__always)
    static func object(_ p: UnsafePointer<RedisValue>) -> UnsafeRawPointer { referent(UnsafeRawPointer(p))! }

    /// The elements and count of the Array whose reference is stored at `p` (elements aligned to
    /// at most 8 bytes, as every array the engine stores is), read in place.
    @inline(__always)
    static func arrayInPlace(_ p: UnsafeRawPointer, _ layout: Layout) -> (elements: UnsafeRawPointer, count: Int) {
        let object = referent(p)!
        return (object + layout.elementsOffset, object.load(fromByteOffset: layout.countOffset, as: Int.self))
    }
}

extension BorrowedValue {
    /// A key's bytes in place when the layout is known, else the ordinary way.
    @inline(__always)
    public static func withKeyBytes<R>(_ p: UnsafePointer<ByteString>, _ layout: Layout?,
                                       _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let layout { return try withBytes(p, layout, body) }
        return try p.pointee.withUnsafeBytes(body)
    }
}
