// ReplicationBacklog: the last `repl-backlog-size` bytes of the replication stream, a ring buffer, so a
// replica that lost its link can ask (PSYNC replid offset) for what it missed instead of a full copy.
// Offsets are Redis's: byte N of the stream has offset N (the first byte ever written is 1), and the
// backlog holds offsets firstByteOffset ..< firstByteOffset + histlen.
final class ReplicationBacklog {
    private var ring: [UInt8]
    /// Where the next byte goes in `ring`.
    private var head = 0
    /// Bytes held (at most the ring's size).
    private(set) var histlen = 0
    /// The stream offset of the oldest byte held.
    private(set) var firstByteOffset: Int

    /// A backlog that starts after `offset` (the stream's current end).
    init(size: Int, startingAfter offset: Int) {
        ring = [UInt8](repeating: 0, count: max(1, size))
        firstByteOffset = offset + 1
    }

    var size: Int { ring.count }

    /// Appends stream bytes, dropping the oldest when full.
    func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    func append(_ b: UnsafeRawBufferPointer) {
        var from = 0
        if b.count > ring.count { from = b.count - ring.count; firstByteOffset += from }
        var i = from
        ring.withUnsafeMutableBytes { r in
            while i < b.count {
                let n = min(r.count - head, b.count - i)
                (r.baseAddress! + head).copyMemory(from: b.baseAddress! + i, byteCount: n)
                head += n
                if head == r.count { head = 0 }
                i += n
            }
        }
        let added = b.count - from
        histlen += added
        if histlen > ring.count {
            firstByteOffset += histlen - ring.count
            histlen = ring.count
        }
    }

    /// The bytes from stream offset `offset` to the end, or nil when the backlog does not reach back there.
    func bytes(from offset: Int) -> [UInt8]? {
        guard offset >= firstByteOffset, offset <= firstByteOffset + histlen else { return nil }
        let skip = offset - firstByteOffset
        let count = histlen - skip
        let start = (head - histlen + skip + 2 * ring.count) % ring.count
        let first = min(count, ring.count - start)
        return Array(ring[start ..< start + first]) + ring[0 ..< count - first]
    }

    /// Renumbers what the backlog holds so that it ends at stream offset `end` (a primary restarting
    /// from its own RDB continues its old offsets).
    func rebase(endingAt end: Int) {
        firstByteOffset = end - histlen + 1
    }

    /// A new size (CONFIG SET repl-backlog-size): keeps the newest bytes that fit.
    func resize(_ newSize: Int) {
        guard newSize != ring.count, newSize > 0 else { return }
        let keep = bytes(from: firstByteOffset + max(0, histlen - newSize)) ?? []
        let start = firstByteOffset + histlen - keep.count
        ring = [UInt8](repeating: 0, count: newSize)
        head = 0
        histlen = 0
        firstByteOffset = start
        append(keep)
    }
}
