// RDBInput: the buffered, checksummed byte stream under RDBReader.
// Keeps a window of the source in one growable buffer, tracks the absolute offset of every byte,
// runs CRC64 over every consumed byte (for the trailer check), and can capture the raw bytes of a
// region (module values are kept verbatim). A length read from the data is checked against what the
// source can still deliver before anything is allocated for it.

final class RDBInput {
    let source: ByteSource
    /// Window of the source: bytes `buffer[0..<end]` start at absolute offset `bufferOffset`.
    var buffer: UnsafeMutableRawBufferPointer
    var position = 0
    var end = 0
    var bufferOffset = 0
    var sourceDone = false
    /// Running CRC64 over consumed bytes before `crcMark`.
    var crc: UInt64 = 0
    var crcMark = 0
    var crcEnabled = true
    /// Raw capture: bytes from `captureMark` are appended to `captured` when the window moves.
    var capturing = false
    var captureMark = 0
    var captured: [UInt8] = []

    static let chunk = 1 << 20

    init(source: ByteSource) {
        self.source = source
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: RDBInput.chunk * 2, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// Absolute offset of the next byte.
    @inline(__always) var offset: Int { bufferOffset + position }

    /// Bytes the source can still deliver after the buffered ones, when known.
    var remainingKnown: Int? {
        guard let size = source.knownSize else { return nil }
        return size - bufferOffset - end
    }

    func truncated(_ what: String, need: Int) -> FormatError {
        FormatError(offset: offset, context: "RDB", expected: "\(need) more bytes for \(what)", found: "end of file")
    }

    /// Makes `n` bytes available at `position`, or throws a truncation error. Never allocates more
    /// than the source can deliver.
    @inline(__always)
    func ensure(_ n: Int, _ what: @autoclosure () -> String) throws {
        if end - position >= n { return }
        try fill(n, what())
    }

    @inline(never)
    func fill(_ n: Int, _ what: String) throws {
        if let rest = remainingKnown, n - (end - position) > rest {
            throw truncated(what, need: n)
        }
        // Retire consumed bytes: checksum them, capture them, and slide the window.
        if position > 0 {
            if crcEnabled && crcMark < position {
                crc = CRC64.update(crc, UnsafeRawBufferPointer(rebasing: buffer[crcMark ..< position]))
                crcMark = position
            }
            if capturing && captureMark < position {
                captured.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[captureMark ..< position]))
                captureMark = position
            }
            let live = end - position
            if live > 0 {
                buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + position, byteCount: live)
            }
            bufferOffset += position
            crcMark -= position
            captureMark -= position
            end = live
            position = 0
        }
        while end < n {
            if end == buffer.count {
                // Grow geometrically, but only as data actually arrives.
                let newSize = max(buffer.count * 2, min(n, buffer.count * 4))
                let nb = UnsafeMutableRawBufferPointer.allocate(byteCount: newSize, alignment: 16)
                nb.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: end)
                buffer.deallocate()
                buffer = nb
            }
            if sourceDone { throw truncated(what, need: n - (end - position)) }
            let want = min(buffer.count - end, max(RDBInput.chunk, n - end))
            let got = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end ..< end + want]))
            if got == 0 {
                sourceDone = true
                throw truncated(what, need: n - (end - position))
            }
            end += got
        }
    }

    @inline(__always)
    func readByte(_ what: @autoclosure () -> String) throws -> UInt8 {
        if position >= end { try fill(1, what()) }
        let b = buffer[position]
        position += 1
        return b
    }

    /// A view of the next `n` bytes, valid until the next read.
    @inline(__always)
    func span(_ n: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        try ensure(n, what())
        let s = UnsafeRawBufferPointer(rebasing: buffer[position ..< position + n])
        position += n
        return s
    }

    @inline(__always)
    func readLE<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try ensure(MemoryLayout<T>.size, what())
        let v = UnsafeRawBufferPointer(buffer).loadUnaligned(fromByteOffset: position, as: T.self)
        position += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    @inline(__always)
    func readBE<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try ensure(MemoryLayout<T>.size, what())
        let v = UnsafeRawBufferPointer(buffer).loadUnaligned(fromByteOffset: position, as: T.self)
        position += MemoryLayout<T>.size
        return T(bigEndian: v)
    }

    /// The checksum of every byte consumed so far.
    func checksumSoFar() -> UInt64 {
        if crcEnabled && crcMark < position {
            crc = CRC64.update(crc, UnsafeRawBufferPointer(rebasing: buffer[crcMark ..< position]))
            crcMark = position
        }
        return crc
    }

    func beginCapture() {
        capturing = true
        captureMark = position
        captured.removeAll(keepingCapacity: true)
    }

    func endCapture() -> [UInt8] {
        if captureMark < position {
            captured.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[captureMark ..< position]))
        }
        capturing = false
        let out = captured
        captured = []
        return out
    }

    /// True when no byte remains in the buffer or the source.
    func atEnd() throws -> Bool {
        if position < end { return false }
        do {
            try fill(1, "")
            return false
        } catch is FormatError {
            return true
        }
    }
}
