// StreamNodes: walks a stream node's listpack (FORMATS.md §6.6) to list its entries.
// Master entry: count, deleted, num_fields, field_1..field_N, 0. Then per entry: flags, ms delta,
// seq delta, then either values (SAMEFIELDS) or num_fields + field/value pairs, then lp_count.

/// One stream entry decoded from a node.
public struct StreamEntry: Sendable, Equatable {
    public var id: StreamID
    public var deleted: Bool
    /// field, value, field, value, ...
    public var fieldsAndValues: [[UInt8]]
}

public enum StreamNodes {
    static let flagDeleted: Int64 = 1
    static let flagSameFields: Int64 = 2

    /// Every entry of one node, deleted ones included (flagged).
    public static func entries(_ node: RDBStreamNode, baseOffset: Int = 0) throws -> [StreamEntry] {
        var elems: [CompactElementValue] = []
        _ = try node.listpack.withUnsafeBytes { b in
            try Listpack.forEach(b, baseOffset: baseOffset) { e in
                switch e {
                case .int(let v): elems.append(.int(v))
                case .bytes(let s): elems.append(.bytes(Array(s)))
                }
            }
        }
        var i = 0
        func bad(_ what: String) -> FormatError {
            FormatError(offset: baseOffset, context: "stream listpack", expected: what, found: "element \(i) of \(elems.count)")
        }
        func int() throws -> Int64 {
            guard i < elems.count, case .int(let v) = elems[i].normalized else { throw bad("an integer") }
            i += 1
            return v
        }
        func bytes() throws -> [UInt8] {
            guard i < elems.count else { throw bad("a string") }
            defer { i += 1 }
            return elems[i].bytes
        }
        let count = try int()
        let deleted = try int()
        let numFields = try int()
        guard count >= 0, deleted >= 0, numFields >= 0, Int(numFields) <= elems.count else { throw bad("a valid master entry") }
        var masterFields = [[UInt8]]()
        for _ in 0 ..< numFields { masterFields.append(try bytes()) }
        guard try int() == 0 else { throw bad("the master entry terminator 0") }
        var out = [StreamEntry]()
        while i < elems.count {
            let flags = try int()
            let msDelta = try int()
            let seqDelta = try int()
            let id = StreamID(ms: node.masterID.ms &+ UInt64(bitPattern: msDelta), seq: node.masterID.seq &+ UInt64(bitPattern: seqDelta))
            var fv = [[UInt8]]()
            if flags & flagSameFields != 0 {
                for f in masterFields { fv.append(f); fv.append(try bytes()) }
            } else {
                let n = try int()
                guard n >= 0, Int(n) <= elems.count else { throw bad("a field count") }
                for _ in 0 ..< n { fv.append(try bytes()); fv.append(try bytes()) }
            }
            _ = try int() // lp_count
            out.append(StreamEntry(id: id, deleted: flags & flagDeleted != 0, fieldsAndValues: fv))
        }
        guard out.count == Int(count + deleted) else { throw bad("\(count + deleted) entries") }
        return out
    }

    /// The first non-deleted entry's ID across nodes, or nil when all are deleted.
    public static func firstLiveID(_ nodes: [RDBStreamNode]) throws -> StreamID? {
        for n in nodes {
            if let e = try entries(n).first(where: { !$0.deleted }) { return e.id }
        }
        return nil
    }
}

/// A listpack element kept after the walk.
enum CompactElementValue {
    case int(Int64)
    case bytes([UInt8])
    var bytes: [UInt8] {
        switch self {
        case .int(let v): return StrictInteger.format(v)
        case .bytes(let b): return b
        }
    }
    /// Integers stored as text still count as integers (Redis's lpGetInteger).
    var normalized: CompactElementValue {
        if case .bytes(let b) = self, let v = StrictInteger.parse(b) { return .int(v) }
        return self
    }
}
