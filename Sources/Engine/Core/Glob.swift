// Glob matching as Redis's KEYS, SCAN MATCH, PSUBSCRIBE and CONFIG GET use it:
// `*`, `?`, `[abc]`, `[^a]`, `[a-z]`, and `\x` escapes, over bytes.

public func globMatch(pattern: [UInt8], string: [UInt8], noCase: Bool) -> Bool {
    pattern.withUnsafeBufferPointer { p in
        string.withUnsafeBufferPointer { s in globMatch(p, 0, s, 0, noCase, depth: 0) == .match }
    }
}

/// How a (sub)pattern fared: `exhausted` means the string ran out while the pattern still wanted
/// characters, so starting the same sub-pattern further along the string cannot match either. A `*`
/// stops trying longer skips on it, which keeps patterns like `a*a*a*…b` linear instead of exponential.
private enum GlobResult { case match, noMatch, exhausted }

private func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }

private func globMatch(_ p: UnsafeBufferPointer<UInt8>, _ pi: Int, _ s: UnsafeBufferPointer<UInt8>, _ si: Int,
                       _ noCase: Bool, depth: Int) -> GlobResult {
    if depth > 1000 { return .noMatch }
    var pi = pi, si = si
    while pi < p.count && si < s.count || (pi < p.count && p[pi] == UInt8(ascii: "*")) {
        switch p[pi] {
        case UInt8(ascii: "*"):
            while pi + 1 < p.count && p[pi + 1] == UInt8(ascii: "*") { pi += 1 }
            if pi + 1 == p.count { return .match }
            var k = si
            while k <= s.count {
                switch globMatch(p, pi + 1, s, k, noCase, depth: depth + 1) {
                case .match: return .match
                case .exhausted: return .exhausted
                case .noMatch: k += 1
                }
            }
            return .exhausted
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
            if !matched { return .noMatch }
            si += 1
        case UInt8(ascii: "\\"):
            if pi + 1 < p.count { pi += 1 }
            fallthrough
        default:
            if noCase ? lower(p[pi]) != lower(s[si]) : p[pi] != s[si] { return .noMatch }
            si += 1
        }
        pi += 1
        if si == s.count {
            while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
            break
        }
    }
    if pi == p.count { return si == s.count ? .match : .noMatch }
    return si == s.count ? .exhausted : .noMatch
}
