// StreamPersistence: what persistence and introspection need of a stream (StoredType). The nodes are
// Redis's own listpacks, so the RDB model carries them as they are; metadata and groups follow.
// Redis 7.0 writes type 19 (stream v2: first ID, max deleted ID, entries added, groups' entries read);
// the loader takes 15, 19 and 21 (a v1 stream's missing fields are derived as Redis derives them).
import StorageFormat

extension StreamValue: StoredType {
    static var row: TypeTableRow { TypeTable.stream }

    var redisValue: RedisValue { .stream(self) }

    var encodingName: String { "stream" }

    /// The metadata and groups, without nodes.
    var rdbMetadata: RDBStream {
        var gs: [RDBStreamGroup] = []
        gs.reserveCapacity(groups.count)
        for g in groups {
            var pending: [RDBStreamPending] = []
            pending.reserveCapacity(g.pel.count)
            for (id, n) in g.pel {
                pending.append(RDBStreamPending(id: id, deliveryTime: n.deliveryTime, deliveryCount: n.deliveryCount))
            }
            let consumers = g.consumers.map {
                RDBStreamConsumer(name: $0.name.bytes, seenTime: $0.seenTime, activeTime: nil, pending: $0.pel.ids)
            }
            gs.append(RDBStreamGroup(name: g.name.bytes, lastDelivered: g.lastID, entriesRead: g.entriesRead,
                                     pending: pending, consumers: consumers))
        }
        return RDBStream(nodes: [], length: UInt64(length), lastID: lastID, firstID: firstID, maxDeletedID: maxDeletedID,
                         entriesAdded: entriesAdded, groups: gs)
    }

    public var rdbValue: RDBValue {
        var s = rdbMetadata
        s.nodes = nodes.map { RDBStreamNode(masterID: $0.master, listpack: $0.lp) }
        return .stream(s)
    }

    static func restore(_ rdb: RDBValue, typeCode: UInt8?, config: EngineConfig) throws -> StreamValue {
        guard case .stream(let s) = rdb else { throw ValueConversionError(.unsupportedType, "not a stream") }
        let v = StreamValue()
        for n in s.nodes { try v.addLoadedNode(n) }
        try v.applyLoaded(s)
        return v
    }

    /// A node read from RDB, kept as stored (an empty node is refused, as Redis refuses it).
    func addLoadedNode(_ n: RDBStreamNode) throws {
        guard n.listpack.count > 7 else { throw ValueConversionError(.empty, "empty listpack inside stream") }
        if let last = nodes.last, !(last.master < n.masterID) {
            throw ValueConversionError(.duplicate, "stream node keys out of order")
        }
        nodes.append(StreamNode(master: n.masterID, lp: n.listpack))
    }

    /// The metadata and groups read after the nodes.
    func applyLoaded(_ s: RDBStream) throws {
        length = Int(s.length)
        lastID = s.lastID
        if let f = s.firstID {
            firstID = f
            maxDeletedID = s.maxDeletedID ?? .zero
            entriesAdded = s.entriesAdded ?? s.length
        } else {
            firstID = edgeID(first: true) ?? .zero
            maxDeletedID = .zero
            entriesAdded = s.length
        }
        if nodes.isEmpty && length != 0 { throw ValueConversionError(.empty, "stream with entries but no nodes") }
        for rg in s.groups {
            let entriesRead = rg.entriesRead ?? estimateDistanceFromFirstEverEntry(rg.lastDelivered)
            guard let g = createGroup(ByteString(rg.name), lastID: rg.lastDelivered, entriesRead: entriesRead) else {
                throw ValueConversionError(.duplicate, "duplicated consumer group name")
            }
            var unowned = StreamIDMap<RDBStreamPending>()
            for p in rg.pending { unowned.insert(p.id, p) }
            for rc in rg.consumers {
                guard let c = g.createConsumer(ByteString(rc.name), now: rc.seenTime) else {
                    throw ValueConversionError(.duplicate, "duplicate stream consumer")
                }
                c.seenTime = rc.seenTime
                for id in rc.pending {
                    guard let p = unowned.remove(id) else {
                        throw ValueConversionError(.duplicate, "consumer pending entry not in the group PEL")
                    }
                    let nack = StreamNACK(deliveryTime: p.deliveryTime, deliveryCount: p.deliveryCount, consumer: c)
                    g.pel.insert(id, nack)
                    c.pel.insert(id, nack)
                }
            }
            if !unowned.isEmpty { throw ValueConversionError(.duplicate, "group pending entry without a consumer") }
        }
    }

    func pinEncoding(_ options: inout RDBWriterOptions, config: EngineConfig) {}

    /// Per live entry in order: mix("ms.seq"), then each field and value.
    func digest(into d: inout SHA1Digest) {
        forEach(from: .zero, to: StreamCommands.maxID, rev: false) { ref, b in
            var text: [UInt8] = []
            StreamCommands.appendUInt(ref.id.ms, to: &text)
            text.append(UInt8(ascii: "."))
            StreamCommands.appendUInt(ref.id.seq, to: &text)
            d.mixIn(text)
            StreamValue.forEachField(ref, b) { f, v in
                d.mixIn(f)
                d.mixIn(v)
            }
            return true
        }
    }

    /// The node buffers as allocated (header and capacity) and their slots, plus the groups' bookkeeping.
    var memoryEstimate: Int {
        var n = 64 + nodes.capacity * MemoryLayout<StreamNode>.stride
        for node in nodes { n += node.lp.capacity + 32 }
        for g in groups { n += 64 + g.pel.count * 56 + g.consumers.count * 64 }
        return n
    }

    /// The nodes by address (each node's listpack read where it lies), then the metadata and groups,
    /// which are small and built as a model.
    static func visitInPlace<V: BorrowedAggregateVisitor>(_ object: UnsafeRawPointer, _ layout: BorrowedValue.Layout,
                                                          _ v: inout V) throws -> Bool {
        try Unmanaged<StreamValue>.fromOpaque(object)._withUnsafeGuaranteedRef { s in
            let nodes = BorrowedValue.arrayInPlace(withUnsafeMutablePointer(to: &s.nodes) { UnsafeRawPointer($0) }, layout)
            let stride = MemoryLayout<StreamNode>.stride
            let lpOffset = MemoryLayout<StreamNode>.offset(of: \StreamNode.lp)!
            let masterOffset = MemoryLayout<StreamNode>.offset(of: \StreamNode.master)!
            try v.streamBegin(nodes: nodes.count)
            for i in 0 ..< nodes.count {
                let node = nodes.elements + i * stride
                let master = node.load(fromByteOffset: masterOffset, as: StreamID.self)
                let lp = BorrowedValue.arrayInPlace(node + lpOffset, layout)
                try v.streamNode(master: master, listpack: UnsafeRawBufferPointer(start: lp.elements, count: lp.count))
            }
            try v.streamEnd(s.rdbMetadata)
        }
        return true
    }

    /// Collects the decoder's nodes, then the metadata.
    struct Builder: StoredTypeBuilder {
        var value: StreamValue?
        mutating func begin(_ header: RDBKeyHeader, config: EngineConfig) throws {
            value = StreamValue()
        }
        mutating func node(_ n: RDBStreamNode) throws {
            try value!.addLoadedNode(n)
        }
        mutating func streamEnd(_ s: RDBStream) throws {
            try value!.applyLoaded(s)
        }
        mutating func end() throws -> RedisValue {
            defer { value = nil }
            return .stream(value!)
        }
    }
}
