// The script libraries differential test: the Lua snippets of tools/lua-libs-check/snippets.txt,
// which exercise cmsgpack, struct, cjson and bit (results and error paths), sent through EVAL to
// Debian's redis-server 7.0 and to cairn-server; the reply bytes must be identical. Each snippet is
// wrapped (tools/lua-libs-check/prelude.lua) so its results, or its error, come back as one string;
// a few more are sent bare, so the Lua -> RESP conversion of library values and the error replies
// of uncaught library errors are compared too.
//
// WAITING FOR EVAL: until Cairn has EVAL (issue 16, branch lua-core) the Cairn-side tests here fail
// with `ERR unknown command 'EVAL'` on every snippet; they are meant to, and are not skipped. The
// Redis-only test and the CLuaLibs driver test pass today.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The corpus: snippets.txt lines "tag| body" (comments and blank lines dropped), as bytes (some
/// snippets hold bytes outside ASCII).
struct LibrarySnippet {
    let tag: String
    let body: [UInt8]
    /// The EVAL script: prelude, then the body run under pcall, its results serialized.
    let wrapped: [UInt8]
    var text: String { tag + "| " + String(decoding: body, as: UTF8.self) }
}

func loadLibrarySnippets() throws -> [LibrarySnippet] {
    let dir = Paths.repo("tools/lua-libs-check")
    guard let preludeData = FileManager.default.contents(atPath: dir + "/prelude.lua"),
          let corpus = FileManager.default.contents(atPath: dir + "/snippets.txt") else {
        throw TestFailure(description: "tools/lua-libs-check/prelude.lua or snippets.txt missing")
    }
    let prelude = [UInt8](preludeData).split(separator: 10).filter { !$0.isEmpty }.map(Array.init)
        .joined(separator: [32]).map { $0 }
    var out: [LibrarySnippet] = []
    for line in [UInt8](corpus).split(separator: 10) {
        guard let first = line.first, first != UInt8(ascii: "#"),
              let bar = line.firstIndex(of: UInt8(ascii: "|")) else { continue }
        let tag = String(decoding: line[line.startIndex ..< bar], as: UTF8.self)
        var body = Array(line[(bar + 1)...])
        while body.first == 32 { body.removeFirst() }
        let wrapped = prelude + Array(" return all(pcall(function() ".utf8) + body + Array(" end))".utf8)
        out.append(LibrarySnippet(tag: tag, body: body, wrapped: wrapped))
    }
    return out
}

/// Snippets sent bare: library values converted to RESP by the VM, and uncaught library errors.
let bareLibraryScripts: [String] = [
    "return cmsgpack.pack({1, 2, 'x'})",
    "return cmsgpack.unpack(cmsgpack.pack({1, 2, {3, 'four'}, true, false}))",
    "return {cmsgpack.unpack(cmsgpack.pack(1.5, -7, 'z', 2^40))}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(10, 20), 1)}",
    "return cmsgpack.unpack('\\193')",
    "return cmsgpack.unpack('\\205\\1')",
    "return cmsgpack.pack()",
    "return cmsgpack.unpack_limit('\\1', -1)",
    "return struct.pack('>i2c3', 258, 'abc')",
    "return {struct.unpack('>i2c3', struct.pack('>i2c3', 258, 'abc'))}",
    "return struct.size('!8bd')",
    "return struct.pack('z')",
    "return struct.unpack('i', 'ab')",
    "return struct.pack('i40', 1)",
    "return struct.pack('!3b', 1)",
    "return cjson.encode({a = {1, 2, 3}})",
    "return cjson.decode('[1, 2.5, \"x\", true, null, {\"k\": [7]}]')",
    "return cjson.decode('{\"a\": 1}').a",
    "return cjson.decode('[1,')",
    "return cjson.encode(function() end)",
    "return cjson.encode({[1] = 1, [100] = 2})",
    "return cjson.decode(string.rep('[', 1100))",
    "return bit.band(0xff, 0x0f)",
    "return {bit.tohex(255), bit.tohex(65535, -2147483648), bit.tobit(2^32 + 5)}",
    "return bit.bor(1, 'x')",
    "return bit.tohex()",
]

/// Snippet sequences run on one connection without SCRIPT FLUSH in between: library settings
/// (cjson's) live in the Lua state and outlive a script until SCRIPT FLUSH, as in Redis.
let libraryStateSequences: [[String]] = [
    ["return cjson.encode_max_depth(2)", "return cjson.encode({{{1}}})", "SCRIPT FLUSH", "return cjson.encode({{{1}}})"],
    ["return cjson.decode_max_depth(3)", "return cjson.decode('[[[[1]]]]')", "SCRIPT FLUSH", "return #cjson.decode('[[[[1]]]]')"],
    ["return cjson.encode_number_precision(3)", "return cjson.encode(1/3)", "SCRIPT FLUSH", "return cjson.encode(1/3)"],
    ["return cjson.encode_sparse_array(true)", "return cjson.encode({[1] = 1, [20] = 2})", "SCRIPT FLUSH",
     "return cjson.encode({[1] = 1, [20] = 2})"],
    ["return cjson.encode_invalid_numbers(true)", "return cjson.encode(1/0)", "SCRIPT FLUSH", "return cjson.encode(1/0)"],
]

private func evalArgs(_ script: [UInt8]) -> [[UInt8]] { [Array("EVAL".utf8), script, Array("0".utf8)] }

private func show(_ reply: [UInt8]) -> String { String(decoding: reply.prefix(600), as: UTF8.self).debugDescription }

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis, "needs cairn-server built and redis-server installed"))
struct ScriptLibrariesDifferentialTests {
    /// Every wrapped snippet, each in a fresh Lua state (SCRIPT FLUSH first), per tag.
    @Test(arguments: ["mp", "st", "cj", "bit", "vm"])
    func wrappedSnippetsGiveIdenticalReplies(tag: String) throws {
        let snippets = try loadLibrarySnippets().filter { $0.tag == tag }
        #expect(!snippets.isEmpty)
        let cairn = try ServerProcess(cairn: true)
        let redis = try ServerProcess(cairn: false)
        let c = try cairn.client(), r = try redis.client()
        var mismatches: [String] = []
        for s in snippets {
            _ = try c.send(argv("SCRIPT FLUSH")); _ = try r.send(argv("SCRIPT FLUSH"))
            let mine = try c.send(evalArgs(s.wrapped)), theirs = try r.send(evalArgs(s.wrapped))
            if mine != theirs {
                mismatches.append("\(s.text)\n  redis: \(show(theirs))\n  cairn: \(show(mine))")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(snippets.count) differ:\n\(mismatches.prefix(15).joined(separator: "\n"))")
    }

    /// Library values returned bare and uncaught library errors, in RESP2 and in RESP3.
    @Test(arguments: [2, 3])
    func bareScriptsGiveIdenticalReplies(protocolVersion: Int) throws {
        let cairn = try ServerProcess(cairn: true)
        let redis = try ServerProcess(cairn: false)
        let c = try cairn.client(), r = try redis.client()
        if protocolVersion == 3 {
            #expect(try c.send(argv("HELLO 3")).count > 0)
            _ = try r.send(argv("HELLO 3"))
        }
        var mismatches: [String] = []
        for script in bareLibraryScripts {
            let mine = try c.send(evalArgs(Array(script.utf8))), theirs = try r.send(evalArgs(Array(script.utf8)))
            if mine != theirs { mismatches.append("\(script)\n  redis: \(show(theirs))\n  cairn: \(show(mine))") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(bareLibraryScripts.count) differ:\n\(mismatches.joined(separator: "\n"))")
    }

    /// cjson's settings persist across scripts until SCRIPT FLUSH.
    @Test func librarySettingsLiveUntilScriptFlush() throws {
        let cairn = try ServerProcess(cairn: true)
        let redis = try ServerProcess(cairn: false)
        let c = try cairn.client(), r = try redis.client()
        for sequence in libraryStateSequences {
            for step in sequence {
                let args = step == "SCRIPT FLUSH" ? argv(step) : evalArgs(Array(step.utf8))
                let mine = try c.send(args), theirs = try r.send(args)
                let same = mine == theirs
                #expect(same, "\(step) (in \(sequence))\n  redis: \(show(theirs))\n  cairn: \(show(mine))")
            }
            _ = try c.send(argv("SCRIPT FLUSH")); _ = try r.send(argv("SCRIPT FLUSH"))
        }
    }
}

/// Checks of the corpus that need Redis only (they pass before Cairn has EVAL).
@Suite(.enabled(if: Paths.haveRedis, "needs redis-server installed"))
struct ScriptLibrariesCorpusTests {
    /// Every wrapped snippet runs in Redis and answers with the wrapper's string: a bulk reply, never
    /// an -ERR (which would mean the wrapper or the snippet is broken, not the library).
    @Test func snippetsRunInRedis() throws {
        let snippets = try loadLibrarySnippets()
        #expect(snippets.count > 400)
        let redis = try ServerProcess(cairn: false)
        let r = try redis.client()
        for s in snippets {
            _ = try r.send(argv("SCRIPT FLUSH"))
            let reply = try r.send(evalArgs(s.wrapped))
            #expect(reply.first == UInt8(ascii: "$"), "\(s.text): \(show(reply))")
        }
        for script in bareLibraryScripts {
            let reply = try r.send(evalArgs(Array(script.utf8)))
            #expect(!reply.isEmpty, "\(script)")
        }
    }

    /// The CLuaLibs sources (with Debian's lua-cjson and lua-bitop) compiled into the lua-libs-check
    /// driver give Redis's results for every library snippet (the "vm" ones are the VM's business).
    @Test(.enabled(if: access("/usr/bin/cc", X_OK) == 0 && access("/usr/bin/python3", X_OK) == 0, "needs cc and python3"))
    func cLuaLibsMatchRedis() throws {
        let result = try runProcess(Paths.repo("tools/lua-libs-check/compare"), ["--fail-on-diff", "mp", "st", "cj", "bit"],
                                    stderrToStdout: true, timeout: 600)
        let out = String(decoding: result.out, as: UTF8.self)
        #expect(result.status == 0, "\(out.suffix(4000))")
        #expect(out.contains(", 0 differ"), "\(out.suffix(4000))")
    }

    /// The same on random cmsgpack and struct snippets (tools/lua-libs-check/fuzz-snippets, fixed seeds):
    /// random bytes to unpack, random values to pack, random struct formats and arguments.
    @Test(.enabled(if: access("/usr/bin/cc", X_OK) == 0 && access("/usr/bin/python3", X_OK) == 0, "needs cc and python3"),
          arguments: [UInt64(11), 12])
    func cLuaLibsMatchRedisOnRandomSnippets(seed: UInt64) throws {
        let corpus = try makeTempDir("lua-fuzz") + "/snippets.txt"
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: corpus).deletingLastPathComponent().path) }
        let generated = try runProcess(Paths.repo("tools/lua-libs-check/fuzz-snippets"), [String(seed), "3000"])
        #expect(generated.status == 0)
        try generated.out.write(to: URL(fileURLWithPath: corpus))
        let result = try runProcess(Paths.repo("tools/lua-libs-check/compare"), ["--fail-on-diff", "--corpus", corpus],
                                    stderrToStdout: true, timeout: 600)
        let out = String(decoding: result.out, as: UTF8.self)
        #expect(result.status == 0 && out.contains("3000 snippets"), "\(out.suffix(4000))")
    }
}
