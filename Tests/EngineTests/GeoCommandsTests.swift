// Geo commands against real Redis 7.0: byte-identical replies in RESP2 and RESP3, for both zset
// encodings, over the error paths, the edges (poles, antimeridian, radius 0, huge radii, BYBOX,
// COUNT ANY, ties under COUNT, STORE into other keys and types, non-geo scores), and a seeded
// random comparison of many searches.
import Testing
@testable import Engine
import StorageFormat
import TestSupport

/// One oracle and one engine, fed the same commands; records every reply difference.
final class GeoDifferential {
    let oracle: RedisOracle
    let cairn: EngineHarness
    var compared = 0

    init(resp: Int = 2) throws {
        oracle = try RedisOracle()
        cairn = EngineHarness()
        _ = try oracle.run("FLUSHALL")
        if resp == 3 {
            _ = try oracle.run("HELLO 3")
            cairn.session.resp = 3
        }
    }

    func check(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let a = args.map { Array($0.utf8) }
        let theirs = try oracle.run(a)
        let mine = cairn.run(a)
        #expect(String(decoding: mine, as: UTF8.self) == String(decoding: theirs, as: UTF8.self),
                "\(args.joined(separator: " "))", sourceLocation: sourceLocation)
        compared += 1
    }
}

/// Draws for the seeded random searches: uniform doubles in a range and integers below n.
extension TestRNG {
    mutating func unit() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }
    mutating func between(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * unit() }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

@Suite struct GeoCommandsTests {
    static let sicily = """
    GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
    GEOADD Sicily 12.758489 38.788135 edge1 17.241510 38.788135 edge2
    GEOADD Sicily 13.5 37.2 Agrigento 14.0 37.5 Caltanissetta 15.55 38.19 Messina
    """

    @Test func geoaddMatchesRedis() throws {
        try #require(RedisOracle.available)
        try compareSetsWithRedis("""
        GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        GEOADD g 13.361389 38.115556 Palermo
        GEOADD g CH 13.361389 38.115557 Palermo
        GEOADD g NX 1 1 Palermo 2 2 newnx
        GEOADD g XX 3 3 Palermo 4 4 newxx
        GEOADD g XX CH 5 5 Palermo 6 6 newxx2
        GEOADD g CH NX 7 7 Palermo 8 8 chnx
        GEOADD g ch xx 9 9 chnx
        ZRANGE g 0 -1 WITHSCORES
        GEOADD g NX XX 1 1 a
        GEOADD g XX NX CH 1 1 a
        GEOADD g GT 1 1 a
        GEOADD g GT 1 1
        GEOADD g INCR 1 1
        GEOADD g 1 1
        GEOADD g 1 1 a 2
        GEOADD g ch ch ch
        GEOADD g nx nx nx
        GEOADD g 200 1 a
        GEOADD g 1 86 a
        GEOADD g -180.0001 0 a
        GEOADD g 0 -85.05112879 a
        GEOADD g 1e300 1 a
        GEOADD g -1e-300 91 a
        GEOADD g abc 1 a
        GEOADD g 1 nan a
        GEOADD g 1 inf a
        GEOADD g " 1" 1 a
        GEOADD g 1 "1 " a
        GEOADD g 0x10 1 a
        GEOADD g 1 1 ok 500 1 bad
        ZSCORE g ok
        GEOADD g 180 85.05112878 np -180 -85.05112878 sp 0 0 zero -0 -0 negzero 180 0 e180 -180 0 w180
        ZRANGE g 0 -1 WITHSCORES
        GEOADD newkey XX 1 1 a
        EXISTS newkey
        GEOADD newkey NX 1 1 a
        ZRANGE newkey 0 -1 WITHSCORES
        !SET str x
        GEOADD str 1 1 a
        GEOADD str 1 200 a
        GEOADD str GT 1 1 a
        """)
    }

    @Test func readsMatchRedis() throws {
        try #require(RedisOracle.available)
        try compareSetsWithRedis(GeoCommandsTests.sicily + """

        GEOADD Sicily 180 85.05112878 np -180 -85.05112878 sp 0 0 zero 179.9999999 0.0000001 tiny
        GEOPOS Sicily Palermo Catania nope np sp zero tiny
        GEOPOS Sicily
        GEOPOS nokey a b
        GEOHASH Sicily Palermo Catania nope np sp zero tiny edge1
        GEOHASH Sicily
        GEOHASH nokey a
        GEODIST Sicily Palermo Catania
        GEODIST Sicily Palermo Catania m
        GEODIST Sicily Palermo Catania KM
        GEODIST Sicily Palermo Catania ft
        GEODIST Sicily Palermo Catania Mi
        GEODIST Sicily Palermo Catania yd
        GEODIST Sicily Palermo Catania km extra
        GEODIST Sicily Palermo nope
        GEODIST Sicily nope Palermo km
        GEODIST Sicily Palermo Palermo
        GEODIST Sicily np sp
        GEODIST Sicily np sp mi
        GEODIST Sicily zero tiny
        GEODIST Sicily sp zero km
        GEODIST nokey a b
        GEODIST nokey a b parsec
        !SET str x
        GEOPOS str a
        GEOHASH str a
        GEODIST str a b
        GEODIST str a b parsec
        # scores that no GEOADD writes
        ZADD weird -1 neg 0 zero 1e20 big 4503599627370496 top 4503599627370495 below inf pinf -inf ninf 0.5 half 3.7e15 mid
        GEOPOS weird neg zero big top below pinf ninf half mid
        GEOHASH weird neg zero big top below pinf ninf half mid
        GEODIST weird neg big
        GEODIST weird pinf ninf km
        GEORADIUS weird 0 0 20000 km WITHCOORD WITHHASH WITHDIST
        """)
    }

    @Test func searchesMatchRedis() throws {
        try #require(RedisOracle.available)
        let script = GeoCommandsTests.sicily + """

        GEORADIUS Sicily 15 37 200 km
        GEORADIUS Sicily 15 37 200 km ASC
        GEORADIUS Sicily 15 37 200 km DESC
        GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH
        GEORADIUS Sicily 15 37 200 km withcoord
        GEORADIUS Sicily 15 37 200 km COUNT 2
        GEORADIUS Sicily 15 37 200 km COUNT 2 DESC WITHDIST
        GEORADIUS Sicily 15 37 200 km COUNT 2 ANY
        GEORADIUS Sicily 15 37 200 km COUNT 2 ANY ASC
        GEORADIUS Sicily 15 37 200 km COUNT 100 ANY DESC WITHDIST
        GEORADIUS Sicily 15 37 200 km ANY
        GEORADIUS Sicily 15 37 200 km COUNT
        GEORADIUS Sicily 15 37 200 km COUNT 0
        GEORADIUS Sicily 15 37 200 km COUNT -3
        GEORADIUS Sicily 15 37 200 km COUNT x
        GEORADIUS Sicily 15 37 200 km COUNT 1 COUNT 3
        GEORADIUS Sicily 15 37 200 km BOGUS
        GEORADIUS Sicily 15 37 200 km STORE
        GEORADIUS Sicily 15 37 200 parsec
        GEORADIUS Sicily 15 37 -1 km
        GEORADIUS Sicily 15 37 abc km
        GEORADIUS Sicily 15 37 -0 km
        GEORADIUS Sicily 15 37 0 km
        GEORADIUS Sicily 13.361389 38.115556 0 m WITHDIST
        GEORADIUS Sicily 200 37 1 km
        GEORADIUS Sicily x 37 1 km
        GEORADIUS Sicily 15 37 1e300 km WITHDIST
        GEORADIUS Sicily 15 37 inf km
        GEORADIUS Sicily 15 37 40000 km COUNT 3 WITHDIST
        GEORADIUS Sicily 15 37 5000 mi DESC
        GEORADIUS nokey 15 37 200 km
        GEORADIUS nokey 15 37 -1 km
        GEORADIUS nokey 200 37 1 km
        GEORADIUS nokey 15 37 200 km ANY
        GEORADIUS_RO Sicily 15 37 200 km WITHDIST
        GEORADIUS_RO Sicily 15 37 200 km STORE dst
        GEORADIUS_RO Sicily 15 37 200 km STOREDIST dst
        GEORADIUSBYMEMBER Sicily Palermo 200 km
        GEORADIUSBYMEMBER Sicily Palermo 200 km WITHDIST WITHCOORD COUNT 3 DESC
        GEORADIUSBYMEMBER Sicily nope 200 km
        GEORADIUSBYMEMBER Sicily Palermo -5 km
        GEORADIUSBYMEMBER Sicily Palermo 5 yd
        GEORADIUSBYMEMBER nokey nope -5 yd
        GEORADIUSBYMEMBER nokey nope -5 yd BOGUS
        GEORADIUSBYMEMBER nokey nope 1 km ANY
        GEORADIUSBYMEMBER_RO Sicily Catania 100 km WITHDIST
        GEORADIUSBYMEMBER_RO Sicily Catania 100 km STORE x
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC WITHDIST WITHHASH WITHCOORD
        GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 200 km DESC
        GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 400 400 km ASC WITHDIST
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHCOORD
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 40 4000 km ASC
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 4000 40 km ASC
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 0 0 km
        GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 0 0 km WITHDIST
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km COUNT 2 ANY
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km COUNT 2
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX -1 4 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 -4 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX a 4 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 b km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 parsec
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km BYBOX 1 1 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 km BYRADIUS 1 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km BYRADIUS 300 km
        GEOSEARCH Sicily FROMLONLAT 15 37 FROMMEMBER Palermo BYRADIUS 1 km
        GEOSEARCH Sicily FROMMEMBER Palermo FROMLONLAT 15 37 BYRADIUS 1 km
        GEOSEARCH Sicily FROMMEMBER Palermo FROMMEMBER Catania BYRADIUS 100 km WITHDIST
        GEOSEARCH Sicily FROMMEMBER nope BYRADIUS 100 km
        GEOSEARCH Sicily FROMLONLAT 15 91 BYRADIUS 100 km
        GEOSEARCH Sicily BYRADIUS 100 km WITHDIST
        GEOSEARCH Sicily FROMLONLAT 15 37 WITHDIST
        geosearch Sicily FROMLONLAT 15 37 WITHDIST
        GeoSearch Sicily BYRADIUS 100 km ASC
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 100 km STORE x
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 100 km STOREDIST
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 100 km ANY
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 100 km COUNT 1 ANY
        GEOSEARCH nokey FROMMEMBER nope BYRADIUS 100 km
        GEOSEARCH nokey FROMMEMBER nope BYBOX 1 1 km WITHCOORD
        GEOSEARCH nokey FROMMEMBER nope BYRADIUS -100 km
        GEOSEARCH nokey FROMLONLAT 15 37 BYRADIUS 1 km
        GEOSEARCH nokey FROMLONLAT 15 37
        GEOSEARCH nokey BYRADIUS 1 km
        !SET str x
        GEOSEARCH str FROMLONLAT 15 37 BYRADIUS 100 km
        GEOSEARCH str FROMLONLAT 15 370 BYRADIUS 100 km
        GEORADIUS str 15 370 100 km
        GEORADIUSBYMEMBER str nope 100 km
        """
        try compareSetsWithRedis(script)
        try compareSetsWithRedis(script, resp: 3)
        var skiplist = EngineConfig()
        skiplist.zsetMaxListpackEntries = 0
        try compareSetsWithRedis(script, config: skiplist)
    }

    @Test func storesMatchRedis() throws {
        try #require(RedisOracle.available)
        try compareSetsWithRedis(GeoCommandsTests.sicily + """

        GEORADIUS Sicily 15 37 200 km STORE dst
        ZRANGE dst 0 -1 WITHSCORES
        GEORADIUS Sicily 15 37 200 km STOREDIST dst
        ZRANGE dst 0 -1 WITHSCORES
        GEORADIUS Sicily 15 37 200 km STOREDIST dst COUNT 2 DESC
        ZRANGE dst 0 -1 WITHSCORES
        GEORADIUS Sicily 15 37 200 km STORE dst STOREDIST dst2
        EXISTS dst2
        ZRANGE dst 0 -1 WITHSCORES
        GEORADIUS Sicily 15 37 200 km STORE dst WITHDIST
        GEORADIUS Sicily 15 37 200 km STORE dst WITHCOORD
        GEORADIUS Sicily 15 37 200 mi STOREDIST dstmi
        ZRANGE dstmi 0 -1 WITHSCORES
        GEORADIUSBYMEMBER Sicily Palermo 100 km STORE dst
        ZRANGE dst 0 -1 WITHSCORES
        GEORADIUSBYMEMBER Sicily Palermo 100 km STOREDIST dst ASC COUNT 1
        ZRANGE dst 0 -1 WITHSCORES
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km
        ZRANGE dst 0 -1 WITHSCORES
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km STOREDIST
        ZRANGE dst 0 -1 WITHSCORES
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 ft STOREDIST
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST COUNT 2 DESC
        ZRANGE dst 0 -1 WITHSCORES
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1 ANY
        ZRANGE dst 0 -1 WITHSCORES
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE x
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST x
        # an empty result deletes the destination
        GEOSEARCHSTORE dst Sicily FROMLONLAT 0 0 BYRADIUS 1 km
        EXISTS dst
        GEORADIUS Sicily 15 37 200 km STORE dst
        GEORADIUS Sicily 0 0 1 km STORE dst
        EXISTS dst
        # a missing source deletes the destination too
        GEORADIUS Sicily 15 37 200 km STORE dst
        GEORADIUS nokey 15 37 200 km STORE dst
        EXISTS dst
        GEORADIUSBYMEMBER nokey x 1 km STOREDIST dst
        GEOSEARCHSTORE dst nokey FROMMEMBER x BYRADIUS 1 km
        GEOSEARCHSTORE dst nokey FROMMEMBER x BYRADIUS 1 km WITHDIST
        # other types are overwritten; the source may be the destination
        !SET str x
        GEORADIUS Sicily 15 37 200 km STORE str
        TYPE str
        ZRANGE str 0 -1
        !SET str2 x
        GEOSEARCHSTORE str2 Sicily FROMMEMBER Palermo BYRADIUS 1000 km
        TYPE str2
        GEOSEARCHSTORE Sicily Sicily FROMMEMBER Palermo BYRADIUS 100 km STOREDIST
        ZRANGE Sicily 0 -1 WITHSCORES
        !SET str3 x
        GEOSEARCHSTORE dst str3 FROMMEMBER Palermo BYRADIUS 1000 km
        GEORADIUS str3 1 1 1 km STORE dst
        # where the keys are
        COMMAND GETKEYS GEORADIUS src 1 1 1 km STORE dst
        COMMAND GETKEYS GEORADIUS src 1 1 1 km STOREDIST dst2 WITHDIST
        COMMAND GETKEYS GEORADIUSBYMEMBER src m 1 km STORE dst
        COMMAND GETKEYS GEORADIUS_RO src 1 1 1 km
        COMMAND GETKEYS GEOSEARCHSTORE dst src FROMMEMBER m BYRADIUS 1 km
        COMMAND GETKEYS GEOADD k 1 1 m
        COMMAND INFO geoadd georadius geosearchstore
        """)
    }

    /// Points on the poles' latitude limits and on both sides of the antimeridian.
    @Test func polesAndAntimeridianMatchRedis() throws {
        try #require(RedisOracle.available)
        let script = """
        GEOADD edge 180 85.05112878 np1 -180 85.05112878 np2 0 85.05112878 np3 90 85 np4 -90 84.9 np5
        GEOADD edge 180 -85.05112878 sp1 -180 -85.05112878 sp2 0 -85.05112878 sp3 45 -85 sp4
        GEOADD edge 179.99 0 e1 -179.99 0 w1 180 0 e2 -180 0 w2 179.5 10 e3 -179.5 -10 w3 179.9999 -0.0001 e4
        GEOPOS edge np1 np2 np3 np4 np5 sp1 sp2 sp3 sp4 e1 w1 e2 w2 e3 w3 e4
        GEOHASH edge np1 np2 np3 np4 np5 sp1 sp2 sp3 sp4 e1 w1 e2 w2 e3 w3 e4
        GEODIST edge e1 w1
        GEODIST edge e2 w2
        GEODIST edge np1 sp1 km
        GEODIST edge np1 np2
        GEORADIUS edge 180 0 100 km WITHDIST ASC
        GEORADIUS edge -180 0 100 km WITHDIST ASC
        GEORADIUS edge 179.999 0 5000 km WITHDIST ASC
        GEORADIUS edge 0 85.05112878 1000 km WITHDIST ASC
        GEORADIUS edge 0 85.05112878 10000 km WITHDIST ASC WITHCOORD
        GEORADIUS edge 0 -85.05112878 2000 km WITHDIST ASC
        GEORADIUS edge 180 85.05112878 0 m WITHDIST
        GEORADIUS edge 180 85.05112878 1 m WITHDIST
        GEORADIUSBYMEMBER edge np1 2000 km WITHDIST ASC
        GEORADIUSBYMEMBER edge e1 3000 km WITHDIST DESC
        GEOSEARCH edge FROMLONLAT 180 0 BYBOX 200 200 km WITHDIST ASC
        GEOSEARCH edge FROMLONLAT -180 0 BYBOX 2000 3000 km WITHDIST ASC
        GEOSEARCH edge FROMLONLAT 179.9 5 BYBOX 100 2000 km ASC
        GEOSEARCH edge FROMMEMBER np3 BYBOX 40000 1000 km WITHDIST ASC
        GEOSEARCH edge FROMMEMBER sp3 BYBOX 40000 1000 km WITHDIST ASC
        GEOSEARCH edge FROMLONLAT 0 0 BYRADIUS 30000 km ASC
        GEOSEARCH edge FROMLONLAT 0 0 BYRADIUS 30000 km DESC COUNT 5
        GEOSEARCH edge FROMLONLAT 0 0 BYRADIUS 30000 km COUNT 5 ANY
        GEOSEARCH edge FROMLONLAT 0 0 BYBOX 1e9 1e9 km DESC
        GEOSEARCH edge FROMLONLAT 0 0 BYRADIUS 1e15 m ASC
        GEOSEARCH edge FROMLONLAT 90 80 BYRADIUS 2000 km WITHDIST WITHHASH
        GEOSEARCH edge FROMLONLAT -90 -80 BYRADIUS 2000 km WITHDIST WITHHASH
        # stored distances read back as doubles (17 significant digits in both protocols)
        GEORADIUS edge 0 0 30000 km STOREDIST dd
        ZRANGE dd 0 -1 WITHSCORES
        ZSCORE dd np1
        ZMSCORE dd e1 w1 nope
        """
        try compareSetsWithRedis(script)
        try compareSetsWithRedis(script, resp: 3)
    }

    /// Many members at one position: COUNT's partial sort must leave ties in Redis's order.
    @Test func tiesUnderCountMatchRedis() throws {
        try #require(RedisOracle.available)
        var lines = ["GEOADD same 10 10 far"]
        for i in 0 ..< 120 {
            let lon = i % 3 == 0 ? "13" : (i % 3 == 1 ? "13.001" : "13.002")
            lines.append("GEOADD same \(lon) 42 m\(i)")
        }
        for count in [1, 2, 5, 6, 7, 8, 30, 41, 60, 119, 120, 121, 200] {
            lines.append("GEOSEARCH same FROMLONLAT 13 42 BYRADIUS 10 km COUNT \(count)")
            lines.append("GEOSEARCH same FROMLONLAT 13 42 BYRADIUS 10 km COUNT \(count) DESC")
            lines.append("GEOSEARCH same FROMLONLAT 13.0015 42 BYRADIUS 10 km COUNT \(count) WITHDIST")
            lines.append("GEOSEARCH same FROMLONLAT 13 42 BYRADIUS 10 km COUNT \(count) ANY")
        }
        lines.append("GEOSEARCH same FROMLONLAT 13 42 BYRADIUS 10 km ASC")
        lines.append("GEOSEARCH same FROMLONLAT 13 42 BYRADIUS 10 km DESC")
        lines.append("GEOSEARCH same FROMLONLAT 13 42 BYRADIUS 10 km")
        lines.append("GEORADIUS same 13 42 10 km STOREDIST d COUNT 50 DESC")
        lines.append("ZRANGE d 0 -1 WITHSCORES")
        try compareSetsWithRedis(lines.joined(separator: "\n"))
    }

    /// Random points and random searches, RESP2 and RESP3, listpack and skiplist sizes.
    @Test(arguments: [(UInt64(1), 2, 60), (UInt64(2), 3, 60), (UInt64(3), 2, 600), (UInt64(4), 3, 300)])
    func randomSearchesMatchRedis(seed: UInt64, resp: Int, points: Int) throws {
        try #require(RedisOracle.available)
        let d = try GeoDifferential(resp: resp)
        var rng = TestRNG(seed: seed)
        // A cluster somewhere (sometimes near a pole or the antimeridian), spread by a random size.
        let centres: [(Double, Double)] = [(rng.between(-180, 180), rng.between(-80, 80)), (179.5, 20), (-10, 84), (30, -84.5)]
        for (cx, cy) in centres {
            let spread = [0.01, 0.5, 5, 40][rng.int(4)]
            var args = ["GEOADD", "pts"]
            for i in 0 ..< points / centres.count {
                var lon = cx + rng.between(-spread, spread)
                if lon > 180 { lon -= 360 }
                if lon < -180 { lon += 360 }
                let lat = max(-85.05, min(85.05, cy + rng.between(-spread, spread) / 2))
                args += ["\(lon)", "\(lat)", "p\(cx)-\(i)"]
            }
            try d.check(args)
        }
        let units = ["m", "km", "ft", "mi"]
        for q in 0 ..< 120 {
            let (cx, cy) = centres[rng.int(centres.count)]
            let lon = max(-180, min(180, cx + rng.between(-1, 1)))
            let lat = max(-85, min(85, cy + rng.between(-1, 1)))
            let unit = units[rng.int(4)]
            let size = ["\(rng.between(0, 500))", "\(rng.between(0, 5000))", "\(rng.int(100))", "0", "\(rng.between(0, 50000))"][rng.int(5)]
            var args = ["GEOSEARCH", "pts"]
            if rng.int(3) == 0 {
                args += ["FROMMEMBER", "p\(cx)-\(rng.int(points / centres.count))"]
            } else {
                args += ["FROMLONLAT", "\(lon)", "\(lat)"]
            }
            if q % 2 == 0 {
                args += ["BYRADIUS", size, unit]
            } else {
                args += ["BYBOX", size, "\(rng.between(0, 3000))", unit]
            }
            switch rng.int(5) {
            case 0: args += ["ASC"]
            case 1: args += ["DESC"]
            case 2: args += ["COUNT", "\(1 + rng.int(20))"]
            case 3: args += ["COUNT", "\(1 + rng.int(20))", "DESC"]
            default: break
            }
            args += ["WITHDIST", "WITHCOORD", "WITHHASH"]
            try d.check(args)
            if q % 10 == 0 {
                try d.check(["GEORADIUS", "pts", "\(lon)", "\(lat)", size, unit, "STOREDIST", "dst", "ASC"])
                try d.check(["ZRANGE", "dst", "0", "-1", "WITHSCORES"])
            }
        }
        try d.check(["GEOPOS", "pts"] + (0 ..< 20).map { "p\(centres[0].0)-\($0)" })
        try d.check(["GEOHASH", "pts"] + (0 ..< 20).map { "p\(centres[1].0)-\($0)" })
        #expect(d.compared > 100)
    }

    /// GEOADD is logged as the ZADD it ran, with the computed scores.
    @Test func geoaddPropagatesAsZadd() throws {
        let h = EngineHarness()
        var logged: [[[UInt8]]] = []
        h.engine.propagationSink = { _, args in logged.append(args) }
        h.run("GEOADD g CH 13.361389 38.115556 Palermo")
        h.run("GEOADD g CH 13.361389 38.115556 Palermo")
        h.run("GEOADD g 400 1 x")
        let expected = ["zadd", "g", "CH", "\(GeoHash.score(longitude: 13.361389, latitude: 38.115556))", "Palermo"]
        #expect(logged.map { $0.map { String(decoding: $0, as: UTF8.self) } } == [expected])
        #expect(GeoHash.score(longitude: 13.361389, latitude: 38.115556) == 3479099956230698)
    }
}
