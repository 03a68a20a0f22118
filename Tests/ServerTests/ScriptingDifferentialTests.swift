// Scripting against the oracle: the same EVAL/EVALSHA/SCRIPT commands (conversions both ways, error
// paths, pcall error tables, sandbox violations, shebang flags, the redis.* API, cjson and bit) sent
// over real sockets to Debian's redis-server 7.0 and to cairn-server, in RESP2 and in RESP3; the
// reply bytes must be identical. Also a runaway script (-BUSY, SCRIPT KILL, UNKILLABLE, SHUTDOWN
// NOSAVE) and a script's writes in the AOF (MULTI/EXEC-wrapped effects that reload identically).
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// EVAL command lines, each `[script, numkeys, keys and args...]` after "EVAL".
let scriptingCases: [[String]] = [
    // Lua → reply conversions.
    ["return 1"], ["return 3.99"], ["return -3.99"], ["return 'ciao'"], ["return true"], ["return false"], ["return nil"],
    ["return {1,2,3,'ciao',{1,2}}"], ["return {1,2,nil,4}"], ["return {}"], ["return 0/0"], ["return 1/0"],
    ["return {ok='FINE'}"], ["return {ok='a\\r\\nb'}"], ["return {err='My Error'}"], ["return {err='-X a\\r\\nb'}"],
    ["return redis.status_reply('OKAY')"], ["return redis.error_reply('My Error')"], ["return redis.error_reply('-CODE msg')"],
    ["return redis.error_reply('x')"], ["return redis.error_reply(1, 2)"], ["return redis.status_reply()"],
    ["return {double=3.5}"], ["return {big_number='123456789012345678901234567890'}"],
    ["return {verbatim_string={format='txt', string='hello'}}"], ["return {map={a=1}}"], ["return {set={a=true}}"],
    ["redis.setresp(3); return {map={a=1}}"], ["redis.setresp(3); return {set={a=true}}"], ["redis.setresp(3); return true"],
    ["redis.setresp(3); return false"], ["redis.setresp(3); return {double=1.5}"],
    ["return KEYS[1] .. ARGV[1]", "1", "k", "a"], ["return {KEYS[1], KEYS[2], ARGV[1]}", "2", "a", "b", "c"],
    ["return #ARGV", "0", "x", "y"],
    // Replies → Lua.
    ["return redis.call('set','x','1')"], ["return redis.call('get','x')"], ["return redis.call('incr','x')"],
    ["return redis.call('get','nokey')"], ["return type(redis.call('get','nokey'))"], ["return redis.call('ping')"],
    ["return redis.call('del','l'), redis.call('rpush','l','a','b','c')"], ["return redis.call('lrange','l',0,-1)"],
    ["return redis.call('hset','h','f','v','g','w')"], ["return redis.call('hgetall','h')"],
    ["redis.setresp(3); return redis.call('hgetall','h')"], ["redis.setresp(3); local r = redis.call('hgetall','h'); return r['map']['f']"],
    ["return redis.call('zadd','z','1.5','m')"], ["return redis.call('zscore','z','m')"],
    ["redis.setresp(3); return redis.call('zscore','z','m')"], ["redis.setresp(3); local r = redis.call('zscore','z','m'); return r['double']"],
    ["redis.setresp(3); return redis.call('sadd','s','a')"], ["redis.setresp(3); return redis.call('smembers','s')"],
    ["redis.setresp(3); return redis.call('get','nokey')"], ["redis.setresp(3); return type(redis.call('get','nokey'))"],
    ["return redis.call('type','x')"], ["local t = redis.call('type','x'); return t['ok']"],
    ["return redis.call('set', 'n', 3.5)"], ["return redis.call('get', 'n')"], ["return redis.call('set', 'n', 1e20)"], ["return redis.call('get', 'n')"],
    // Error paths.
    ["return redis.call('incr','l')"], ["return redis.pcall('incr','l')"], ["local t = redis.pcall('incr','l'); return t['err']"],
    ["return redis.call('nosuch')"], ["return redis.pcall('nosuch')"], ["return redis.call('get')"], ["return redis.call()"],
    ["return redis.pcall()"], ["return redis.call('get', {})"], ["return redis.call('eval', 'return 1', 0)"],
    ["return redis.call('multi')"], ["return redis.call('subscribe', 'c')"],
    ["return error('x')"], ["error({err='My Error'})"], ["error({err='My Error', x=1})"], ["error()"], ["error(nil)"],
    ["return pcall(function() redis.call('get') end)"], ["return {pcall(redis.call, 'nosuch')}"],
    ["return {pcall(error, {err='E1'})}"], ["return {pcall(error, 'x')}"], ["local ok, e = pcall(error, 'x'); return e"],
    ["x = "], ["return"], ["local a = {} a.b.c = 1"], ["return 1 + {}"], ["return #nil"],
    ["return redis.call('blpop', 'nolist', 0)"], ["return redis.pcall('brpop','empty_list',0)"],
    // Sandbox.
    ["return a"], ["a = 1"], ["redis.call = 1"], ["setmetatable(_G, {})"], ["local g = getmetatable(_G); g.__index = {}"],
    ["_G = {}"], ["return rawset(_G, 'x', 1)"], ["cjson.encode = 1"], ["bit.band = 1"], ["math.random = 1"], ["string.x = 1"],
    ["return tostring(debug)"], ["print(1)"], ["os.exit()"], ["return io"], ["return loadfile"], ["return dofile"], ["return require"],
    ["return type(getfenv)"], ["return loadstring('return 1')()"], ["return type(_G)"], ["return _G.redis ~= nil"],
    ["return type(coroutine.create)"], ["return _VERSION"],
    // redis.* API.
    ["return redis.sha1hex('')"], ["return redis.sha1hex('hello')"], ["return redis.sha1hex()"], ["return redis.sha1hex(1)"],
    ["return redis.REDIS_VERSION"], ["return redis.REDIS_VERSION_NUM"], ["return redis.replicate_commands()"],
    ["return redis.breakpoint()"], ["return redis.debug('x')"], ["return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}"],
    ["redis.log(redis.LOG_WARNING, 'hello from a script')"], ["redis.log(1)"], ["redis.log('x', 'y')"], ["redis.log(9, 'y')"],
    ["redis.setresp(4)"], ["redis.setresp()"], ["return redis.set_repl(redis.REPL_ALL)"], ["redis.set_repl(99)"], ["redis.set_repl()"],
    ["return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}"],
    ["return redis.acl_check_cmd('set', 'x', 'y')"], ["return redis.acl_check_cmd('nosuch')"],
    ["return tostring(math.random())"], ["return math.random(10)"], ["return math.random(5, 10)"], ["return math.random(0)"],
    ["math.randomseed(42); return tostring(math.random())"], ["return math.random(1, 2, 3)"],
    // Libraries.
    ["return cjson.encode({1,2,3})"], ["return cjson.encode({a=1})"], ["return cjson.decode('[1,2,{\"a\":3}]')[3].a"],
    ["return cjson.decode('{\"a\":[1,2]}').a[2]"], ["return {pcall(cjson.decode, '{')}"], ["return cjson.encode(cjson.decode('[null]'))"],
    ["return bit.band(0xff, 0x0f)"], ["return bit.bor(1, 2, 4)"], ["return bit.tohex(65535)"], ["return bit.lshift(1, 10)"],
    ["return bit.bxor(5, 3)"], ["return bit.bnot(0)"],
    // Shebang flags.
    ["#!lua\nreturn 1"], ["#!lua flags=no-writes\nreturn 1"], ["#!lua flags=no-writes\nreturn redis.call('set','x','1')"],
    ["#!lua flags=no-writes,allow-oom\nreturn redis.call('get','x')"], ["#!lua flags=allow-stale,no-cluster,allow-cross-slot-keys\nreturn 2"],
    ["#!lua flags=bad-flag\nreturn 1"], ["#!lua flags=no-writes,\nreturn 1"], ["#!lua foo=bar\nreturn 1"], ["#!lua"], ["#!python\nreturn 1"],
    ["#!lua name=mylib\nreturn 1"], ["#! lua\nreturn 1"], ["#!lua flags=\nreturn 3"],
    // Arguments.
    ["return 1", "-1"], ["return 1", "1"], ["return 1", "x"], ["return 1", "2", "a"],
]

/// Other command lines compared as they are.
let scriptingCommandCases: [[String]] = [
    ["SCRIPT", "LOAD", "return 'loaded'"], ["EVALSHA", "aa0b6a1ba6ef1b5bb0fd3c3d5c6c4ed2e2ae5a4b", "0"],
    ["EVALSHA", "86a4bcb0a1f3fa5d0d1b8b3b0ae66c86b4c6f19e", "0"], ["EVALSHA", "short", "0"],
    ["SCRIPT", "EXISTS", "aa0b6a1ba6ef1b5bb0fd3c3d5c6c4ed2e2ae5a4b", "ffffffffffffffffffffffffffffffffffffffff"],
    ["SCRIPT", "LOAD", "return +"], ["SCRIPT", "LOAD"], ["SCRIPT", "KILL"], ["SCRIPT", "FLUSH", "BAD"], ["SCRIPT", "FOO"],
    ["SCRIPT", "HELP"], ["SCRIPT", "EXISTS"], ["EVAL_RO", "return redis.call('set','x','1')", "0"],
    ["EVAL_RO", "return redis.call('get','x')", "0"], ["EVAL_RO", "#!lua\nreturn 1", "0"], ["EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"],
    ["EVALSHA_RO", "ffffffffffffffffffffffffffffffffffffffff", "0"], ["EVAL", "return 1"], ["SCRIPT", "FLUSH"],
    ["SCRIPT", "EXISTS", "aa0b6a1ba6ef1b5bb0fd3c3d5c6c4ed2e2ae5a4b"], ["SCRIPT", "FLUSH", "ASYNC"],
]

/// FUNCTION and FCALL command lines (libraries are listed one at a time: Redis lists them in hash order).
let functionCases: [[String]] = [
    ["FUNCTION", "LOAD", "#!lua name=lib1\nredis.register_function('f1', function(keys, args) return {keys[1], args[1], #keys, #args} end)"],
    ["FCALL", "f1", "1", "k", "a"], ["FCALL", "f1", "0"], ["FCALL_RO", "f1", "0"], ["FCALL", "nosuch", "0"], ["FCALL", "f1", "x"],
    ["FCALL", "f1", "-1"], ["FCALL", "f1", "5"],
    ["FUNCTION", "LOAD", "#!lua name=lib1\nredis.register_function('f1', function() return 2 end)"],
    ["FUNCTION", "LOAD", "REPLACE", "#!lua name=lib1\nredis.register_function('f1', function() return 2 end)"], ["FCALL", "f1", "0"],
    ["FUNCTION", "LOAD", "BAD", "#!lua name=lib1\n"], ["FUNCTION", "LOAD"],
    ["FUNCTION", "LOAD", "#!lua name=lib2\nredis.call('ping')"],
    ["FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function('f1', function() return 2 end)"],
    ["FUNCTION", "LOAD", "#!lua name=lib4\nreturn 1"], ["FUNCTION", "LOAD", "#!lua name=lib5\nredis.register_function()"],
    ["FUNCTION", "LOAD", "#!lua name=lib6\nlocal x = string.len('a')"], ["FUNCTION", "LOAD", "#!lua name=lib8\nerror('boom')"],
    ["FUNCTION", "LOAD", "#!lua name=lib9\nredis.register_function('f 9', function() end)"], ["FUNCTION", "LOAD", "#!lua name=lib10\nx = 1"],
    ["FUNCTION", "LOAD", "#!lua name=lib11 x=y\n"], ["FUNCTION", "LOAD", "#!lua\n"], ["FUNCTION", "LOAD", "#!lux name=a\n"],
    ["FUNCTION", "LOAD", "no shebang"], ["FUNCTION", "LOAD", "#!lua name=a name=b\n"], ["FUNCTION", "LOAD", "#!lua name=bad-name\n"],
    ["FUNCTION", "LOAD", "#!lua name=lib12\nredis.register_function('f12', 'x')"],
    ["FUNCTION", "LOAD", "#!lua name=lib13\nredis.register_function{function_name='f13', callback=function() end, flags={'bad'}}"],
    ["FUNCTION", "LOAD", "#!lua name=lib16\nredis.register_function{function_name='f16', callback=function() end, extra=1}"],
    ["FUNCTION", "LOAD", "#!lua name=lib17\nredis.register_function{callback=function() end}"],
    ["FUNCTION", "LOAD", "#!lua name=lib18\nredis.register_function{function_name='f18'}"],
    ["FUNCTION", "LOAD", "#!lua name=lib19\nredis.register_function('a', function() end) redis.register_function('a', function() end)"],
    ["FUNCTION", "LOAD", "#!lua name=lib20\nredis.register_function('f20', function() end, 3)"],
    ["FUNCTION", "LOAD", "#!lua name=lib21\nlocal function"],
    ["FUNCTION", "LOAD", "#!lua name=lib7\nredis.register_function{function_name='f7', callback=function() return redis.call('set', 'x', '1') end, flags={'no-writes'}, description='desc'}"],
    ["FCALL", "f7", "0"], ["FCALL_RO", "f7", "0"], ["FUNCTION", "LIST", "LIBRARYNAME", "lib7"], ["FUNCTION", "LIST", "LIBRARYNAME", "lib7", "WITHCODE"],
    ["FUNCTION", "LIST", "LIBRARYNAME"], ["FUNCTION", "LIST", "BAD"],
    ["FUNCTION", "LOAD", "#!lua name=lib14\nredis.register_function('f14', function() redis.setresp(3) return redis.call('hgetall', 'h') end)\nlocal t = redis.REDIS_VERSION\nredis.log(redis.LOG_WARNING, 'loading')"],
    ["FCALL", "f14", "0"], ["FCALL", "f1", "0"],
    ["FUNCTION", "LOAD", "#!lua name=lib15\nredis.register_function('f15', function(k, a) return x end)"], ["FCALL", "f15", "0"],
    ["FUNCTION", "LOAD", "#!lua name=lib22\nredis.register_function('f22', function(k, a) y = 1 end)"], ["FCALL", "f22", "0"],
    ["FUNCTION", "LOAD", "#!lua name=lib23\nlocal a = 5\nredis.register_function('f23', function(k, a) return redis.pcall('nosuch') end)"], ["FCALL", "f23", "0"],
    ["FUNCTION", "DELETE", "lib23"], ["FUNCTION", "DELETE", "lib23"], ["FCALL", "f23", "0"], ["FUNCTION", "DELETE"],
    ["FUNCTION", "STATS"], ["FUNCTION", "KILL"], ["FUNCTION", "FLUSH", "BAD"], ["FUNCTION", "RESTORE", "junk"],
    ["FUNCTION", "RESTORE", "junk", "BAD"], ["FUNCTION", "BAD"], ["FUNCTION", "HELP"], ["FUNCTION", "FLUSH"], ["FUNCTION", "LIST"],
    ["FUNCTION", "DUMP"], ["FUNCTION", "STATS"], ["FUNCTION", "FLUSH", "ASYNC"],
]

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis, "needs cairn-server built and redis-server installed"))
struct ScriptingDifferentialTests {
    func compare(resp: Int) throws {
        let cairn = try ServerProcess(cairn: true)
        let redis = try ServerProcess(cairn: false)
        let c = try cairn.client(), r = try redis.client()
        if resp == 3 {
            _ = try c.send(["HELLO", "3"].map { Array($0.utf8) })
            _ = try r.send(["HELLO", "3"].map { Array($0.utf8) })
        }
        var mismatches: [String] = []
        let lines = scriptingCases.map { ["EVAL", $0[0]] + ($0.count > 1 ? Array($0.dropFirst()) : ["0"]) } + scriptingCommandCases + functionCases
        for line in lines {
            let args = line.map { Array($0.utf8) }
            let mine: String, theirs: String
            do {
                mine = String(decoding: try c.send(args), as: UTF8.self)
            } catch {
                Issue.record("cairn: \(line): \(error)\n\(cairn.log().suffix(2000))")
                return
            }
            do {
                theirs = String(decoding: try r.send(args), as: UTF8.self)
            } catch {
                Issue.record("redis: \(line): \(error)")
                return
            }
            if mine != theirs {
                mismatches.append("\(line)\n  redis: \(theirs.debugDescription)\n  cairn: \(mine.debugDescription)")
            }
        }
        #expect(mismatches.isEmpty, "RESP\(resp): \(mismatches.count) mismatches:\n\(mismatches.prefix(20).joined(separator: "\n"))")
    }

    @Test func evalRepliesMatchRedisInRESP2() throws { try compare(resp: 2) }
    @Test func evalRepliesMatchRedisInRESP3() throws { try compare(resp: 3) }

    /// Function libraries travel between the two servers: FUNCTION DUMP payloads both ways, and an
    /// RDB file written by each, loaded by the other, gives the same FCALL results.
    @Test func functionLibrariesMoveBetweenRedisAndCairn() throws {
        let code = "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return redis.call('incrby', keys[1], args[1]) end)\n" +
            "redis.register_function{function_name='ro', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='a reader'}"
        let redis = try ServerProcess(cairn: false)
        let r = try redis.client()
        #expect(try r.send(["FUNCTION", "LOAD", code].map { Array($0.utf8) }) == Array("$5\r\nmylib\r\n".utf8))
        let payload = try r.send(["FUNCTION", "DUMP"].map { Array($0.utf8) })
        // The RDB Redis writes, loaded by Cairn.
        _ = try r.send("SET counter 10")
        _ = try r.send("SAVE")
        let cairn = try ServerProcess(cairn: true, files: ["dump.rdb": redis.dir + "/dump.rdb"])
        let c = try cairn.client()
        #expect(try c.send("FCALL myfunc 1 counter 5") == ":15\r\n")
        #expect(try c.send("FCALL_RO ro 1 counter") == "$2\r\n15\r\n")
        // (Redis lists a library's functions in hash order, which changes from run to run.)
        let listed = ["FUNCTION", "LIST", "WITHCODE"].map { Array($0.utf8) }
        #expect(try c.send(listed).count == r.send(listed).count)
        // Cairn's DUMP payload is Redis's, byte for byte, and restores into Redis.
        let mine = try c.send(["FUNCTION", "DUMP"].map { Array($0.utf8) })
        #expect(mine == payload)
        let body = Array(mine.drop { $0 != 10 }.dropFirst().dropLast(2))
        #expect(try r.send([Array("FUNCTION".utf8), Array("RESTORE".utf8), body, Array("REPLACE".utf8)]) == Array("+OK\r\n".utf8))
        // The RDB Cairn writes, loaded by Redis.
        _ = try c.send("SAVE")
        let redis2 = try ServerProcess(cairn: false, files: ["dump.rdb": cairn.dir + "/dump.rdb"])
        let r2 = try redis2.client()
        #expect(try r2.send("FCALL myfunc 1 counter 1") == ":16\r\n")
        #expect(try r2.send(listed).count == c.send(listed).count)
    }

    /// FUNCTION LOAD reaches the AOF (and the rewrite), and libraries come back on restart.
    @Test func functionLibrariesPersistInTheAOF() throws {
        let dir = try makeTempDir("cairn-fn-aof")
        let code = "#!lua name=lib\nredis.register_function('f', function(keys) return redis.call('incr', keys[1]) end)"
        do {
            let cairn = try ServerProcess(cairn: true, args: ["--appendonly", "yes", "--aof-use-rdb-preamble", "no"], dir: dir)
            let c = try cairn.client()
            _ = try c.send(["FUNCTION", "LOAD", code].map { Array($0.utf8) })
            #expect(try c.send("FCALL f 1 n") == ":1\r\n")
            _ = try c.send(["FUNCTION", "LOAD", "#!lua name=gone\nredis.register_function('g', function() return 1 end)"].map { Array($0.utf8) })
            _ = try c.send("FUNCTION DELETE gone")
            cairn.terminate()
        }
        do {
            let again = try ServerProcess(cairn: true, args: ["--appendonly", "yes", "--aof-use-rdb-preamble", "no"], dir: dir)
            let c = try again.client()
            #expect(try c.send("FCALL f 1 n") == ":2\r\n")
            #expect(try c.send("FCALL g 0") == "-ERR Function not found\r\n")
            _ = try c.send("BGREWRITEAOF")
            usleep(500_000)
            again.terminate()
        }
        let last = try ServerProcess(cairn: true, args: ["--appendonly", "yes", "--aof-use-rdb-preamble", "no"], dir: dir)
        #expect(try last.client().send("FCALL f 1 n") == ":3\r\n")
    }

    /// A runaway script: -BUSY for others after busy-reply-threshold, SCRIPT KILL ends it and the
    /// server goes on; after a write SCRIPT KILL answers UNKILLABLE and SHUTDOWN NOSAVE stops the server.
    @Test func busyScriptIsServedAndKilled() throws {
        let cairn = try ServerProcess(cairn: true, args: ["--busy-reply-threshold", "100"])
        let runner = try cairn.client(), other = try cairn.client()
        _ = try other.send("SET before 1")
        try runner.write(RawClient.encode(argv("EVAL \"while true do end\" 0")))
        usleep(300_000)
        #expect(try other.send("GET before") == "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n")
        #expect(try other.send("FUNCTION KILL").hasPrefix("-"))
        #expect(try other.send("SCRIPT KILL") == "+OK\r\n")
        let killed = String(decoding: try runner.readReply(), as: UTF8.self)
        #expect(killed.hasPrefix("-ERR Script killed by user with SCRIPT KILL..."), "\(killed)")
        #expect(try other.send("GET before") == "$1\r\n1\r\n")
        #expect(try other.send("SCRIPT KILL") == "-NOTBUSY No scripts in execution right now.\r\n")

        try runner.write(RawClient.encode(argv("EVAL \"redis.call('set','x','1') while true do end\" 0")))
        usleep(300_000)
        #expect(try other.send("SCRIPT KILL").hasPrefix("-UNKILLABLE Sorry the script already executed write commands"))
        #expect(try other.send("SHUTDOWN").hasPrefix("-BUSY"))
        _ = try? other.send("SHUTDOWN NOSAVE")
        let deadline = Date().addingTimeInterval(5)
        while cairn.process.isRunning && Date() < deadline { usleep(10_000) }
        #expect(!cairn.process.isRunning)
    }

    /// A script's writes reach the AOF as the commands it ran, wrapped in MULTI/EXEC when more than
    /// one, as Redis 7.0 writes them; a restart from that AOF gives the same dataset.
    @Test func scriptWritesArePropagatedToTheAOF() throws {
        let dir = try makeTempDir("cairn-lua-aof")
        let script = "redis.call('set','a','1'); redis.call('incr','a'); redis.call('select', 3); redis.call('lpush','l','x'); return 1"
        var digest = ""
        do {
            let cairn = try ServerProcess(cairn: true, args: ["--appendonly", "yes", "--appendfsync", "always"], dir: dir)
            let c = try cairn.client()
            #expect(try c.send(["EVAL", script, "0"].map { Array($0.utf8) }) == Array(":1\r\n".utf8))
            #expect(try c.send(["EVAL", "redis.call('set','b','2')", "0"].map { Array($0.utf8) }) == Array("$-1\r\n".utf8))
            #expect(try c.send(["EVAL", "redis.set_repl(redis.REPL_NONE); redis.call('set','c','3')", "0"].map { Array($0.utf8) }) == Array("$-1\r\n".utf8))
            _ = try c.send("DEL c")
            digest = try c.send("DEBUG DIGEST")
            let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/appendonlydir").filter { $0.hasSuffix(".incr.aof") }
            let aof = try String(contentsOfFile: dir + "/appendonlydir/" + files[0], encoding: .utf8)
            let expected = "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$4\r\nincr\r\n$1\r\na\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*3\r\n$5\r\nlpush\r\n$1\r\nl\r\n$1\r\nx\r\n*1\r\n$4\r\nEXEC\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$1\r\nb\r\n$1\r\n2\r\n"
            #expect(aof.contains(expected), "\(aof.debugDescription)")
            #expect(!aof.contains("$1\r\nc\r\n$1\r\n3"))
            cairn.terminate()
        }
        let again = try ServerProcess(cairn: true, args: ["--appendonly", "yes"], dir: dir)
        let c = try again.client()
        #expect(try c.send("DEBUG DIGEST") == digest)
        #expect(try c.send("GET a") == "$1\r\n2\r\n")
    }
}
