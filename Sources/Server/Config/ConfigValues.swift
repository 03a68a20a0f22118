// ConfigValues: how each parameter type reads its arguments (Redis 7.0's rules and error texts) and
// prints its value for CONFIG GET. Numbers: plain integers as string2ll reads them; memory values as
// digits plus an optional unit (b k kb m mb g gb, any case; k = 1000, kb = 1024); "N%" for percent
// parameters; octal for unixsocketperm.
#if canImport(Glibc)
import Glibc
#endif
import StorageFormat
import Engine

/// Reads Redis's memory values: digits then an optional unit. Nil on any other text.
func parseMemory(_ s: [UInt8]) -> UInt64? {
    if s.first == UInt8(ascii: "-") { return nil }
    var i = 0
    while i < s.count && s[i] >= 48 && s[i] <= 57 { i += 1 }
    let unit = String(decoding: s[i...], as: UTF8.self).lowercased()
    let mul: UInt64
    switch unit {
    case "", "b": mul = 1
    case "k": mul = 1000
    case "kb": mul = 1024
    case "m": mul = 1000 * 1000
    case "mb": mul = 1024 * 1024
    case "g": mul = 1000 * 1000 * 1000
    case "gb": mul = 1024 * 1024 * 1024
    default: return nil
    }
    // strtoull over the digits: saturates at UInt64.max on overflow, as glibc does.
    var v: UInt64 = 0
    var overflow = false
    for c in s[0 ..< i] {
        let (m, o1) = v.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(UInt64(c - 48))
        if o1 || o2 { overflow = true; break }
        v = a
    }
    if overflow { v = UInt64.max }
    if v > UInt64.max / mul { return nil }
    return v * mul
}

/// C's strtoll over the whole text (leading spaces and a sign allowed): nil unless every byte is used.
/// Out-of-range values saturate as strtoll does; `overflowed` tells.
func cStrtoll(_ s: [UInt8], base: Int64 = 10) -> (value: Int64, overflowed: Bool)? {
    var i = 0
    while i < s.count && (s[i] == 32 || (s[i] >= 9 && s[i] <= 13)) { i += 1 }
    var negative = false
    if i < s.count && (s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-")) {
        negative = s[i] == UInt8(ascii: "-")
        i += 1
    }
    let digitsStart = i
    var mag: UInt64 = 0
    var overflow = false
    while i < s.count {
        let c = s[i]
        let d: Int64
        if c >= 48 && c <= 57 { d = Int64(c - 48) } else { break }
        if d >= base { break }
        let (m, o1) = mag.multipliedReportingOverflow(by: UInt64(base))
        let (a, o2) = m.addingReportingOverflow(UInt64(d))
        if o1 || o2 { overflow = true } else { mag = a }
        i += 1
    }
    if i == digitsStart {
        // No digits: strtoll consumes nothing, so only the empty text is "fully consumed".
        return s.isEmpty ? (0, false) : nil
    }
    guard i == s.count else { return nil }
    if negative {
        if overflow || mag > UInt64(Int64.max) + 1 { return (Int64.min, true) }
        return (mag == UInt64(Int64.max) + 1 ? Int64.min : -Int64(mag), false)
    }
    if overflow || mag > UInt64(Int64.max) { return (Int64.max, true) }
    return (Int64(mag), false)
}

/// The notify-keyspace-events classes.
enum KeyspaceEvents {
    static let keyspace = 1 << 0, keyevent = 1 << 1, generic = 1 << 2, string = 1 << 3, list = 1 << 4
    static let set = 1 << 5, hash = 1 << 6, zset = 1 << 7, expired = 1 << 8, evicted = 1 << 9, stream = 1 << 10
    static let keyMiss = 1 << 11, module = 1 << 12, new = 1 << 13
    static let all = generic | string | list | set | hash | zset | expired | evicted | stream | module

    static func parse(_ s: [UInt8]) -> Int? {
        var f = 0
        for c in s {
            switch c {
            case UInt8(ascii: "A"): f |= all
            case UInt8(ascii: "g"): f |= generic
            case UInt8(ascii: "$"): f |= string
            case UInt8(ascii: "l"): f |= list
            case UInt8(ascii: "s"): f |= set
            case UInt8(ascii: "h"): f |= hash
            case UInt8(ascii: "z"): f |= zset
            case UInt8(ascii: "x"): f |= expired
            case UInt8(ascii: "e"): f |= evicted
            case UInt8(ascii: "K"): f |= keyspace
            case UInt8(ascii: "E"): f |= keyevent
            case UInt8(ascii: "t"): f |= stream
            case UInt8(ascii: "m"): f |= keyMiss
            case UInt8(ascii: "d"): f |= module
            case UInt8(ascii: "n"): f |= new
            default: return nil
            }
        }
        return f
    }

    static func format(_ f: Int) -> String {
        var s = ""
        if f & all == all {
            s = "A"
        } else {
            for (bit, ch) in [(generic, "g"), (string, "$"), (list, "l"), (set, "s"), (hash, "h"), (zset, "z"),
                              (expired, "x"), (evicted, "e"), (stream, "t"), (module, "d"), (new, "n")] where f & bit != 0 {
                s += ch
            }
        }
        if f & keyspace != 0 { s += "K" }
        if f & keyevent != 0 { s += "E" }
        if f & keyMiss != 0 { s += "m" }
        return s
    }
}

/// A double as "%f" with trailing zeros (and a trailing dot) removed, as Redis prints percentiles.
func formatPercentile(_ d: Double) -> String {
    var buf = [CChar](repeating: 0, count: 512)
    _ = withVaList([d]) { vsnprintf(&buf, 512, "%f", $0) }
    var s = stringFromCBuffer(buf)
    if s.contains(".") {
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
    }
    return s
}

private func lowerASCII(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self).lowercased() }

extension ConfigParameter {
    /// Parses `args` into a new value. `current` is the value being replaced (client-output-buffer-limit
    /// changes only the classes named; `save` in a file adds to the rules after the first line).
    /// Returns Redis's error text on failure.
    func parse(_ args: [[UInt8]], current: ConfigValue, appendSave: Bool) -> Result<ConfigValue, ConfigFailure> {
        func fail(_ s: String) -> Result<ConfigValue, ConfigFailure> { .failure(ConfigFailure(s)) }
        switch type {
        case .bool:
            switch lowerASCII(args[0]) {
            case "yes":
                if name == "activedefrag" {
                    return fail("Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution")
                }
                return .success(.bool(true))
            case "no": return .success(.bool(false))
            default: return fail("argument must be 'yes' or 'no'")
            }

        case .number(let lo, let hi, let unsigned, let format):
            let s = args[0]
            var v: Int64? = nil
            if format == .memory || format == .memoryOrPercent, let m = parseMemory(s) {
                v = Int64(bitPattern: m)
            }
            if v == nil, format == .memoryOrPercent, s.count > 1, s.last == UInt8(ascii: "%"),
               let p = StrictInteger.parse(Array(s.dropLast())), p >= 0 {
                v = -p
            }
            if v == nil, format == .octal, let (o, overflowed) = cStrtoll(s, base: 8), !overflowed { v = o }
            if v == nil, format == .plain { v = StrictInteger.parse(s) }
            guard let n = v else {
                switch format {
                case .memoryOrPercent: return fail("argument must be a memory or percent value")
                case .memory: return fail("argument must be a memory value")
                case .octal: return fail("argument couldn't be parsed as an octal number")
                case .plain: return fail("argument couldn't be parsed into an integer")
                }
            }
            if unsigned {
                let u = UInt64(bitPattern: n), ulo = UInt64(bitPattern: lo), uhi = UInt64(bitPattern: hi)
                if u < ulo || u > uhi {
                    return fail("argument must be between \(ulo) and \(uhi) inclusive")
                }
            } else if format == .memoryOrPercent && n < 0 {
                if n < lo { return fail("percentage argument must be less or equal to \(-lo)") }
            } else if n < lo || n > hi {
                if format == .octal {
                    return fail("argument must be between \(String(lo, radix: 8)) and \(String(hi, radix: 8)) inclusive")
                }
                return fail("argument must be between \(lo) and \(hi) inclusive")
            }
            return .success(.number(n))

        case .enumeration(let cases, let bitflags):
            var value = 0
            var ok = !args.isEmpty && (bitflags || args.count == 1)
            if ok {
                for a in args {
                    let l = lowerASCII(a)
                    guard let c = cases.first(where: { $0.name == l }) else { ok = false; break }
                    value |= c.value
                    if !bitflags { value = c.value }
                }
            }
            if !ok {
                return fail("argument(s) must be one of the following: " + cases.map(\.name).joined(separator: ", "))
            }
            if bitflags && value & 1 != 0 && value & 2 != 0 {
                return fail("shutdown options SAVE and NOSAVE can't be used simultaneously")
            }
            return .success(.enumeration(value))

        case .string(let emptyIsNull, let validate):
            if let validate, let e = validate(args[0]) { return fail(e) }
            return .success(.string(emptyIsNull && args[0].isEmpty ? nil : args[0]))

        case .special(let kind):
            return parseSpecial(kind, args, current: current, appendSave: appendSave)
        }
    }

    private func parseSpecial(_ kind: SpecialConfig, _ argsIn: [[UInt8]], current: ConfigValue,
                              appendSave: Bool) -> Result<ConfigValue, ConfigFailure> {
        func fail(_ s: String) -> Result<ConfigValue, ConfigFailure> { .failure(ConfigFailure(s)) }
        var args = argsIn
        switch kind {
        case .save:
            if args.count == 1 && args[0].isEmpty { args = [] }
            if args.count % 2 == 1 { return fail("Invalid save parameters") }
            var rules: [SaveParam] = []
            var j = 0
            while j < args.count {
                guard let (s, _) = cStrtoll(args[j]), let (c, _) = cStrtoll(args[j + 1]), s >= 1, c >= 0 else {
                    return fail("Invalid save parameters")
                }
                rules.append(SaveParam(seconds: Int(s), changes: Int(truncatingIfNeeded: Int32(truncatingIfNeeded: c))))
                j += 2
            }
            if argsIn.count == 1 && argsIn[0].isEmpty { return .success(.save([])) }
            if appendSave, case .save(let old) = current { return .success(.save(old + rules)) }
            return .success(.save(rules))

        case .bind:
            if args.count > 16 { return fail("Too many bind addresses specified.") }
            if args.count == 1 && args[0].isEmpty { args = [] }
            return .success(.words(args))

        case .clientOutputBufferLimit:
            if args.count % 4 != 0 { return fail("Wrong number of arguments in buffer limit configuration.") }
            guard case .bufferLimits(var limits) = current else { return fail("internal error") }
            var j = 0
            var parsed: [(Int, ClientBufferLimit)] = []
            while j < args.count {
                let cls: Int
                switch lowerASCII(args[j]) {
                case "normal": cls = 0
                case "slave", "replica": cls = 1
                case "pubsub": cls = 2
                default: return fail("Invalid client class specified in buffer limit configuration.")
                }
                guard let h = parseMemory(args[j + 1]), let s = parseMemory(args[j + 2]), parseMemory(args[j + 3]) != nil,
                      Int64(bitPattern: h) >= 0, Int64(bitPattern: s) >= 0 else {
                    return fail("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
                }
                let secs = cStrtollPrefix(args[j + 3])
                parsed.append((cls, ClientBufferLimit(hard: Int64(bitPattern: h), soft: Int64(bitPattern: s), softSeconds: secs)))
                j += 4
            }
            for (c, l) in parsed { limits[c] = l }
            return .success(.bufferLimits(limits))

        case .oomScoreAdjValues:
            if args.count != 3 { return fail("wrong number of arguments") }
            var vals: [Int] = []
            for a in args {
                guard let (v, _) = cStrtoll(a), v >= -2000, v <= 2000 else {
                    return fail("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
                }
                vals.append(Int(v))
            }
            return .success(.ints(vals))

        case .latencyPercentiles:
            if args.count == 1 && args[0].isEmpty { args = [] }
            var vals: [Double] = []
            for a in args {
                guard let d = parseRedisDouble(a), !d.isNaN else { return fail("Invalid latency-tracking-info-percentiles parameters") }
                if d > 100 || d < 0 {
                    return fail("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
                }
                vals.append(d)
            }
            return .success(.doubles(vals))

        case .notifyKeyspaceEvents:
            guard let f = KeyspaceEvents.parse(args[0]) else {
                return fail("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
            }
            return .success(.events(f))

        case .replicaOf:
            if args.count != 2 { return fail("wrong number of arguments") }
            if lowerASCII(args[0]) == "no" && lowerASCII(args[1]) == "one" { return .success(.replica(nil)) }
            guard let (p, _) = cStrtoll(args[1]), !args[1].isEmpty, p >= 0, p <= 65535 else { return fail("Invalid master port") }
            return .success(.replica(ReplicaOf(host: args[0], port: Int(p))))

        case .dir:
            if args.count != 1 { return fail("wrong number of arguments") }
            let path = String(decoding: args[0], as: UTF8.self)
            if chdir(path) == -1 { return fail(String(cString: strerror(errno))) }
            return .success(.directory)
        }
    }

    /// The value as CONFIG GET shows it.
    func format(_ value: ConfigValue) -> [UInt8] {
        switch value {
        case .bool(let b): return Array((b ? "yes" : "no").utf8)
        case .number(let n):
            guard case .number(_, _, let unsigned, let format) = type else { return Array(String(n).utf8) }
            if unsigned { return Array(String(UInt64(bitPattern: n)).utf8) }
            if format == .memoryOrPercent && n < 0 { return Array("\(-n)%".utf8) }
            if format == .octal { return Array(String(n, radix: 8).utf8) }
            return Array(String(n).utf8)
        case .enumeration(let v): return Array(enumName(v).utf8)
        case .string(let s): return s ?? []
        case .save(let rules): return Array(rules.map { "\($0.seconds) \($0.changes)" }.joined(separator: " ").utf8)
        case .words(let w): return Array(w.joined(separator: [32]))
        case .bufferLimits(let l):
            return Array(ClientClass.allCases.map { c in
                "\(c.getName) \(l[c.rawValue].hard) \(l[c.rawValue].soft) \(l[c.rawValue].softSeconds)"
            }.joined(separator: " ").utf8)
        case .ints(let v): return Array(v.map(String.init).joined(separator: " ").utf8)
        case .doubles(let v): return Array(v.map(formatPercentile).joined(separator: " ").utf8)
        case .events(let f): return Array(KeyspaceEvents.format(f).utf8)
        case .replica(let r):
            guard let r else { return [] }
            return r.host + Array(" \(r.port)".utf8)
        case .directory: return Array(currentDirectory().utf8)
        }
    }

    /// An enum value's name; for flag sets, the names of the flags set ("default" when none).
    func enumName(_ v: Int) -> String {
        guard case .enumeration(let cases, let bitflags) = type else { return "" }
        if !bitflags { return cases.first { $0.value == v }?.name ?? "" }
        if v == 0 { return cases.first { $0.value == 0 }?.name ?? "" }
        return cases.filter { $0.value != 0 && v & $0.value == $0.value }.map(\.name).joined(separator: " ")
    }
}

/// strtoll's value of the leading number in `s` (0 when none), as Redis reads soft_seconds.
private func cStrtollPrefix(_ s: [UInt8]) -> Int64 {
    var i = 0
    var v: Int64 = 0
    while i < s.count && s[i] >= 48 && s[i] <= 57 {
        v = v &* 10 &+ Int64(s[i] - 48)
        i += 1
    }
    return v
}

/// The process's working directory.
func currentDirectory() -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    guard getcwd(&buf, buf.count) != nil else { return "" }
    return stringFromCBuffer(buf)
}

/// A parameter type's refusal: Redis's text ("argument must be a memory value").
public struct ConfigFailure: Error, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// The text of a NUL-terminated C buffer.
func stringFromCBuffer(_ buf: [CChar]) -> String {
    String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
