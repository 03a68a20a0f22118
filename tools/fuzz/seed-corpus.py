#!/usr/bin/env python3
# Builds tools/fuzz/corpus/<target>/ from the repo's fixtures: small RDB files (one key each, made from the
# DUMP payloads Redis wrote in Fixtures/rdb/redis70.dumps.json, plus ../shared/fixtures/redis-assets), the
# payloads themselves, the AOF files and manifests, the compact-encoding blobs and LZF blocks found inside
# the payloads, and a few request streams. Run from anywhere; rerunning rewrites the seed files.
import hashlib, json, os, sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tools", "fuzz", "corpus")
ASSETS = os.path.abspath(os.path.join(ROOT, "..", "shared", "fixtures", "redis-assets"))
MAX_SEED = 64 * 1024

def put(target, data, name=None):
    if len(data) > MAX_SEED:
        return
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def lzf_decompress(src, n):
    out = bytearray(); i = 0
    while i < len(src):
        c = src[i]; i += 1
        if c < 32:
            out += src[i:i + c + 1]; i += c + 1
        else:
            ln = c >> 5
            if ln == 7:
                ln += src[i]; i += 1
            ref = len(out) - ((c & 0x1f) << 8) - src[i] - 1; i += 1
            for _ in range(ln + 2):
                out.append(out[ref]); ref += 1
    assert len(out) == n
    return bytes(out)

def read_len(b, p):
    c = b[p]; t = c >> 6
    if t == 0: return c & 0x3f, p + 1, False
    if t == 1: return ((c & 0x3f) << 8) | b[p + 1], p + 2, False
    if c == 0x80: return int.from_bytes(b[p + 1:p + 5], "big"), p + 5, False
    if c == 0x81: return int.from_bytes(b[p + 1:p + 9], "big"), p + 9, False
    return c & 0x3f, p + 1, True

def read_string(b, p):
    n, p, special = read_len(b, p)
    if not special:
        return b[p:p + n], p + n
    if n in (0, 1, 2):
        w = 1 << n
        return str(int.from_bytes(b[p:p + w], "little", signed=True)).encode(), p + w
    assert n == 3
    clen, p, _ = read_len(b, p)
    ulen, p, _ = read_len(b, p)
    comp = b[p:p + clen]
    put("lzf", ulen.to_bytes(3, "little") + comp)
    return lzf_decompress(comp, ulen), p + clen

BLOB = {9: "zipmap", 10: "ziplist", 11: "intset", 12: "ziplist", 13: "ziplist", 16: "listpack", 17: "listpack", 20: "listpack"}

def blobs(payload):
    t = payload[0]; p = 1
    if t in BLOB:
        s, _ = read_string(payload, p); put(BLOB[t], s)
    elif t == 14:
        n, p, _ = read_len(payload, p)
        for _ in range(n):
            s, p = read_string(payload, p); put("ziplist", s)
    elif t == 18:
        n, p, _ = read_len(payload, p)
        for _ in range(n):
            container, p, _ = read_len(payload, p)
            s, p = read_string(payload, p)
            if container == 2: put("listpack", s)
    elif t in (15, 19, 21):
        n, p, _ = read_len(payload, p)
        for _ in range(n):
            _, p = read_string(payload, p)
            s, p = read_string(payload, p); put("listpack", s)
    elif t == 0:
        read_string(payload, p)  # LZF-compressed strings

def rdb_blobs(b):
    """Compact-encoding blobs of an RDB file's values (the old encodings the redis-assets files hold)."""
    p = 9
    while p < len(b):
        op = b[p]; p += 1
        if op == 0xff: return
        if op == 0xfa: _, p = read_string(b, p); _, p = read_string(b, p); continue
        if op == 0xfe: _, p, _ = read_len(b, p); continue
        if op == 0xfb: _, p, _ = read_len(b, p); _, p, _ = read_len(b, p); continue
        if op == 0xfd: p += 4; continue
        if op == 0xfc: p += 8; continue
        if op == 0xf8: _, p, _ = read_len(b, p); continue
        if op == 0xf9: p += 1; continue
        _, p = read_string(b, p)
        start = p
        if op == 0: _, p = read_string(b, p)
        elif op in (1, 2): 
            n, p, _ = read_len(b, p)
            for _ in range(n): _, p = read_string(b, p)
        elif op == 4:
            n, p, _ = read_len(b, p)
            for _ in range(2 * n): _, p = read_string(b, p)
        elif op == 3:
            n, p, _ = read_len(b, p)
            for _ in range(n):
                _, p = read_string(b, p); k = b[p]; p += 1 + (k if k < 253 else 0)
        elif op in BLOB or op == 14:
            # Reuse the payload walker on the value, then find where it ended.
            if op == 14:
                n, p, _ = read_len(b, p)
                for _ in range(n): s, p = read_string(b, p); put("ziplist", s)
            else:
                s, p = read_string(b, p); put(BLOB[op], s)
        else:
            return

def main():
    dumps = json.load(open(os.path.join(ROOT, "Fixtures", "rdb", "redis70.dumps.json")))
    for d in dumps:
        payload = bytes.fromhex(d["payload"]); key = bytes.fromhex(d["key"])
        put("dump", payload)
        try:
            blobs(payload)
        except Exception as e:
            print("skipping blobs of", d["key"], e, file=sys.stderr)
        if len(key) < 64:
            body = payload[1:-10]
            put("rdb", b"REDIS0010" + b"\xfe\x00" + bytes([payload[0], len(key)]) + key + body + b"\xff" + b"\x00" * 8)
    for name in sorted(os.listdir(ASSETS)):
        data = open(os.path.join(ASSETS, name), "rb").read()
        if name.endswith(".rdb"):
            put("rdb", data, name)
            try:
                rdb_blobs(data)
            except Exception as e:
                print("stopped walking", name, repr(e), file=sys.stderr)
        if name.endswith(".aof"): put("aof", data, name)
    put("rdb", open(os.path.join(ROOT, "Fixtures", "aof", "redis70-preamble", "appendonlydir", "appendonly.aof.2.base.rdb"), "rb").read(), "preamble-base.rdb")
    for dirpath, _, files in os.walk(os.path.join(ROOT, "Fixtures", "aof")):
        for name in files:
            path = os.path.join(dirpath, name); data = open(path, "rb").read()
            tag = os.path.basename(os.path.dirname(path)) + "-" + name if "appendonlydir" not in path else path.split(os.sep)[-3] + "-" + name
            if name.endswith(".manifest"): put("manifest", data, tag)
            elif ".aof" in name or name.endswith(".rdb"): put("aof", data, tag)
    put("manifest", b"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n", "simple")
    put("manifest", b"file \"a b\\x41\" seq 3 type h\nfile appendonly.aof.4.incr.aof seq 4 type i\n# comment\n", "quoted")
    # RESP: first byte = number of cuts, then 2 bytes per cut, then the stream.
    streams = [b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n",
               b"PING\r\nSET \"a\\x41\" 'b c'\r\n\r\n*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n",
               b"*2\r\n$3\r\nGET\r\n$-1\r\n", b"GET \"unbalanced\r\n", b"*1\r\n$99999999999\r\n"]
    for i, s in enumerate(streams):
        put("resp", bytes([0]) + s, "stream%d" % i)
        put("resp", bytes([3, 1, 0, 7, 0, 20, 0]) + s, "stream%d-cut" % i)

main()
