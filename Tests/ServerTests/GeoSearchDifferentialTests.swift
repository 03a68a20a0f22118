// Geo searches on a big set (a skiplist-encoded zset of 5,000 points, with points at the poles' limits
// and the antimeridian), by radius and by box, from coordinates and from members, in every unit, with
// COUNT, ASC/DESC and the WITH options: byte-identical replies from Debian's redis-server and Cairn.
// Many centres fall so that points lie near the edge of the circle, where a shortcut in the distance
// test (the latitude bound Cairn applies before the full formula) would show.
import Foundation
import Testing
import TestSupport

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis, "needs cairn-server built and redis-server installed"))
struct GeoSearchDifferentialTests {
    @Test func searchesGiveIdenticalReplies() throws {
        let cairn = try ServerProcess(cairn: true)
        let redis = try ServerProcess(cairn: false)
        let c = try cairn.client(), r = try redis.client()
        var rng = ScriptRNG(state: 0x9e3779b97f4a7c15)
        func coordinate(_ low: Double, _ high: Double) -> String {
            String(format: "%.6f", low + (high - low) * Double(rng.int(1_000_000)) / 1_000_000)
        }
        var load: [[String]] = []
        for i in 0 ..< 5000 {
            if i % 97 == 0 {
                let lon = rng.pick(["179.999999", "-179.999999", "0", "-0.000001"])
                let lat = rng.pick(["85.05112878", "-85.05112878", "51", "0"])
                load.append(["GEOADD", "g", lon, lat, "m\(i)"])
            } else {
                load.append(["GEOADD", "g", coordinate(-2, 2), coordinate(50, 54), "m\(i)"])
            }
        }
        for cmd in load {
            let args = cmd.map { Array($0.utf8) }
            #expect(try c.send(args) == r.send(args))
        }
        var mismatches: [String] = []
        for _ in 0 ..< 300 {
            let unit = rng.pick(["m", "km", "mi", "ft"])
            let scale = ["m": 1000.0, "km": 1, "mi": 0.621371, "ft": 3280.84][unit]!
            let radius = String(format: "%.3f", rng.pick([0.5, 1, 5, 13.7, 50, 120, 300, 4000]) * scale)
            let lon = coordinate(-2.5, 2.5), lat = coordinate(49.5, 54.5)
            let member = "m\(rng.int(5000))"
            let commands: [[String]] = [
                ["GEOSEARCH", "g", "FROMLONLAT", lon, lat, "BYRADIUS", radius, unit, "WITHDIST", "WITHCOORD", "WITHHASH", "ASC", "COUNT", String(1 + rng.int(40))],
                ["GEOSEARCH", "g", "FROMLONLAT", lon, lat, "BYRADIUS", radius, unit, "DESC"],
                ["GEOSEARCH", "g", "FROMMEMBER", member, "BYRADIUS", radius, unit, "WITHDIST", "ASC"],
                ["GEOSEARCH", "g", "FROMLONLAT", lon, lat, "BYBOX", radius, radius, unit, "WITHDIST", "ASC"],
                ["GEORADIUS", "g", lon, lat, radius, unit, "WITHDIST", "COUNT", "25", "ANY"],
                ["GEORADIUSBYMEMBER_RO", "g", member, radius, unit, "WITHCOORD", "DESC"],
            ]
            for cmd in commands {
                let args = cmd.map { Array($0.utf8) }
                let mine = try c.send(args), theirs = try r.send(args)
                if mine != theirs && mismatches.count < 5 {
                    mismatches.append("\(cmd.joined(separator: " ")): redis \(theirs.count) bytes, cairn \(mine.count) bytes")
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }
}
