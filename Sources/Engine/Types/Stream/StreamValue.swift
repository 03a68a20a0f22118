// StreamValue: the stream type, stored as Redis 7.0 stores it: an ordered run of nodes, each keyed by
// its master ID and holding one listpack (StreamListpack.swift) with a master entry (count, deleted,
// the first entry's field names, 0) followed by entries whose IDs are deltas from the master ID and
// whose field names are left out when they equal the master's (SAMEFIELDS). A new node starts at
// stream-node-max-bytes / stream-node-max-entries. Deleted entries stay as tombstones (flag 1) until
// their node empties. The nodes are kept in a sorted array (appends go to the end; a lookup is a
// binary search), so a node is written to RDB and DUMP exactly as it sits in memory.
// Consumer groups (name order, as Redis's radix tree keeps them) each hold a pending entries list and
// consumers, whose own PELs share the group's NACKs.
import StorageFormat

/// One listpack node: its key (master ID) and its bytes.
struct StreamNode {
    var master: StreamID
    var lp: [UInt8]
}

/// A delivered, not yet acknowledged entry.
final class StreamNACK {
    var deliveryTime: Int64
    var deliveryCount: UInt64
    unowned(unsafe) var consumer: StreamConsumer
    init(deliveryTime: Int64, deliveryCount: UInt64, consumer: StreamConsumer) {
        self.deliveryTime = deliveryTime
        self.deliveryCount = deliveryCount
        self.consumer = consumer
    }
}

/// IDs in ascending order, each with a value (a PEL): a chunked sorted array. Leaves of at most
/// `leafMax` entries, none empty, with the first ID of each leaf kept apart for the binary search; so a
/// lookup, an insert or a removal anywhere costs a search and a move of at most one leaf, and walking in
/// order is a walk over the leaves. Appends past the last ID fill the last leaf and then start a new one.
struct StreamIDMap<Value>: Sequence {
    typealias Entry = (id: StreamID, value: Value)
    static var leafMax: Int { 128 }

    private(set) var leaves: [[Entry]] = []
    /// leaves[i][0].id.
    private(set) var firsts: [StreamID] = []
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    /// A position: a leaf and a slot in it (slot < that leaf's count), or endIndex.
    struct Index: Comparable {
        var leaf: Int
        var slot: Int
        static func < (a: Index, b: Index) -> Bool { a.leaf != b.leaf ? a.leaf < b.leaf : a.slot < b.slot }
    }

    var startIndex: Index { Index(leaf: 0, slot: 0) }
    var endIndex: Index { Index(leaf: leaves.count, slot: 0) }

    @inline(__always)
    func index(after i: Index) -> Index {
        i.slot + 1 < leaves[i.leaf].count ? Index(leaf: i.leaf, slot: i.slot + 1) : Index(leaf: i.leaf + 1, slot: 0)
    }

    @inline(__always)
    subscript(i: Index) -> Entry { leaves[i.leaf][i.slot] }

    var first: Entry? { leaves.first?.first }
    var last: Entry? { leaves.last?.last }

    /// Every ID in order.
    var ids: [StreamID] {
        var out: [StreamID] = []
        out.reserveCapacity(count)
        for leaf in leaves { for e in leaf { out.append(e.id) } }
        return out
    }

    /// The number of leading positions of `0 ..< n` that are `before` the ID searched for, whose ms is
    /// `ms` (positions ascend by ID). A binary search that first narrows by interpolation: IDs are
    /// times, usually spread evenly enough that the first guess lands within a few positions, so a
    /// lookup in a big PEL reads two or three cache lines of a leaf instead of one per halving. A guess
    /// that misses by more than 8 costs one probe before the plain halving.
    /// `a` and `z`: the ms of the first position and a bound at or past the last one's (read elsewhere,
    /// so the guess costs no read of the far end).
    @inline(__always)
    private static func partition(_ n: Int, ms: UInt64, a: UInt64, z: UInt64, before: (Int) -> Bool) -> Int {
        var lo = 0, hi = n
        if n > 16 && ms > a && ms < z {
            let guess = Swift.min(n - 1, Int(Double(ms - a) / Double(z - a) * Double(n - 1)))
            if before(guess) {
                lo = guess + 1
                let w = guess + 8
                if w < n { if before(w) { lo = w + 1 } else { hi = w } }
            } else {
                hi = guess
                let w = guess - 8
                if w >= 0 { if before(w) { lo = w + 1 } else { hi = w } }
            }
        }
        while lo < hi {
            let mid = (lo + hi) / 2
            if before(mid) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The leaf that holds, or would hold, `id`: the last whose first ID is <= `id` (0 when none is).
    @inline(__always)
    private func leafIndex(_ id: StreamID) -> Int {
        let lo = firsts.withUnsafeBufferPointer { f in
            f.isEmpty ? 0 : StreamIDMap.partition(f.count, ms: id.ms, a: f[0].ms, z: f[f.count - 1].ms, before: { f[$0] <= id })
        }
        return lo == 0 ? 0 : lo - 1
    }

    /// The position in leaf `l` of the first ID >= `id`. The leaf's IDs lie between its first ID and
    /// the next leaf's, both in `firsts`.
    @inline(__always)
    private func slot(_ l: Int, _ id: StreamID) -> Int {
        let a = firsts[l].ms
        return leaves[l].withUnsafeBufferPointer { b in
            let z = l + 1 < firsts.count ? firsts[l + 1].ms : (b.last?.id.ms ?? a)
            return StreamIDMap.partition(b.count, ms: id.ms, a: a, z: z, before: { b[$0].id < id })
        }
    }

    /// The first position whose ID is >= `id`.
    func lowerBound(_ id: StreamID) -> Index {
        if leaves.isEmpty { return endIndex }
        let l = leafIndex(id)
        let s = slot(l, id)
        return s < leaves[l].count ? Index(leaf: l, slot: s) : Index(leaf: l + 1, slot: 0)
    }

    func index(of id: StreamID) -> Index? {
        if leaves.isEmpty { return nil }
        let l = leafIndex(id)
        let s = slot(l, id)
        return s < leaves[l].count && leaves[l][s].id == id ? Index(leaf: l, slot: s) : nil
    }

    subscript(id: StreamID) -> Value? {
        guard let i = index(of: id) else { return nil }
        return leaves[i.leaf][i.slot].value
    }

    /// Inserts `value` under `id` unless present; returns whether it was inserted.
    @discardableResult
    mutating func insert(_ id: StreamID, _ value: Value) -> Bool {
        let max = StreamIDMap.leafMax
        if let lastLeaf = leaves.indices.last {
            if leaves[lastLeaf][leaves[lastLeaf].count - 1].id < id {
                if leaves[lastLeaf].count < max {
                    leaves[lastLeaf].append((id, value))
                } else {
                    newLeaf(at: lastLeaf + 1, (id, value))
                }
                count += 1
                return true
            }
        } else {
            newLeaf(at: 0, (id, value))
            count = 1
            return true
        }
        let l = leafIndex(id)
        let s = slot(l, id)
        if s < leaves[l].count && leaves[l][s].id == id { return false }
        if leaves[l].count >= max {
            // Split in halves, then insert into the half that covers `id`.
            let half = leaves[l].count / 2
            let upper = Array(leaves[l][half...])
            leaves[l].removeSubrange(half...)
            leaves.insert(upper, at: l + 1)
            firsts.insert(upper[0].id, at: l + 1)
            if s > half {
                leaves[l + 1].insert((id, value), at: s - half)
            } else {
                leaves[l].insert((id, value), at: s)
            }
        } else {
            leaves[l].insert((id, value), at: s)
        }
        if s == 0 { firsts[l] = id }
        count += 1
        return true
    }

    private mutating func newLeaf(at l: Int, _ e: Entry) {
        var leaf: [Entry] = []
        leaf.reserveCapacity(l == 0 ? 4 : StreamIDMap.leafMax)
        leaf.append(e)
        leaves.insert(leaf, at: l)
        firsts.insert(e.id, at: l)
    }

    @discardableResult
    mutating func remove(_ id: StreamID) -> Value? {
        guard let i = index(of: id) else { return nil }
        return remove(at: i)
    }

    /// Removes the entry at `i`; the entries after it keep their order (positions after `i` move).
    @discardableResult
    mutating func remove(at i: Index) -> Value {
        let l = i.leaf
        let v = leaves[l].remove(at: i.slot).value
        count -= 1
        let n = leaves[l].count
        if n == 0 {
            leaves.remove(at: l)
            firsts.remove(at: l)
            return v
        }
        if i.slot == 0 { firsts[l] = leaves[l][0].id }
        // A leaf fallen under a quarter merges into a neighbour when the two fit in three quarters.
        let max = StreamIDMap.leafMax
        if n < max / 4 {
            if l + 1 < leaves.count && n + leaves[l + 1].count <= max * 3 / 4 {
                let next = leaves.remove(at: l + 1)
                firsts.remove(at: l + 1)
                leaves[l].append(contentsOf: next)
            } else if l > 0 && n + leaves[l - 1].count <= max * 3 / 4 {
                let this = leaves.remove(at: l)
                firsts.remove(at: l)
                leaves[l - 1].append(contentsOf: this)
            }
        }
        return v
    }

    struct Iterator: IteratorProtocol {
        let map: StreamIDMap
        var i: Index
        mutating func next() -> Entry? {
            guard i.leaf < map.leaves.count else { return nil }
            let e = map.leaves[i.leaf][i.slot]
            i = map.index(after: i)
            return e
        }
    }

    func makeIterator() -> Iterator { Iterator(map: self, i: startIndex) }

    /// Iterates from the first ID >= `id`.
    func entries(from id: StreamID) -> IteratorSequence<Iterator> {
        IteratorSequence(Iterator(map: self, i: lowerBound(id)))
    }
}

final class StreamConsumer {
    let name: ByteString
    var seenTime: Int64
    var pel = StreamIDMap<StreamNACK>()
    init(name: ByteString, seenTime: Int64) {
        self.name = name
        self.seenTime = seenTime
    }
}

final class StreamGroup {
    let name: ByteString
    var lastID: StreamID
    /// Entries the group has read; -1 when not known (SCG_INVALID_ENTRIES_READ).
    var entriesRead: Int64
    var pel = StreamIDMap<StreamNACK>()
    /// In name order.
    var consumers: [StreamConsumer] = []

    init(name: ByteString, lastID: StreamID, entriesRead: Int64) {
        self.name = name
        self.lastID = lastID
        self.entriesRead = entriesRead
    }

    func consumerIndex(_ name: ByteString) -> (Int, Bool) {
        var lo = 0, hi = consumers.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if consumers[mid].name < name { lo = mid + 1 } else { hi = mid }
        }
        return (lo, lo < consumers.count && consumers[lo].name == name)
    }

    func consumer(_ name: ByteString) -> StreamConsumer? {
        let (i, found) = consumerIndex(name)
        return found ? consumers[i] : nil
    }

    /// Creates consumer `name`; nil when it exists.
    func createConsumer(_ name: ByteString, now: Int64) -> StreamConsumer? {
        let (i, found) = consumerIndex(name)
        if found { return nil }
        let c = StreamConsumer(name: name, seenTime: now)
        consumers.insert(c, at: i)
        return c
    }

    /// Deletes consumer `name` and its pending entries from the group PEL; returns how many it had.
    func deleteConsumer(_ name: ByteString) -> Int? {
        let (i, found) = consumerIndex(name)
        guard found else { return nil }
        let c = consumers.remove(at: i)
        for e in c.pel { pel.remove(e.id) }
        return c.pel.count
    }
}

/// Where a stream entry sits: its node, the offset of its flags element, and what the reader needs.
struct StreamEntryRef {
    var id: StreamID
    var node: Int
    /// Offset of the entry's first field-or-value element (after flags, deltas and num_fields).
    var fieldsAt: Int
    /// Offset of the master entry's first field.
    var masterFieldsAt: Int
    var numFields: Int
    var sameFields: Bool
}

public final class StreamValue {
    var nodes: [StreamNode] = []
    /// Live entries.
    var length = 0
    var lastID = StreamID.zero
    var firstID = StreamID.zero
    var maxDeletedID = StreamID.zero
    var entriesAdded: UInt64 = 0
    /// In name order.
    var groups: [StreamGroup] = []

    public init() {}

    static let flagDeleted: Int64 = 1
    static let flagSameFields: Int64 = 2
    static let listpackMaxSize = 1 << 30

    // MARK: - Nodes

    /// The index of the last node whose master ID is <= `id`, or nil when every node's is greater.
    func nodeIndex(atOrBefore id: StreamID) -> Int? {
        var lo = 0, hi = nodes.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if nodes[mid].master <= id { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? nil : lo - 1
    }

    /// The master entry of the node at `b`: (live count, deleted count, num fields, first field offset,
    /// offset of the first entry).
    @inline(__always)
    static func master(_ b: UnsafeRawPointer) -> (count: Int64, deleted: Int64, numFields: Int, fieldsAt: Int, entriesAt: Int) {
        let (count, p1) = StreamListpack.int(b, StreamListpack.headerSize)
        let (deleted, p2) = StreamListpack.int(b, p1)
        let (nf, p3) = StreamListpack.int(b, p2)
        let afterFields = StreamListpack.skip(b, p3, Int(nf))
        let entriesAt = StreamListpack.read(b, afterFields).next
        return (count, deleted, Int(nf), p3, entriesAt)
    }

    /// Reads the entry whose flags element is at `p` in node `n` (base `b`); returns its reference,
    /// its flags, and the offset just past it.
    @inline(__always)
    static func entry(_ b: UnsafeRawPointer, _ p: Int, master: StreamID, node: Int, masterFieldsAt: Int,
                      masterFields: Int) -> (StreamEntryRef, Int64, Int) {
        let (flags, q1) = StreamListpack.int(b, p)
        let (msd, q2) = StreamListpack.int(b, q1)
        let (seqd, q3) = StreamListpack.int(b, q2)
        let id = StreamID(ms: master.ms &+ UInt64(bitPattern: msd), seq: master.seq &+ UInt64(bitPattern: seqd))
        var ref = StreamEntryRef(id: id, node: node, fieldsAt: q3, masterFieldsAt: masterFieldsAt, numFields: masterFields,
                                 sameFields: flags & flagSameFields != 0)
        var end: Int
        if ref.sameFields {
            end = StreamListpack.skip(b, q3, masterFields)
        } else {
            let (nf, q4) = StreamListpack.int(b, q3)
            ref.numFields = Int(nf)
            ref.fieldsAt = q4
            end = StreamListpack.skip(b, q4, Int(nf) * 2)
        }
        end = StreamListpack.read(b, end).next // lp_count
        return (ref, flags, end)
    }

    /// Visits live entries between `start` and `end` (inclusive) in ID order (reversed when `rev`),
    /// until `body` returns false. The stream must not change during the walk.
    func forEach(from start: StreamID, to end: StreamID, rev: Bool, tombstones: Bool = false,
                 _ body: (StreamEntryRef, UnsafeRawPointer) -> Bool) {
        guard !nodes.isEmpty, start <= end else { return }
        if !rev {
            var n = nodeIndex(atOrBefore: start) ?? 0
            while n < nodes.count {
                if nodes[n].master > end { return }
                let master = nodes[n].master
                let stop = nodes[n].lp.withUnsafeBytes { raw -> Bool in
                    let b = raw.baseAddress!
                    let m = StreamValue.master(b)
                    var p = m.entriesAt
                    let term = raw.count - 1
                    while p < term {
                        let (ref, flags, next) = StreamValue.entry(b, p, master: master, node: n, masterFieldsAt: m.fieldsAt,
                                                                   masterFields: m.numFields)
                        p = next
                        if flags & StreamValue.flagDeleted != 0 && !tombstones { continue }
                        if ref.id < start { continue }
                        if ref.id > end { return true }
                        if !body(ref, b) { return true }
                    }
                    return false
                }
                if stop { return }
                n += 1
            }
        } else {
            guard var n = nodeIndex(atOrBefore: end) else { return }
            while n >= 0 {
                let master = nodes[n].master
                let stop = nodes[n].lp.withUnsafeBytes { raw -> Bool in
                    let b = raw.baseAddress!
                    let m = StreamValue.master(b)
                    var q = raw.count - 1 // terminator
                    while q > m.entriesAt {
                        let countAt = StreamListpack.prev(b, q)
                        let (lpCount, _) = StreamListpack.int(b, countAt)
                        var flagsAt = countAt
                        for _ in 0 ..< lpCount { flagsAt = StreamListpack.prev(b, flagsAt) }
                        q = flagsAt
                        let (ref, flags, _) = StreamValue.entry(b, flagsAt, master: master, node: n, masterFieldsAt: m.fieldsAt,
                                                                masterFields: m.numFields)
                        if flags & StreamValue.flagDeleted != 0 && !tombstones { continue }
                        if ref.id > end { continue }
                        if ref.id < start { return true }
                        if !body(ref, b) { return true }
                    }
                    return false
                }
                if stop { return }
                n -= 1
            }
        }
    }

    /// Each live entry of one node's listpack, in order (the AOF rewrite's in-place walk).
    static func forEachLiveEntry(master: StreamID, _ lp: UnsafeRawBufferPointer, _ body: (StreamEntryRef, UnsafeRawPointer) -> Void) {
        guard let b = lp.baseAddress, lp.count > 7 else { return }
        let m = StreamValue.master(b)
        var p = m.entriesAt
        let term = lp.count - 1
        while p < term {
            let (ref, flags, next) = StreamValue.entry(b, p, master: master, node: 0, masterFieldsAt: m.fieldsAt, masterFields: m.numFields)
            p = next
            if flags & StreamValue.flagDeleted == 0 { body(ref, b) }
        }
    }

    /// Each field and value of `ref` (read in place at `b`).
    @inline(__always)
    static func forEachField(_ ref: StreamEntryRef, _ b: UnsafeRawPointer,
                             _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) rethrows {
        var f = ref.sameFields ? ref.masterFieldsAt : ref.fieldsAt
        var v = ref.fieldsAt
        for _ in 0 ..< ref.numFields {
            let fe: LPElement
            let ve: LPElement
            if ref.sameFields {
                fe = StreamListpack.read(b, f); f = fe.next
                ve = StreamListpack.read(b, v); v = ve.next
            } else {
                fe = StreamListpack.read(b, v)
                ve = StreamListpack.read(b, fe.next); v = ve.next
            }
            try StreamListpack.withBytes(b, fe) { fb in try StreamListpack.withBytes(b, ve) { vb in try body(fb, vb) } }
        }
    }

    /// The first (or last) live entry's ID, nil when there is none.
    func edgeID(first: Bool) -> StreamID? {
        var found: StreamID?
        forEach(from: .zero, to: StreamID(ms: .max, seq: .max), rev: !first) { ref, _ in
            found = ref.id
            return false
        }
        return found
    }

    /// Whether a live entry `id` exists.
    func contains(_ id: StreamID) -> Bool {
        var found = false
        forEach(from: id, to: id, rev: false) { _, _ in found = true; return false }
        return found
    }

    // MARK: - Adding

    /// Appends an entry `id` (already checked to be greater than lastID) with `args[from...]` as
    /// field, value pairs. The node limits are stream-node-max-bytes / -entries.
    func append(id: StreamID, args: [[UInt8]], from: Int, maxBytes: Int, maxEntries: Int) {
        let numFields = (args.count - from) / 2
        var totalLen = 0
        var i = from
        while i < args.count { totalLen += args[i].count + args[i + 1].count; i += 2 }
        var nodeMax = maxBytes
        if nodeMax == 0 || nodeMax > StreamValue.listpackMaxSize { nodeMax = StreamValue.listpackMaxSize }

        // One read of the tail node's master entry: its counts, and whether the new entry's field
        // names equal the master's (then they are left out: SAMEFIELDS).
        var useLast = false
        var lastCount: Int64 = 0
        var sameAsMaster = false
        if let last = nodes.indices.last, nodes[last].lp.count + totalLen < nodeMax {
            let (count, deleted, same) = nodes[last].lp.withUnsafeBytes { raw -> (Int64, Int64, Bool) in
                let b = raw.baseAddress!
                let m = StreamValue.master(b)
                guard m.numFields == numFields else { return (m.count, m.deleted, false) }
                var p = m.fieldsAt
                var j = from
                for _ in 0 ..< numFields {
                    let e = StreamListpack.read(b, p)
                    if !args[j].withUnsafeBytes({ StreamListpack.equals(b, e, $0) }) { return (m.count, m.deleted, false) }
                    p = e.next
                    j += 2
                }
                return (m.count, m.deleted, true)
            }
            useLast = maxEntries <= 0 || count + deleted < Int64(maxEntries)
            lastCount = count
            sameAsMaster = same
        }
        var flags = Int64(0)
        if !useLast {
            // The full tail node gives back its spare capacity (Redis's lpShrinkToFit).
            if let last = nodes.indices.last, nodes[last].lp.capacity > nodes[last].lp.count {
                nodes[last].lp = nodes[last].lp.withUnsafeBufferPointer { Array($0) }
            }
            var lp = StreamListpack.empty()
            // A stream's first node grows as it fills (a stream of a few entries stays small); once a
            // node has filled, the next one is preallocated as Redis does (up to 4 KiB).
            if !nodes.isEmpty { lp.reserveCapacity(min(nodeMax, 4096)) }
            StreamListpack.appendInt(&lp, 1)
            StreamListpack.appendInt(&lp, 0)
            StreamListpack.appendInt(&lp, Int64(numFields))
            var j = from
            while j < args.count { args[j].withUnsafeBytes { StreamListpack.appendString(&lp, $0) }; j += 2 }
            StreamListpack.appendInt(&lp, 0)
            nodes.append(StreamNode(master: id, lp: lp))
            flags = StreamValue.flagSameFields
        } else {
            StreamListpack.replaceInt(&nodes[nodes.count - 1].lp, at: StreamListpack.headerSize, lastCount + 1)
            if sameAsMaster { flags = StreamValue.flagSameFields }
        }
        let n = nodes.count - 1
        let master = nodes[n].master
        var lp = nodes[n].lp
        nodes[n].lp = []
        let sameFields = flags == StreamValue.flagSameFields
        // The entry is written in place over the terminator: room for its worst case is appended,
        // filled, and the rest cut off (integers take at most 10 bytes, a string's header and backlen 10).
        let elements = 4 + numFields + (sameFields ? 0 : numFields + 1)
        let room = totalLen + elements * 10
        if lp.capacity - lp.count < room {
            // A node still growing (a stream's first): element by element, so that the spare room of
            // the worst case does not end up as capacity.
            lp.removeLast()
            StreamListpack.encodeInt(flags, into: &lp)
            StreamListpack.encodeInt(Int64(bitPattern: id.ms &- master.ms), into: &lp)
            StreamListpack.encodeInt(Int64(bitPattern: id.seq &- master.seq), into: &lp)
            if !sameFields { StreamListpack.encodeInt(Int64(numFields), into: &lp) }
            var j = from
            while j < args.count {
                if !sameFields { args[j].withUnsafeBytes { StreamListpack.encodeString($0, into: &lp) } }
                args[j + 1].withUnsafeBytes { StreamListpack.encodeString($0, into: &lp) }
                j += 2
            }
            StreamListpack.encodeInt(Int64(elements - 1), into: &lp)
            lp.append(0xFF)
            StreamListpack.fixHeader(&lp, countDelta: elements)
            nodes[n].lp = lp
            finishAppend(id)
            return
        }
        let start = lp.count - 1
        lp.append(contentsOf: repeatElement(0, count: room))
        let used = lp.withUnsafeMutableBytes { raw -> Int in
            let base = raw.baseAddress! + start
            var p = base
            p += StreamListpack.encodeInt(flags, to: p)
            p += StreamListpack.encodeInt(Int64(bitPattern: id.ms &- master.ms), to: p)
            p += StreamListpack.encodeInt(Int64(bitPattern: id.seq &- master.seq), to: p)
            if !sameFields { p += StreamListpack.encodeInt(Int64(numFields), to: p) }
            var j = from
            while j < args.count {
                if !sameFields { p += args[j].withUnsafeBytes { StreamListpack.encodeString($0, to: p) } }
                p += args[j + 1].withUnsafeBytes { StreamListpack.encodeString($0, to: p) }
                j += 2
            }
            p += StreamListpack.encodeInt(Int64(elements - 1), to: p)
            p.storeBytes(of: 0xFF, as: UInt8.self)
            return p + 1 - base
        }
        lp.removeLast(lp.count - start - used)
        StreamListpack.fixHeader(&lp, countDelta: elements)
        nodes[n].lp = lp
        finishAppend(id)
    }

    @inline(__always)
    private func finishAppend(_ id: StreamID) {
        length += 1
        entriesAdded &+= 1
        lastID = id
        if length == 1 { firstID = id }
    }

    // MARK: - Deleting

    /// Marks live entry `id` deleted (removing its node when it was the node's last live entry).
    func delete(_ id: StreamID) -> Bool {
        guard let n = nodeIndex(atOrBefore: id) else { return false }
        let master = nodes[n].master
        let found: (flagsAt: Int, flags: Int64, count: Int64)? = nodes[n].lp.withUnsafeBytes { raw in
            let b = raw.baseAddress!
            let m = StreamValue.master(b)
            var p = m.entriesAt
            let term = raw.count - 1
            while p < term {
                let (ref, flags, next) = StreamValue.entry(b, p, master: master, node: n, masterFieldsAt: m.fieldsAt, masterFields: m.numFields)
                if ref.id == id {
                    if flags & StreamValue.flagDeleted != 0 { return nil }
                    return (p, flags, m.count)
                }
                if ref.id > id { return nil }
                p = next
            }
            return nil
        }
        guard let f = found else { return false }
        if f.count == 1 {
            nodes.remove(at: n)
        } else {
            StreamListpack.replaceInt(&nodes[n].lp, at: f.flagsAt, f.flags | StreamValue.flagDeleted)
            markDeletedInMaster(n, by: 1)
        }
        length -= 1
        return true
    }

    /// count -= k, deleted += k in node `n`'s master entry.
    private func markDeletedInMaster(_ n: Int, by k: Int64) {
        let m = nodes[n].lp.withUnsafeBytes { StreamValue.master($0.baseAddress!) }
        StreamListpack.replaceInt(&nodes[n].lp, at: StreamListpack.headerSize, m.count - k)
        let deletedAt = nodes[n].lp.withUnsafeBytes { StreamListpack.read($0.baseAddress!, StreamListpack.headerSize).next }
        StreamListpack.replaceInt(&nodes[n].lp, at: deletedAt, m.deleted + k)
    }

    enum TrimStrategy { case maxLen(Int64), minID(StreamID) }

    /// Trims from the head as Redis's streamTrim does: whole nodes first; with `approx`, nothing
    /// inside a node; `limit` caps the entries removed (0: no cap). Returns the entries removed.
    func trim(_ strategy: TrimStrategy, approx: Bool, limit: Int64) -> Int64 {
        var deleted: Int64 = 0
        while !nodes.isEmpty {
            if case .maxLen(let maxLen) = strategy, Int64(length) <= maxLen { break }
            let master = nodes[0].master
            let (m, lastEntryID): ((count: Int64, deleted: Int64, numFields: Int, fieldsAt: Int, entriesAt: Int), StreamID?) =
                nodes[0].lp.withUnsafeBytes { raw in
                    let b = raw.baseAddress!
                    let m = StreamValue.master(b)
                    var last: StreamID?
                    let countAt = StreamListpack.prev(b, raw.count - 1)
                    let (lpCount, _) = StreamListpack.int(b, countAt)
                    if lpCount != 0 {
                        var q = countAt
                        for _ in 0 ..< lpCount { q = StreamListpack.prev(b, q) }
                        let (_, p1) = StreamListpack.int(b, q)
                        let (msd, p2) = StreamListpack.int(b, p1)
                        let (seqd, _) = StreamListpack.int(b, p2)
                        last = StreamID(ms: master.ms &+ UInt64(bitPattern: msd), seq: master.seq &+ UInt64(bitPattern: seqd))
                    }
                    return (m, last)
                }
            let entries = m.count
            if limit > 0 && deleted + entries > limit { break }
            let removeNode: Bool
            switch strategy {
            case .maxLen(let maxLen): removeNode = Int64(length) - entries >= maxLen
            case .minID(let minID): removeNode = (lastEntryID ?? master) < minID
            }
            if removeNode {
                nodes.removeFirst()
                length -= Int(entries)
                deleted += entries
                continue
            }
            if approx { break }
            // Mark entries deleted inside the first node.
            var fromNode: Int64 = 0
            var p = m.entriesAt
            while true {
                let term = nodes[0].lp.count - 1
                if p >= term { break }
                let (ref, flags, next) = nodes[0].lp.withUnsafeBytes {
                    StreamValue.entry($0.baseAddress!, p, master: master, node: 0, masterFieldsAt: m.fieldsAt, masterFields: m.numFields)
                }
                let stop: Bool
                switch strategy {
                case .maxLen(let maxLen): stop = Int64(length) <= maxLen
                case .minID(let minID): stop = ref.id >= minID
                }
                if stop { break }
                if flags & StreamValue.flagDeleted == 0 {
                    let before = nodes[0].lp.count
                    StreamListpack.replaceInt(&nodes[0].lp, at: p, flags | StreamValue.flagDeleted)
                    p = next + (nodes[0].lp.count - before)
                    fromNode += 1
                    length -= 1
                } else {
                    p = next
                }
            }
            deleted += fromNode
            if fromNode > 0 { markDeletedInMaster(0, by: fromNode) }
            break
        }
        if deleted > 0 { firstID = edgeID(first: true) ?? .zero }
        return deleted
    }

    // MARK: - Groups

    func groupIndex(_ name: ByteString) -> (Int, Bool) {
        var lo = 0, hi = groups.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if groups[mid].name < name { lo = mid + 1 } else { hi = mid }
        }
        return (lo, lo < groups.count && groups[lo].name == name)
    }

    func group(_ name: ByteString) -> StreamGroup? {
        let (i, found) = groupIndex(name)
        return found ? groups[i] : nil
    }

    /// Creates group `name`; nil when it exists.
    func createGroup(_ name: ByteString, lastID: StreamID, entriesRead: Int64) -> StreamGroup? {
        let (i, found) = groupIndex(name)
        if found { return nil }
        let g = StreamGroup(name: name, lastID: lastID, entriesRead: entriesRead)
        groups.insert(g, at: i)
        return g
    }

    /// An independent copy (groups, consumers and PELs included).
    public func copy() -> StreamValue {
        let s = StreamValue()
        s.nodes = nodes
        s.length = length
        s.lastID = lastID
        s.firstID = firstID
        s.maxDeletedID = maxDeletedID
        s.entriesAdded = entriesAdded
        for g in groups {
            let ng = StreamGroup(name: g.name, lastID: g.lastID, entriesRead: g.entriesRead)
            var byName: [ByteString: StreamConsumer] = [:]
            for c in g.consumers {
                let nc = StreamConsumer(name: c.name, seenTime: c.seenTime)
                ng.consumers.append(nc)
                byName[c.name] = nc
            }
            for (id, nack) in g.pel {
                let owner = byName[nack.consumer.name]!
                let nn = StreamNACK(deliveryTime: nack.deliveryTime, deliveryCount: nack.deliveryCount, consumer: owner)
                ng.pel.insert(id, nn)
                owner.pel.insert(id, nn)
            }
            s.groups.append(ng)
        }
        return s
    }
}
