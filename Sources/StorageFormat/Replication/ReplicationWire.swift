// ReplicationWire: the bytes of a diskless full sync's framing. The RDB's length is not known when it
// starts, so the primary sends `$EOF:<mark>\r\n`, the RDB, then `<mark>` again: 40 random bytes
// (Redis uses hex digits) that the replica watches for at the end of the stream.
public enum ReplicationWire {
    /// Length of the end-of-file marker.
    public static let markerLength = 40

    /// A fresh random marker of 40 hex digits.
    public static func eofMarker() -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        return (0 ..< markerLength).map { _ in digits[Int.random(in: 0 ..< 16)] }
    }

    /// The line that opens a diskless transfer: `$EOF:<mark>\r\n`.
    public static func eofPreamble(_ marker: [UInt8]) -> [UInt8] {
        Array("$EOF:".utf8) + marker + [13, 10]
    }

    /// The marker of a `$EOF:<mark>` bulk header line (without CRLF), or nil for a `$<length>` header.
    public static func eofMarker(inHeader line: [UInt8]) -> [UInt8]? {
        let prefix = Array("$EOF:".utf8)
        guard line.count == prefix.count + markerLength, Array(line.prefix(prefix.count)) == prefix else { return nil }
        return Array(line.dropFirst(prefix.count))
    }

    /// Where the end marker ends in `next`, given the last bytes already seen before it (`tail`, at most
    /// 40): the count of bytes of `next` that belong to the transfer, or nil while the marker has not come.
    public static func markerEnd(_ marker: [UInt8], tail: [UInt8], next: [UInt8]) -> Int? {
        let combined = tail + next
        guard combined.count >= marker.count else { return nil }
        var i = 0
        while i + marker.count <= combined.count {
            if combined[i] == marker[0] && Array(combined[i ..< i + marker.count]) == marker {
                let end = i + marker.count - tail.count
                if end > 0 { return end }
            }
            i += 1
        }
        return nil
    }
}
