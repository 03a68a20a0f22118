// Differential tests for the string family (GET/SET and variants, counters, ranges, LCS, bitmaps)
// against a real redis-server, plus timing-dependent properties checked by ranges.
import Foundation
import Testing
@testable import Engine
import TestSupport

@Suite struct StringCommandsTests {
    @Test func getSetAndOptions() throws {
        try #require(RedisOracle.available)
        try compareKeyspace(#"""
        GET nokey
        SET k v
        GET k
        SET k v2 NX
        SET k v3 XX
        GET k
        SET nk v XX
        GET nk
        SET nk v NX
        GET nk
        SET k v NX XX
        SET k v XX NX
        SET k v NX NX
        SET k v GET
        SET k v2 GET GET
        SET missing v GET
        SET k v3 NX GET
        SET k2 fresh NX GET
        SET k v4 XX GET
        SET nox v XX GET
        EXISTS nox
        SET k v EX 100
        TTL k
        SET k v PX 100000
        TTL k
        SET k v EX 10 EX 100
        TTL k
        SET k v EX 100 PX 100
        SET k v PX 100 EX 100
        SET k v EX 100 EXAT 100
        SET k v EXAT 4000000000
        TTL k
        EXPIRETIME k
        SET k v PXAT 4000000000123
        PEXPIRETIME k
        EXPIRETIME k
        SET k v KEEPTTL
        PEXPIRETIME k
        SET k v
        TTL k
        SET k v EX 100 KEEPTTL
        SET k v KEEPTTL EX 100
        SET k v KEEPTTL PX 100
        SET k v KEEPTTL EXAT 100
        SET k v KEEPTTL PXAT 100
        SET k v KEEPTTL KEEPTTL
        SET k v PERSIST
        SET k v EX
        SET k v PX
        SET k v EX abc
        SET k v EX 0
        SET k v EX -1
        SET k v PX 0
        SET k v PX -5
        SET k v EXAT 0
        SET k v PXAT -1
        SET k v EX 9223372036854775807
        SET k v EX 9223372036854775
        SET k v PX 9223372036854775807
        SET k v EXAT 9223372036854775
        SET k v PXAT 9223372036854775807
        SET k v EX 1.5
        SET k v FOO
        SET k v ex 100 nx
        SET k v EXAT 1
        EXISTS k
        SET k
        SET
        SET k v GET EX 100
        TTL k
        LPUSH list a
        GET list
        SET list v GET
        SET list v NX GET
        SET list v
        GET list
        """#)
    }

    @Test func encodings() throws {
        try #require(RedisOracle.available)
        try compareKeyspace(#"""
        SET i 12345
        OBJECT ENCODING i
        SET i -9223372036854775808
        OBJECT ENCODING i
        SET i 9223372036854775807
        OBJECT ENCODING i
        SET i 9223372036854775808
        OBJECT ENCODING i
        SET i 012
        OBJECT ENCODING i
        SET i -0
        OBJECT ENCODING i
        SET i +1
        OBJECT ENCODING i
        SET i " 1"
        OBJECT ENCODING i
        SET s hello
        OBJECT ENCODING s
        SET s aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        OBJECT ENCODING s
        SET s aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        OBJECT ENCODING s
        APPEND a x
        OBJECT ENCODING a
        APPEND a y
        OBJECT ENCODING a
        APPEND n 12
        OBJECT ENCODING n
        APPEND n 3
        OBJECT ENCODING n
        GET n
        INCR n
        OBJECT ENCODING n
        SETRANGE r 0 abc
        OBJECT ENCODING r
        SET r2 abc
        SETRANGE r2 1 x
        OBJECT ENCODING r2
        SET r3 abc
        SETRANGE r3 1 ""
        OBJECT ENCODING r3
        INCRBYFLOAT f 1
        OBJECT ENCODING f
        GET f
        INCR f
        OBJECT ENCODING f
        INCRBYFLOAT f 0.5
        OBJECT ENCODING f
        SETBIT b 3 1
        OBJECT ENCODING b
        SET b2 1
        SETBIT b2 0 0
        OBJECT ENCODING b2
        SET x1 abc
        BITOP NOT dest x1
        OBJECT ENCODING dest
        OBJECT REFCOUNT i
        SET small 5
        OBJECT REFCOUNT small
        SET big 10000
        OBJECT REFCOUNT big
        OBJECT REFCOUNT s
        MSET m1 1 m2 hello
        OBJECT ENCODING m1
        OBJECT ENCODING m2
        GETSET m2 77
        OBJECT ENCODING m2
        SETEX se 100 42
        OBJECT ENCODING se
        """#)
    }

    @Test func variants() throws {
        try #require(RedisOracle.available)
        try compareKeyspace(#"""
        SETNX a 1
        SETNX a 2
        GET a
        SETNX
        SETNX a
        SETEX e 100 v
        TTL e
        GET e
        SETEX e 0 v
        SETEX e -1 v
        SETEX e abc v
        SETEX e 9223372036854775807 v
        SETEX e 100
        PSETEX p 100000 v
        TTL p
        PSETEX p 0 v
        PSETEX p -10 v
        PSETEX p x v
        PSETEX p 9223372036854775807 v
        MSET a 1 b 2 c 3
        MGET a b c nokey
        MSET a 1 b
        MSET a
        MSET a 1 a 2
        GET a
        MSETNX x 1 y 2
        MSETNX x 1 z 3
        MGET x y z
        MSETNX x
        MSETNX q 1 r
        MSETNX d 1 d 2
        GET d
        LPUSH l a
        MGET a l nokey
        MSETNX l 1 w 2
        EXISTS w
        SET t v EX 100
        GETSET t new
        TTL t
        GETSET nokey2 v
        GET nokey2
        GETSET l v
        GETSET
        GETDEL a
        GETDEL a
        EXISTS a
        GETDEL l
        GETDEL
        GETEX nokey
        GETEX nokey EX 100
        GETEX nokey EX -1
        SET g v
        GETEX g
        TTL g
        GETEX g EX 100
        TTL g
        GETEX g PX 200000
        TTL g
        GETEX g EXAT 4000000000
        EXPIRETIME g
        GETEX g PXAT 4000000000555
        PEXPIRETIME g
        GETEX g PERSIST
        TTL g
        GETEX g PERSIST
        GETEX g EX 0
        GETEX g EX -5
        GETEX g PX abc
        GETEX g EX 100 PX 100
        GETEX g EX 100 PERSIST
        GETEX g PERSIST EX 100
        GETEX g NX
        GETEX g XX
        GETEX g GET
        GETEX g KEEPTTL
        GETEX g EX
        GETEX g FOO
        GETEX g EX 9223372036854775807
        GETEX g EXAT 1
        EXISTS g
        SET g v
        GETEX g PXAT 1
        EXISTS g
        GETEX l
        GETEX l EX 100
        GETEX l EX abc
        """#)
    }

    @Test func appendStrlenRanges() throws {
        try #require(RedisOracle.available)
        try compareKeyspace(#"""
        APPEND a hello
        APPEND a " world"
        GET a
        STRLEN a
        STRLEN nokey
        APPEND a ""
        STRLEN a
        SET n 100
        APPEND n 5
        GET n
        STRLEN n
        SET n -42
        STRLEN n
        LPUSH l x
        APPEND l x
        STRLEN l
        APPEND a
        STRLEN
        SET s "Hello World"
        GETRANGE s 0 4
        GETRANGE s -5 -1
        GETRANGE s 0 -1
        GETRANGE s 0 100
        GETRANGE s 5 3
        GETRANGE s -1 -5
        GETRANGE s -100 -90
        GETRANGE s -100 2
        GETRANGE s 100 200
        GETRANGE s 10 10
        GETRANGE s 11 11
        GETRANGE s -9223372036854775808 9223372036854775807
        GETRANGE s 0 -100
        GETRANGE s a 1
        GETRANGE s 1 b
        GETRANGE nokey 0 -1
        GETRANGE nokey a b
        GETRANGE l 0 -1
        GETRANGE l a b
        SUBSTR s 0 4
        SUBSTR s -3 -1
        SUBSTR l 0 1
        SET i 123456
        GETRANGE i 1 3
        GETRANGE i -2 -1
        SET e ""
        GETRANGE e 0 -1
        GETRANGE e 0 0
        GETRANGE s 0
        SETRANGE r 5 abc
        GET r
        STRLEN r
        SETRANGE r 0 XY
        GET r
        SETRANGE r 7 ZZZZ
        GET r
        SETRANGE r 2 ""
        SETRANGE nokey2 3 ""
        EXISTS nokey2
        SETRANGE r -1 x
        SETRANGE r abc x
        SETRANGE r 536870911 ""
        SETRANGE r 536870912 x
        SETRANGE r 536870911 xx
        SETRANGE big 536870912 x
        SETRANGE big 9223372036854775807 x
        SETRANGE l 0 x
        SETRANGE l 0 ""
        SETRANGE l -1 x
        SET i 1234
        SETRANGE i 1 9
        GET i
        INCR i
        SETRANGE r 0
        """#)
    }

    @Test func counters() throws {
        try #require(RedisOracle.available)
        try compareKeyspace(#"""
        INCR c
        INCR c
        DECR c
        DECR c
        DECR c
        INCRBY c 10
        INCRBY c -20
        DECRBY c 5
        DECRBY c -100
        GET c
        INCRBY c abc
        INCRBY c 1.5
        INCRBY c ""
        DECRBY c 9223372036854775808
        DECRBY c -9223372036854775808
        SET m 9223372036854775807
        INCR m
        INCRBY m 0
        INCRBY m -1
        SET m -9223372036854775808
        DECR m
        DECRBY m 1
        INCRBY m 9223372036854775807
        SET s abc
        INCR s
        DECR s
        INCRBY s 1
        SET s " 1"
        INCR s
        SET s 1.0
        INCR s
        SET s 007
        INCR s
        SET s 99999999999999999999
        INCR s
        SET s ""
        INCR s
        LPUSH l x
        INCR l
        DECR l
        INCRBY l 1
        INCRBY l abc
        DECRBY l 1
        INCRBYFLOAT l 1
        INCRBYFLOAT l abc
        SET t v EX 100
        SET t 5 EX 100
        INCR t
        TTL t
        INCRBYFLOAT t 1.5
        TTL t
        APPEND x 10
        INCR x
        GET x
        INCRBYFLOAT f 10.5
        INCRBYFLOAT f 0.1
        INCRBYFLOAT f -5
        INCRBYFLOAT f 5.0e3
        INCRBYFLOAT f 1e-17
        INCRBYFLOAT f abc
        INCRBYFLOAT f ""
        INCRBYFLOAT f " 1"
        INCRBYFLOAT f "1 "
        INCRBYFLOAT f nan
        INCRBYFLOAT f inf
        INCRBYFLOAT f -inf
        INCRBYFLOAT f 1e5000
        INCRBYFLOAT f 0x10
        GET f
        SET f 3.0e3
        INCRBYFLOAT f 200
        SET f 1.5abc
        INCRBYFLOAT f 1
        SET f 5
        INCRBYFLOAT f 0
        INCRBYFLOAT f -5
        INCRBYFLOAT f -0.0
        INCRBYFLOAT g 0.1
        INCRBYFLOAT g 0.2
        INCRBYFLOAT h 1.1
        INCRBYFLOAT h 2.2
        INCRBYFLOAT h -3.3
        INCRBYFLOAT h 1e15
        INCRBYFLOAT h 123456789.123456789
        SET big 1e308
        INCRBYFLOAT big 1e308
        INCRBYFLOAT neg -1.5
        INCRBYFLOAT tiny 0.00000000000000001
        INCRBYFLOAT tiny2 0.000000000000000001
        INCR
        INCRBY c
        INCRBYFLOAT c
        DECRBY c 1 2
        """#)
    }

    @Test func lcs() throws {
        try #require(RedisOracle.available)
        try compareKeyspace(#"""
        MSET key1 ohmytext key2 mynewtext
        LCS key1 key2
        LCS key1 key2 LEN
        LCS key1 key2 IDX
        LCS key1 key2 IDX MINMATCHLEN 4
        LCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN
        LCS key1 key2 IDX WITHMATCHLEN
        LCS key1 key2 WITHMATCHLEN
        LCS key1 key2 MINMATCHLEN -5 IDX
        LCS key1 key2 MINMATCHLEN abc
        LCS key1 key2 MINMATCHLEN
        LCS key1 key2 LEN IDX
        LCS key1 key2 FOO
        LCS key1 nokey
        LCS key1 nokey IDX
        LCS nokey nokey2 LEN
        LCS key2 key1 IDX WITHMATCHLEN
        MSET a abcdefgh b xbcdyefzgh
        LCS a b IDX WITHMATCHLEN
        LCS a b IDX MINMATCHLEN 2
        LCS a a IDX
        MSET n1 12345 n2 2244
        LCS n1 n2
        LPUSH l x
        LCS key1 l
        LCS l key1 IDX
        LCS l key1 FOO
        LCS key1
        MSET u1 "" u2 abc
        LCS u1 u2 IDX
        LCS u2 u1
        !resp3
        LCS key1 key2 IDX WITHMATCHLEN
        LCS key1 key2 IDX
        !resp2
        """#)
    }

    @Test func bits() throws {
        try #require(RedisOracle.available)
        try compareKeyspace(#"""
        SETBIT b 7 1
        GET b
        SETBIT b 7 1
        SETBIT b 7 0
        SETBIT b 100 1
        STRLEN b
        GETBIT b 100
        GETBIT b 99
        GETBIT b 1000
        GETBIT nokey 5
        SETBIT b -1 1
        SETBIT b abc 1
        SETBIT b 4294967296 1
        SETBIT b 1 2
        SETBIT b 1 -1
        SETBIT b 1 x
        GETBIT b -1
        GETBIT b x
        LPUSH l x
        SETBIT l 1 1
        GETBIT l 1
        SETBIT l -1 1
        SET s foobar
        BITCOUNT s
        BITCOUNT s 0 0
        BITCOUNT s 1 1
        BITCOUNT s 1 1 BYTE
        BITCOUNT s 5 30 BIT
        BITCOUNT s 0 -1 BIT
        BITCOUNT s -5 -1 BIT
        BITCOUNT s 3 3 BIT
        BITCOUNT s -1 -2
        BITCOUNT s -2 -1
        BITCOUNT s 100 200
        BITCOUNT s -100 100
        BITCOUNT s 0
        BITCOUNT s 0 1 FOO
        BITCOUNT s a b
        BITCOUNT s 0 1 BIT 2
        BITCOUNT nokey
        BITCOUNT nokey a b
        BITCOUNT l
        SET e ""
        BITCOUNT e
        BITCOUNT e 0 -1 BIT
        SET i 12345
        BITCOUNT i
        SET p "\xff\xf0\x00"
        BITPOS p 0
        BITPOS p 1
        BITPOS p 0 2
        BITPOS p 1 2
        BITPOS p 0 0 0
        BITPOS p 0 0 1
        BITPOS p 1 1 -1
        BITPOS p 0 7 15 BIT
        BITPOS p 1 7 15 BIT
        BITPOS p 0 13 BIT
        BITPOS p 1 13 BIT
        BITPOS p 0 2 1
        BITPOS p 1 -1
        BITPOS p 0 -1
        BITPOS p 0 0 -1 FOO
        BITPOS p 2
        BITPOS p -1
        BITPOS p x
        BITPOS p 0 a
        BITPOS p 0 0 a
        BITPOS nokey 0
        BITPOS nokey 1
        BITPOS nokey 2
        BITPOS l 1
        SET ones "\xff\xff"
        BITPOS ones 0
        BITPOS ones 0 0 -1
        BITPOS ones 0 0 -1 BIT
        BITPOS ones 0 3 BIT
        BITPOS ones 1 3 BIT
        BITPOS e 0
        BITPOS e 1
        SET z "\x00\x00\x01"
        BITPOS z 1
        BITPOS z 1 0 1
        BITPOS z 1 1 -1 BYTE
        MSET x1 foobar x2 abcdef x3 xy
        BITOP AND d x1 x2
        GET d
        BITOP OR d x1 x2 x3
        GET d
        BITOP XOR d x1 x2 x3
        GET d
        BITOP NOT d x3
        GET d
        BITOP NOT d x1 x2
        BITOP NAND d x1
        BITOP and d x1 nokey
        GET d
        BITOP OR d nokey nokey2
        EXISTS d
        BITOP OR d x1 l
        BITOP
        BITOP AND d
        SET t v EX 100
        BITOP OR t x1
        TTL t
        """#)
    }

    @Test func wrongArityAndTypes() throws {
        try #require(RedisOracle.available)
        try compareKeyspace(#"""
        GET
        GET a b
        STRLEN a b
        APPEND a
        GETRANGE a 0
        SETRANGE a 0
        MGET
        GETDEL a b
        GETEX
        GETSET a
        SETEX a 1
        PSETEX a 1
        SETBIT a 1
        GETBIT a
        BITCOUNT
        BITPOS a
        LCS a
        RPUSH s a
        GET s
        GETRANGE s 0 1
        STRLEN s
        GETDEL s
        INCR s
        SET s x
        GET s
        """#)
    }

    @Test func resp3Replies() throws {
        try #require(RedisOracle.available)
        try compareKeyspace(#"""
        !resp3
        GET nokey
        SET k v
        GET k
        MGET k nokey
        SET k v2 GET
        SET nokey2 v XX
        SET nokey3 v XX GET
        GETEX nokey
        GETDEL nokey
        GETSET nokey4 v
        INCRBYFLOAT f 1.5
        INCR c
        GETRANGE nokey 0 1
        LCS k nokey IDX
        RPUSH l 2 1
        SORT l GET nokey*
        SORT l GET #
        OBJECT ENCODING nokey
        OBJECT ENCODING k
        OBJECT HELP
        SCAN 0 MATCH nokey*
        KEYS nokey*
        TYPE k
        TTL nokey
        !resp2
        GET nokey
        """#)
    }

    @Test func setExpiresAfterShortTime() throws {
        let h = EngineHarness()
        #expect(h.run("SET k v PX 30") == "+OK\r\n")
        #expect(h.run("GET k") == "$1\r\nv\r\n")
        let pttl = h.run("PTTL k")
        let ms = intReply(pttl) ?? -99
        #expect(ms > 0 && ms <= 30)
        usleep(60_000)
        #expect(h.run("GET k") == "$-1\r\n")
        #expect(h.run("EXISTS k") == ":0\r\n")
        #expect(h.run("SETEX k 1 v") == "+OK\r\n")
        let ttl = h.run("TTL k")
        #expect(ttl == ":1\r\n")
        #expect(h.run("GETEX k PX 20") == "$1\r\nv\r\n")
        usleep(40_000)
        #expect(h.run("GETEX k") == "$-1\r\n")
    }

    @Test func appendBuildsLongStringsInPlace() {
        let h = EngineHarness()
        for _ in 0 ..< 1000 { h.run("APPEND k abcdefghij") }
        #expect(h.run("STRLEN k") == ":10000\r\n")
        #expect(h.run("GETRANGE k 9990 -1") == "$10\r\nabcdefghij\r\n")
        #expect(h.run("OBJECT ENCODING k") == "$3\r\nraw\r\n")
    }

    @Test func dirtyCounting() {
        let h = EngineHarness()
        let d0 = h.engine.dirty
        h.run("SET a 1")
        h.run("MSET b 1 c 2 d 3")
        #expect(h.engine.dirty == d0 + 4)
        h.run("SET a 1 NX")
        h.run("GET a")
        h.run("SETRANGE a 0 \"\"")
        h.run("SETBIT a 0 0")  // "1" = 0x31: bit 0 is already 0
        #expect(h.engine.dirty == d0 + 4)
        h.run("SETBIT a 0 1")
        h.run("INCRBYFLOAT f 1")
        #expect(h.engine.dirty == d0 + 6)
    }
}
