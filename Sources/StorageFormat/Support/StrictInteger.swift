// StrictInteger: Redis's rule for "this string is an integer" (string2ll), used by every encoder that
// stores integer-looking strings as integers (RDB int strings, listpack, ziplist, intset).
// Accepted: an optional '-', then digits with no leading zero ("0" alone is fine), no '+', no spaces,
// "-0" refused, at most 20 bytes, and the value fits in Int64.

public enum StrictInteger {
    /// The integer `bytes` spell under Redis's strict rule, or nil.
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        let n = bytes.count
        if n == 0 || n > 20 { return nil }
        if n == 1 {
            let c = bytes[0]
            return (c >= 48 && c <= 57) ? Int64(c - 48) : nil
        }
        var i = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") {
            negative = true
            i = 1
        }
        // First digit must be 1-9 (no leading zeros, no "-0").
        let first = bytes[i]
        if first < 49 || first > 57 { return nil }
        var v: UInt64 = UInt64(first - 48)
        i += 1
        while i < n {
            let c = bytes[i]
            if c < 48 || c > 57 { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c - 48))
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        if negative {
            if v > UInt64(Int64.max) + 1 { return nil }
            return v == UInt64(Int64.max) + 1 ? Int64.min : -Int64(v)
        }
        if v > UInt64(Int64.max) { return nil }
        return Int64(v)
    }

    @inlinable
    public static func parse(_ bytes: [UInt8]) -> Int64? {
        bytes.withUnsafeBytes { parse($0) }
    }

    /// Decimal text of `v`, as bytes.
    @inlinable
    public static func format(_ v: Int64) -> [UInt8] {
        if v >= 0 && v < 10 { return [UInt8(v) + 48] }
        var out = [UInt8]()
        out.reserveCapacity(20)
        var m = v.magnitude
        while m > 0 {
            out.append(UInt8(m % 10) + 48)
            m /= 10
        }
        if v < 0 { out.append(UInt8(ascii: "-")) }
        out.reverse()
        return out
    }
}
