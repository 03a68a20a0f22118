// ClientMemory: what the clients cost, kept as running totals, and client eviction
// (maxmemory-clients), as Redis 7.0 does both.
//
// Each client's memory (Session.memoryUsage: query buffer, arguments, output, MULTI queue, watched
// keys, subscriptions) is recounted in O(1) after each batch of input, each write, and by the cron; the
// server keeps the totals per kind (normal, pub/sub, replica) by subtracting what was last counted
// and adding the new figure. While maxmemory-clients is set, every client that may be evicted (not a
// replica, not CLIENT NO-EVICT) sits in one of Redis's buckets: bucket i holds the clients whose
// memory has i+15 significant bits (up to 32 KB in the first, 4 GB and more in the last), so the
// largest are found without sorting. When normal and pub/sub clients together reach the limit, the
// largest clients of the highest bucket are disconnected until the total is under it: before each
// command, before the loop sleeps (after replies went out), after CONFIG SET and in the cron.
//
// The query buffer is sized as Redis sizes it: 16 KB to read into; a bulk argument of 32 KB or more
// gets a buffer of exactly its size, which becomes the argument itself when complete (a new one of
// that size takes its place); the cron gives back room a client no longer uses (all of it after
// 2 s idle; down to the recent peak for a large buffer). The reply buffer is resized by the cron from
// its peak use (Session.resizeReplyBuffer).
import Engine

extension CairnServer {
    /// Room the query buffer gets before a read (Redis's PROTO_IOBUF_LEN).
    static let queryReadBytes = 16 * 1024
    /// A bulk argument this long is read into a buffer of its own size (PROTO_MBULK_BIG_ARG).
    static let bigArgumentBytes = 32 * 1024
    /// A query buffer larger than this shrinks toward its recent peak (PROTO_RESIZE_THRESHOLD).
    static let queryResizeThreshold = 32 * 1024
    static let evictionBucketMinBits = 15
    static let evictionBucketMaxBits = 33
    static let evictionBucketCount = evictionBucketMaxBits - evictionBucketMinBits + 1

    /// Memory of the clients maxmemory-clients limits (normal and pub/sub).
    var evictableKindsMemory: Int { clientMemory[ClientKind.normal.rawValue] &+ clientMemory[ClientKind.pubsub.rawValue] }

    /// The limit in bytes from maxmemory-clients (a percentage of maxmemory when negative), 0 when off;
    /// never under 128 KB, so a bad setting cannot cut every client off.
    func computeClientEvictionLimit() -> Int {
        let setting = config.int("maxmemory-clients")
        var limit = 0
        if setting < 0 {
            let maxmemory = Int(clamping: config.maxmemory)
            guard maxmemory > 0 else { return 0 }
            limit = Int(Double(maxmemory) * Double(-setting) / 100)
        } else if setting > 0 {
            limit = setting
        } else {
            return 0
        }
        return max(limit, 128 * 1024)
    }

    /// CONFIG SET maxmemory-clients / maxmemory: the limit changes; turning eviction on or off places
    /// every client in its bucket or takes them all out. The eviction itself runs before the loop sleeps.
    func applyClientEvictionLimit() {
        let limit = computeClientEvictionLimit()
        let wasOn = clientEvictionLimit > 0
        clientEvictionLimit = limit
        if (limit > 0) != wasOn {
            for c in connections.values { updateClientMemory(c) }
        }
        if limit > 0 { clientEvictionDue = true }
    }

    /// Recounts one client's memory into the totals and its bucket. O(1).
    func updateClientMemory(_ c: Connection) {
        if c.closed { return }
        let s = c.session
        let mem = s.memoryUsage
        let kind: ClientKind = s.isReplica ? .replica : s.subscriptionCount > 0 ? .pubsub : .normal
        clientMemory[c.countedKind.rawValue] &-= c.countedMemory
        clientMemory[kind.rawValue] &+= mem
        c.countedMemory = mem
        c.countedKind = kind
        if clientEvictionLimit > 0 && !s.noEvict && kind != .replica {
            let bits = Int.bitWidth - mem.leadingZeroBitCount
            let b = min(max(bits, CairnServer.evictionBucketMinBits), CairnServer.evictionBucketMaxBits) - CairnServer.evictionBucketMinBits
            if b != c.bucket {
                removeFromEvictionBucket(c)
                c.bucket = b
                c.bucketSlot = evictionBuckets[b].count
                evictionBuckets[b].append(c)
            }
        } else {
            removeFromEvictionBucket(c)
        }
    }

    func removeFromEvictionBucket(_ c: Connection) {
        guard c.bucket >= 0 else { return }
        let b = c.bucket
        let last = evictionBuckets[b].removeLast()
        if last !== c {
            evictionBuckets[b][c.bucketSlot] = last
            last.bucketSlot = c.bucketSlot
        }
        c.bucket = -1
        c.bucketSlot = -1
    }

    /// A connection closed: its memory leaves the totals and its bucket, and its buffers are let go at
    /// once (a list may hold the object until the loop next runs; memory freed by evicting it must be
    /// free before the next command weighs memory for key eviction). The query buffer stays while the
    /// connection's own command runs over its bytes.
    func forgetClientMemory(_ c: Connection) {
        removeFromEvictionBucket(c)
        clientMemory[c.countedKind.rawValue] &-= c.countedMemory
        c.countedMemory = 0
        c.session.out = []
        c.partial = .init()
        c.heldCommand = nil
        if !c.runningFromQuery {
            c.query = []
            c.queryStart = 0
        }
    }

    /// True when normal and pub/sub clients together are at or over maxmemory-clients.
    @inline(__always)
    var clientsOverLimit: Bool { clientEvictionLimit > 0 && evictableKindsMemory >= clientEvictionLimit }

    /// Disconnects the largest evictable clients until the clients' memory is under maxmemory-clients.
    func evictClients() {
        clientEvictionDue = false
        while clientsOverLimit {
            guard let b = evictionBuckets.lastIndex(where: { !$0.isEmpty }) else {
                log.warning("Over client maxmemory after evicting all evictable clients")
                return
            }
            var victim = evictionBuckets[b][0]
            for c in evictionBuckets[b] where c.countedMemory > victim.countedMemory { victim = c }
            log.notice("Evicting client: " + ConnectionCommands.clientLine(engine, victim.session))
            stats.evictedClients += 1
            closeConnection(victim)
        }
    }

    /// Keeps the session's query-buffer figures (CLIENT LIST qbuf, qbuf-free) in step with the buffer.
    @inline(__always)
    func syncQueryFigures(_ c: Connection) {
        c.session.queryBufferBytes = c.query.count - c.queryStart
        c.session.queryBufferFree = c.query.capacity - c.query.count
    }

    /// Gives the query buffer an allocation of `size` bytes (at least what it holds).
    func resizeQueryBuffer(_ c: Connection, to size: Int) {
        let held = c.queryLength
        if held == 0 && size == 0 {
            c.query = []
        } else {
            var q = [UInt8]()
            q.reserveCapacity(max(size, held))
            c.query.withUnsafeBytes { q.append(contentsOf: $0[c.queryStart...]) }
            c.query = q
        }
        c.queryStart = 0
    }

    /// Redis's clientsCronResizeQueryBuffer: when at least 4 KB of the buffer is unused, a client
    /// idle more than 2 s gives all the room back; a buffer over 32 KB and more than twice the recent
    /// peak shrinks to that peak (not under what it holds, nor under the bulk being read).
    func cronResizeQueryBuffer(_ c: Connection) {
        let s = c.session
        if c.query.capacity - c.query.count > 4096 {
            if (engine.now - s.lastInteraction) / 1000 > 2 {
                resizeQueryBuffer(c, to: c.queryLength)
            } else if c.query.capacity > CairnServer.queryResizeThreshold && c.query.capacity / 2 > c.queryPeak {
                resizeQueryBuffer(c, to: max(c.queryLength, c.queryPeak, c.partial.bulkLength))
            }
        }
        c.queryPeak = max(c.queryLength, c.partial.bulkLength)
        syncQueryFigures(c)
    }

    /// The cron's share of client upkeep (Redis's clientsCron): each call visits connected/hz clients
    /// (at least 5), so every client is seen about once a second: query and reply buffers resized,
    /// memory recounted. Then clients over maxmemory-clients are evicted.
    func clientsCron() {
        let n = connections.count
        var visits = max(n / max(1, config.hz), min(n, 5))
        while visits > 0 && n > 0 {
            if cronRingIndex >= cronRing.count {
                cronRing = Array(connections.keys)
                cronRingIndex = 0
            }
            let fd = cronRing[cronRingIndex]
            cronRingIndex += 1
            visits -= 1
            guard let c = connections[fd], !c.closed else { continue }
            cronResizeQueryBuffer(c)
            if engine.replyBufferResizing {
                _ = c.session.resizeReplyBuffer(now: engine.now, peakResetTime: engine.replyBufferPeakResetTime)
            }
            updateClientMemory(c)
        }
        if cronRingIndex >= cronRing.count { cronRing.removeAll(keepingCapacity: true) }
        if clientsOverLimit || clientEvictionDue { evictClients() }
    }

    /// Output memory of replicas, which the maxmemory eviction leaves out (with the AOF buffer).
    var replicaOutputMemory: Int { clientMemory[ClientKind.replica.rawValue] + replicationBufferExcess(slack: true) }

    /// The part of the shared replication buffer held for replicas beyond what the backlog keeps
    /// (Redis counts it as the replicas' memory: mem_clients_slaves, and out of maxmemory's reach).
    /// With `slack`, as for eviction, an allowance for the blocks' own overhead is left to the backlog.
    func replicationBufferExcess(slack: Bool) -> Int {
        guard let b = replication.backlog else { return 0 }
        if !slack && replication.replicas.isEmpty { return 0 }
        let counted = b.size + (slack ? (b.size / ReplicationBacklog.blockSize + 1) * ReplicationBacklog.blockOverhead : 0)
        return max(0, b.memory - counted)
    }
}
