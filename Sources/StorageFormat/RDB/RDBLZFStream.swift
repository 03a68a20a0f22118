// RDBLZFStream: validates (and optionally reads) an LZF-compressed RDB string fed in pieces, keeping only
// the last 64 KiB of output (an LZF back-reference reaches at most 8 KiB back). RDBDecoder uses it for
// compressed strings too large to decompress in one buffer, so a 500 MB compressed value costs 64 KiB.
// It accepts exactly what `LZF.decompress` (liblzf) accepts: every control byte complete, no back-reference
// before the start, no output past `originalLength`, and the output exactly `originalLength` bytes when
// the input ends. FORMATS.md §5 gives the bitstream.

struct RDBLZFStream {
    static let ringSize = 1 << 16
    static let ringMask = ringSize - 1
    /// Output not yet handed to `emit` stays below this, so the history a back-reference needs survives.
    static let flushAt = ringSize - 8192 - 512

    let expected: Int
    let baseOffset: Int
    let ring: UnsafeMutablePointer<UInt8>
    var produced = 0
    var emitted = 0
    /// Bytes of a literal run still to copy.
    var literal = 0
    /// A back-reference whose bytes are split across pieces: its bytes so far (1 to 2).
    var pending: (UInt8, UInt8) = (0, 0)
    var pendingCount = 0
    var consumed = 0

    init(originalLength: Int, baseOffset: Int) {
        expected = originalLength
        self.baseOffset = baseOffset
        ring = UnsafeMutablePointer<UInt8>.allocate(capacity: RDBLZFStream.ringSize)
    }

    func release() { ring.deallocate() }

    func failure(_ expected: String, _ found: String) -> FormatError {
        FormatError(offset: baseOffset, context: "LZF", expected: expected, found: found)
    }

    /// Hands the output produced since the last call to `emit`, in order.
    mutating func flush(_ emit: (UnsafeRawBufferPointer) -> Void) {
        while emitted < produced {
            let start = emitted & RDBLZFStream.ringMask
            let n = min(produced - emitted, RDBLZFStream.ringSize - start)
            emit(UnsafeRawBufferPointer(start: ring + start, count: n))
            emitted += n
        }
    }

    @inline(__always)
    mutating func put(_ b: UInt8) {
        ring[produced & RDBLZFStream.ringMask] = b
        produced += 1
    }

    /// Feeds the next piece of compressed input.
    mutating func feed(_ input: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer) -> Void) throws {
        guard let base = input.baseAddress else { return }
        let n = input.count
        var p = 0
        consumed += n
        while p < n {
            if produced - emitted >= RDBLZFStream.flushAt { flush(emit) }
            if literal > 0 {
                let k = min(literal, n - p, RDBLZFStream.flushAt - (produced - emitted))
                for i in 0 ..< k { put(base.load(fromByteOffset: p + i, as: UInt8.self)) }
                p += k
                literal -= k
                continue
            }
            // Gather a control sequence: ctrl, [extra length], offset byte.
            var ctrl: UInt8
            if pendingCount > 0 {
                ctrl = pending.0
            } else {
                ctrl = base.load(fromByteOffset: p, as: UInt8.self)
                p += 1
                if ctrl < 0x20 {
                    let run = Int(ctrl) + 1
                    if produced + run > expected {
                        throw failure("\(expected) bytes of output", "more output than that")
                    }
                    literal = run
                    continue
                }
                pending = (ctrl, 0)
                pendingCount = 1
            }
            var len = Int(ctrl >> 5)
            let needed = len == 7 ? 3 : 2
            while pendingCount < needed && p < n {
                let b = base.load(fromByteOffset: p, as: UInt8.self)
                p += 1
                if pendingCount == 1 { pending.1 = b }
                pendingCount += 1
                if pendingCount == needed { break }
            }
            if pendingCount < needed { return } // the rest of this back-reference is in the next piece
            // pendingCount == needed; the last byte (the offset's low byte) is at p - 1 unless it was
            // gathered earlier (needed bytes all pending only if needed == 2 and pendingCount reached it).
            let low: UInt8
            if len == 7 {
                len += Int(pending.1)
                low = base.load(fromByteOffset: p - 1, as: UInt8.self)
            } else {
                low = pending.1
            }
            pendingCount = 0
            len += 2
            let back = (Int(ctrl & 0x1F) << 8) + Int(low) + 1
            if produced + len > expected {
                throw failure("\(expected) bytes of output", "more output than that")
            }
            if back > produced {
                throw failure("a valid LZF stream", "truncated data or a back-reference before the start of the output")
            }
            if produced - emitted + len > RDBLZFStream.ringSize - 8192 { flush(emit) }
            for _ in 0 ..< len { put(ring[(produced - back) & RDBLZFStream.ringMask]) }
        }
    }

    /// After the last piece: the output must be complete.
    mutating func finish(_ emit: (UnsafeRawBufferPointer) -> Void) throws {
        if literal > 0 || pendingCount > 0 {
            throw failure("a valid LZF stream", "truncated data or a back-reference before the start of the output")
        }
        if produced != expected {
            throw failure("\(expected) bytes of output", "\(produced) bytes")
        }
        flush(emit)
    }
}
