// ScriptSHA: the name of a cached EVAL script, its SHA1 as 40 lower-case hex digits held inline (five
// words, no heap storage), so the script cache's keys cost no allocation and EVALSHA looks a script
// up without building a String.

struct ScriptSHA: Hashable {
    private var words: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)

    /// The digest named by `hex` (40 hex digits, either case), nil for anything else.
    init?(hex: [UInt8]) {
        guard hex.count == 40 else { return nil }
        var ok = true
        withUnsafeMutableBytes(of: &words) { out in
            for i in 0 ..< 40 {
                var c = hex[i]
                if c >= 65 && c <= 70 { c += 32 }
                if !((c >= 48 && c <= 57) || (c >= 97 && c <= 102)) { ok = false }
                out[i] = c
            }
        }
        if !ok { return nil }
    }

    /// The SHA1 of `body`.
    init(of body: [UInt8]) {
        self.init(hex: Array(ScriptingVM.sha1hex(body).utf8))!
    }

    /// The 40 hex digits.
    var string: String {
        withUnsafeBytes(of: words) { String(decoding: $0, as: UTF8.self) }
    }

    static func == (a: ScriptSHA, b: ScriptSHA) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3 && a.words.4 == b.words.4
    }

    func hash(into h: inout Hasher) {
        h.combine(words.0)
        h.combine(words.1)
        h.combine(words.2)
        h.combine(words.3)
        h.combine(words.4)
    }
}
