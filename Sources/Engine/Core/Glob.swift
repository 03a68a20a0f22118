// Glob matching as Redis's KEYS, SCAN MATCH, PSUBSCRIBE and CONFIG GET use it:
// `*`, `?`, `[abc]`, `[^a]`, `[a-z]`, and `\x` escapes, over bytes.

public func globMatch(pattern: [UInt8], string: [UInt8], noCase: Bool) -> Bool {
    pattern.withUnsafeBufferPointer { p in
        string.withUnsafeBufferPointer { s in globMatch(p, 0, s, 0, noCase, depth: 0) }
    }
}

private func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }

private func globMatch(_ p: UnsafeBufferPointer<UInt8>, _ pi: Int, _ s: UnsafeBufferPointer<UInt8>, _ si: Int,
                       _ noCase: Bool, depth: Int) -> Bool {
    if depth > 1000 { return false }
    var pi = pi, si = si
    while pi < p.count && si < s.count || (pi < p.count && p[pi] == UInt8(ascii: "*")) {
        switch p[pi] {
        case UInt8(ascii: "*"):
            while pi + 1 < p.count && p[pi + 1] == UInt8(ascii: "*") { pi += 1 }
            if pi + 1 == p.count { return true }
            var k = si
            while k <= s.count {
                if globMatch(p, pi + 1, s, k, noCase, depth: depth + 1) { return true }
                k += 1
            }
            return false
        case UInt8(ascii: "?"):
            si += 1
        case UInt8(ascii: "["):
            pi += 1
            let not = pi < p.count && p[pi] == UInt8(ascii: "^")
            if not { pi += 1 }
            var matched = false
            while pi < p.count {
                if p[pi] == UInt8(ascii: "\\") && pi + 2 < p.count {
                    pi += 1
                    if p[pi] == s[si] { matched = true }
                } else if p[pi] == UInt8(ascii: "]") {
                    break
                } else if pi + 2 < p.count && p[pi + 1] == UInt8(ascii: "-") {
                    var start = p[pi], end = p[pi + 2], c = s[si]
                    if start > end { swap(&start, &end) }
                    if noCase { start = lower(start); end = lower(end); c = lower(c) }
                    pi += 2
                    if c >= start && c <= end { matched = true }
                } else {
                    if noCase ? lower(p[pi]) == lower(s[si]) : p[pi] == s[si] { matched = true }
                }
                pi += 1
            }
            if pi >= p.count { pi = p.count - 1 } // unterminated class: like Redis, treat end as ']'
            if not { matched = !matched }
            if !matched { return false }
            si += 1
        case UInt8(ascii: "\\"):
            if pi + 1 < p.count { pi += 1 }
            fallthrough
        default:
            if noCase ? lower(p[pi]) != lower(s[si]) : p[pi] != s[si] { return false }
            si += 1
        }
        pi += 1
        if si == s.count {
            while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
            break
        }
    }
    return pi == p.count && si == s.count
}
