// SessionMemory: what one client costs in memory, in the terms of Redis 7.0's CLIENT LIST (qbuf,
// argv-mem, multi-mem, rbs, obl/oll/omem, tot-mem). Every figure is read from counters the server
// and the engine keep up to date as buffers change, so computing it is O(1): the server calls it
// after each command, read and write to keep the totals maxmemory-clients compares with.

extension Session {
    /// A new client's reply buffer (Redis's PROTO_REPLY_CHUNK_BYTES), and the largest the cron grows it to.
    public static let replyChunkBytes = 16 * 1024
    /// The smallest reply buffer the cron shrinks to (PROTO_REPLY_MIN_BYTES).
    public static let replyMinBytes = 1024
    /// The session and connection objects with their strings and closures.
    public static let fixedBytes = 1024
    /// One watched key: its entry here and in the engine's watcher list.
    public static let watchedKeyBytes = 64
    /// One channel or pattern subscription: its set entry here and in the engine's subscriber list.
    public static let subscriptionBytes = 48
    /// One queued MULTI command beyond its arguments.
    public static let queuedCommandBytes = 16

    /// Output bytes not yet taken by the socket.
    @inline(__always)
    public var pendingOutput: Int { max(0, out.count - outputSent) }

    /// Memory of the output beyond the reply buffer (CLIENT LIST omem).
    @inline(__always)
    public var outputListBytes: Int { max(0, out.capacity - replyBufferAllocated) }

    /// Everything this client costs (CLIENT LIST tot-mem): the objects, the query buffer's allocation,
    /// the arguments being read or run, the output allocation, the MULTI queue, watched keys,
    /// subscriptions (shard channels included) and tracking prefixes.
    public var memoryUsage: Int {
        var m = Session.fixedBytes
        m &+= queryBufferBytes &+ queryBufferFree
        m &+= argvBytes &+ 8 &* argvCount
        m &+= max(out.capacity, replyBufferSize)
        m &+= multiBytes
        if let q = multi { m &+= q.count &* Session.queuedCommandBytes }
        m &+= watched.count &* Session.watchedKeyBytes
        m &+= (channels.count &+ patterns.count &+ shardChannels.count) &* Session.subscriptionBytes
        // BCAST tracking prefixes, kept per client as Redis keeps them in a radix tree.
        for p in tracking.prefixes { m &+= Session.subscriptionBytes &+ p.count }
        return m
    }

    /// Notes how full the reply buffer is (Redis's bufpos against buf_peak): called after output was
    /// added, before the socket takes it.
    @inline(__always)
    public func noteReplyBufferUse() {
        let used = min(out.count, replyBufferSize)
        if used > replyBufferPeak { replyBufferPeak = used }
    }

    /// The cron's reply-buffer resizing (Redis 7.0's clientsCronResizeOutputBuffer): a buffer whose
    /// peak use stayed under half its size shrinks to the peak (not below 1 KB); one that filled
    /// doubles (up to 16 KB). The peak starts over every `peakResetTime` ms (-1: never).
    /// Returns the new size, or nil when it stays.
    public func resizeReplyBuffer(now: Int64, peakResetTime: Int64) -> Int? {
        let size = replyBufferSize
        var newSize: Int? = nil
        if size / 2 >= Session.replyMinBytes && replyBufferPeak < size / 2 {
            newSize = max(Session.replyMinBytes, replyBufferPeak + 1)
        } else if size * 2 < Session.replyChunkBytes * 2 && replyBufferPeak >= size {
            newSize = min(Session.replyChunkBytes, size * 2)
        }
        if peakResetTime >= 0 && now - replyPeakResetAt >= peakResetTime {
            replyBufferPeak = min(out.count, replyBufferSize)
            replyPeakResetAt = now
        }
        if let n = newSize {
            replyBufferSize = n
            // Reallocated now when nothing is waiting; otherwise when the socket has taken it all.
            if out.isEmpty { allocateReplyBuffer() }
        }
        return newSize
    }

    /// Gives `out` (empty) an allocation of the reply buffer's size.
    public func allocateReplyBuffer() {
        out = []
        out.reserveCapacity(replyBufferSize)
        replyBufferAllocated = out.capacity
    }

    /// The output was all written: keep an allocation of the reply buffer's size for the next replies.
    @inline(__always)
    public func resetOutput() {
        if out.capacity > replyBufferSize * 2 || out.capacity < replyBufferSize {
            allocateReplyBuffer()
        } else {
            out.removeAll(keepingCapacity: true)
        }
        outputSent = 0
    }
}
