#!/usr/bin/env python3
"""Print a canonical JSON description of everything in a Redis server.

Usage:
  tools/redis-snapshot.py [--host 127.0.0.1] [--port 6379] [--restore FILE]

Output (stdout), byte strings as lower-case hex:
  {"functions": [{"name", "code"}...],            FUNCTION LIST WITHCODE, sorted by name
   "keys": [{"db", "key", "type", "encoding", "expire_ms", "value"}...]}   sorted by (db, key bytes)

--restore FILE: FILE is JSON [{"db", "key" (hex), "payload" (hex), "ttl_ms", ["expire_ms"]}...].
Each entry is RESTOREd (REPLACE) into its db before the snapshot is taken; when "expire_ms"
is present and not null it is used as an absolute expiry (RESTORE ... ABSTTL), otherwise
"ttl_ms" is the relative TTL (0 = none). Any failure exits non-zero with the error on stderr.

Python 3 standard library only; speaks RESP2 over a plain socket, binary-safe, pipelined.
"""

import argparse
import json
import socket
import sys

NUM_DBS = 16
BATCH = 512  # commands per pipeline round trip


class RedisError(Exception):
    """An error reply from the server (RESP '-')."""


class ProtocolError(Exception):
    pass


def _encode_arg(a):
    if isinstance(a, bytes):
        return a
    if isinstance(a, bytearray):
        return bytes(a)
    if isinstance(a, str):
        return a.encode()
    if isinstance(a, int):
        return str(a).encode()
    if isinstance(a, float):
        return repr(a).encode()
    raise TypeError("cannot send %r" % (a,))


def encode_command(args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        b = _encode_arg(a)
        parts.append(b"$%d\r\n" % len(b))
        parts.append(b)
        parts.append(b"\r\n")
    return b"".join(parts)


class Client:
    """Minimal binary-safe RESP2 client. Error replies are returned as RedisError
    instances by read_reply() and raised by call()/pipeline()."""

    def __init__(self, host="127.0.0.1", port=6379, timeout=60.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.sock.makefile("rb", buffering=1 << 16)

    def close(self):
        try:
            self.f.close()
        finally:
            self.sock.close()

    def _line(self):
        line = self.f.readline()
        if not line.endswith(b"\r\n"):
            raise ProtocolError("connection closed or bad line: %r" % (line,))
        return line[:-2]

    def _exact(self, n):
        data = self.f.read(n)
        if data is None or len(data) != n:
            raise ProtocolError("connection closed in the middle of a reply")
        return data

    def read_reply(self):
        line = self._line()
        if not line:
            raise ProtocolError("empty reply line")
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest  # simple string (bytes)
        if t == b"-":
            return RedisError(rest.decode("utf-8", "replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self._exact(n + 2)
            if data[-2:] != b"\r\n":
                raise ProtocolError("bulk string not terminated by CRLF")
            return data[:-2]
        if t == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self.read_reply() for _ in range(n)]
        raise ProtocolError("unexpected reply type %r" % (line[:40],))

    @staticmethod
    def _check(reply):
        # Raise on top-level errors and on errors nested in arrays (e.g. EXEC replies).
        if isinstance(reply, RedisError):
            raise reply
        return reply

    def call(self, *args):
        self.sock.sendall(encode_command(args))
        return self._check(self.read_reply())

    def pipeline(self, commands, raise_errors=True):
        """Send many commands, return their replies in order (batched round trips)."""
        out = []
        for i in range(0, len(commands), BATCH):
            chunk = commands[i:i + BATCH]
            self.sock.sendall(b"".join(encode_command(c) for c in chunk))
            for _ in chunk:
                r = self.read_reply()
                if raise_errors and isinstance(r, RedisError):
                    raise r
                out.append(r)
        return out


# ---------------------------------------------------------------- helpers

def hx(b):
    if b is None:
        return None
    if not isinstance(b, bytes):
        raise ProtocolError("expected a bulk string, got %r" % (b,))
    return b.hex()


def txt(b):
    if isinstance(b, bytes):
        return b.decode("ascii")
    return b


def pairs_to_dict(arr):
    """RESP2 'map as flat array' -> dict with str keys."""
    if not isinstance(arr, list) or len(arr) % 2:
        raise ProtocolError("expected a flat key/value array, got %r" % (arr,))
    return {txt(arr[i]): arr[i + 1] for i in range(0, len(arr), 2)}


def as_int_or_null(v):
    if v is None:
        return None
    return int(v)


# ---------------------------------------------------------------- snapshot

def snapshot_functions(c):
    try:
        libs = c.call("FUNCTION", "LIST", "WITHCODE")
    except RedisError as e:
        if "unknown command" in str(e).lower() or "unknown subcommand" in str(e).lower():
            return []
        raise
    out = []
    for lib in libs:
        d = pairs_to_dict(lib)
        out.append({"name": d["library_name"].decode("utf-8", "replace"),
                    "code": hx(d["library_code"])})
    out.sort(key=lambda x: x["name"].encode("utf-8"))
    return out


def scan_keys(c):
    keys = set()
    cursor = b"0"
    while True:
        cursor, batch = c.call("SCAN", cursor, "COUNT", 1000)
        keys.update(batch)
        if cursor == b"0":
            break
    return sorted(keys)


def stream_value(raw):
    d = pairs_to_dict(raw)
    entries = []
    for e in d["entries"]:
        eid, fv = e[0], e[1]
        entries.append([txt(eid), [hx(x) for x in (fv or [])]])
    groups = []
    for g in d["groups"]:
        gd = pairs_to_dict(g)
        pending = [[txt(p[0]), hx(p[1]), int(p[2]), int(p[3])] for p in gd["pending"]]
        consumers = []
        for cons in gd["consumers"]:
            cd = pairs_to_dict(cons)
            consumers.append({"name": hx(cd["name"]),
                              "seen_time": int(cd["seen-time"]),
                              "pending": [txt(p[0]) for p in cd["pending"]]})
        consumers.sort(key=lambda x: bytes.fromhex(x["name"]))
        groups.append({"name": hx(gd["name"]),
                       "last_delivered_id": txt(gd["last-delivered-id"]),
                       "entries_read": as_int_or_null(gd.get("entries-read")),
                       "pending": pending,
                       "consumers": consumers})
    groups.sort(key=lambda x: bytes.fromhex(x["name"]))
    return {"length": int(d["length"]),
            "last_id": txt(d["last-generated-id"]),
            "first_id": txt(d["recorded-first-entry-id"]),
            "max_deleted_id": txt(d["max-deleted-entry-id"]),
            "entries_added": int(d["entries-added"]),
            "entries": entries,
            "groups": groups}


VALUE_COMMANDS = {
    "string": lambda k: ["GET", k],
    "list": lambda k: ["LRANGE", k, 0, -1],
    "set": lambda k: ["SMEMBERS", k],
    "zset": lambda k: ["ZRANGE", k, 0, -1, "WITHSCORES"],
    "hash": lambda k: ["HGETALL", k],
    "stream": lambda k: ["XINFO", "STREAM", k, "FULL", "COUNT", 0],
}


def convert_value(typ, raw):
    if typ == "string":
        return hx(raw)
    if typ == "list":
        return [hx(x) for x in raw]
    if typ == "set":
        return sorted(hx(x) for x in raw)
    if typ == "zset":
        return [[hx(raw[i]), txt(raw[i + 1])] for i in range(0, len(raw), 2)]
    if typ == "hash":
        return sorted([hx(raw[i]), hx(raw[i + 1])] for i in range(0, len(raw), 2))
    if typ == "stream":
        return stream_value(raw)
    raise ProtocolError("unsupported key type %r" % typ)


def snapshot_db(c, db):
    c.call("SELECT", db)
    if c.call("DBSIZE") == 0:
        return []
    keys = scan_keys(c)
    meta = c.pipeline([cmd for k in keys for cmd in
                       (["TYPE", k], ["OBJECT", "ENCODING", k], ["PEXPIRETIME", k])])
    types = []
    for i, k in enumerate(keys):
        typ = txt(meta[3 * i])
        if typ not in VALUE_COMMANDS:
            raise ProtocolError("key %r (db %d) has unsupported type %r" % (k, db, typ))
        types.append(typ)
    values = c.pipeline([VALUE_COMMANDS[t](k) for k, t in zip(keys, types)])
    out = []
    for i, k in enumerate(keys):
        typ, enc, pexp = types[i], meta[3 * i + 1], meta[3 * i + 2]
        if pexp == -2:
            raise ProtocolError("key %r (db %d) vanished during the snapshot" % (k, db))
        out.append({"db": db, "key": k.hex(), "type": typ,
                    "encoding": txt(enc),
                    "expire_ms": None if pexp == -1 else int(pexp),
                    "value": convert_value(typ, values[i])})
    return out


def snapshot(c):
    keys = []
    for db in range(NUM_DBS):
        try:
            keys.extend(snapshot_db(c, db))
        except RedisError as e:
            if db > 0 and "DB index is out of range" in str(e):
                break
            raise
    c.call("SELECT", 0)
    return {"functions": snapshot_functions(c), "keys": keys}


def _compact(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def dump_json(snap):
    """Canonical text: sorted object keys, compact, one function / one key record per line."""
    def block(items):
        if not items:
            return "[]"
        return "[\n" + ",\n".join("  " + _compact(x) for x in items) + "\n ]"
    return ('{\n "functions": ' + block(snap["functions"]) +
            ',\n "keys": ' + block(snap["keys"]) + "\n}\n")


# ---------------------------------------------------------------- servers (for tools/make-fixtures, tools/check-fixtures)

def free_port():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class RedisServer:
    """A redis-server child process on a free loopback port, in directory `workdir`.
    Use as a context manager; on exit it sends SHUTDOWN NOSAVE and waits (then kills
    this one child by pid if it is still alive)."""

    def __init__(self, workdir, dbfilename="dump.rdb", extra=(), binary="redis-server",
                 start_timeout=30.0):
        import subprocess
        import time
        import os
        self.workdir = workdir
        self.proc = None
        last_log = ""
        for _attempt in range(5):
            self.port = free_port()
            self.logpath = os.path.join(workdir, "redis-%d.log" % self.port)
            log = open(self.logpath, "wb")
            self.proc = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", workdir,
                 "--dbfilename", dbfilename, "--save", "", "--appendonly", "no",
                 "--daemonize", "no", *extra],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            log.close()
            deadline = time.monotonic() + start_timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    c = Client("127.0.0.1", self.port, timeout=5)
                    try:
                        if c.call("PING") == b"PONG":
                            self.client = c
                            return
                    except RedisError:  # -LOADING while the RDB is read
                        pass
                    c.close()
                except OSError:
                    pass
                time.sleep(0.05)
            with open(self.logpath, "rb") as f:
                last_log = f.read().decode("utf-8", "replace")
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("redis-server did not answer PING within %.0fs; log:\n%s"
                                   % (start_timeout, last_log))
            # exited (e.g. port taken, or refused the RDB): retry only for port clashes
            if "Address already in use" not in last_log:
                break
        raise RuntimeError("redis-server failed to start (exit %s); log:\n%s"
                           % (self.proc.returncode, last_log))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.client.sock.sendall(encode_command(["SHUTDOWN", "NOSAVE"]))
        except OSError:
            pass
        try:
            self.proc.wait(timeout=15)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        try:
            self.client.close()
        except OSError:
            pass


# ---------------------------------------------------------------- restore

def restore(c, path):
    with open(path, "rb") as f:
        items = json.load(f)
    if not isinstance(items, list):
        raise ValueError("%s: expected a JSON array" % path)
    by_db = {}
    for n, it in enumerate(items):
        try:
            db = int(it["db"])
            key = bytes.fromhex(it["key"])
            payload = bytes.fromhex(it["payload"])
            exp = it.get("expire_ms")
            if exp is not None:
                cmd = ["RESTORE", key, int(exp), payload, "REPLACE", "ABSTTL"]
            else:
                cmd = ["RESTORE", key, int(it.get("ttl_ms", 0)), payload, "REPLACE"]
        except (KeyError, ValueError, TypeError) as e:
            raise ValueError("%s: entry %d is malformed: %s" % (path, n, e))
        by_db.setdefault(db, []).append((it["key"], cmd))
    for db in sorted(by_db):
        c.call("SELECT", db)
        replies = c.pipeline([cmd for _, cmd in by_db[db]], raise_errors=False)
        errors = ["RESTORE db %d key %s: %s" % (db, khex, r)
                  for (khex, _), r in zip(by_db[db], replies) if isinstance(r, RedisError)]
        if errors:
            raise RedisError("\n".join(errors))
    c.call("SELECT", 0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=6379)
    ap.add_argument("--restore", metavar="FILE",
                    help="RESTORE the DUMP payloads in FILE before taking the snapshot")
    args = ap.parse_args(argv)
    try:
        c = Client(args.host, args.port)
        try:
            if args.restore:
                restore(c, args.restore)
            out = dump_json(snapshot(c))
        finally:
            c.close()
    except (RedisError, ProtocolError, OSError, ValueError) as e:
        print("redis-snapshot: %s" % e, file=sys.stderr)
        return 1
    sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
