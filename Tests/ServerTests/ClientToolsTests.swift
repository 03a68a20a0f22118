// Real clients against cairn-server: Debian's redis-cli and redis-benchmark, and redis-py.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A program's exit status and its stdout and stderr together, as a terminal shows them.
func run(_ exe: String, _ args: [String], input: String? = nil) throws -> (status: Int32, out: String) {
    let r = try runProcess(exe, args, stdin: input.map { Data($0.utf8) }, stderrToStdout: true)
    return (r.status, String(decoding: r.out, as: UTF8.self))
}

var havePythonRedis: Bool {
    (try? run("/usr/bin/env", ["python3", "-c", "import redis"]).status) == 0
}

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis, "needs cairn-server built and redis-tools installed"))
struct ClientToolsTests {
    @Test func redisCLIRoundTrips() throws {
        let s = try ServerProcess()
        let p = String(s.port)
        #expect(try run(Paths.redisCLI, ["-p", p, "SET", "greeting", "hello world"]).out == "OK\n")
        #expect(try run(Paths.redisCLI, ["-p", p, "GET", "greeting"]).out == "hello world\n")
        #expect(try run(Paths.redisCLI, ["-p", p, "INCRBY", "n", "41"]).out == "41\n")
        #expect(try run(Paths.redisCLI, ["-p", p, "GET", "nosuch"]).out == "\n")
        #expect(try run(Paths.redisCLI, ["-p", p, "DBSIZE"]).out == "2\n")
        #expect(try run(Paths.redisCLI, ["-p", p, "--no-raw", "GET", "nosuch"]).out == "(nil)\n")
        // --pipe mass insertion, as users load data.
        var pipe = ""
        for i in 0 ..< 2000 { pipe += "*3\r\n$3\r\nSET\r\n$\(String("k\(i)").utf8.count)\r\nk\(i)\r\n$1\r\nv\r\n" }
        let r = try run(Paths.redisCLI, ["-p", p, "--pipe"], input: pipe)
        #expect(r.out.contains("errors: 0, replies: 2000"), "\(r.out)")
        #expect(try run(Paths.redisCLI, ["-p", p, "DBSIZE"]).out == "2002\n")
    }

    @Test(arguments: [1, 16])
    func redisBenchmarkCompletes(pipeline: Int) throws {
        let s = try ServerProcess()
        let r = try run("/usr/bin/redis-benchmark", ["-p", String(s.port), "-t", "set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,lrange_100,mset",
                                                     "-n", "2000", "-P", String(pipeline), "-q", "--csv"])
        #expect(r.status == 0, "\(r.out)")
        let lines = r.out.split(separator: "\n").filter { !$0.hasPrefix("\"test\"") }
        #expect(lines.count >= 13, "\(r.out)")
        for line in lines {
            let fields = line.split(separator: ",")
            let rps = Double(fields[1].replacingOccurrences(of: "\"", with: "")) ?? 0
            #expect(rps > 0, "\(line)")
        }
        // The server is still answering, and the data is there.
        #expect(try run(Paths.redisCLI, ["-p", String(s.port), "PING"]).out == "PONG\n")
    }

    @Test(.enabled(if: havePythonRedis, "redis-py is not installed (tools/test installs it)"))
    func redisPyDrivesTheServer() throws {
        let s = try ServerProcess()
        let script = """
        import redis, sys
        r = redis.Redis(host="127.0.0.1", port=\(s.port))
        assert r.ping()
        r.set("a", b"\\x00\\xff binary")
        assert r.get("a") == b"\\x00\\xff binary"
        assert r.incr("counter") == 1
        r.rpush("l", "x", "y", "z")
        assert r.lrange("l", 0, -1) == [b"x", b"y", b"z"]
        r.hset("h", mapping={"f1": "v1", "f2": "v2"})
        assert r.hgetall("h") == {b"f1": b"v1", b"f2": b"v2"}
        r.sadd("s", 1, 2, 3)
        assert r.smembers("s") == {b"1", b"2", b"3"}
        r.zadd("z", {"m1": 1.5, "m2": 2})
        assert r.zrange("z", 0, -1, withscores=True) == [(b"m1", 1.5), (b"m2", 2.0)]
        p = r.pipeline(transaction=True)
        p.set("t", 1).incr("t").get("t")
        assert p.execute() == [True, 2, b"2"]
        r3 = redis.Redis(host="127.0.0.1", port=\(s.port), protocol=3) if redis.VERSION >= (5, 0, 0) else r
        assert r3.get("a") == b"\\x00\\xff binary"
        try:
            r.lpush("a", "x")
            sys.exit("WRONGTYPE not raised")
        except redis.ResponseError as e:
            assert str(e).startswith("WRONGTYPE"), str(e)
        print("ok")
        """
        let r = try run("/usr/bin/env", ["python3", "-c", script])
        #expect(r.out.hasSuffix("ok\n"), "\(r.out)")
    }
}
