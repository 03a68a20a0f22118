// RESPEncoder: reply bytes in RESP2 and RESP3 (`HELLO 3`), appended to a buffer.
// RESP2: + simple, - error, : integer, $ bulk ($-1 null), * array (*-1 null array).
// RESP3 adds _ null, , double, # boolean, % map, ~ set, > push, = verbatim, ( big number.

public enum RESPEncoder {
    @inline(__always)
    public static func appendDecimal(_ v: Int, to out: inout [UInt8]) {
        if v >= 0 && v < 10 { out.append(UInt8(v) + 48); return }
        var m = v.magnitude
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)
        let n = withUnsafeMutableBytes(of: &tmp) { b -> Int in
            var i = 24
            while m > 0 { i -= 1; b[i] = UInt8(m % 10) + 48; m /= 10 }
            if v < 0 { i -= 1; b[i] = UInt8(ascii: "-") }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[i ..< 24]))
            return 24 - i
        }
        _ = n
    }

    @inline(__always) static func crlf(_ out: inout [UInt8]) { out.append(13); out.append(10) }

    @inline(__always)
    /// "+OK\r\n", the most common reply, as one 5-byte append.
    @inlinable
    public static func ok(to out: inout [UInt8]) {
        withUnsafeBytes(of: (UInt8(ascii: "+"), UInt8(ascii: "O"), UInt8(ascii: "K"), UInt8(13), UInt8(10))) {
            out.append(contentsOf: $0)
        }
    }

    public static func simple(_ s: StaticString, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "+"))
        s.withUTF8Buffer { out.append(contentsOf: $0) }
        crlf(&out)
    }

    public static func simple(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "+"))
        out.append(contentsOf: s.utf8)
        crlf(&out)
    }

    /// An error line; `message` includes its code ("ERR ...", "WRONGTYPE ...").
    public static func error(_ message: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "-"))
        for b in message.utf8 { out.append(b == 13 || b == 10 ? 32 : b) }
        crlf(&out)
    }

    @inline(__always)
    public static func integer(_ v: Int, to out: inout [UInt8]) {
        out.append(UInt8(ascii: ":"))
        appendDecimal(v, to: &out)
        crlf(&out)
    }

    @inline(__always)
    public static func bulk(_ b: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "$"))
        appendDecimal(b.count, to: &out)
        crlf(&out)
        out.append(contentsOf: b)
        crlf(&out)
    }

    @inline(__always)
    public static func bulk(_ b: [UInt8], to out: inout [UInt8]) {
        b.withUnsafeBytes { bulk($0, to: &out) }
    }

    @inline(__always)
    public static func null(resp: Int, to out: inout [UInt8]) {
        if resp >= 3 { out.append(UInt8(ascii: "_")); crlf(&out) } else {
            out.append(contentsOf: [UInt8(ascii: "$"), UInt8(ascii: "-"), UInt8(ascii: "1")]); crlf(&out)
        }
    }

    public static func nullArray(resp: Int, to out: inout [UInt8]) {
        if resp >= 3 { out.append(UInt8(ascii: "_")); crlf(&out) } else {
            out.append(contentsOf: [UInt8(ascii: "*"), UInt8(ascii: "-"), UInt8(ascii: "1")]); crlf(&out)
        }
    }

    @inline(__always)
    public static func header(_ kind: UInt8, _ n: Int, to out: inout [UInt8]) {
        out.append(kind)
        appendDecimal(n, to: &out)
        crlf(&out)
    }

    public static func arrayHeader(_ n: Int, to out: inout [UInt8]) { header(UInt8(ascii: "*"), n, to: &out) }

    /// A map of `n` pairs: `%n` in RESP3, an array of 2n items in RESP2.
    public static func mapHeader(_ n: Int, resp: Int, to out: inout [UInt8]) {
        if resp >= 3 { header(UInt8(ascii: "%"), n, to: &out) } else { header(UInt8(ascii: "*"), 2 * n, to: &out) }
    }

    public static func setHeader(_ n: Int, resp: Int, to out: inout [UInt8]) {
        header(resp >= 3 ? UInt8(ascii: "~") : UInt8(ascii: "*"), n, to: &out)
    }

    public static func pushHeader(_ n: Int, resp: Int, to out: inout [UInt8]) {
        header(resp >= 3 ? UInt8(ascii: ">") : UInt8(ascii: "*"), n, to: &out)
    }

    public static func boolean(_ v: Bool, resp: Int, to out: inout [UInt8]) {
        if resp >= 3 {
            out.append(UInt8(ascii: "#")); out.append(v ? UInt8(ascii: "t") : UInt8(ascii: "f")); crlf(&out)
        } else {
            integer(v ? 1 : 0, to: &out)
        }
    }

    /// A double: `,` in RESP3, a bulk string in RESP2; `text` is Redis's formatting of the value.
    public static func double(text: [UInt8], resp: Int, to out: inout [UInt8]) {
        if resp >= 3 {
            out.append(UInt8(ascii: ","))
            out.append(contentsOf: text)
            crlf(&out)
        } else {
            bulk(text, to: &out)
        }
    }

    /// A verbatim string (`=len\r\ntxt:...`) in RESP3, a bulk string in RESP2.
    public static func verbatim(_ text: [UInt8], format: StaticString = "txt", resp: Int, to out: inout [UInt8]) {
        if resp >= 3 {
            out.append(UInt8(ascii: "="))
            appendDecimal(text.count + 4, to: &out)
            crlf(&out)
            format.withUTF8Buffer { out.append(contentsOf: $0) }
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: text)
            crlf(&out)
        } else {
            bulk(text, to: &out)
        }
    }
}
