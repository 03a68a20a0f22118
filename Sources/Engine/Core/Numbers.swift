// Numbers as Redis parses and prints them: strict integers, floats (strtold rules: no spaces, inf
// allowed, NaN refused), and doubles in replies (%.17g in both protocols, as Redis 7.0 prints them).
#if canImport(Glibc)
import Glibc
#endif
import StorageFormat

/// Parses a float argument as Redis does: the whole text must be a number; "inf", "+inf", "-inf" allowed; NaN refused.
public func parseRedisDouble(_ b: [UInt8]) -> Double? {
    if b.isEmpty || b.count > 5000 { return nil }
    let first = b[0]
    if first == 32 || first == 9 || first == 10 || first == 13 { return nil }
    if let last = b.last, last == 32 || last == 9 || last == 10 || last == 13 { return nil }
    return b.withUnsafeBytes { raw -> Double? in
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: b.count + 1) { tmp -> Double? in
            for i in 0 ..< b.count { tmp[i] = CChar(bitPattern: raw[i]) }
            tmp[b.count] = 0
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            let d = strtod(tmp.baseAddress!, &end)
            guard let e = end, e - tmp.baseAddress! == b.count, !d.isNaN else { return nil }
            // Like Redis's string2d: overflow to ±inf or underflow to 0 is an error; a subnormal is fine.
            if errno == ERANGE && (d.isInfinite || d == 0) { return nil }
            return d
        }
    }
}

/// `%.17g` text of a double ("inf", "-inf" for infinities), Redis's RESP2 double reply and zset score form.
public func formatDouble17g(_ d: Double) -> [UInt8] {
    if d.isInfinite { return Array((d > 0 ? "inf" : "-inf").utf8) }
    if d.isNaN { return Array("nan".utf8) }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 48) { buf -> [UInt8] in
        let n = withVaList([d]) { vsnprintf(buf.baseAddress!, 48, "%.17g", $0) }
        return (0 ..< Int(n)).map { UInt8(bitPattern: buf[$0]) }
    }
}

/// Appends `d` as "%.17g" writes it; integral values below 10^15 (the usual arguments of a script's
/// redis.call) without going through vsnprintf.
public func appendDouble17g(_ d: Double, to out: inout [UInt8]) {
    guard d == d.rounded(.towardZero), abs(d) < 1e15, !(d == 0 && d.sign == .minus) else {
        out.append(contentsOf: formatDouble17g(d))
        return
    }
    var v = Int64(d)
    if v < 0 {
        out.append(UInt8(ascii: "-"))
        v = -v
    }
    var digits: (UInt64, UInt64) = (0, 0)  // 16 bytes: room for the 15 digits
    withUnsafeMutableBytes(of: &digits) { buf in
        var i = 16
        repeat {
            i -= 1
            buf[i] = UInt8(48 + v % 10)
            v /= 10
        } while v > 0
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[i...]))
    }
}

/// Shortest text that reads back as `d` (`%.17g` trimmed the way Redis 7's RESP3 doubles are).
public func formatDoubleShortest(_ d: Double) -> [UInt8] {
    if d.isInfinite { return Array((d > 0 ? "inf" : "-inf").utf8) }
    if d.isNaN { return Array("nan".utf8) }
    for precision in 1 ... 17 {
        let text = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 48) { buf -> [UInt8] in
            let n = withVaList([precision, d]) { vsnprintf(buf.baseAddress!, 48, "%.*g", $0) }
            return (0 ..< Int(n)).map { UInt8(bitPattern: buf[$0]) }
        }
        if parseRedisDouble(text) == d { return text }
    }
    return formatDouble17g(d)
}

/// A double reply's text: Redis 7.0 prints `%.17g` in both protocols (RESP2 as a bulk string,
/// RESP3 as a `,` double); the shortest round-trip form came only with Redis 7.2.
public func formatReplyDouble(_ d: Double, resp: Int) -> [UInt8] {
    formatDouble17g(d)
}

/// Parses a long double as Redis's string2ld does (INCRBYFLOAT, HINCRBYFLOAT, blocking timeouts):
/// strtold over the whole text, no leading space, NaN refused, overflow or underflow refused.
public func parseLongDouble(_ b: [UInt8]) -> Float80? {
    if b.isEmpty || b.count >= 5 * 1024 { return nil }
    let first = b[0]
    if first == 32 || (first >= 9 && first <= 13) { return nil }
    return b.withUnsafeBytes { raw -> Float80? in
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: b.count + 1) { tmp -> Float80? in
            for i in 0 ..< b.count { tmp[i] = CChar(bitPattern: raw[i]) }
            tmp[b.count] = 0
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            let d = strtold(tmp.baseAddress!, &end)
            guard let e = end, e - tmp.baseAddress! == b.count, !d.isNaN else { return nil }
            // Like Redis's string2ld: overflow to ±inf or underflow to 0 is not a number.
            if errno == ERANGE && (d.isInfinite || d == 0) { return nil }
            return d
        }
    }
}

/// INCRBYFLOAT / HINCRBYFLOAT output: Redis prints the long double with `%.17Lf` and trims
/// trailing zeros (and a trailing dot).
public func formatLongDouble(_ d: Float80) -> [UInt8] {
    var text = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 5000) { buf -> [UInt8] in
        let n = withVaList([d]) { vsnprintf(buf.baseAddress!, 5000, "%.17Lf", $0) }
        return (0 ..< Int(min(n, 4999))).map { UInt8(bitPattern: buf[$0]) }
    }
    if text.contains(UInt8(ascii: ".")) {
        while text.last == UInt8(ascii: "0") { text.removeLast() }
        if text.last == UInt8(ascii: ".") { text.removeLast() }
    }
    if text == Array("-0".utf8) { text = Array("0".utf8) }
    return text
}
