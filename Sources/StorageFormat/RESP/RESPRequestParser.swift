// RESPRequestParser: splits a client's query bytes into commands, as Redis reads them.
// Multibulk form: `*<argc>\r\n` then per argument `$<len>\r\n<bytes>\r\n`. Inline form (telnet):
// a line of space-separated arguments with Redis's quoting rules ("..." with escapes, '...').
// The parser keeps no copy of partial input: it reports how many bytes a complete command used,
// and `.incomplete` until the buffer holds a whole one. Protocol errors carry Redis's text.

/// Limits a parser enforces (Redis's `proto-max-bulk-len`, inline and multibulk limits).
public struct RESPLimits: Sendable {
    /// `proto-max-bulk-len`: the largest bulk argument accepted (512 MiB).
    public var maxBulkLength = 512 * 1024 * 1024
    /// Largest multibulk count (Redis: 1024*1024 when the client is not authenticated; INT_MAX otherwise).
    public var maxMultibulkCount = Int(Int32.max)
    /// Largest inline request or multibulk header line without its terminator (64 KiB).
    public var maxInlineLength = 64 * 1024
    public init() {}
}

/// The outcome of one parse attempt.
public enum RESPParseResult {
    /// A whole command: its arguments and the bytes it occupied.
    case command([[UInt8]], consumed: Int)
    /// Bytes that form no command (an empty inline line, `*0` or `*-1`): skip them.
    case skip(consumed: Int)
    /// More bytes are needed.
    case incomplete
    /// A protocol error: Redis replies with this text (after "-ERR ") and closes the connection.
    case protocolError(String)
}

/// The outcome of one step of reading with a `RESPPartialRequest`.
public enum RESPStep {
    /// A whole command; `consumed` counts only the bytes of this step.
    case command([[UInt8]], consumed: Int)
    /// Bytes that form no command: skip them.
    case skip(consumed: Int)
    /// More bytes are needed; the first `consumed` bytes are already taken into the partial request.
    case incomplete(consumed: Int)
    /// A protocol error: Redis replies with this text (after "-ERR ") and closes the connection.
    case protocolError(String)
}

/// A multibulk request read so far: the arguments already complete and what the next one needs.
/// Its counters are what Redis reports for a client in the middle of a request (argv-mem).
public struct RESPPartialRequest {
    /// Arguments complete so far.
    public internal(set) var args: [[UInt8]] = []
    /// Arguments still to come; 0 when no multibulk request is under way.
    public internal(set) var remaining = 0
    /// Length of the argument being read once its `$<len>` line is in; -1 before.
    public internal(set) var bulkLength = -1
    /// Bytes of the complete arguments (Redis's argv_len_sum).
    public private(set) var argumentBytes = 0

    public init() {}

    /// Takes one complete argument (the parser, or a caller handing over a buffer that holds exactly
    /// the argument being read).
    public mutating func append(_ arg: consuming [UInt8]) {
        argumentBytes += arg.count
        args.append(arg)
        remaining -= 1
        bulkLength = -1
    }

    /// True when the arguments are all in: `take()` gives them.
    public var isComplete: Bool { remaining == 0 && !args.isEmpty }

    /// The complete arguments; the request starts over.
    public mutating func take() -> [[UInt8]] {
        var a: [[UInt8]] = []
        swap(&a, &args)
        self = RESPPartialRequest()
        return a
    }
}

public enum RESPRequestParser {
    /// Parses one command from the start of `buf`.
    public static func parse(_ buf: UnsafeRawBufferPointer, limits: RESPLimits = RESPLimits()) -> RESPParseResult {
        guard buf.count > 0 else { return .incomplete }
        if buf[0] == UInt8(ascii: "*") { return parseMultibulk(buf, limits: limits) }
        return parseInline(buf, limits: limits)
    }

    /// Index of the `\r` of the first `\r\n` at or after `from`, or nil.
    @inline(__always)
    static func findCRLF(_ buf: UnsafeRawBufferPointer, from: Int) -> Int? {
        var i = from
        let n = buf.count - 1
        while i < n {
            if buf[i] == 13 && buf[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }

    /// A decimal in `buf[from..<to]` (optional '-'), or nil.
    @inline(__always)
    static func parseNumber(_ buf: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Int? {
        if from >= to || to - from > 19 { return nil }
        var i = from
        var neg = false
        if buf[i] == UInt8(ascii: "-") { neg = true; i += 1; if i == to { return nil } }
        var v = 0
        while i < to {
            let c = buf[i]
            guard c >= 48 && c <= 57 else { return nil }
            // 19 digits can exceed Int.max: out of range is invalid, as in Redis's string2ll.
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (r, o2) = m.addingReportingOverflow(Int(c - 48))
            if o1 || o2 { return nil }
            v = r
            i += 1
        }
        return neg ? -v : v
    }

    static func parseMultibulk(_ buf: UnsafeRawBufferPointer, limits: RESPLimits) -> RESPParseResult {
        guard let lineEnd = findCRLF(buf, from: 1) else {
            if buf.count > limits.maxInlineLength { return .protocolError("Protocol error: too big mbulk count string") }
            return .incomplete
        }
        guard let count = parseNumber(buf, 1, lineEnd), count <= limits.maxMultibulkCount else {
            return .protocolError("Protocol error: invalid multibulk length")
        }
        var pos = lineEnd + 2
        if count <= 0 { return .skip(consumed: pos) }
        var args = [[UInt8]]()
        args.reserveCapacity(min(count, 1024))
        for _ in 0 ..< count {
            guard pos < buf.count else { return .incomplete }
            guard buf[pos] == UInt8(ascii: "$") else {
                let c = buf[pos]
                return .protocolError("Protocol error: expected '$', got '\(c >= 32 && c < 127 ? String(UnicodeScalar(c)) : " ")'")
            }
            guard let e = findCRLF(buf, from: pos + 1) else {
                if buf.count - pos > limits.maxInlineLength { return .protocolError("Protocol error: too big bulk count string") }
                return .incomplete
            }
            guard let len = parseNumber(buf, pos + 1, e), len >= 0, len <= limits.maxBulkLength else {
                return .protocolError("Protocol error: invalid bulk length")
            }
            let start = e + 2
            if buf.count - start < len + 2 { return .incomplete }
            args.append(Array(UnsafeRawBufferPointer(rebasing: buf[start ..< start + len])))
            pos = start + len + 2
        }
        return .command(args, consumed: pos)
    }

    /// Parses from the start of `buf`, going on with the multibulk request `partial` holds (as Redis
    /// reads a request: arguments are taken out of the input as soon as each is complete). Whatever
    /// it reports as consumed, including the bytes of arguments moved into `partial` while the request
    /// is still incomplete, the caller drops from its buffer.
    public static func parse(_ buf: UnsafeRawBufferPointer, partial: inout RESPPartialRequest,
                             limits: RESPLimits = RESPLimits()) -> RESPStep {
        var pos = 0
        if partial.remaining == 0 {
            guard buf.count > 0 else { return .incomplete(consumed: 0) }
            guard buf[0] == UInt8(ascii: "*") else {
                switch parseInline(buf, limits: limits) {
                case .command(let args, let n): return .command(args, consumed: n)
                case .skip(let n): return .skip(consumed: n)
                case .incomplete: return .incomplete(consumed: 0)
                case .protocolError(let m): return .protocolError(m)
                }
            }
            guard let lineEnd = findCRLF(buf, from: 1) else {
                if buf.count > limits.maxInlineLength { return .protocolError("Protocol error: too big mbulk count string") }
                return .incomplete(consumed: 0)
            }
            guard let count = parseNumber(buf, 1, lineEnd), count <= limits.maxMultibulkCount else {
                return .protocolError("Protocol error: invalid multibulk length")
            }
            pos = lineEnd + 2
            if count <= 0 { return .skip(consumed: pos) }
            partial.remaining = count
            partial.args.reserveCapacity(min(count, 1024))
        }
        while partial.remaining > 0 {
            if partial.bulkLength < 0 {
                guard pos < buf.count else { return .incomplete(consumed: pos) }
                guard buf[pos] == UInt8(ascii: "$") else {
                    let c = buf[pos]
                    return .protocolError("Protocol error: expected '$', got '\(c >= 32 && c < 127 ? String(UnicodeScalar(c)) : " ")'")
                }
                guard let e = findCRLF(buf, from: pos + 1) else {
                    if buf.count - pos > limits.maxInlineLength { return .protocolError("Protocol error: too big bulk count string") }
                    return .incomplete(consumed: pos)
                }
                guard let len = parseNumber(buf, pos + 1, e), len >= 0, len <= limits.maxBulkLength else {
                    return .protocolError("Protocol error: invalid bulk length")
                }
                partial.bulkLength = len
                pos = e + 2
            }
            let len = partial.bulkLength
            if buf.count - pos < len + 2 { return .incomplete(consumed: pos) }
            partial.append(Array(UnsafeRawBufferPointer(rebasing: buf[pos ..< pos + len])))
            pos += len + 2
        }
        return .command(partial.take(), consumed: pos)
    }

    static func parseInline(_ buf: UnsafeRawBufferPointer, limits: RESPLimits) -> RESPParseResult {
        var i = 0
        while i < buf.count && buf[i] != 10 { i += 1 }
        if i == buf.count {
            if buf.count > limits.maxInlineLength { return .protocolError("Protocol error: too big inline request") }
            return .incomplete
        }
        var end = i
        if end > 0 && buf[end - 1] == 13 { end -= 1 }
        guard let args = splitArguments(UnsafeRawBufferPointer(rebasing: buf[0 ..< end])) else {
            return .protocolError("Protocol error: unbalanced quotes in request")
        }
        if args.isEmpty { return .skip(consumed: i + 1) }
        return .command(args, consumed: i + 1)
    }

    /// Splits a line into arguments as Redis's sdssplitargs does: spaces separate; "..." allows
    /// \n \r \t \b \a \\ \" and \xHH escapes; '...' allows \'; a closing quote must be followed by a
    /// space or the end. Returns nil on unbalanced quotes.
    public static func splitArguments(_ line: UnsafeRawBufferPointer) -> [[UInt8]]? {
        var out = [[UInt8]]()
        var i = 0
        let n = line.count
        func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 || c == 11 || c == 12 }
        func hexValue(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        while true {
            while i < n && isSpace(line[i]) { i += 1 }
            if i >= n { return out }
            var cur = [UInt8]()
            var inDouble = false, inSingle = false, done = false
            while !done {
                if inDouble {
                    if i >= n { return nil }
                    let c = line[i]
                    if c == UInt8(ascii: "\\") && i + 3 < n && line[i + 1] == UInt8(ascii: "x"),
                       let h = hexValue(line[i + 2]), let l = hexValue(line[i + 3]) {
                        cur.append(h << 4 | l)
                        i += 3
                    } else if c == UInt8(ascii: "\\") && i + 1 < n {
                        i += 1
                        switch line[i] {
                        case UInt8(ascii: "n"): cur.append(10)
                        case UInt8(ascii: "r"): cur.append(13)
                        case UInt8(ascii: "t"): cur.append(9)
                        case UInt8(ascii: "b"): cur.append(8)
                        case UInt8(ascii: "a"): cur.append(7)
                        default: cur.append(line[i])
                        }
                    } else if c == UInt8(ascii: "\"") {
                        if i + 1 < n && !isSpace(line[i + 1]) { return nil }
                        done = true
                    } else {
                        cur.append(c)
                    }
                } else if inSingle {
                    if i >= n { return nil }
                    let c = line[i]
                    if c == UInt8(ascii: "\\") && i + 1 < n && line[i + 1] == UInt8(ascii: "'") {
                        i += 1
                        cur.append(UInt8(ascii: "'"))
                    } else if c == UInt8(ascii: "'") {
                        if i + 1 < n && !isSpace(line[i + 1]) { return nil }
                        done = true
                    } else {
                        cur.append(c)
                    }
                } else {
                    if i >= n { done = true; break }
                    let c = line[i]
                    // An unquoted argument ends only at a space, \t, \n or \r: sdssplitargs keeps
                    // \v and \f inside it (though it skips them between arguments).
                    if c == 32 || c == 9 || c == 10 || c == 13 { done = true }
                    else if c == UInt8(ascii: "\"") { inDouble = true }
                    else if c == UInt8(ascii: "'") { inSingle = true }
                    else { cur.append(c) }
                }
                if i < n { i += 1 }
            }
            out.append(cur)
        }
    }
}

extension RESPRequestParser {
    /// A look ahead over pipelined requests, for prefetching: walks up to `limit` complete multibulk
    /// requests at the start of `buf` and calls `key` with the bytes of each one's second argument (the
    /// key of most commands). Stops at the first request that is incomplete, inline or malformed: the
    /// real parse reports those. Returns how many bytes the walked requests span.
    @inline(__always)
    public static func scanKeys(_ buf: UnsafeRawBufferPointer, limit: Int, _ key: (UnsafeRawBufferPointer) -> Void) -> Int {
        guard let base = buf.baseAddress else { return 0 }
        let end = buf.count
        var pos = 0
        var done = 0
        /// Reads "<digits>\r\n" from `at` (after a type byte); nil when incomplete or not a small number.
        @inline(__always)
        func number(_ at: inout Int) -> Int? {
            var n = 0
            var i = at
            while i < end {
                let c = base.load(fromByteOffset: i, as: UInt8.self)
                if c == 13 {
                    guard i > at, i + 1 < end, base.load(fromByteOffset: i + 1, as: UInt8.self) == 10 else { return nil }
                    at = i + 2
                    return n
                }
                guard c >= 48, c <= 57, i - at < 10 else { return nil }
                n = n * 10 + Int(c - 48)
                i += 1
            }
            return nil
        }
        scan: while done < limit && pos < end {
            var p = pos
            guard base.load(fromByteOffset: p, as: UInt8.self) == 42 else { break }  // '*'
            p += 1
            guard let argc = number(&p), argc > 0 else { break }
            var keyStart = 0
            var keyLength = -1
            var keyArgument = 1
            for a in 0 ..< argc {
                guard p < end, base.load(fromByteOffset: p, as: UInt8.self) == 36 else { break scan }  // '$'
                p += 1
                guard let n = number(&p), end - p >= n + 2 else { break scan }
                // EVAL, EVALSHA, FCALL and their _RO forms: the first key follows the script and numkeys.
                if a == 0 && n >= 4 && scriptCall(base + p, n) { keyArgument = 3 }
                if a == keyArgument { keyStart = p; keyLength = n }
                p += n + 2
            }
            if keyLength >= 0 { key(UnsafeRawBufferPointer(start: base + keyStart, count: keyLength)) }
            pos = p
            done += 1
        }
        return pos
    }

    /// Whether the `n` bytes at `name` look like EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, FCALL or FCALL_RO
    /// (any case): FCALL or FCALL_RO by prefix and length, the EVAL forms by their "eval" prefix and one
    /// of their lengths. A hint for prefetching only: a look-alike name just prefetches another argument.
    @inline(__always)
    static func scriptCall(_ name: UnsafeRawPointer, _ n: Int) -> Bool {
        func lower(_ i: Int) -> UInt8 { name.load(fromByteOffset: i, as: UInt8.self) | 0x20 }
        switch lower(0) {
        case UInt8(ascii: "e"):
            guard lower(1) == UInt8(ascii: "v"), lower(2) == UInt8(ascii: "a"), lower(3) == UInt8(ascii: "l") else { return false }
            return n == 4 || n == 7 || n == 10
        case UInt8(ascii: "f"):
            guard n == 5 || n == 8, lower(1) == UInt8(ascii: "c"), lower(2) == UInt8(ascii: "a"), lower(3) == UInt8(ascii: "l"),
                  lower(4) == UInt8(ascii: "l") else { return false }
            return true
        default:
            return false
        }
    }
}
