// AOFCheckRDB: the RDB preamble of an AOF file, checked with StorageFormat's RDBReader (every record,
// every value decoded, the CRC64 trailer verified), printing the lines redis-check-rdb 7.0 prints
// when redis-check-aof runs it on a preamble:
//   [offset 0] Checking RDB file <name>
//   [offset N] AUX FIELD <key> = '<value>'        (after each AUX; C strings: cut at a NUL byte)
//   [offset N] Selecting DB ID <n>
//   [offset N] MODULE AUX for: <module name>
//   [offset N] Checksum OK                       (or "RDB file was saved with checksum disabled: no check performed.")
//   [offset N] \o/ RDB looks OK! \o/
//   [info] <k> keys read / [info] <e> expires / [info] <x> already expired
// On a problem: "--- RDB ERROR DETECTED ---", "[offset N] <what>", "[additional info] …" lines and the
// [info] lines. The wording of the problem is Cairn's (redis-check-rdb names its own source lines);
// "Unexpected EOF reading RDB file" and "RDB CRC error" are kept.
// Differences from redis-check-rdb 7.0: RDB versions 11 and 12 are read (7.0 refuses them), and an
// aggregate stored empty is skipped as the server's loader skips it (7.0's checker fails on it).
#if canImport(Glibc)
import Glibc
#endif
import StorageFormat

struct AOFRDBPartResult {
    /// Offset just past the RDB (after its CRC trailer), where the RESP part starts.
    var end: Int
    var keys = 0
    var expires = 0
    var alreadyExpired = 0
    /// The problem, when the RDB part is not valid.
    var error: FormatError?
    var dialect: String?
    var skippedEmptyKeys = 0
    /// redis-check-rdb would have ended the process ("Terminating server after rdb file reading
    /// failure.") rather than return to redis-check-aof: corrupt data, not a short file or a bad CRC.
    var terminated = false
}

enum AOFCheckRDB {
    /// Checks the RDB at the start of `path`; `say` prints a line (text mode).
    static func check(name: String, path: String, say: ([UInt8]) -> Void, progress: (Int) -> Void) -> AOFRDBPartResult {
        var r = AOFRDBPartResult(end: 0)
        func info(_ offset: Int, _ text: [UInt8]) { say(Array("[offset \(offset)] ".utf8) + text) }
        info(0, Array("Checking RDB file ".utf8) + Array(name.utf8))
        let now = nowMilliseconds()
        do {
            let reader = try RDBReader(path: path)
            r.dialect = reader.dialect.description
            while let rec = try reader.next() {
                let at = reader.offset
                progress(at)
                switch rec {
                case .aux(let k, let v):
                    info(at, Array("AUX FIELD ".utf8) + cString(k) + Array(" = '".utf8) + cString(v) + [UInt8(ascii: "'")])
                case .selectDB(let n):
                    info(at, Array("Selecting DB ID \(n)".utf8))
                case .moduleAux(let m, _):
                    info(at, Array("MODULE AUX for: \(moduleName(m.moduleID))".utf8))
                case .entry(let e):
                    r.keys += 1
                    if let exp = e.expiresAt {
                        r.expires += 1
                        if exp < now { r.alreadyExpired += 1 }
                    }
                case .end(let checksum, let verified):
                    if let checksum {
                        if verified {
                            info(at, Array("Checksum OK".utf8))
                        } else if checksum == 0 {
                            info(at, Array("RDB file was saved with checksum disabled: no check performed.".utf8))
                        }
                    }
                    r.end = at
                case .resizeDB, .slotInfo, .function:
                    break
                }
            }
            r.skippedEmptyKeys = reader.skippedEmptyKeys.count
            r.keys += reader.skippedEmptyKeys.count
            info(r.end, Array("\\o/ RDB looks OK! \\o/".utf8))
        } catch let e as FormatError {
            r.error = e
            say(Array("--- RDB ERROR DETECTED ---".utf8))
            let eof = e.found == "end of file" || e.found == "end of input" || e.found.hasSuffix("left in the file")
                || e.expected.hasSuffix("fits in the rest of the file")
            let crc = e.context == "RDB checksum"
            // redis-check-rdb's loader stops the process itself on corrupt (not short) data.
            r.terminated = !eof && !crc
            let what = eof ? "Unexpected EOF reading RDB file" : crc ? "RDB CRC error" : "\(e.context): expected \(e.expected), found \(e.found)"
            info(e.offset, Array(what.utf8))
            say(Array("[additional info] While doing: \(doing(e, crc: crc))".utf8))
            if let key = e.key {
                // The key was read: redis-check-rdb counts it before reading its value.
                r.keys += 1
                say(Array("[additional info] Reading key '".utf8) + cString(key) + [UInt8(ascii: "'")])
            } else if r.keys == 0 && !crc {
                say(Array("[additional info] Reading type 0 (string)".utf8))
            }
        } catch {
            // An I/O error reading the file.
            r.error = FormatError(offset: 0, context: "RDB", expected: "a readable file", found: "\(error)")
            say(Array("--- RDB ERROR DETECTED ---".utf8))
            info(0, Array("\(error)".utf8))
        }
        say(Array("[info] \(r.keys) keys read".utf8))
        say(Array("[info] \(r.expires) expires".utf8))
        say(Array("[info] \(r.alreadyExpired) already expired".utf8))
        return r
    }

    /// redis-check-rdb's "While doing:" state for an error.
    static func doing(_ e: FormatError, crc: Bool) -> String {
        if crc { return "check-sum" }
        if e.key != nil { return "read-object-value" }
        let x = e.expected
        if x.contains("MODULE_AUX") { return "read-module-aux" }
        if x.contains("AUX") { return "read-aux" }
        if x.contains("EXPIRETIME") { return "read-expire" }
        if x.contains("function") { return "read-functions" }
        if x.contains("key") { return "read-key" }
        return "read-type"
    }

    /// The bytes of a C string: up to the first NUL.
    static func cString(_ b: [UInt8]) -> [UInt8] { Array(b.prefix { $0 != 0 }) }

    /// A module type's 9-character name from its 64-bit id (the top 54 bits, 6 bits per character).
    static func moduleName(_ id: UInt64) -> String {
        let charset = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var bits = id >> 10
        var chars: [Character] = []
        for _ in 0 ..< 9 {
            chars.append(charset[Int(bits & 63)])
            bits >>= 6
        }
        return String(chars.reversed())
    }

    static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
