// Sorted set commands against real Redis 7.0 (byte-identical replies, RESP2 and RESP3, both
// encodings), the skiplist against a naive sorted array, properties of ZRANDMEMBER, and the
// blocking pops with two sessions on one engine.
import Testing
@testable import Engine
import StorageFormat
import TestSupport

@Suite struct ZSetCommandsTests {
    @Test func zaddAndReadsMatchRedis() throws {
        try #require(RedisOracle.available)
        try compareSetsWithRedis("""
        ZADD z 1 a 2 b 3 c
        ZADD z 1.5 d -0.1 e 1e20 f inf g -inf h
        ZRANGE z 0 -1 WITHSCORES
        ZCARD z
        ZSCORE z d
        ZSCORE z e
        ZSCORE z f
        ZSCORE z g
        ZSCORE z h
        ZSCORE z nope
        ZSCORE nokey a
        ZMSCORE z a nope e g
        ZMSCORE nokey a b
        ZRANK z h
        ZRANK z g
        ZRANK z nope
        ZRANK nokey a
        ZREVRANK z h
        ZREVRANK z g
        ZREVRANK z a
        # options
        ZADD z NX 100 a 4 newnx
        ZSCORE z a
        ZADD z XX 100 a 5 newxx
        ZSCORE z a
        ZSCORE z newxx
        ZADD z CH 7 a 8 b 9 brandnew
        ZADD z ch 7 a
        ZADD z GT 1 a
        ZADD z GT CH 1 a 70 b
        ZADD z LT CH 1 a 700 b
        ZADD z LT 0.5 newlt
        ZADD z XX GT CH 2 a 3 b
        ZADD z XX LT CH 20 a 1 b
        ZRANGE z 0 -1 WITHSCORES
        ZADD z INCR 10 a
        ZADD z INCR -2.5 a
        ZADD z NX INCR 1 a
        ZADD z XX INCR 1 missing
        ZADD z GT INCR -1 a
        ZADD z LT INCR 1 a
        ZADD z LT INCR -1 a
        ZADD z INCR 0 a
        ZADD z INCR 1 freshincr
        ZADD z incr inf g
        ZADD z incr -inf g
        ZSCORE z g
        ZADD z xx nx 1 a
        ZADD z nx xx 1 a
        ZADD z gt lt 1 a
        ZADD z gt nx 1 a
        ZADD z lt nx 1 a
        ZADD z incr 1 a 2 b
        ZADD z 1
        ZADD z 1 a 2
        ZADD z nx 1
        ZADD z xx nx 1
        ZADD z x a
        ZADD z nan a
        ZADD z 1 a nan b
        ZADD z 1e400 a
        ZADD z 1e-400 a
        ZADD z " 1" a
        ZADD z "1 " a
        ZADD z "" a
        ZADD z 0x10 hex
        ZADD z 1e-310 tiny
        ZADD z +inf pinf -Infinity minf
        ZSCORE z hex
        ZSCORE z tiny
        ZADD nokey XX 1 a
        ZADD nokey XX INCR 1 a
        ZCARD nokey
        ZADD z 0 zero
        ZADD z -0 zero
        ZSCORE z zero
        ZADD z -0 negzero
        ZSCORE z negzero
        # ZINCRBY
        ZINCRBY z 5 a
        ZINCRBY z -5 a
        ZINCRBY z 1.5 newinc
        ZINCRBY z 1 g
        ZINCRBY z -inf g
        ZINCRBY z x a
        ZINCRBY z nan a
        ZINCRBY z nx a
        ZINCRBY z incr a
        ZINCRBY z 1
        ZINCRBY newz 2 m
        ZSCORE newz m
        # ZREM
        ZREM z a b nope
        ZREM z a
        ZREM nokey a
        ZREM newz m
        ZCARD newz
        ZREM z
        ZRANGE z 0 -1 WITHSCORES
        # wrong types and arities
        SADD s 1 2
        ZADD s 1 a
        ZINCRBY s 1 a
        ZREM s a
        ZCARD s
        ZSCORE s a
        ZMSCORE s a
        ZRANK s a
        ZREVRANK s a
        ZCOUNT s 0 1
        ZLEXCOUNT s - +
        ZRANGE s 0 1
        ZRANGEBYSCORE s 0 1
        ZRANGEBYLEX s - +
        ZREMRANGEBYRANK s 0 1
        ZREMRANGEBYSCORE s 0 1
        ZREMRANGEBYLEX s - +
        ZPOPMIN s
        ZPOPMAX s 2
        ZRANDMEMBER s
        ZRANDMEMBER s 2
        ZSCAN s 0
        !SET str x
        ZADD str 1 a
        ZCARD str
        ZCARD
        ZSCORE z
        ZMSCORE z
        ZRANK z
        ZREVRANK z a b
        ZCOUNT z 0
        ZLEXCOUNT z -
        ZRANGE z 0
        ZREM z
        """)
    }

    @Test func rangesMatchRedis() throws {
        try #require(RedisOracle.available)
        try compareSetsWithRedis("""
        ZADD z 1 a 2 b 3 c 4 d 5 e 5 f 5 g 6 h -1.5 i inf j -inf k
        ZRANGE z 0 -1
        ZRANGE z 0 -1 WITHSCORES
        ZRANGE z 2 4 withscores
        ZRANGE z -3 -1
        ZRANGE z -100 2
        ZRANGE z 5 2
        ZRANGE z 100 200
        ZRANGE z 0 100
        ZRANGE z -1 -1
        ZRANGE z 0 -1 REV
        ZRANGE z 1 3 REV WITHSCORES
        ZRANGE z 0 0 rev
        ZRANGE nokey 0 -1
        ZRANGE z x 1
        ZRANGE z 0 1.5
        ZRANGE z 0 -1 LIMIT 0 1
        ZRANGE z 0 -1 LIMIT 0 -1
        ZRANGE z 0 -1 LIMIT 5 -1
        ZRANGE z 0 -1 LIMIT 0
        ZRANGE z 0 -1 LIMIT x 1
        ZRANGE z 0 -1 BYSCORE BYLEX
        ZRANGE z 0 -1 BYLEX BYSCORE
        ZRANGE z 0 -1 REV REV
        ZRANGE z 0 -1 WITHSCORES WITHSCORES
        ZRANGE z 0 -1 foo
        # BYSCORE
        ZRANGE z 2 5 BYSCORE
        ZRANGE z (2 5 BYSCORE WITHSCORES
        ZRANGE z 2 (5 BYSCORE
        ZRANGE z (2 (5 BYSCORE
        ZRANGE z -inf +inf BYSCORE
        ZRANGE z -inf inf BYSCORE WITHSCORES
        ZRANGE z (-inf (inf BYSCORE
        ZRANGE z 5 2 BYSCORE
        ZRANGE z 5 2 BYSCORE REV WITHSCORES
        ZRANGE z (5 2 BYSCORE REV
        ZRANGE z 5 (5 BYSCORE
        ZRANGE z 5 5 BYSCORE
        ZRANGE z ( 5 BYSCORE
        ZRANGE z " 1" 5 BYSCORE
        ZRANGE z 1e400 inf BYSCORE
        ZRANGE z 0x2 5 BYSCORE
        ZRANGE z -inf +inf BYSCORE LIMIT 2 3
        ZRANGE z -inf +inf BYSCORE LIMIT 2 -1
        ZRANGE z -inf +inf BYSCORE LIMIT 2 0
        ZRANGE z -inf +inf BYSCORE LIMIT -1 3
        ZRANGE z -inf +inf BYSCORE LIMIT 10 3
        ZRANGE z -inf +inf BYSCORE LIMIT 11 3
        ZRANGE z -inf +inf BYSCORE LIMIT 100 3
        ZRANGE z +inf -inf BYSCORE REV LIMIT 1 4 WITHSCORES
        ZRANGE z x 5 BYSCORE
        ZRANGE z 1 (x BYSCORE
        ZRANGE z nan 5 BYSCORE
        ZRANGE z 1 5 BYSCORE LIMIT 0
        ZRANGE z 1 5 BYSCORE LIMIT 0 x
        ZRANGEBYSCORE z 2 5
        ZRANGEBYSCORE z 2 5 WITHSCORES
        ZRANGEBYSCORE z -inf +inf LIMIT 1 2
        ZRANGEBYSCORE z -inf +inf WITHSCORES LIMIT 1 2
        ZRANGEBYSCORE z -inf +inf LIMIT 1 2 WITHSCORES
        ZRANGEBYSCORE z -inf +inf LIMIT 1
        ZRANGEBYSCORE z -inf +inf REV
        ZRANGEBYSCORE z -inf +inf BYSCORE
        ZRANGEBYSCORE z a b
        ZRANGEBYSCORE nokey 0 1
        ZREVRANGEBYSCORE z 5 2
        ZREVRANGEBYSCORE z 5 2 WITHSCORES
        ZREVRANGEBYSCORE z (5 (2
        ZREVRANGEBYSCORE z 2 5
        ZREVRANGEBYSCORE z +inf -inf LIMIT 0 3 WITHSCORES
        ZREVRANGEBYSCORE z +inf -inf LIMIT 3 100
        ZREVRANGE z 0 2
        ZREVRANGE z 0 2 WITHSCORES
        ZREVRANGE z -2 -1
        ZREVRANGE z 0 -1 LIMIT 0 1
        ZREVRANGE z 0 -1 BYSCORE
        ZREVRANGE z 0 -1 REV
        ZCOUNT z 2 5
        ZCOUNT z (2 (5
        ZCOUNT z -inf +inf
        ZCOUNT z 5 2
        ZCOUNT z (5 5
        ZCOUNT z inf inf
        ZCOUNT z (inf inf
        ZCOUNT nokey 0 1
        ZCOUNT z x 1
        ZCOUNT z 1 (
        # lex ranges on equal scores
        ZADD lex 0 a 0 b 0 c 0 d 0 e 0 f 0 g 0 aa 0 ab 0 "" 0 zz
        ZRANGE lex 0 -1
        ZRANGE lex - + BYLEX
        ZRANGE lex [b [d BYLEX
        ZRANGE lex (b [d BYLEX
        ZRANGE lex [b (d BYLEX
        ZRANGE lex (b (d BYLEX
        ZRANGE lex [a (b BYLEX
        ZRANGE lex - (c BYLEX
        ZRANGE lex [e + BYLEX
        ZRANGE lex + - BYLEX
        ZRANGE lex [d [b BYLEX
        ZRANGE lex [d [b BYLEX REV
        ZRANGE lex + - BYLEX REV
        ZRANGE lex + - BYLEX REV LIMIT 2 3
        ZRANGE lex - + BYLEX LIMIT 1 2
        ZRANGE lex - + BYLEX LIMIT -1 2
        ZRANGE lex - + BYLEX LIMIT 3 -1
        ZRANGE lex [ + BYLEX
        ZRANGE lex ( + BYLEX
        ZRANGE lex [b [b BYLEX
        ZRANGE lex (b [b BYLEX
        ZRANGE lex - + BYLEX WITHSCORES
        ZRANGE lex a + BYLEX
        ZRANGE lex - b BYLEX
        ZRANGE lex -- + BYLEX
        ZRANGE lex - ++ BYLEX
        ZRANGE lex "" + BYLEX
        ZRANGEBYLEX lex - +
        ZRANGEBYLEX lex [aa [c
        ZRANGEBYLEX lex - + LIMIT 2 2
        ZRANGEBYLEX lex - + WITHSCORES
        ZRANGEBYLEX lex 0 1
        ZRANGEBYLEX nokey - +
        ZREVRANGEBYLEX lex + -
        ZREVRANGEBYLEX lex [d (aa
        ZREVRANGEBYLEX lex + - LIMIT 1 3
        ZREVRANGEBYLEX lex - +
        ZLEXCOUNT lex - +
        ZLEXCOUNT lex [b [d
        ZLEXCOUNT lex (b (d
        ZLEXCOUNT lex + -
        ZLEXCOUNT lex [zz +
        ZLEXCOUNT lex (zz +
        ZLEXCOUNT nokey - +
        ZLEXCOUNT lex a b
        ZLEXCOUNT lex [a
        """)
    }

    @Test func storesAndRemovalsMatchRedis() throws {
        try #require(RedisOracle.available)
        try compareSetsWithRedis("""
        ZADD z 1 a 2 b 3 c 4 d 5 e
        ZRANGESTORE dst z 1 3
        ZRANGE dst 0 -1 WITHSCORES
        ZRANGESTORE dst z 0 -1 REV
        ZRANGE dst 0 -1 WITHSCORES
        ZRANGESTORE dst z (1 4 BYSCORE LIMIT 1 2
        ZRANGE dst 0 -1 WITHSCORES
        ZRANGESTORE dst z 4 1 BYSCORE REV
        ZRANGE dst 0 -1 WITHSCORES
        ZRANGESTORE dst z [b [d BYLEX
        ZRANGE dst 0 -1 WITHSCORES
        ZRANGESTORE dst z 10 20
        ZCARD dst
        ZRANGESTORE dst z 0 -1
        ZRANGESTORE dst nokey 0 -1
        ZCARD dst
        ZRANGESTORE dst z 0 -1 WITHSCORES
        ZRANGESTORE dst z 0 -1 LIMIT 0 1
        ZRANGESTORE dst z 0
        SADD s 1
        ZRANGESTORE dst s 0 -1
        ZRANGESTORE s z 0 1
        ZRANGE s 0 -1
        # ZREMRANGEBYRANK
        ZADD r 1 a 2 b 3 c 4 d 5 e 6 f 7 g
        ZREMRANGEBYRANK r 0 1
        ZRANGE r 0 -1
        ZREMRANGEBYRANK r -2 -1
        ZRANGE r 0 -1
        ZREMRANGEBYRANK r 5 10
        ZREMRANGEBYRANK r 2 1
        ZREMRANGEBYRANK r -100 0
        ZRANGE r 0 -1
        ZREMRANGEBYRANK r 0 -1
        ZCARD r
        ZREMRANGEBYRANK r 0 -1
        ZREMRANGEBYRANK r x 1
        ZREMRANGEBYRANK nokey x 1
        ZREMRANGEBYRANK r 0
        # ZREMRANGEBYSCORE
        ZADD rs 1 a 2 b 3 c 4 d 5 e inf f -inf g
        ZREMRANGEBYSCORE rs (1 3
        ZRANGE rs 0 -1 WITHSCORES
        ZREMRANGEBYSCORE rs 5 1
        ZREMRANGEBYSCORE rs (inf +inf
        ZREMRANGEBYSCORE rs inf +inf
        ZREMRANGEBYSCORE rs -inf (1
        ZRANGE rs 0 -1 WITHSCORES
        ZREMRANGEBYSCORE rs -inf +inf
        ZCARD rs
        ZREMRANGEBYSCORE rs x 1
        ZREMRANGEBYSCORE nokey x 1
        ZREMRANGEBYSCORE nokey 0 1
        # ZREMRANGEBYLEX
        ZADD rl 0 a 0 b 0 c 0 d 0 e
        ZREMRANGEBYLEX rl [b (d
        ZRANGE rl 0 -1
        ZREMRANGEBYLEX rl + -
        ZREMRANGEBYLEX rl (e +
        ZREMRANGEBYLEX rl - +
        ZCARD rl
        ZREMRANGEBYLEX rl a b
        ZREMRANGEBYLEX nokey a b
        ZREMRANGEBYLEX nokey - +
        # pops
        ZADD p 1 a 2 b 3 c 4 d 5 e -1 f
        ZPOPMIN p
        ZPOPMAX p
        ZPOPMIN p 2
        ZPOPMAX p 1
        ZPOPMIN p 0
        ZPOPMAX p 100
        ZCARD p
        ZPOPMIN p
        ZPOPMIN p 3
        ZPOPMAX nokey
        ZPOPMIN p -1
        ZPOPMIN p x
        ZPOPMIN p 1 2
        ZPOPMIN
        ZADD m1 1 a 2 b 3 c
        ZADD m2 10 x 20 y
        ZMPOP 1 m1 MIN
        ZMPOP 2 nokey m1 MAX COUNT 1
        ZMPOP 2 m1 m2 MIN COUNT 10
        ZMPOP 2 m1 m2 max count 1
        ZMPOP 2 m1 m2 MAX
        ZMPOP 2 m1 m2 MAX
        ZMPOP 1 nokey MIN
        ZMPOP 0 m1 MIN
        ZMPOP -1 m1 MIN
        ZMPOP x m1 MIN
        ZMPOP 5 m1 MIN
        ZMPOP 1 m1 foo
        ZMPOP 1 m1 MIN COUNT 0
        ZMPOP 1 m1 MIN COUNT -1
        ZMPOP 1 m1 MIN COUNT x
        ZMPOP 1 m1 MIN COUNT 1 COUNT 1
        ZMPOP 1 m1 MIN COUNT
        ZMPOP 1 m1 MIN foo
        ZMPOP 1 m1
        SADD sp 1
        ZMPOP 2 nokey sp MIN
        ZPOPMIN sp
        # blocking forms with data ready (no blocking happens)
        ZADD b1 1 a 2 b 3 c
        BZPOPMIN nokey b1 0
        BZPOPMAX b1 nokey 0
        BZPOPMIN b1 0.5
        BZPOPMIN b1 x
        BZPOPMIN b1 -1
        BZPOPMIN b1 inf
        BZPOPMIN b1 1e20
        BZPOPMIN sp 0
        BZPOPMIN nokey sp 0
        BZPOPMIN b1
        ZADD b2 1 a 2 b 3 c
        BZMPOP 0 1 b2 MIN
        BZMPOP 0 2 nokey b2 MAX COUNT 5
        BZMPOP x 1 b2 MIN
        BZMPOP -1 1 b2 MIN
        BZMPOP 0 x b2 MIN
        BZMPOP 0 0 b2 MIN
        BZMPOP 0 1 b2 foo
        BZMPOP 0 1 b2 MIN COUNT 0
        BZMPOP 0 1 sp MIN
        BZMPOP 0 1 b2
        """)
    }

    @Test func algebraMatchesRedis() throws {
        try #require(RedisOracle.available)
        try compareSetsWithRedis("""
        ZADD z1 1 a 2 b 3 c
        ZADD z2 10 b 20 c 30 d
        ZADD z3 100 c 200 d 300 e
        SADD s1 a c x
        ZUNION 2 z1 z2
        ZUNION 2 z1 z2 WITHSCORES
        ZUNION 3 z1 z2 z3 WITHSCORES
        ZUNION 2 z1 z2 WEIGHTS 2 3 WITHSCORES
        ZUNION 2 z1 z2 WEIGHTS 2 -1 AGGREGATE MIN WITHSCORES
        ZUNION 2 z1 z2 AGGREGATE MAX WITHSCORES
        ZUNION 2 z1 z2 aggregate sum withscores
        ZUNION 2 z1 s1 WITHSCORES
        ZUNION 2 z1 s1 WEIGHTS 1 inf WITHSCORES
        ZUNION 2 z1 z1 WEIGHTS inf -inf WITHSCORES
        ZUNION 2 z1 z1 WEIGHTS 1e308 1e308 WITHSCORES
        ZUNION 2 z1 nokey WITHSCORES
        ZUNION 1 nokey
        ZUNION 2 z1 z2 WEIGHTS 0 0 WITHSCORES
        ZUNION 2 z1 z2 WEIGHTS 1 2 WEIGHTS 3 4 WITHSCORES
        ZINTER 2 z1 z2
        ZINTER 2 z1 z2 WITHSCORES
        ZINTER 3 z1 z2 z3 WITHSCORES
        ZINTER 2 z1 z2 WEIGHTS 2 3 AGGREGATE MAX WITHSCORES
        ZINTER 2 z1 z2 AGGREGATE MIN WITHSCORES
        ZINTER 2 z1 s1 WITHSCORES
        ZINTER 2 s1 z1 WEIGHTS 5 1 WITHSCORES
        ZINTER 2 z1 nokey WITHSCORES
        ZINTER 2 z1 z1 WEIGHTS inf -inf WITHSCORES
        ZINTER 1 s1 WITHSCORES
        ZDIFF 2 z1 z2
        ZDIFF 2 z1 z2 WITHSCORES
        ZDIFF 3 z3 z1 z2 WITHSCORES
        ZDIFF 2 z1 z1
        ZDIFF 1 z1 WITHSCORES
        ZDIFF 2 nokey z1
        ZDIFF 2 z1 nokey WITHSCORES
        ZDIFF 2 z1 s1 WITHSCORES
        ZDIFF 2 s1 z1 WITHSCORES
        ZINTERCARD 2 z1 z2
        ZINTERCARD 3 z1 z2 z3
        ZINTERCARD 2 z1 s1
        ZINTERCARD 1 z1 LIMIT 2
        ZINTERCARD 1 z1 LIMIT 0
        ZINTERCARD 1 z1 LIMIT 100
        ZINTERCARD 2 z1 nokey
        # errors
        ZUNION 0 z1
        ZUNION -1 z1
        ZUNION x z1
        ZUNION 3 z1 z2
        ZUNION 2 z1 z2 WEIGHTS 1
        ZUNION 2 z1 z2 WEIGHTS 1 x
        ZUNION 2 z1 z2 WEIGHTS 1 nan
        ZUNION 2 z1 z2 AGGREGATE foo
        ZUNION 2 z1 z2 AGGREGATE
        ZUNION 2 z1 z2 foo
        ZUNION 2 z1 z2 LIMIT 1
        ZINTER 0 z1
        ZDIFF 0 z1
        ZDIFF 2 z1 z2 WEIGHTS 1 2
        ZDIFF 2 z1 z2 AGGREGATE MIN
        ZINTERCARD 0 z1
        ZINTERCARD 2 z1
        ZINTERCARD 1 z1 LIMIT -1
        ZINTERCARD 1 z1 LIMIT x
        ZINTERCARD 1 z1 WITHSCORES
        ZINTERCARD 1 z1 WEIGHTS 1
        ZINTERCARD 1 z1 LIMIT
        !SET str x
        ZUNION 2 z1 str
        ZINTER 2 nokey str
        ZDIFF 2 z1 str
        ZINTERCARD 2 z1 str
        ZUNION 2 z1 str WEIGHTS x
        ZUNIONSTORE dst 2 z1 str
        # stores
        ZUNIONSTORE dst 2 z1 z2
        ZRANGE dst 0 -1 WITHSCORES
        ZUNIONSTORE dst 2 z1 z2 WEIGHTS 1 -1 AGGREGATE MAX
        ZRANGE dst 0 -1 WITHSCORES
        ZINTERSTORE dst 3 z1 z2 z3
        ZRANGE dst 0 -1 WITHSCORES
        ZINTERSTORE dst 2 z1 z3
        ZCARD dst
        ZINTERSTORE dst 2 z1 z2
        ZDIFFSTORE dst 2 z2 z1
        ZRANGE dst 0 -1 WITHSCORES
        ZDIFFSTORE dst 2 z1 z1
        ZCARD dst
        ZUNIONSTORE dst 1 nokey
        ZUNIONSTORE dst 2 z1 z2 WITHSCORES
        ZUNIONSTORE dst 0 z1
        ZINTERSTORE dst 0 z1
        ZDIFFSTORE dst 0 z1
        ZUNIONSTORE dst 3 z1 z2
        ZUNIONSTORE str 2 z1 s1
        ZRANGE str 0 -1 WITHSCORES
        ZUNIONSTORE z1 2 z1 z2
        ZRANGE z1 0 -1 WITHSCORES
        ZUNIONSTORE
        ZUNIONSTORE dst 1
        ZINTERCARD 1
        """)
    }

    @Test func randmemberAndScanMatchRedis() throws {
        try #require(RedisOracle.available)
        try compareSetsWithRedis("""
        ZADD z 1 a 2 b 3 c 1.5 d -0.1 e
        ZRANDMEMBER z 5
        ZRANDMEMBER z 100 WITHSCORES
        ZRANDMEMBER z 0
        ZRANDMEMBER z 0 WITHSCORES
        ZADD one 7 only
        ZRANDMEMBER one
        ZRANDMEMBER one 1
        ZRANDMEMBER one -3 WITHSCORES
        ZRANDMEMBER one 1 withscores
        ZRANDMEMBER nokey
        ZRANDMEMBER nokey 5
        ZRANDMEMBER nokey -5 WITHSCORES
        ZRANDMEMBER z x
        ZRANDMEMBER z 1 foo
        ZRANDMEMBER z 1 WITHSCORES foo
        ZRANDMEMBER z 9223372036854775807 WITHSCORES
        ZRANDMEMBER z -4611686018427387904 WITHSCORES
        ZRANDMEMBER z -9223372036854775808
        ZRANDMEMBER nokey x
        ZSCAN z 0
        ZSCAN z 0 COUNT 1
        ZSCAN z 0 MATCH [ab]
        ZSCAN z 0 MATCH *
        ZSCAN z 123 MATCH nomatch*
        ZSCAN z 0 COUNT 0
        ZSCAN z 0 COUNT x
        ZSCAN z 0 MATCH
        ZSCAN z 0 foo
        ZSCAN z x
        ZSCAN z -1
        ZSCAN nokey 0
        ZSCAN nokey 0 foo
        ZADD sc 1e20 big 0.1 tenth -0 nz inf pinf 4503599627370496 p52 123456789012 i
        ZSCAN sc 0
        ZSCAN z
        """)
    }

    @Test func resp3RepliesMatchRedis() throws {
        try #require(RedisOracle.available)
        try compareSetsWithRedis("""
        ZADD z 1 a 2.5 b 3 c -inf d
        ZADD z INCR 1 a
        ZADD z XX INCR 1 nope
        ZINCRBY z 0.5 b
        ZSCORE z b
        ZSCORE z nope
        ZMSCORE z a nope d
        ZRANK z nope
        ZRANGE z 0 -1
        ZRANGE z 0 -1 WITHSCORES
        ZRANGE z -inf +inf BYSCORE WITHSCORES LIMIT 1 2
        ZREVRANGE z 0 1 WITHSCORES
        ZRANGE nokey 0 -1 WITHSCORES
        ZUNION 1 z WITHSCORES
        ZINTER 1 z
        ZDIFF 1 z WITHSCORES
        ZRANDMEMBER z 10 WITHSCORES
        ZRANDMEMBER z 10
        ZRANDMEMBER nokey
        ZRANDMEMBER nokey 3 WITHSCORES
        ZSCAN z 0
        ZPOPMIN z
        ZPOPMIN z 1
        ZPOPMAX z 0
        ZPOPMIN nokey
        ZPOPMIN nokey 2
        ZMPOP 1 z MAX
        ZMPOP 1 nokey MAX
        ZADD z 5 x 6 y
        BZPOPMIN z 0
        BZMPOP 0 1 z MIN COUNT 5
        ZADD q 1 a
        ZPOPMAX q 5
        """, resp: 3)
    }

    @Test func encodingConversionsMatchRedis() throws {
        try #require(RedisOracle.available)
        var config = EngineConfig()
        config.zsetMaxListpackEntries = 4
        config.zsetMaxListpackValue = 8
        try compareSetsWithRedis("""
        ZADD z 1 a 2 b 3 c 4 d
        OBJECT ENCODING z
        ZADD z 5 e
        OBJECT ENCODING z
        ZREM z a b c d
        OBJECT ENCODING z
        ZADD long 1 abcdefgh
        OBJECT ENCODING long
        ZADD long 2 abcdefghi
        OBJECT ENCODING long
        ZADD big 1 a 2 b 3 c 4 d 5 e
        OBJECT ENCODING big
        ZRANGE big 0 -1 WITHSCORES
        ZRANGE big (1 4 BYSCORE WITHSCORES
        ZRANGE big 4 1 BYSCORE REV LIMIT 1 2
        ZRANK big c
        ZREVRANK big c
        ZRANDMEMBER big 10 WITHSCORES
        ZRANGESTORE small big 0 1
        OBJECT ENCODING small
        ZRANGESTORE stillbig big 0 -1
        OBJECT ENCODING stillbig
        ZUNIONSTORE u 1 big
        OBJECT ENCODING u
        ZINTERSTORE i 2 big z
        OBJECT ENCODING i
        ZUNIONSTORE u2 2 z long
        OBJECT ENCODING u2
        ZDIFFSTORE d 2 big z
        OBJECT ENCODING d
        ZPOPMIN big 4
        OBJECT ENCODING big
        ZINCRBY big 10 e
        ZRANGE big 0 -1 WITHSCORES
        ZADD lex 0 a 0 b 0 c 0 d 0 e 0 f
        OBJECT ENCODING lex
        ZRANGE lex [b (e BYLEX
        ZRANGE lex (e [b BYLEX REV
        ZLEXCOUNT lex [b +
        ZREMRANGEBYLEX lex [e +
        ZRANGE lex 0 -1
        ZADD sc 1 a 2 b 3 c 4 d 5 e 6 f
        ZREMRANGEBYSCORE sc 2 3
        ZREMRANGEBYRANK sc -1 -1
        ZRANGE sc 0 -1 WITHSCORES
        ZSCAN small 0 COUNT 100
        """, config: config)
    }

    /// Every set and zset command with too few (and, for fixed arities, too many) arguments.
    @Test func aritiesMatchRedis() throws {
        try #require(RedisOracle.available)
        let specs = SetCommands.all + ZSetCommands.all
        var lines: [String] = []
        for spec in specs {
            let need = abs(spec.arity)
            for argc in 1 ..< need { lines.append(([spec.name] + (0 ..< argc - 1).map { "a\($0)" }).joined(separator: " ")) }
            if spec.arity > 0 { lines.append(([spec.name] + (0 ..< spec.arity).map { "a\($0)" }).joined(separator: " ")) }
        }
        #expect(specs.count == 17 + 35)
        let n = try compareSetsWithRedis(lines.joined(separator: "\n"))
        #expect(n == lines.count)
    }

    @Test func encodingsDirectly() {
        var config = EngineConfig()
        config.zsetMaxListpackEntries = 3
        let z = ZSetValue()
        #expect(z.encodingName == "listpack")
        for (i, m) in ["c", "a", "b"].enumerated() { z.set(ByteString(Array(m.utf8)), score: Double(i), config: config) }
        #expect(z.encodingName == "listpack")
        #expect(z.membersInOrder().map(\.description) == ["c", "a", "b"])
        z.set(ByteString("d"), score: -1, config: config)
        #expect(z.encodingName == "skiplist")
        #expect(z.membersInOrder().map(\.description) == ["d", "c", "a", "b"])
        // RDB round trip in order; loading picks the encoding by config.
        guard case .sortedSet(let items) = z.rdbValue else { Issue.record("not a zset"); return }
        #expect(items.map(\.score) == [-1, 0, 1, 2])
        let back = ZSetValue(rdb: z.rdbValue, config: EngineConfig())
        #expect(back.encodingName == "listpack")
        #expect(back.membersInOrder() == z.membersInOrder())
        let big = ZSetValue(rdb: z.rdbValue, config: config)
        #expect(big.encodingName == "skiplist")
        let copy = z.copy()
        copy.remove(ByteString("d"))
        #expect(z.count == 4 && copy.count == 3)
        #expect(z.score(ByteString("d")) == -1 && copy.score(ByteString("d")) == nil)
    }

    /// The skiplist against a naive sorted array: thousands of random inserts, deletes, score
    /// updates, rank queries, element-at-rank, range counts, and walks both ways.
    @Test func skiplistMatchesNaiveModel() {
        var rng = SystemRandomNumberGenerator()
        for round in 0 ..< 3 {
            var sl = ZSkipList()
            var model: [ZSetEntry] = []
            var scores: [ByteString: Double] = [:]
            let universe = round == 0 ? 50 : 2000
            for step in 0 ..< 6000 {
                let m = ByteString(Array("m\(Int.random(in: 0 ..< universe, using: &rng))".utf8))
                // Few distinct scores so ties (ordered by member) are common.
                let s = Double(Int.random(in: -20 ... 20, using: &rng)) / (round == 2 ? 1 : 4)
                if let old = scores[m] {
                    if Bool.random(using: &rng) {
                        let deleted = sl.delete(old, m)
                        #expect(deleted)
                        model.removeAll { $0.member == m }
                        scores[m] = nil
                    } else {
                        sl.delete(old, m)
                        sl.insert(s, m)
                        model.removeAll { $0.member == m }
                        model.append(ZSetEntry(member: m, score: s))
                        model.sort(by: ZSetEntry.precedes)
                        scores[m] = s
                    }
                } else {
                    sl.insert(s, m)
                    let e = ZSetEntry(member: m, score: s)
                    model.insert(e, at: model.firstIndex { ZSetEntry.precedes(e, $0) } ?? model.count)
                    scores[m] = s
                }
                let phantom = sl.delete(1000, m)
                #expect(!phantom)
                if step % 50 == 0 || step == 5999 {
                    #expect(sl.length == model.count)
                    for (i, e) in model.enumerated() {
                        if sl.rank(e.score, e.member) != i { Issue.record("rank of \(e.member) is not \(i)"); return }
                        let n = Int(sl.node(atRank: i))
                        if sl.member[n] != e.member || sl.score[n] != e.score { Issue.record("node at rank \(i)"); return }
                    }
                    // Forward and backward walks.
                    var walked: [ByteString] = []
                    var x = sl.first
                    while x != ZSkipList.nil32 { walked.append(sl.member[Int(x)]); x = sl.next(x, 0) }
                    #expect(walked == model.map(\.member))
                    var back: [ByteString] = []
                    x = sl.tail
                    while x != ZSkipList.nil32 { back.append(sl.member[Int(x)]); x = sl.backward[Int(x)] }
                    #expect(back == model.map(\.member).reversed())
                    for t in stride(from: -6.0, through: 6.0, by: 0.75) {
                        #expect(sl.countScorePrefix { $0 < t } == model.filter { $0.score < t }.count)
                        #expect(sl.countScorePrefix { $0 <= t } == model.filter { $0.score <= t }.count)
                    }
                }
            }
        }
    }

    /// ZSetValue's two encodings agree with each other through the commands, on random workloads.
    @Test func encodingsAgreeOnRandomWorkloads() {
        var small = EngineConfig()
        small.zsetMaxListpackEntries = 0
        let sk = EngineHarness(config: small)
        let lp = EngineHarness()
        for i in 0 ..< 3000 {
            let m = "m\(Int.random(in: 0 ..< 100))"
            let s = Double(Int.random(in: -10 ... 10)) / 2
            let a = Int.random(in: -12 ... 12), b = Int.random(in: -12 ... 12)
            let cmd: String
            switch i % 9 {
            case 0, 1, 2: cmd = "ZADD k \(s) \(m)"
            case 3: cmd = "ZREM k \(m)"
            case 4: cmd = "ZRANGE k \(a) \(b) WITHSCORES"
            case 5: cmd = "ZRANGE k \(Double(a) / 2) (\(Double(b) / 2) BYSCORE LIMIT \(abs(a) % 4) \(b % 5) WITHSCORES"
            case 6: cmd = "ZRANK k \(m)"
            case 7: cmd = "ZCOUNT k (\(Double(a) / 2) \(Double(b) / 2)"
            default: cmd = "ZINCRBY k \(s) \(m)"
            }
            #expect(sk.run(cmd) == lp.run(cmd), "\(cmd)")
        }
        #expect(sk.run("ZRANGE k 0 -1 WITHSCORES") == lp.run("ZRANGE k 0 -1 WITHSCORES"))
    }

    @Test func randmemberProperties() {
        let h = EngineHarness()
        for key in ["small", "big"] {
            let n = key == "small" ? 20 : 300
            let members = (0 ..< n).map { "m\($0)" }
            h.run("ZADD \(key) " + members.enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: " "))
            let all = Set(members)
            for count in [1, 2, 6, 7, n / 2, n - 1] {
                let got = bulkElements(h.run(argv("ZRANDMEMBER \(key) \(count)")))
                #expect(got.count == count)
                #expect(Set(got).count == count)
                #expect(Set(got).isSubset(of: all))
                let withScores = bulkElements(h.run(argv("ZRANDMEMBER \(key) \(count) WITHSCORES")))
                #expect(withScores.count == 2 * count)
                for p in stride(from: 0, to: withScores.count, by: 2) {
                    #expect(withScores[p + 1] == withScores[p].dropFirst().description)
                }
            }
            let picks = bulkElements(h.run(argv("ZRANDMEMBER \(key) -3000")))
            #expect(picks.count == 3000)
            #expect(Set(picks).isSubset(of: all))
            #expect(Set(picks).count > min(n, 200) * 3 / 4)
            let single = bulkElements(Array("*1\r\n".utf8) + h.run(argv("ZRANDMEMBER \(key)")))
            #expect(single.count == 1 && all.contains(single[0]))
            #expect(h.run("ZCARD \(key)") == ":\(n)\r\n")
        }
    }

    @Test func scanOverSkiplistVisitsEverything() {
        let h = EngineHarness()
        let members = (0 ..< 500).map { "member:\($0)" }
        h.run("ZADD big " + members.enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: " "))
        #expect(h.engine.databases[0].keys[ByteString("big")]?.encodingName == "skiplist")
        var seen: [String: String] = [:]
        var cursor = "0"
        var rounds = 0
        repeat {
            let reply = h.run(argv("ZSCAN big \(cursor) COUNT 23"))
            let end = replyEnd(reply, 4)!
            cursor = bulkElements(Array("*1\r\n".utf8) + Array(reply[4 ..< end]))[0]
            let items = bulkElements(Array(reply[end...]))
            for p in stride(from: 0, to: items.count, by: 2) { seen[items[p]] = items[p + 1] }
            rounds += 1
        } while cursor != "0" && rounds < 10000
        #expect(seen.count == 500)
        for (i, m) in members.enumerated() { #expect(seen[m] == "\(i)") }
    }

    @Test func blockingPopsWithTwoSessions() {
        let h = EngineHarness()
        let engine = h.engine
        let waiter = engine.newSession()
        let waiter2 = engine.newSession()
        func send(_ s: Session, _ line: String) -> String {
            s.out.removeAll()
            engine.execute(s, argv(line))
            let r = String(decoding: s.out, as: UTF8.self)
            s.out.removeAll()
            return r
        }
        // Nothing there: both block, FIFO.
        #expect(send(waiter, "BZPOPMIN k1 k2 0") == "")
        #expect(waiter.blocked != nil)
        #expect(send(waiter2, "BZPOPMAX k2 0") == "")
        #expect(engine.blockedCount == 2)
        // One element for k2: the first waiter gets it, the second stays blocked.
        #expect(h.run("ZADD k2 5 x") == ":1\r\n")
        #expect(String(decoding: waiter.out, as: UTF8.self) == "*3\r\n$2\r\nk2\r\n$1\r\nx\r\n$1\r\n5\r\n")
        waiter.out.removeAll()
        #expect(waiter.blocked == nil)
        #expect(waiter2.blocked != nil)
        #expect(h.run("ZCARD k2") == ":0\r\n")
        // Two elements: the second waiter takes the max, one stays.
        #expect(h.run("ZADD k2 1 a 2 b") == ":2\r\n")
        #expect(String(decoding: waiter2.out, as: UTF8.self) == "*3\r\n$2\r\nk2\r\n$1\r\nb\r\n$1\r\n2\r\n")
        waiter2.out.removeAll()
        #expect(h.run("ZRANGE k2 0 -1") == "*1\r\n$1\r\na\r\n")
        #expect(engine.blockedCount == 0)
        // BZMPOP blocks and is served with its COUNT.
        #expect(send(waiter, "BZMPOP 0 2 m1 m2 MIN COUNT 2") == "")
        #expect(h.run("ZADD m2 3 c 1 a 2 b") == ":3\r\n")
        #expect(String(decoding: waiter.out, as: UTF8.self)
                == "*2\r\n$2\r\nm2\r\n*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n")
        waiter.out.removeAll()
        // A finite timeout: the deadline passes and the client gets a null array.
        #expect(send(waiter, "BZPOPMIN t 0.05") == "")
        let deadline = waiter.blocked!.deadline
        #expect(deadline > engine.now && deadline <= engine.now + 50)
        engine.now = deadline + 1
        #expect(engine.expireBlockedClients() == 1)
        #expect(String(decoding: waiter.out, as: UTF8.self) == "*-1\r\n")
        waiter.out.removeAll()
        #expect(send(waiter, "BZMPOP 0.01 1 t MAX") == "")
        engine.now = waiter.blocked!.deadline
        engine.expireBlockedClients()
        #expect(String(decoding: waiter.out, as: UTF8.self) == "*-1\r\n")
        waiter.out.removeAll()
        // Inside a transaction nothing blocks: the timeout reply comes at once.
        engine.executingTransaction = true
        #expect(send(waiter, "BZPOPMIN nothing 0") == "*-1\r\n")
        #expect(send(waiter, "BZMPOP 0 1 nothing MIN") == "*-1\r\n")
        engine.executingTransaction = false
        #expect(waiter.blocked == nil)
        // ZUNIONSTORE / ZRANGESTORE creating a key wake waiters too.
        #expect(send(waiter, "BZPOPMIN dst 0") == "")
        #expect(h.run("ZUNIONSTORE dst 1 k2") == ":1\r\n")
        #expect(String(decoding: waiter.out, as: UTF8.self) == "*3\r\n$3\r\ndst\r\n$1\r\na\r\n$1\r\n1\r\n")
        waiter.out.removeAll()
        // A session that goes away stops waiting.
        #expect(send(waiter2, "BZPOPMIN gone 0") == "")
        engine.endSession(waiter2)
        #expect(engine.blockedCount == 0)
        #expect(h.run("ZADD gone 1 a") == ":1\r\n")
        #expect(h.run("ZCARD gone") == ":1\r\n")
    }
}
