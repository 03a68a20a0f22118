// Conversions between Redis replies and Lua values, as Redis 7.0 makes them.
// A command's reply (RESP bytes written for the script's client, RESP2 or RESP3 by redis.setresp)
// becomes a Lua value: integer → number, bulk → string, null bulk/array → false, array → table,
// status → {ok=...}, error → {err=...}; RESP3 adds map → {map={...}}, set → {set={k=true}},
// null → nil, boolean → boolean, double → {double=n}, big number → {big_number=s}, verbatim →
// {verbatim_string={format=, string=}}; attributes are skipped.
// A script's result becomes the caller's reply: string → bulk, number → integer (truncated),
// boolean → 1/null (or RESP3 boolean after setresp(3)), table → the {err}/{ok}/{double}/...
// forms or an array that stops at the first nil, anything else → null.
import CLua
import StorageFormat

enum LuaReplies {
    // MARK: - RESP → Lua

    /// Pushes the Lua value of the reply at `bytes[i...]`, or nothing when `push` is false (an
    /// attribute's contents); returns the index after it.
    static func pushReply(_ L: OpaquePointer, _ bytes: UnsafeRawBufferPointer, _ i: Int, push: Bool = true) -> Int {
        let type = bytes[i]
        var j = i + 1
        // The line after the type byte.
        while j < bytes.count && bytes[j] != 13 { j += 1 }
        let line = UnsafeRawBufferPointer(rebasing: bytes[(i + 1) ..< j])
        let next = j + 2
        func number() -> Int {
            // A reply's own integer or length: digits with an optional minus sign.
            var v = 0, negative = false
            for (k, b) in line.enumerated() {
                if k == 0 && b == UInt8(ascii: "-") { negative = true; continue }
                guard b >= 48 && b <= 57 else { return 0 }
                v = v &* 10 &+ Int(b &- 48)
            }
            return negative ? 0 &- v : v
        }
        if push { lua_checkstack(L, 4) }
        switch type {
        case UInt8(ascii: ":"):
            if push { lua_pushnumber(L, Double(number())) }
            return next
        case UInt8(ascii: "$"), UInt8(ascii: "="):
            let n = number()
            if n < 0 {
                if push { lua_pushboolean(L, 0) }
                return next
            }
            if push {
                let body = UnsafeRawBufferPointer(rebasing: bytes[next ..< next + n])
                if type == UInt8(ascii: "=") && n >= 4 {
                    cairn_lua_newtable(L)
                    cairn_lua_newtable(L)
                    pushBytes(L, UnsafeRawBufferPointer(rebasing: body[(body.startIndex + 4)...]))
                    lua_setfield(L, -2, "string")
                    pushBytes(L, UnsafeRawBufferPointer(rebasing: body[body.startIndex ..< body.startIndex + 3]))
                    lua_setfield(L, -2, "format")
                    lua_setfield(L, -2, "verbatim_string")
                } else {
                    pushBytes(L, body)
                }
            }
            return next + n + 2
        case UInt8(ascii: "+"):
            if push {
                cairn_lua_newtable(L)
                pushBytes(L, line)
                lua_setfield(L, -2, "ok")
            }
            return next
        case UInt8(ascii: "-"):
            if push {
                pushErrorTable(L, "-" + String(decoding: line, as: UTF8.self))
                lua_pushboolean(L, 1)
                lua_setfield(L, -2, "ignore_error_stats_update")
            }
            return next
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            let n = number()
            if n < 0 {
                if push { lua_pushboolean(L, 0) }
                return next
            }
            var k = next
            if type == UInt8(ascii: "~") {
                if push { cairn_lua_newtable(L); cairn_lua_newtable(L) }
                for _ in 0 ..< n {
                    k = pushReply(L, bytes, k, push: push)
                    if push {
                        lua_pushboolean(L, 1)
                        lua_settable(L, -3)
                    }
                }
                if push { lua_setfield(L, -2, "set") }
            } else {
                if push { cairn_lua_newtable(L) }
                for e in 0 ..< n {
                    if push { lua_pushnumber(L, Double(e + 1)) }
                    k = pushReply(L, bytes, k, push: push)
                    if push { lua_settable(L, -3) }
                }
            }
            return k
        case UInt8(ascii: "%"):
            let n = number()
            if push { cairn_lua_newtable(L); cairn_lua_newtable(L) }
            var k = next
            for _ in 0 ..< n {
                k = pushReply(L, bytes, k, push: push)
                k = pushReply(L, bytes, k, push: push)
                if push { lua_settable(L, -3) }
            }
            if push { lua_setfield(L, -2, "map") }
            return k
        case UInt8(ascii: "|"):
            let n = number()
            var k = next
            for _ in 0 ..< 2 * n { k = pushReply(L, bytes, k, push: false) }
            return pushReply(L, bytes, k, push: push)
        case UInt8(ascii: "_"):
            if push { lua_pushnil(L) }
            return next
        case UInt8(ascii: "#"):
            if push { lua_pushboolean(L, line.first == UInt8(ascii: "t") ? 1 : 0) }
            return next
        case UInt8(ascii: ","):
            if push {
                cairn_lua_newtable(L)
                lua_pushnumber(L, parseLongDouble(Array(line)).map { Double($0) } ?? 0)
                lua_setfield(L, -2, "double")
            }
            return next
        case UInt8(ascii: "("):
            if push {
                cairn_lua_newtable(L)
                pushBytes(L, line)
                lua_setfield(L, -2, "big_number")
            }
            return next
        default:
            if push { lua_pushnil(L) }
            return bytes.count
        }
    }

    static func pushBytes(_ L: OpaquePointer, _ b: UnsafeRawBufferPointer) {
        if let base = b.baseAddress {
            lua_pushlstring(L, base.assumingMemoryBound(to: CChar.self), b.count)
        } else {
            lua_pushlstring(L, "", 0)
        }
    }

    static func pushBytes(_ L: OpaquePointer, _ b: [UInt8]) {
        b.withUnsafeBytes { pushBytes(L, $0) }
    }

    static func pushString(_ L: OpaquePointer, _ s: String) {
        pushBytes(L, Array(s.utf8))
    }

    /// Pushes Redis's error table for `text`: "-CODE message" keeps its code, anything else gets
    /// "ERR"; the message is trimmed of line ends.
    static func pushErrorTable(_ L: OpaquePointer, _ text: String) {
        cairn_lua_newtable(L)
        pushString(L, errorTableText(text))
        lua_setfield(L, -2, "err")
    }

    /// "CODE message" as Redis's luaPushErrorBuff forms it.
    static func errorTableText(_ text: String) -> String {
        var code = "ERR", msg = text
        if text.hasPrefix("-") {
            let body = text.dropFirst()
            if let sp = body.firstIndex(of: " ") {
                code = String(body[..<sp])
                msg = String(body[body.index(after: sp)...])
            } else {
                msg = String(body)
            }
        }
        while let last = msg.unicodeScalars.last, last == "\r" || last == "\n" { msg.unicodeScalars.removeLast() }
        while let first = msg.unicodeScalars.first, first == "\r" || first == "\n" { msg.unicodeScalars.removeFirst() }
        return code + " " + msg
    }

    /// The bytes of the string (or number) at `index`, nil for other types.
    static func bytes(_ L: OpaquePointer, _ index: Int32) -> [UInt8]? {
        let t = lua_type(L, index)
        guard t == LUA_TSTRING || t == LUA_TNUMBER else { return nil }
        var len = 0
        guard let p = cairn_lua_tolstring(L, index, &len) else { return nil }
        return Array(UnsafeRawBufferPointer(start: p, count: len))
    }

    static func string(_ L: OpaquePointer, _ index: Int32) -> String? {
        bytes(L, index).map { String(decoding: $0, as: UTF8.self) }
    }

    // MARK: - Lua → reply

    /// Writes the value at the top of the stack as a reply for a client speaking `resp`, and pops it.
    /// `scriptResp` is the protocol the script chose with redis.setresp (booleans depend on it).
    /// Returns the error message when the value was an error table (already written), for stats.
    static func writeReply(_ L: OpaquePointer, to out: inout [UInt8], resp: Int, scriptResp: Int, errors: inout [String]) {
        defer { cairn_lua_pop(L, 1) }
        guard lua_checkstack(L, 4) != 0 else {
            RESPEncoder.error("ERR reached lua stack limit", to: &out)
            errors.append("ERR reached lua stack limit")
            return
        }
        switch lua_type(L, -1) {
        case LUA_TSTRING:
            var len = 0
            let p = cairn_lua_tolstring(L, -1, &len)
            RESPEncoder.bulk(UnsafeRawBufferPointer(start: p, count: len), to: &out)
        case LUA_TBOOLEAN:
            let v = lua_toboolean(L, -1) != 0
            if scriptResp == 2 {
                if v { RESPEncoder.integer(1, to: &out) } else { RESPEncoder.null(resp: resp, to: &out) }
            } else {
                RESPEncoder.boolean(v, resp: resp, to: &out)
            }
        case LUA_TNUMBER:
            RESPEncoder.integer(Int(truncatingLikeC: lua_tonumber(L, -1)), to: &out)
        case LUA_TTABLE:
            writeTable(L, to: &out, resp: resp, scriptResp: scriptResp, errors: &errors)
        default:
            RESPEncoder.null(resp: resp, to: &out)
        }
    }

    /// The field `name` of the table at the top (raw access), pushed; returns its type.
    @discardableResult
    /// `b` with CR and LF made spaces, as Redis writes a script's status, big-number and error lines.
    static func oneLine(_ b: [UInt8]) -> [UInt8] { b.map { $0 == 13 || $0 == 10 ? UInt8(32) : $0 } }

    /// A one-line RESP reply: `prefix`, `line`, CRLF.
    static func appendLine(_ prefix: UInt8, _ line: [UInt8], to out: inout [UInt8]) {
        out.append(prefix)
        out.append(contentsOf: line)
        out.append(13); out.append(10)
    }

    static func rawField(_ L: OpaquePointer, _ name: String) -> Int32 {
        pushString(L, name)
        lua_rawget(L, -2)
        return lua_type(L, -1)
    }

    private static func writeTable(_ L: OpaquePointer, to out: inout [UInt8], resp: Int, scriptResp: Int, errors: inout [String]) {
        if rawField(L, "err") == LUA_TSTRING {
            cairn_lua_pop(L, 1)
            let info = errorInfo(L)
            let text = sanitizedError(info.message)
            RESPEncoder.error(text, to: &out)
            if !info.ignoreStats { errors.append(text) } else { errors.append("") }
            return
        }
        cairn_lua_pop(L, 1)
        if rawField(L, "ok") == LUA_TSTRING {
            appendLine(UInt8(ascii: "+"), oneLine(bytes(L, -1)!), to: &out)
            cairn_lua_pop(L, 1)
            return
        }
        cairn_lua_pop(L, 1)
        if rawField(L, "double") == LUA_TNUMBER {
            let d = lua_tonumber(L, -1)
            RESPEncoder.double(text: formatReplyDouble(d, resp: resp), resp: resp, to: &out)
            cairn_lua_pop(L, 1)
            return
        }
        cairn_lua_pop(L, 1)
        if rawField(L, "big_number") == LUA_TSTRING {
            let s = oneLine(bytes(L, -1)!)
            if resp == 2 {
                RESPEncoder.bulk(s, to: &out)
            } else {
                appendLine(UInt8(ascii: "("), s, to: &out)
            }
            cairn_lua_pop(L, 1)
            return
        }
        cairn_lua_pop(L, 1)
        if rawField(L, "verbatim_string") == LUA_TTABLE {
            if rawField(L, "format") == LUA_TSTRING {
                let format = bytes(L, -1)!
                cairn_lua_pop(L, 1)
                if rawField(L, "string") == LUA_TSTRING {
                    let s = bytes(L, -1)!
                    cairn_lua_pop(L, 2)
                    if resp == 2 {
                        RESPEncoder.bulk(s, to: &out)
                    } else {
                        let f = Array((format + [120, 120, 120]).prefix(3))
                        RESPEncoder.header(UInt8(ascii: "="), s.count + 4, to: &out)
                        out.append(contentsOf: f)
                        out.append(UInt8(ascii: ":"))
                        out.append(contentsOf: s)
                        out.append(13); out.append(10)
                    }
                    return
                }
            }
            cairn_lua_pop(L, 1)
        }
        cairn_lua_pop(L, 1)
        if rawField(L, "map") == LUA_TTABLE {
            var n = 0
            lua_pushnil(L)
            while lua_next(L, -2) != 0 { n += 1; cairn_lua_pop(L, 1) }
            RESPEncoder.mapHeader(n, resp: resp, to: &out)
            lua_pushnil(L)
            while lua_next(L, -2) != 0 {
                lua_pushvalue(L, -2)
                writeReply(L, to: &out, resp: resp, scriptResp: scriptResp, errors: &errors)
                writeReply(L, to: &out, resp: resp, scriptResp: scriptResp, errors: &errors)
            }
            cairn_lua_pop(L, 1)
            return
        }
        cairn_lua_pop(L, 1)
        if rawField(L, "set") == LUA_TTABLE {
            var n = 0
            lua_pushnil(L)
            while lua_next(L, -2) != 0 { n += 1; cairn_lua_pop(L, 1) }
            RESPEncoder.setHeader(n, resp: resp, to: &out)
            lua_pushnil(L)
            while lua_next(L, -2) != 0 {
                cairn_lua_pop(L, 1)
                lua_pushvalue(L, -1)
                writeReply(L, to: &out, resp: resp, scriptResp: scriptResp, errors: &errors)
            }
            cairn_lua_pop(L, 1)
            return
        }
        cairn_lua_pop(L, 1)
        // An array: elements 1, 2, ... up to the first nil.
        var n: Int32 = 0
        while true {
            lua_rawgeti(L, -1, n + 1)
            let isNil = lua_type(L, -1) == LUA_TNIL
            cairn_lua_pop(L, 1)
            if isNil { break }
            n += 1
        }
        RESPEncoder.arrayHeader(Int(n), to: &out)
        for k in 0 ..< n {
            lua_rawgeti(L, -1, k + 1)
            writeReply(L, to: &out, resp: resp, scriptResp: scriptResp, errors: &errors)
        }
    }

    /// An error's parts, from the error value at the top (a string, or a table with err, source,
    /// line and ignore_error_stats_update), without popping it.
    struct ErrorInfo {
        var message = ""
        var source: String?
        var line: String?
        var ignoreStats = false
    }

    static func errorInfo(_ L: OpaquePointer) -> ErrorInfo {
        var info = ErrorInfo()
        if lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER {
            info.message = "ERR " + (string(L, -1) ?? "")
            return info
        }
        guard lua_type(L, -1) == LUA_TTABLE else { return info }
        if rawField(L, "err") == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER { info.message = string(L, -1) ?? "" }
        cairn_lua_pop(L, 1)
        if rawField(L, "source") == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER { info.source = string(L, -1) }
        cairn_lua_pop(L, 1)
        if rawField(L, "line") == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER { info.line = string(L, -1) }
        cairn_lua_pop(L, 1)
        if rawField(L, "ignore_error_stats_update") == LUA_TBOOLEAN { info.ignoreStats = lua_toboolean(L, -1) != 0 }
        cairn_lua_pop(L, 1)
        return info
    }

    /// An error text as Redis replies it: line ends inside become spaces, trailing ones go.
    static func sanitizedError(_ s: String) -> String {
        var b = Array(s.utf8)
        while let last = b.last, last == 13 || last == 10 { b.removeLast() }
        return String(decoding: oneLine(b), as: UTF8.self)
    }
}

extension Int {
    /// A double converted as C's (long long) cast does on x86-64: truncated toward zero, and
    /// Int64.min for NaN and anything out of range.
    init(truncatingLikeC d: Double) {
        if d.isNaN || d >= 9223372036854775808.0 || d < -9223372036854775808.0 { self = Int.min } else { self = Int(d) }
    }
}
