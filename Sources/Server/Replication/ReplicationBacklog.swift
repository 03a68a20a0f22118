// ReplicationBacklog: the replication stream held once, in blocks, for the backlog and for every replica
// at the same time (Redis 7.0's shared replication buffer). Offsets are Redis's: byte N of the stream
// has offset N (the first byte ever written is 1); the buffer holds firstByteOffset ..< firstByteOffset
// + histlen.
//
// A replica does not get its own copy of the stream: it keeps the offset of the next byte it needs
// (ReplicaLink.streamFrom) and is sent from here. So the oldest blocks go only when neither the backlog
// nor any replica needs them: the backlog keeps at least `size` bytes (repl-backlog-size), and more as
// long as a slow replica, or one waiting for its snapshot, still refers to older bytes. That larger
// backlog also serves partial resyncs. The memory is counted once (mem_total_replication_buffers).
import DequeModule

final class ReplicationBacklog {
    /// A block of stream bytes; `start` is the stream offset of its first byte.
    struct Block {
        var bytes: [UInt8]
        var start: Int
    }

    /// Blocks hold at least this much (bigger when one append is bigger), as Redis's 16 KB reply chunks.
    static let blockSize = 16 * 1024
    /// What a block costs beyond its bytes: the array's header, the allocator's, its slot in the deque
    /// (which grows by doubling). Counted so that used memory and the buffer's memory move together.
    static let blockOverhead = 80

    private(set) var blocks = Deque<Block>()
    /// The stream offset of the oldest byte held (one past the end when nothing is held).
    private(set) var firstByteOffset: Int
    /// Bytes held.
    private(set) var histlen = 0
    /// The allocated bytes of all blocks.
    private(set) var memory = 0
    /// repl-backlog-size: what the backlog keeps even when no replica needs it.
    var size: Int

    /// A backlog that starts after `offset` (the stream's current end).
    init(size: Int, startingAfter offset: Int) {
        self.size = max(1, size)
        firstByteOffset = offset + 1
    }

    /// The offset one past the last byte held.
    var endOffset: Int { firstByteOffset + histlen }

    /// Appends stream bytes (the oldest are dropped by `trim`, once nobody needs them).
    func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    func append(_ b: UnsafeRawBufferPointer) {
        guard b.count > 0 else { return }
        var from = 0
        if tailRoom > 0 {
            let n = min(tailRoom, b.count)
            blocks[blocks.count - 1].bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[0 ..< n]))
            tailRoom -= n
            from = n
        }
        histlen += from
        // New blocks are at least 16 KB and at most a sixteenth of the backlog (Redis's limits), so a
        // big write does not pin a block the backlog could otherwise trim.
        let most = max(size / 16, ReplicationBacklog.blockSize)
        while from < b.count {
            let n = min(b.count - from, most)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(max(ReplicationBacklog.blockSize, n))
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[from ..< from + n]))
            memory += bytes.capacity + ReplicationBacklog.blockOverhead
            tailRoom = bytes.capacity - bytes.count
            blocks.append(Block(bytes: bytes, start: endOffset))
            histlen += n
            from += n
            addedBlocks = true
        }
    }

    /// Free capacity of the newest block.
    private var tailRoom = 0

    /// Set when an append started a new block (the server then trims, as Redis does).
    var addedBlocks = false

    /// Drops the oldest blocks that neither the backlog (`size` bytes) nor a replica (from offset
    /// `needed` on) still needs. The newest block always stays.
    func trim(keepingFrom needed: Int) {
        while blocks.count > 1 {
            let first = blocks[0]
            let end = first.start + first.bytes.count
            guard end <= needed, histlen - first.bytes.count >= size else { return }
            blocks.removeFirst()
            memory -= first.bytes.capacity + ReplicationBacklog.blockOverhead
            histlen -= first.bytes.count
            firstByteOffset = end
        }
    }

    /// Whether the stream from `offset` on (to the end) is held.
    func holds(from offset: Int) -> Bool {
        offset >= firstByteOffset && offset <= endOffset
    }

    /// The index of the block holding `offset` (searched from the newest: replicas are mostly near the end).
    private func blockIndex(_ offset: Int) -> Int? {
        var i = blocks.count - 1
        while i >= 0 {
            if blocks[i].start <= offset { return offset < blocks[i].start + blocks[i].bytes.count ? i : nil }
            i -= 1
        }
        return nil
    }

    /// Calls `body` with the held bytes from `offset` on, one contiguous piece at a time, until it
    /// returns fewer bytes than it was given or the end is reached; returns the bytes it took.
    func read(from offset: Int, _ body: (UnsafeRawBufferPointer) -> Int) -> Int {
        guard holds(from: offset), var i = blockIndex(offset) else { return 0 }
        var at = offset
        var taken = 0
        while i < blocks.count {
            let skip = at - blocks[i].start
            let n = blocks[i].bytes.withUnsafeBytes { all in
                body(UnsafeRawBufferPointer(rebasing: all[skip...]))
            }
            taken += n
            at += n
            if n < blocks[i].bytes.count - skip { break }
            i += 1
        }
        return taken
    }

    /// A copy of the bytes from `offset` to the end (nil when not held).
    func bytes(from offset: Int) -> [UInt8]? {
        guard holds(from: offset) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(endOffset - offset)
        _ = read(from: offset) { out.append(contentsOf: $0); return $0.count }
        return out
    }

    /// Renumbers what the backlog holds so that it ends at stream offset `end` (a primary restarting
    /// from its own RDB continues its old offsets).
    func rebase(endingAt end: Int) {
        let shift = end + 1 - endOffset
        firstByteOffset += shift
        for i in blocks.indices { blocks[i].start += shift }
    }
}
