// The RDB value model: what StorageFormat decodes a key's value into and encodes from.
// It is format data, not the engine's types: the engine and the tools convert.

/// A stream entry ID (`ms-seq`).
public struct StreamID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var ms: UInt64
    public var seq: UInt64
    public init(ms: UInt64, seq: UInt64) { self.ms = ms; self.seq = seq }
    public static let zero = StreamID(ms: 0, seq: 0)
    public static func < (a: StreamID, b: StreamID) -> Bool { (a.ms, a.seq) < (b.ms, b.seq) }
    public var description: String { "\(ms)-\(seq)" }
}

/// A sorted-set member and its score.
public struct RDBScoredMember: Sendable, Equatable {
    public var member: [UInt8]
    public var score: Double
    public init(member: [UInt8], score: Double) { self.member = member; self.score = score }
}

/// A hash field, its value, and its absolute expiry in Unix ms (0 = no expiry; Redis 7.4+ field TTLs).
public struct RDBHashField: Sendable, Equatable {
    public var field: [UInt8]
    public var value: [UInt8]
    public var expiresAt: Int64
    public init(field: [UInt8], value: [UInt8], expiresAt: Int64 = 0) {
        self.field = field; self.value = value; self.expiresAt = expiresAt
    }
}

/// One listpack node of a stream, kept as stored: the master ID and the node's listpack bytes.
public struct RDBStreamNode: Sendable, Equatable {
    public var masterID: StreamID
    public var listpack: [UInt8]
    public init(masterID: StreamID, listpack: [UInt8]) { self.masterID = masterID; self.listpack = listpack }
}

/// A pending entry in a consumer group's PEL.
public struct RDBStreamPending: Sendable, Equatable {
    public var id: StreamID
    public var deliveryTime: Int64
    public var deliveryCount: UInt64
    public init(id: StreamID, deliveryTime: Int64, deliveryCount: UInt64) {
        self.id = id; self.deliveryTime = deliveryTime; self.deliveryCount = deliveryCount
    }
}

public struct RDBStreamConsumer: Sendable, Equatable {
    public var name: [UInt8]
    public var seenTime: Int64
    /// Last successful interaction (RDB v11+); nil when the file had no field for it.
    public var activeTime: Int64?
    /// IDs this consumer owns; each is also in the group PEL.
    public var pending: [StreamID]
    public init(name: [UInt8], seenTime: Int64, activeTime: Int64?, pending: [StreamID]) {
        self.name = name; self.seenTime = seenTime; self.activeTime = activeTime; self.pending = pending
    }
}

public struct RDBStreamGroup: Sendable, Equatable {
    public var name: [UInt8]
    public var lastDelivered: StreamID
    /// Entries read (RDB v10+); -1 = unknown; nil when the file had no field for it.
    public var entriesRead: Int64?
    public var pending: [RDBStreamPending]
    public var consumers: [RDBStreamConsumer]
    public init(name: [UInt8], lastDelivered: StreamID, entriesRead: Int64?, pending: [RDBStreamPending], consumers: [RDBStreamConsumer]) {
        self.name = name; self.lastDelivered = lastDelivered; self.entriesRead = entriesRead
        self.pending = pending; self.consumers = consumers
    }
}

public struct RDBStream: Sendable, Equatable {
    public var nodes: [RDBStreamNode]
    public var length: UInt64
    public var lastID: StreamID
    /// v10+ metadata; nil when the file (stream v1) had no field for it.
    public var firstID: StreamID?
    public var maxDeletedID: StreamID?
    public var entriesAdded: UInt64?
    public var groups: [RDBStreamGroup]
    public init(nodes: [RDBStreamNode], length: UInt64, lastID: StreamID, firstID: StreamID?,
                maxDeletedID: StreamID?, entriesAdded: UInt64?, groups: [RDBStreamGroup]) {
        self.nodes = nodes; self.length = length; self.lastID = lastID; self.firstID = firstID
        self.maxDeletedID = maxDeletedID; self.entriesAdded = entriesAdded; self.groups = groups
    }
}

/// A module value or MODULE_AUX record, kept as raw bytes so it can be reported, skipped, or copied.
public struct RDBModuleValue: Sendable, Equatable {
    /// The 64-bit module id as stored.
    public var moduleID: UInt64
    /// The opcode stream after the id, through its terminating EOF opcode, exactly as stored.
    public var raw: [UInt8]
    public init(moduleID: UInt64, raw: [UInt8]) { self.moduleID = moduleID; self.raw = raw }

    /// The 9-character module type name packed in the id.
    public var name: String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var s = ""
        let id = moduleID >> 10
        for i in 0 ..< 9 {
            let shift = UInt64(6 * (8 - i))
            s.append(alphabet[Int((id >> shift) & 63)])
        }
        return s
    }
    /// The module's encoding version (low 10 bits of the id).
    public var encodingVersion: Int { Int(moduleID & 1023) }
}

/// A decoded value.
public enum RDBValue: Sendable, Equatable {
    case string([UInt8])
    case list([[UInt8]])
    case set([[UInt8]])
    /// Members in the order the file stored them.
    case sortedSet([RDBScoredMember])
    /// Fields in the order the file stored them; `expiresAt` non-zero only for Redis 7.4+ field TTLs.
    case hash([RDBHashField])
    case stream(RDBStream)
    case module(RDBModuleValue)

    /// Redis's type name (`TYPE`).
    public var typeName: String {
        switch self {
        case .string: return "string"
        case .list: return "list"
        case .set: return "set"
        case .sortedSet: return "zset"
        case .hash: return "hash"
        case .stream: return "stream"
        case .module: return "module"
        }
    }
}

/// A key and its value as read from (or to be written to) an RDB file.
public struct RDBEntry: Sendable, Equatable {
    public var db: Int
    public var key: [UInt8]
    public var value: RDBValue
    /// The type code the file used (tells the encoding); writers choose their own.
    public var typeCode: UInt8
    /// Absolute expiry in Unix ms, if any.
    public var expiresAt: Int64?
    /// LRU idle seconds (IDLE opcode), if present.
    public var idle: UInt64?
    /// LFU counter (FREQ opcode), if present.
    public var freq: UInt8?
    /// Offset of the first byte of this key's record (its first per-key opcode or its type byte).
    public var offset: Int

    public init(db: Int, key: [UInt8], value: RDBValue, typeCode: UInt8, expiresAt: Int64? = nil,
                idle: UInt64? = nil, freq: UInt8? = nil, offset: Int = 0) {
        self.db = db; self.key = key; self.value = value; self.typeCode = typeCode
        self.expiresAt = expiresAt; self.idle = idle; self.freq = freq; self.offset = offset
    }
}

/// One record of an RDB file, in file order.
public enum RDBRecord: Sendable, Equatable {
    case aux(key: [UInt8], value: [UInt8])
    case selectDB(Int)
    case resizeDB(dbSize: UInt64, expiresSize: UInt64)
    case slotInfo(slot: UInt64, size: UInt64, expiresSize: UInt64)
    case moduleAux(RDBModuleValue, when: UInt64)
    /// A function library's source (FUNCTION2).
    case function(code: [UInt8])
    case entry(RDBEntry)
    /// The EOF opcode. `checksum` is the stored CRC64 (nil before v5); `verified` is false when it was 0 (disabled).
    case end(checksum: UInt64?, verified: Bool)
}
