// AOFCheckScanner: reads the RESP part of one AOF file the way redis-check-aof 7.0 does, so that
// cairn-check-aof reports the same verdict, offsets, line counts and texts (FORMATS.md §13.5):
// - a loop that remembers the offset of the last command outside a MULTI (`ok_up_to`), peeks one
//   byte, and reads an annotation line ('#'), a command ('*') or stops ("AOF <name> format error");
// - '*' and '$' lines read with fgets into a 128-byte buffer, the number parsed with C's strtol and
//   followed by "\r\n"; a bulk read as its length plus 2 bytes, the last two being "\r\n";
// - MULTI/EXEC counted on the command name (a C string: it ends at a NUL byte, compared without case):
//   a MULTI inside a MULTI and an EXEC outside one are errors; the end of the file inside a MULTI is
//   "Reached EOF before reading EXEC for MULTI";
// - the error line is "0x%16llx: <text>" with the offset of the line or bulk being read (`epos`);
// - the line counter counts every "\r\n" consumed (not annotation lines) and is not reset between the
//   files of a multi-part AOF.
// Where redis-check-aof accepts what a loader refuses, Cairn refuses too, so a file the checker passes
// is a file Cairn's loader (AOFReader) and Redis's load: an argument count below 1 (`*0`, `*-1`), and
// a number that is not plain digits (`* 3`, `*+3`, more than 18 digits). These are reported in the same
// "Expected …, got: …" form; `cairnOnly` marks them.
// Texts redis-check-aof builds from memory it did not write (a line ending early shows a stale byte
// after the 00) are reproduced for '*' lines by keeping the previous '*' line's buffer; '$' lines show 00.
import StorageFormat

/// What the scan of one file found.
struct AOFScanOutcome {
    /// redis-check-aof's `ok_up_to`: the end of the last complete command outside a MULTI.
    var okUpTo: Int
    /// The error line redis-check-aof prints ("0x…: text"); nil when it prints none.
    var errorLine: [UInt8]?
    /// The problem in words (also when redis-check-aof prints no error line).
    var reason: String = ""
    /// Offset of the problem: the line or bulk being read, or the end of the file.
    var problemAt: Int = 0
    /// redis-check-aof printed "AOF <name> format error" (a line starting with neither '#' nor '*').
    var formatError = false
    /// A problem redis-check-aof 7.0 does not report (see the file comment).
    var cairnOnly = false
    /// True when the scan stopped on a problem (even one redis-check-aof prints no text for).
    var failed = false
    /// The command the problem is in.
    var command: AOFProblemCommand?
    var commands = 0
    var annotations = 0
    /// With a timestamp limit: where to cut (the first `#TS:` greater than the limit, or the start of
    /// the MULTI it is in) and that annotation's time.
    var cut: (offset: Int, timestamp: Int64)?
    /// With a timestamp limit: a `#TS:` line that is not digits followed by "\r", at this offset.
    var invalidTimestampAt: Int?
    /// The annotation that decided the cut was inside a MULTI (the cut is then at the MULTI).
    var cutInsideMulti = false
    /// Offset reached.
    var end = 0
}

/// The command a problem was found in.
struct AOFProblemCommand {
    var start: Int
    var argc: Int?
    /// The first argument (at most 64 bytes), when it was read.
    var name: [UInt8]?
    /// The 0-based argument being read when the problem was found.
    var argument: Int?
}

/// One scanner per run: it keeps redis-check-aof's process-wide state (the line counter, the
/// '*' line buffer) across the files of a multi-part AOF.
final class AOFCheckScanner {
    var line = 1
    var starLine = [UInt8](repeating: 0, count: 130)
    var dollarLine = [UInt8](repeating: 0, count: 130)
    var annotationLine = [UInt8](repeating: 0, count: 1025)

    /// Scans `input` from its current offset to the end of the file or the first problem.
    /// `filepath` is the name used in MULTI/EXEC texts (redis-check-aof uses the path there).
    func scan(_ input: AOFCheckInput, filepath: String, timestamp: Int64?) throws -> AOFScanOutcome {
        let s = FileScan(scanner: self, input: input, filepath: filepath)
        return try s.run(timestamp: timestamp)
    }
}

/// The scan of one file.
private final class FileScan {
    let scanner: AOFCheckScanner
    let input: AOFCheckInput
    let filepath: String
    var o: AOFScanOutcome
    var multi = 0
    var epos: Int
    var head: [UInt8] = []

    init(scanner: AOFCheckScanner, input: AOFCheckInput, filepath: String) {
        self.scanner = scanner
        self.input = input
        self.filepath = filepath
        o = AOFScanOutcome(okUpTo: input.offset)
        epos = input.offset
        head.reserveCapacity(64)
    }

    func error(_ text: String, at: Int? = nil, cairnOnly: Bool = false) {
        error(Array(text.utf8), at: at, cairnOnly: cairnOnly)
    }

    /// Records the error line "0x%16llx: text" at `epos`.
    func error(_ text: [UInt8], at: Int? = nil, cairnOnly: Bool = false) {
        var lineText = Array("0x".utf8)
        let hex = String(epos, radix: 16)
        lineText += [UInt8](repeating: 0x20, count: max(0, 16 - hex.count)) + Array(hex.utf8)
        lineText += Array(": ".utf8) + text
        o.errorLine = lineText
        o.reason = String(decoding: text.map { $0 >= 0x20 && $0 < 0x7f ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
        o.problemAt = at ?? epos
        o.cairnOnly = cairnOnly
    }

    func run(timestamp: Int64?) throws -> AOFScanOutcome {
        while true {
            if multi == 0 { o.okUpTo = input.offset }
            input.hitEOF = false
            guard let c = try input.peek() else { break }
            if c == UInt8(ascii: "#") {
                epos = input.offset
                let start = epos
                let n = try input.fgets(into: &scanner.annotationLine, max: 1024)
                o.annotations += 1
                if let limit = timestamp, n >= 4, scanner.annotationLine[0 ..< 4].elementsEqual("#TS:".utf8) {
                    let cEnd = scanner.annotationLine[0 ..< n].firstIndex(of: 0) ?? n
                    let (v, stop, overflow) = strtol(scanner.annotationLine, from: 4, cEnd: cEnd)
                    if overflow || stop >= cEnd || scanner.annotationLine[stop] != 13 {
                        o.invalidTimestampAt = start
                        o.end = input.offset
                        return o
                    }
                    if Int64(v) > limit {
                        // A cut inside a MULTI goes before the MULTI, so no transaction is left open.
                        o.cut = (multi != 0 ? o.okUpTo : start, Int64(v))
                        o.cutInsideMulti = multi != 0
                        o.end = input.offset
                        return o
                    }
                }
            } else if c == UInt8(ascii: "*") {
                if try !command() { o.failed = true; break }
            } else {
                o.formatError = true
                o.failed = true
                o.problemAt = input.offset
                o.reason = "a line starting with neither '*' nor '#' (byte 0x\(String(c, radix: 16)))"
                break
            }
        }
        if input.hitEOF && multi != 0 && o.errorLine == nil {
            error("Reached EOF before reading EXEC for MULTI", at: input.offset)
            if !o.failed {
                // The whole transaction is there but its EXEC is not: the problem is the open MULTI.
                o.command = AOFProblemCommand(start: o.okUpTo, argc: nil, name: Array("MULTI".utf8), argument: nil)
            }
            o.failed = true
        }
        if o.failed && o.reason.isEmpty {
            // redis-check-aof prints nothing here: a '*' or '$' line was expected at the end of the file.
            o.reason = "unexpected end of file: the last command is incomplete"
            o.problemAt = input.offset
        }
        o.end = input.offset
        return o
    }

    /// One command; false on a problem.
    func command() throws -> Bool {
        var cmd = AOFProblemCommand(start: input.offset)
        o.command = cmd
        guard let argc = try readLong(UInt8(ascii: "*"), &scanner.starLine, what: "an argument count") else { return false }
        cmd.argc = argc
        o.command = cmd
        if argc < 1 {
            error("Expected an argument count of at least 1, got: \(argc)", cairnOnly: true)
            return false
        }
        var i = 0
        while i < argc {
            cmd.argument = i
            o.command = cmd
            guard try readString() else { return false }
            if i == 0 {
                cmd.name = head
                o.command = cmd
                let name = head.prefix { $0 != 0 }
                if FileScan.equalsIgnoringCase(name, "multi") {
                    multi += 1
                    if multi != 1 {
                        error("Unexpected MULTI in AOF \(filepath)")
                        return false
                    }
                } else if FileScan.equalsIgnoringCase(name, "exec") {
                    multi -= 1
                    if multi != 0 {
                        error("Unexpected EXEC in AOF \(filepath)")
                        return false
                    }
                }
            }
            i += 1
        }
        o.commands += 1
        o.command = nil
        return true
    }

    static func equalsIgnoringCase(_ a: ArraySlice<UInt8>, _ lower: String) -> Bool {
        let l = Array(lower.utf8)
        guard a.count == l.count else { return false }
        for (x, y) in zip(a, l) where (x >= 65 && x <= 90 ? x + 32 : x) != y { return false }
        return true
    }

    /// redis-check-aof's readLong: a line starting with `prefix`, a number, "\r\n". nil on a problem
    /// (with no error text when the file ended before the line).
    func readLong(_ prefix: UInt8, _ buf: inout [UInt8], what: String) throws -> Int? {
        epos = input.offset
        if prefix == UInt8(ascii: "$") {
            for i in buf.indices { buf[i] = 0 }
        }
        let n = try input.fgets(into: &buf, max: 128)
        if n == 0 { return nil }
        let cEnd = buf[0 ..< n].firstIndex(of: 0) ?? n
        let first = cEnd == 0 ? 0 : buf[0]
        if first != prefix {
            // "%c" of a NUL ends the C string there.
            var text = Array("Expected prefix '".utf8) + [prefix] + Array("', got: '".utf8)
            if first != 0 { text += [first, UInt8(ascii: "'")] }
            error(text)
            return nil
        }
        let (v, stop, _) = strtol(buf, from: 1, cEnd: cEnd)
        guard buf[stop] == 13 && buf[stop + 1] == 10 else {
            error("Expected \\r\\n, got: \(FileScan.signedHex(buf[stop]))\(FileScan.signedHex(buf[stop + 1]))")
            return nil
        }
        scanner.line += 1
        // Cairn: plain digits only (an optional '-', 1 to 18 digits), as AOFReader reads them.
        var i = 1
        if buf[i] == UInt8(ascii: "-") { i += 1 }
        let digitsStart = i
        while i < stop && buf[i] >= 48 && buf[i] <= 57 { i += 1 }
        if i != stop || i == digitsStart || i - digitsStart > 18 {
            let shown = ByteText.quoted(buf[1 ..< stop])
            error("Expected \(what) of 1 to 18 plain digits, got: \(shown)", cairnOnly: true)
            return nil
        }
        return v
    }

    /// redis-check-aof's readString: a '$' line, then that many bytes and "\r\n". The first bytes
    /// are left in `head`.
    func readString() throws -> Bool {
        guard let len = try readLong(UInt8(ascii: "$"), &scanner.dollarLine, what: "a bulk length") else { return false }
        if len < 0 || len > Int.max - 2 {
            error("Expected to read string of \(len) bytes, which is not in the suitable range")
            return false
        }
        let total = len + 2
        epos = input.offset
        var tail: (UInt8, UInt8) = (0, 0)
        let got = try input.fread(total, keep: min(len, 64), head: &head, tail: &tail)
        if got < total {
            error("Expected to read \(total) bytes, got \(got) bytes")
            return false
        }
        guard tail.0 == 13 && tail.1 == 10 else {
            error("Expected \\r\\n, got: \(FileScan.signedHex(tail.0))\(FileScan.signedHex(tail.1))")
            return false
        }
        scanner.line += 1
        return true
    }

    /// printf("%02x") of a C char (signed on x86-64): bytes from 0x80 print as ffffffXX.
    static func signedHex(_ b: UInt8) -> String {
        let h = String(b, radix: 16)
        let two = h.count == 1 ? "0" + h : h
        return b >= 0x80 ? "ffffff" + two : two
    }
}

/// C's strtol(s + from, &end, 10) on a C string ending at `cEnd`: white space, a sign, digits; the
/// value saturates on overflow. With no digits the end is `from` itself.
func strtol(_ s: [UInt8], from: Int, cEnd: Int) -> (value: Int, end: Int, overflow: Bool) {
    var i = from
    while i < cEnd && (s[i] == 32 || (s[i] >= 9 && s[i] <= 13)) { i += 1 }
    var negative = false
    if i < cEnd && (s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-")) {
        negative = s[i] == UInt8(ascii: "-")
        i += 1
    }
    let digitsStart = i
    var v = 0
    var overflow = false
    while i < cEnd && s[i] >= 48 && s[i] <= 57 {
        let d = Int(s[i] - 48)
        if !overflow {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (r, o2) = negative ? m.subtractingReportingOverflow(d) : m.addingReportingOverflow(d)
            if o1 || o2 { overflow = true; v = negative ? Int.min : Int.max } else { v = r }
        }
        i += 1
    }
    if i == digitsStart { return (0, from, false) }
    return (v, i, overflow)
}
