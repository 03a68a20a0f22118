// Client-side caching through redis-py 5, differential: the same script of reads and writes, with
// RESP3 clients tracking by default, by broadcast with prefixes and NOLOOP, opt-in (CLIENT CACHING
// yes), opt-out (CLIENT CACHING no) and redirected to another RESP3 client, and a RESP2 client
// redirecting to a connection subscribed to __redis__:invalidate, runs against Redis 7.0 and against
// Cairn. redis-py's push handler (RESP3) and its pub/sub reader (RESP2) record every invalidation
// message; the two recordings must be identical. redis-py 5.0 is installed with pip into a folder of
// its own (the machine's redis-py may be newer, and its built-in cache wants Redis 7.4).
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A folder holding redis-py 5.0 (pip install --target), made once per machine and reused; nil when
/// pip cannot install it (no network to PyPI, no pip).
let redisPy5Path: String? = {
    let dir = NSTemporaryDirectory() + "cairn-redis-py-5.0-\(getuid())"
    func usable(_ path: String) -> Bool {
        (try? runProcess("/usr/bin/env", ["PYTHONPATH=" + path, "python3", "-c",
                                           "import redis, sys; sys.exit(redis.VERSION[:2] != (5, 0))"], timeout: 60).status) == 0
    }
    if usable(dir) { return dir }
    // Installed beside the final place and renamed into it, so an interrupted install is never used.
    guard let staging = try? makeTempDir("cairn-redis-py-staging") else { return nil }
    let pip = ["python3", "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target", staging, "redis==5.0.*"]
    var r = try? runProcess("/usr/bin/env", pip, timeout: 300)
    if r?.status != 0 {
        // An older Debian pip may refuse even a --target install in an externally managed Python.
        r = try? runProcess("/usr/bin/env", pip + ["--break-system-packages"], timeout: 300)
    }
    guard r?.status == 0, usable(staging) else {
        removeTree(staging)
        return nil
    }
    removeTree(dir)
    if rename(staging, dir) != 0 { return usable(staging) ? staging : nil }
    return dir
}()

/// The script: prints one JSON array of [who, message] records (and step markers).
private let trackingScriptPy = #"""
import json, sys, time
import redis
from redis._parsers import _RESP2Parser, _RESP3Parser

assert redis.VERSION[0] == 5, redis.__version__
port = int(sys.argv[1])
log = []


def norm(x):
    if isinstance(x, bytes):
        return x.decode("latin-1")
    if isinstance(x, (list, tuple)):
        return [norm(y) for y in x]
    if isinstance(x, dict):
        return [[norm(k), norm(v)] for k, v in x.items()]
    if isinstance(x, (set, frozenset)):
        return sorted(norm(y) for y in x)
    return x


def pool(protocol, name, parser):
    # The pure-Python parsers (hiredis, when installed, takes no push handler).
    return redis.ConnectionPool(host="127.0.0.1", port=port, protocol=protocol, client_name=name, parser_class=parser)


def resp3(name):
    c = redis.Redis(connection_pool=pool(3, name, _RESP3Parser), single_connection_client=True)
    c.connection._parser.set_push_handler(lambda msg: log.append([name, norm(msg)]))
    return c


def resp2(name):
    return redis.Redis(connection_pool=pool(2, name, _RESP2Parser), single_connection_client=True)


# The tracking clients: A default, B broadcast with prefixes and NOLOOP, C opt-in, O opt-out,
# S redirects to the RESP3 client R, D (RESP2) redirects to T's pub/sub connection.
W = resp2("W")
A, B, C, O, R, S = (resp3(n) for n in "ABCORS")
T = redis.Redis(connection_pool=pool(2, "T", _RESP2Parser)).pubsub()
T.subscribe("__redis__:invalidate")
assert T.get_message(timeout=5)["type"] == "subscribe"
D = resp2("D")


def client_id(name):
    return next(c["id"] for c in W.client_list() if c["name"] == name)


log.append(["setup", [
    norm(A.client_tracking_on()), norm(B.client_tracking_on(bcast=True, prefix=["user:", "obj:"], noloop=True)),
    norm(C.client_tracking_on(optin=True)), norm(O.client_tracking_on(optout=True)),
    norm(S.client_tracking_on(clientid=client_id("R"))), norm(D.client_tracking_on(clientid=client_id("T"))),
    norm(A.client_trackinginfo()), norm(B.client_trackinginfo()), norm(D.client_getredir() == int(client_id("T"))),
]])


def sync(step):
    # Each RESP3 client's PING reply comes after every push sent to it before; T's PING reply after
    # every message published to it before.
    log.append(["step", step])
    for c in (A, B, C, O, R, S):
        assert c.ping()
    T.ping()
    while True:
        m = T.get_message(timeout=5)
        assert m is not None, "no PING reply on the redirect connection"
        if m["type"] == "pong":
            break
        log.append(["T", norm([m["type"], m["channel"], m["data"]])])


def reads():
    A.get("a"); A.mget("a", "b", "c"); A.hgetall("h")
    C.get("a")                                    # opt-in: not tracked
    C.execute_command("CLIENT CACHING", "YES"); C.get("b")
    O.get("a")
    O.execute_command("CLIENT CACHING", "NO"); O.get("b")   # opt-out: not tracked
    S.get("a"); S.get("user:1")
    D.get("b"); D.hgetall("h")


W.mset({"a": 1, "b": 2, "user:1": "x", "obj:9": "y", "other": "z"})
sync("mset")
reads()
sync("reads")
W.set("a", 10)
sync("set a")
W.incr("b"); W.hset("h", "f", "v"); W.delete("c")
sync("incr b, hset h, del c")
reads()
A.set("a", 11)
sync("a written by a tracking client")
B.set("user:2", "own"); W.set("user:3", "other"); W.mset({"obj:1": "a", "obj:2": "b", "user:1": "c"})
sync("prefixes")
reads()
p = W.pipeline(transaction=True)
p.set("a", 1).incr("b").hset("h", "g", "w").set("user:5", "t")
p.execute()
sync("multi/exec")
reads()
W.eval("redis.call('set', KEYS[1], 'x'); redis.call('del', KEYS[2])", 2, "a", "b")
sync("script")
A.set("ttl", "v", px=50); A.get("ttl"); D.get("ttl")
time.sleep(0.3)
A.get("ttl"); D.get("ttl")
sync("expiry")
reads()
W.flushdb()
sync("flushdb")
reads()
W.flushall()
sync("flushall")
reads()
A.client_tracking_off(); D.client_tracking_off()
W.mset({"a": 5, "b": 5, "user:9": 5})
sync("tracking off")
print(json.dumps(log))
"""#

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis && which("python3") != nil,
                "needs cairn-server built, redis-server and python3 installed"))
struct RedisPyTrackingTests {
    /// Runs the script against `server`; its JSON output.
    private func recording(_ server: ServerProcess, redisPy: String) throws -> [[Any]] {
        let scriptPath = server.dir + "/tracking.py"
        try trackingScriptPy.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let r = try runProcess("/usr/bin/env", ["PYTHONPATH=" + redisPy, "python3", scriptPath, String(server.port)], timeout: 120)
        let out = String(decoding: r.out, as: UTF8.self)
        guard r.status == 0, let json = try JSONSerialization.jsonObject(with: r.out) as? [[Any]] else {
            throw TestFailure(description: "redis-py script against \(server.isCairn ? "Cairn" : "Redis") failed (\(r.status)): \(out)\(r.err)")
        }
        return json
    }

    @Test(.enabled(if: redisPy5Path != nil, "pip could not install redis==5.0.* from PyPI"))
    func redisPyClientsSeeTheSameInvalidationsAsOnRedis() throws {
        let redisPy = redisPy5Path!
        let redis = try ServerProcess(cairn: false)
        let expected = try recording(redis, redisPy: redisPy)
        let cairn = try ServerProcess()
        let got = try recording(cairn, redisPy: redisPy)
        func lines(_ records: [[Any]]) -> [String] {
            records.map { String(decoding: try! JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
        }
        let want = lines(expected), have = lines(got)
        // The recording on Redis is what the script is meant to provoke: each kind of client got messages.
        for who in ["A", "B", "C", "O", "R", "T"] {
            #expect(want.contains { $0.hasPrefix("[\"\(who)\",") }, "Redis sent \(who) no invalidation message")
        }
        #expect(want.contains("[\"T\",[\"message\",\"__redis__:invalidate\",null]]"))
        #expect(want.contains("[\"B\",[\"invalidate\",[\"obj:1\",\"obj:2\"]]]"))
        #expect(have == want, "Cairn's recording differs from Redis's:\n\(zip(want, have).enumerated().first { $0.element.0 != $0.element.1 }.map { "record \($0.offset): Redis \($0.element.0) Cairn \($0.element.1)" } ?? "lengths \(want.count) vs \(have.count)")")
    }
}
