// RDBInput: the buffered, checksummed byte stream under RDBReader.
// Keeps a window of the source in one growable buffer, tracks the absolute offset of every byte,
// runs CRC64 over every consumed byte (for the trailer check), and can capture the raw bytes of a
// region (module values are kept verbatim). A length read from the data is checked against what the
// source can still deliver before anything is allocated for it.

#if canImport(Glibc)
import Glibc
#endif

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
    /// Absolute offset of the source's first byte (non-zero when reading resumes mid-file).
    var sourceBase = 0
    /// Borrowed mode: `buffer` is a caller's window of the file (never grown, slid or freed), and the
    /// file ends at absolute offset `logicalEnd`. Reading past the window sets `windowExhausted`.
    var borrowed = false
    var logicalEnd: Int? = nil
    var windowExhausted = false
    /// When set, retired bytes are checksummed on this worker's thread instead of inline.
    var crcWorker: RDBHelperThread? = nil
    /// Mapped mode: `buffer` is the whole file mapped read-only; `end` is moved forward a step at a
    /// time so that `fill` runs every `mappedStep` bytes to checksum and release what lies behind.
    var mappedSize = -1
    var released = 0
    static let mappedStep = 1 << 20

    init(source: ByteSource) {
        self.source = source
        // A source of known small size (a DUMP payload, an in-memory file) gets a window of its own
        // size rather than the 2 MiB one; the window grows anyway if the source delivers more.
        let capacity = source.knownSize.map { min(RDBInput.chunk * 2, max($0, 64)) } ?? RDBInput.chunk * 2
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
    }

    /// Reads a caller's window (file bytes from absolute offset `startOffset`) in place, without copying.
    init(window: UnsafeMutableRawBufferPointer, startOffset: Int, fileSize: Int?) {
        source = MemorySource([])
        buffer = window
        end = window.count
        bufferOffset = startOffset
        borrowed = true
        logicalEnd = fileSize
        crcEnabled = false
        sourceDone = true
    }

    /// Reads a regular file through a read-only mapping (no copy into a window). Nil when it cannot be
    /// mapped (not a regular file, empty, or mmap failed); the caller then reads it through a source.
    init?(mapping path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 else { return nil }
        let size = Int(st.st_size)
        guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else { return nil }
        _ = madvise(m, size, MADV_SEQUENTIAL)
        source = MemorySource([])
        buffer = UnsafeMutableRawBufferPointer(start: m, count: size)
        mappedSize = size
        end = min(size, RDBInput.mappedStep)
        sourceDone = true
    }

    /// A stream whose first byte is at absolute offset `startOffset` of the file (for resynchronising
    /// after a corrupt region: the source is positioned there, and offsets stay absolute).
    convenience init(source: ByteSource, startOffset: Int) {
        self.init(source: source)
        bufferOffset = startOffset
        sourceBase = startOffset
    }

    deinit {
        crcWorker?.close()
        if mappedSize >= 0 {
            munmap(buffer.baseAddress, mappedSize)
        } else if !borrowed {
            buffer.deallocate()
        }
    }

    /// Mapped mode's `fill`: checksums the bytes consumed since the last step (on the worker when
    /// there is one), gives the pages well behind both readers back, and moves `end` on.
    func stepMapped(_ n: Int, _ what: String) throws {
        if position + n > mappedSize {
            throw truncated(what, need: n - (mappedSize - position))
        }
        if crcEnabled && crcMark < position {
            if let w = crcWorker {
                w.submit(view: buffer, crcMark ..< position)
            } else {
                crc = CRC64.update(crc, UnsafeRawBufferPointer(rebasing: buffer[crcMark ..< position]))
            }
            crcMark = position
        }
        if capturing && captureMark < position {
            captured.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[captureMark ..< position]))
            captureMark = position
        }
        // Keep resident memory flat: the checksum may not fall more than 32 MiB behind (parsing plain
        // strings is faster than checksumming them), and mapped pages more than 2 MiB behind both are
        // given back.
        var crcDone = position
        if crcEnabled, let w = crcWorker {
            crcDone = w.done
            if position - crcDone > 32 * RDBInput.mappedStep {
                w.wait(forChecksummed: position - 16 * RDBInput.mappedStep)
                crcDone = w.done
            }
        }
        let behind = min(position, crcDone) - 2 * RDBInput.mappedStep
        if behind - released >= 2 * RDBInput.mappedStep {
            let page = 1 << 16
            let upTo = behind & ~(page - 1)
            _ = madvise(buffer.baseAddress! + released, upTo - released, MADV_DONTNEED)
            released = upTo
        }
        end = min(mappedSize, position + max(n, RDBInput.mappedStep))
    }

    /// Checksums retired bytes on `worker`'s thread from now on (the scanner's large inputs).
    func attach(_ worker: RDBHelperThread) {
        crcWorker = worker
        worker.adopt()
    }

    /// Absolute offset of the next byte.
    @inline(__always) var offset: Int { bufferOffset + position }

    /// Bytes the source can still deliver after the buffered ones, when known.
    var remainingKnown: Int? {
        if mappedSize >= 0 { return mappedSize - end }
        if borrowed { return logicalEnd.map { max(0, $0 - bufferOffset - end) } }
        guard let size = source.knownSize else { return nil }
        return size + sourceBase - bufferOffset - end
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
        if mappedSize >= 0 { return try stepMapped(n, what) }
        if borrowed {
            windowExhausted = true
            throw truncated(what, need: n)
        }
        if let rest = remainingKnown, n - (end - position) > rest {
            throw truncated(what, need: n)
        }
        // Retire consumed bytes: checksum them, capture them, and slide the window.
        if position > 0 {
            if capturing && captureMark < position {
                captured.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[captureMark ..< position]))
                captureMark = position
            }
            let live = end - position
            if let w = crcWorker {
                // Hand the whole buffer to the checksum thread; continue in a fresh one.
                let fresh = w.take(capacity: max(RDBInput.chunk * 2, live + max(n, RDBInput.chunk)))
                if live > 0 { fresh.baseAddress!.copyMemory(from: buffer.baseAddress! + position, byteCount: live) }
                w.submit(buffer, crcEnabled ? crcMark ..< position : 0 ..< 0)
                buffer = fresh
            } else {
                if crcEnabled && crcMark < position {
                    crc = CRC64.update(crc, UnsafeRawBufferPointer(rebasing: buffer[crcMark ..< position]))
                }
                if live > 0 {
                    buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + position, byteCount: live)
                }
            }
            bufferOffset += position
            crcMark = 0
            captureMark = 0
            end = live
            position = 0
        }
        while end < n {
            if end == buffer.count {
                // Grow geometrically, but only as data actually arrives.
                let newSize = max(buffer.count * 2, min(n, buffer.count * 4))
                let nb = crcWorker?.take(capacity: newSize) ?? UnsafeMutableRawBufferPointer.allocate(byteCount: newSize, alignment: 16)
                nb.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: end)
                if let w = crcWorker { w.submit(buffer, 0 ..< 0) } else { buffer.deallocate() }
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

    /// Consumes the next `n` bytes a piece at a time (as they arrive in the window, never more than a
    /// chunk at once), so a value of any size passes through in constant memory. Each piece is valid
    /// only during `body`.
    @inline(__always)
    func consume(_ n: Int, _ what: @autoclosure () -> String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        if let rest = remainingKnown, n - (end - position) > rest {
            throw truncated(what(), need: n)
        }
        var left = n
        while left > 0 {
            if position >= end { try fill(1, what()) }
            let k = min(left, end - position)
            try body(UnsafeRawBufferPointer(rebasing: buffer[position ..< position + k]))
            position += k
            left -= k
        }
    }

    /// Gives back a window that grew past 4 MiB for one large blob, keeping what is buffered.
    func shrinkIfLarge() {
        guard !borrowed, mappedSize < 0, crcWorker == nil, buffer.count > RDBInput.chunk * 4, end - position <= RDBInput.chunk else { return }
        if crcEnabled && crcMark < position {
            crc = CRC64.update(crc, UnsafeRawBufferPointer(rebasing: buffer[crcMark ..< position]))
        }
        if capturing && captureMark < position {
            captured.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[captureMark ..< position]))
        }
        let live = end - position
        let nb = UnsafeMutableRawBufferPointer.allocate(byteCount: RDBInput.chunk * 2, alignment: 16)
        if live > 0 { nb.baseAddress!.copyMemory(from: buffer.baseAddress! + position, byteCount: live) }
        buffer.deallocate()
        buffer = nb
        bufferOffset += position
        crcMark = 0
        captureMark = 0
        end = live
        position = 0
    }

    /// The checksum of every byte consumed so far.
    func checksumSoFar() -> UInt64 {
        if let w = crcWorker {
            crc = w.value()
        }
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
