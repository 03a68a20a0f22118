// Geo commands (Redis 7.0): GEOADD GEODIST GEOHASH GEOPOS GEOSEARCH GEOSEARCHSTORE GEORADIUS
// GEORADIUSBYMEMBER GEORADIUS_RO GEORADIUSBYMEMBER_RO. A geo set is a plain zset whose scores are
// 52-bit geohashes (GeoHash.swift): GEOADD is ZADD with computed scores (and is propagated as that
// ZADD), and a search reads up to nine contiguous score runs of the zset, keeps the points inside
// the shape, then sorts them by distance (a stable sort for the whole result; for COUNT, Redis's
// partial quicksort, so ties among equal distances come out in Redis's order).
#if canImport(Glibc)
import Glibc
#endif
import StorageFormat
import CSystem

/// A point a search found.
struct GeoPoint {
    var member: ByteString
    var score: Double
    var longitude: Double
    var latitude: Double
    var distance: Double
    /// The order the search found it in (ties keep it in a full sort).
    var found: Int
}

public enum GeoCommands {
    public static var all: [CommandSpec] {
        [
            CommandSpec("geoadd", arity: -5, flags: [.write, .denyOOM], firstKey: 1, lastKey: 1, step: 1, handler: geoadd),
            CommandSpec("geodist", arity: -4, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1, handler: geodist),
            CommandSpec("geohash", arity: -2, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1, handler: geohash),
            CommandSpec("geopos", arity: -2, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1, handler: geopos),
            CommandSpec("georadius", arity: -6, flags: [.write, .denyOOM], firstKey: 1, lastKey: 1, step: 1) {
                search($0, sourceIndex: 1, mode: [.coordinates])
            },
            CommandSpec("georadius_ro", arity: -6, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1) {
                search($0, sourceIndex: 1, mode: [.coordinates, .noStore])
            },
            CommandSpec("georadiusbymember", arity: -5, flags: [.write, .denyOOM], firstKey: 1, lastKey: 1, step: 1) {
                search($0, sourceIndex: 1, mode: [.member])
            },
            CommandSpec("georadiusbymember_ro", arity: -5, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1) {
                search($0, sourceIndex: 1, mode: [.member, .noStore])
            },
            CommandSpec("geosearch", arity: -7, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1) {
                search($0, sourceIndex: 1, mode: [.search])
            },
            CommandSpec("geosearchstore", arity: -8, flags: [.write, .denyOOM], firstKey: 1, lastKey: 2, step: 1) {
                search($0, sourceIndex: 2, mode: [.search, .searchStore])
            },
        ]
    }

    // MARK: - Arguments

    /// A longitude and latitude at arguments `i`, `i + 1`; nil after replying Redis's error.
    static func lonLat(_ ctx: CommandContext, _ i: Int) -> (Double, Double)? {
        guard let lon = ZSetCommands.parseScore(ctx.args[i]), let lat = ZSetCommands.parseScore(ctx.args[i + 1]) else {
            ctx.error(RedisError.notFloat)
            return nil
        }
        if lon < GeoHash.longitudeMin || lon > GeoHash.longitudeMax || lat < GeoHash.latitudeMin || lat > GeoHash.latitudeMax {
            ctx.error("ERR invalid longitude,latitude pair \(formatF(lon)),\(formatF(lat))")
            return nil
        }
        return (lon, lat)
    }

    /// `%f` text, as the coordinate-range error prints numbers.
    static func formatF(_ d: Double) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 400) { buf -> String in
            let n = Int(withVaList([d]) { vsnprintf(buf.baseAddress!, 400, "%f", $0) })
            return String(decoding: UnsafeRawBufferPointer(start: buf.baseAddress!, count: min(n, 399)), as: UTF8.self)
        }
    }

    /// Metres per unit for argument `i`; nil after replying.
    static func unit(_ ctx: CommandContext, _ i: Int) -> Double? {
        switch ctx.option(i) {
        case "M": return 1
        case "KM": return 1000
        case "FT": return 0.3048
        case "MI": return 1609.34
        default:
            ctx.error("ERR unsupported unit provided. please use M, KM, FT, MI")
            return nil
        }
    }

    /// `radius unit` at argument `i` into `shape`; false after replying.
    static func radius(_ ctx: CommandContext, _ i: Int, _ shape: inout GeoShape) -> Bool {
        guard let r = ZSetCommands.parseScore(ctx.args[i]) else { ctx.error("ERR need numeric radius"); return false }
        if r < 0 { ctx.error("ERR radius cannot be negative"); return false }
        shape.radius = r
        guard let u = unit(ctx, i + 1) else { return false }
        shape.conversion = u
        return true
    }

    /// `width height unit` at argument `i` into `shape`; false after replying.
    static func box(_ ctx: CommandContext, _ i: Int, _ shape: inout GeoShape) -> Bool {
        guard let w = ZSetCommands.parseScore(ctx.args[i]) else { ctx.error("ERR need numeric width"); return false }
        guard let h = ZSetCommands.parseScore(ctx.args[i + 1]) else { ctx.error("ERR need numeric height"); return false }
        if h < 0 || w < 0 { ctx.error("ERR height or width cannot be negative"); return false }
        shape.width = w
        shape.height = h
        guard let u = unit(ctx, i + 2) else { return false }
        shape.conversion = u
        return true
    }

    /// A double converted to long long as C does on x86-64 (out of range gives LLONG_MIN).
    @inline(__always)
    static func cInt64(_ d: Double) -> Int {
        guard d > -9223372036854775809.0, d < 9223372036854775808.0 else { return Int.min }
        return Int(d)
    }

    // MARK: - Replies

    /// A coordinate as Redis replies it: `%.17f` trimmed, a bulk string in RESP2, a double in RESP3.
    static func replyCoordinate(_ ctx: CommandContext, _ d: Double) {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 400) { buf in
            let n = GeoHash.humanText(d, into: buf.baseAddress!, capacity: 400)
            let text = UnsafeRawBufferPointer(start: buf.baseAddress!, count: n)
            if ctx.resp >= 3 {
                ctx.session.out.append(UInt8(ascii: ","))
                ctx.session.out.append(contentsOf: text)
                ctx.session.out.append(13)
                ctx.session.out.append(10)
            } else {
                RESPEncoder.bulk(text, to: &ctx.session.out)
            }
        }
    }

    // MARK: - GEOADD

    /// GEOADD key [NX|XX] [CH] lon lat member ...: ZADD with each point's 52-bit score.
    static func geoadd(_ ctx: CommandContext) {
        var options = ZSetCommands.ZAddOptions()
        var first = 2
        parse: while first < ctx.argc {
            switch ctx.option(first) {
            case "NX": options.nx = true
            case "XX": options.xx = true
            case "CH": options.ch = true
            default: break parse
            }
            first += 1
        }
        if (ctx.argc - first) % 3 != 0 || (options.nx && options.xx) { ctx.syntaxError(); return }
        let elements = (ctx.argc - first) / 3
        if elements == 0 { ctx.syntaxError(); return }
        var scores: [Double] = []
        scores.reserveCapacity(elements)
        for e in 0 ..< elements {
            guard let (lon, lat) = lonLat(ctx, first + e * 3) else { return }
            scores.append(Double(GeoHash.score(longitude: lon, latitude: lat)))
        }
        // ZADD's own work (reply, events, errors) over the parsed scores; what is logged is that ZADD.
        guard ZSetCommands.zaddApply(ctx, options, scores: scores, firstMember: first + 2, step: 3) > 0,
              ctx.propagating else { return }
        var zaddArgs: [[UInt8]] = []
        zaddArgs.reserveCapacity(first + elements * 2)
        zaddArgs.append(Array("zadd".utf8))
        for i in 1 ..< first { zaddArgs.append(ctx.args[i]) }
        for e in 0 ..< elements {
            zaddArgs.append(StrictInteger.format(Int64(scores[e])))
            zaddArgs.append(ctx.args[first + e * 3 + 2])
        }
        ctx.propagate(zaddArgs)
    }

    // MARK: - GEODIST, GEOHASH, GEOPOS

    static func geodist(_ ctx: CommandContext) {
        var toMeters = 1.0
        if ctx.argc == 5 {
            guard let u = unit(ctx, 4) else { return }
            toMeters = u
        } else if ctx.argc > 5 {
            ctx.syntaxError()
            return
        }
        let zset: ZSetValue
        switch ctx.lookupRead(ctx.key(1)) {
        case nil: ctx.null(); return
        case .zset(let z)?: zset = z
        default: ctx.wrongType(); return
        }
        guard let s1 = zset.score(ctx.key(2)), let s2 = zset.score(ctx.key(3)) else { ctx.null(); return }
        let a = GeoHash.position(ofScore: s1)
        let b = GeoHash.position(ofScore: s2)
        ctx.bulk(GeoHash.distanceText(GeoHash.distance(a.longitude, a.latitude, b.longitude, b.latitude) / toMeters))
    }

    /// The zset at argument 1 for GEOHASH/GEOPOS: `.some(nil)` when missing, nil after WRONGTYPE.
    static func readSource(_ ctx: CommandContext, _ i: Int) -> ZSetValue?? {
        switch ctx.lookupRead(ctx.key(i)) {
        case nil: return .some(nil)
        case .zset(let z)?: return .some(z)
        default:
            ctx.wrongType()
            return nil
        }
    }

    static func geohash(_ ctx: CommandContext) {
        guard let found = readSource(ctx, 1) else { return }
        ctx.arrayHeader(ctx.argc - 2)
        for i in 2 ..< ctx.argc {
            if let s = found?.score(ctx.key(i)) { ctx.bulk(GeoHash.standardString(ofScore: s)) } else { ctx.null() }
        }
    }

    static func geopos(_ ctx: CommandContext) {
        guard let found = readSource(ctx, 1) else { return }
        ctx.arrayHeader(ctx.argc - 2)
        for i in 2 ..< ctx.argc {
            guard let s = found?.score(ctx.key(i)) else { ctx.nullArray(); continue }
            let p = GeoHash.position(ofScore: s)
            ctx.arrayHeader(2)
            replyCoordinate(ctx, p.longitude)
            replyCoordinate(ctx, p.latitude)
        }
    }

    // MARK: - Searches

    struct Mode: OptionSet {
        let rawValue: UInt8
        /// GEORADIUS[_RO]: centre and radius are fixed arguments.
        static let coordinates = Mode(rawValue: 1)
        /// GEORADIUSBYMEMBER[_RO]: the centre is a member.
        static let member = Mode(rawValue: 2)
        /// The _RO forms: no STORE/STOREDIST.
        static let noStore = Mode(rawValue: 4)
        /// GEOSEARCH[STORE]: FROM... and BY... options.
        static let search = Mode(rawValue: 8)
        /// GEOSEARCHSTORE: the destination is argument 1; STOREDIST is a flag.
        static let searchStore = Mode(rawValue: 16)
    }

    enum Sort { case none, ascending, descending }

    /// Every GEORADIUS/GEOSEARCH form: Redis's option parsing, error order and replies.
    static func search(_ ctx: CommandContext, sourceIndex: Int, mode: Mode) {
        let zobj: ZSetValue?
        switch ctx.lookupRead(ctx.key(sourceIndex)) {
        case nil: zobj = nil
        case .zset(let z)?: zobj = z
        default: ctx.wrongType(); return
        }

        var shape = GeoShape()
        var storeKey: ByteString? = nil
        var storeDist = false
        let baseArgs: Int
        if mode.contains(.coordinates) {
            baseArgs = 6
            guard let (lon, lat) = lonLat(ctx, 2) else { return }
            shape.longitude = lon
            shape.latitude = lat
            guard radius(ctx, 4, &shape) else { return }
        } else if mode.contains(.member) {
            baseArgs = 5
            // Without a source key the arguments are still parsed, for the reply's kind.
            if let z = zobj {
                guard let s = z.score(ctx.key(2)) else { ctx.error("ERR could not decode requested zset member"); return }
                (shape.longitude, shape.latitude) = GeoHash.position(ofScore: s)
                guard radius(ctx, 3, &shape) else { return }
            }
        } else {
            baseArgs = mode.contains(.searchStore) ? 3 : 2
            if mode.contains(.searchStore) { storeKey = ctx.key(1) }
        }

        var withDist = false, withHash = false, withCoord = false
        var fromMember = false, fromLonLat = false, byRadius = false, byBox = false
        var sort = Sort.none
        var any = false
        var count = 0
        let canStore = !mode.contains(.noStore) && !mode.contains(.search)
        var i = baseArgs
        while i < ctx.argc {
            let left = ctx.argc - i - 1
            let opt = ctx.option(i)
            if opt == "WITHDIST" {
                withDist = true
            } else if opt == "WITHHASH" {
                withHash = true
            } else if opt == "WITHCOORD" {
                withCoord = true
            } else if opt == "ANY" {
                any = true
            } else if opt == "ASC" {
                sort = .ascending
            } else if opt == "DESC" {
                sort = .descending
            } else if opt == "COUNT" && left >= 1 {
                guard let c = ctx.integerArgument(i + 1) else { return }
                if c <= 0 { ctx.error("ERR COUNT must be > 0"); return }
                count = Int(c)
                i += 1
            } else if opt == "STORE" && left >= 1 && canStore {
                storeKey = ctx.key(i + 1)
                storeDist = false
                i += 1
            } else if opt == "STOREDIST" && left >= 1 && canStore {
                storeKey = ctx.key(i + 1)
                storeDist = true
                i += 1
            } else if opt == "STOREDIST" && mode.contains(.search) && mode.contains(.searchStore) {
                storeDist = true
            } else if opt == "FROMMEMBER" && left >= 1 && mode.contains(.search) && !fromLonLat {
                if let z = zobj {
                    guard let s = z.score(ctx.key(i + 1)) else { ctx.error("ERR could not decode requested zset member"); return }
                    (shape.longitude, shape.latitude) = GeoHash.position(ofScore: s)
                }
                fromMember = true
                i += 1
            } else if opt == "FROMLONLAT" && left >= 2 && mode.contains(.search) && !fromMember {
                guard let (lon, lat) = lonLat(ctx, i + 1) else { return }
                shape.longitude = lon
                shape.latitude = lat
                fromLonLat = true
                i += 2
            } else if opt == "BYRADIUS" && left >= 2 && mode.contains(.search) && !byBox {
                guard radius(ctx, i + 1, &shape) else { return }
                shape.kind = .circle
                byRadius = true
                i += 2
            } else if opt == "BYBOX" && left >= 3 && mode.contains(.search) && !byRadius {
                guard box(ctx, i + 1, &shape) else { return }
                shape.kind = .box
                byBox = true
                i += 3
            } else {
                ctx.syntaxError()
                return
            }
            i += 1
        }

        if storeKey != nil && (withDist || withHash || withCoord) {
            let what = mode.contains(.searchStore) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS"
            ctx.error("ERR \(what) is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
            return
        }
        let name = String(decoding: ctx.args[0], as: UTF8.self)
        if mode.contains(.search) && !(fromMember || fromLonLat) {
            ctx.error("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for \(name)")
            return
        }
        if mode.contains(.search) && !(byRadius || byBox) {
            ctx.error("ERR exactly one of BYRADIUS and BYBOX can be specified for \(name)")
            return
        }
        if any && count == 0 {
            ctx.error("ERR the ANY argument requires COUNT argument")
            return
        }
        let event: StaticString = mode.contains(.search) ? "geosearchstore" : "georadiusstore"
        guard let zset = zobj else {
            if let dst = storeKey { ZSetCommands.finishStore(ctx, dst, nil, event: event) } else { ctx.arrayHeader(0) }
            return
        }
        // COUNT keeps the nearest points, so it implies ASC unless ANY asks for the first found.
        if count != 0 && sort == .none && !any { sort = .ascending }

        var points = collect(zset, shape, limit: any ? count : 0)
        if points.isEmpty && storeKey == nil {
            ctx.arrayHeader(0)
            return
        }
        let returned = count == 0 || points.count < count ? points.count : count
        if sort != .none {
            let descending = sort == .descending
            if returned == points.count {
                stableSort(&points, descending: descending)
            } else {
                partialSort(&points, descending: descending, through: returned - 1)
            }
        }

        if let dst = storeKey {
            var entries: [ZSetEntry] = []
            entries.reserveCapacity(returned)
            for p in points.prefix(returned) {
                entries.append(ZSetEntry(member: p.member, score: storeDist ? p.distance / shape.conversion : p.score))
            }
            if entries.isEmpty {
                ZSetCommands.finishStore(ctx, dst, nil, event: event)
                return
            }
            ctx.db.set(dst, .zset(ZSetValue(entries: entries, config: ctx.config)))
            ctx.notify(KeyspaceEventClass.zset, event, dst)
            ctx.modified(dst, changes: returned)
            ctx.signalReady(dst)
            let _: Void = ctx.integer(returned)
            return
        }

        let extra = (withDist ? 1 : 0) + (withHash ? 1 : 0) + (withCoord ? 1 : 0)
        ctx.arrayHeader(returned)
        for p in points.prefix(returned) {
            if extra > 0 { ctx.arrayHeader(extra + 1) }
            ctx.bulk(p.member)
            if withDist { GeoHash.withDistanceText(p.distance / shape.conversion) { RESPEncoder.bulk($0, to: &ctx.session.out) } }
            if withHash { let _: Void = ctx.integer(cInt64(p.score)) }
            if withCoord {
                ctx.arrayHeader(2)
                replyCoordinate(ctx, p.longitude)
                replyCoordinate(ctx, p.latitude)
            }
        }
    }

    /// The points inside `shape`, in the order Redis finds them: box by box (the centre's, then
    /// N, S, E, W, NE, NW, SE, SW), each box's score run in zset order. With `limit` > 0 (ANY) the
    /// search stops once that many are found.
    static func collect(_ zset: ZSetValue, _ shape: GeoShape, limit: Int) -> [GeoPoint] {
        let areas = GeoHash.searchAreas(shape)
        var out: [GeoPoint] = []
        var lastProcessed = 0
        for (i, box) in areas.boxes.enumerated() {
            if box.isZero { continue }
            // Huge radii can make neighbours repeat the previous box: read each run once.
            if lastProcessed != 0 && box == areas.boxes[lastProcessed] { continue }
            if !out.isEmpty && limit > 0 && out.count >= limit { break }
            var upper = box
            upper.bits &+= 1
            zset.forEachScore(from: Double(box.aligned52), below: Double(upper.aligned52)) { score, position in
                let (lon, lat) = GeoHash.position(ofScore: score)
                if let d = GeoHash.distanceIfInside(shape, lon, lat) {
                    out.append(GeoPoint(member: zset.member(atPosition: position), score: score, longitude: lon, latitude: lat,
                                        distance: d, found: out.count))
                }
                return !(limit > 0 && out.count >= limit)
            }
            lastProcessed = i
        }
        return out
    }

    /// Redis's comparison of two points: by distance, reversed for DESC.
    @inline(__always)
    static func compare(_ a: GeoPoint, _ b: GeoPoint, _ descending: Bool) -> Int {
        let r = a.distance > b.distance ? 1 : (a.distance == b.distance ? 0 : -1)
        return descending ? -r : r
    }

    /// Sorts the whole result as glibc's qsort does for it (a merge sort: equal distances keep their order).
    static func stableSort(_ points: inout [GeoPoint], descending: Bool) {
        points.sort { a, b in
            let c = compare(a, b, descending)
            return c < 0 || (c == 0 && a.found < b.found)
        }
    }

    /// Redis's partial quicksort (Bentley and McIlroy's, recursing only into parts that overlap
    /// positions 0 ... `last`): afterwards those positions hold the smallest elements in order.
    static func partialSort(_ a: inout [GeoPoint], descending: Bool, through last: Int) {
        func cmp(_ i: Int, _ j: Int) -> Int { compare(a[i], a[j], descending) }
        func med3(_ x: Int, _ y: Int, _ z: Int) -> Int {
            cmp(x, y) < 0 ? (cmp(y, z) < 0 ? y : (cmp(x, z) < 0 ? z : x))
                : (cmp(y, z) > 0 ? y : (cmp(x, z) < 0 ? x : z))
        }
        func swapRuns(_ x: Int, _ y: Int, _ n: Int) {
            var k = 0
            while k < n { a.swapAt(x + k, y + k); k += 1 }
        }
        /// Whether the part [start, start + n) holds any wanted position.
        func wanted(_ start: Int, _ n: Int) -> Bool {
            !((0 < start && last < start) || (0 >= start + n && last >= start + n))
        }
        func sortPart(_ start: Int, _ count: Int) {
            var base = start, n = count
            while true {
                if n < 7 {
                    var m = base + 1
                    while m < base + n {
                        var l = m
                        while l > base && cmp(l - 1, l) > 0 {
                            a.swapAt(l, l - 1)
                            l -= 1
                        }
                        m += 1
                    }
                    return
                }
                var pm = base + n / 2
                if n > 7 {
                    var pl = base
                    var pn = base + n - 1
                    if n > 40 {
                        let d = n / 8
                        pl = med3(pl, pl + d, pl + 2 * d)
                        pm = med3(pm - d, pm, pm + d)
                        pn = med3(pn - 2 * d, pn - d, pn)
                    }
                    pm = med3(pl, pm, pn)
                }
                a.swapAt(base, pm)
                var pa = base + 1, pb = base + 1
                var pc = base + n - 1, pd = base + n - 1
                while true {
                    while pb <= pc {
                        let r = cmp(pb, base)
                        if r > 0 { break }
                        if r == 0 { a.swapAt(pa, pb); pa += 1 }
                        pb += 1
                    }
                    while pb <= pc {
                        let r = cmp(pc, base)
                        if r < 0 { break }
                        if r == 0 { a.swapAt(pc, pd); pd -= 1 }
                        pc -= 1
                    }
                    if pb > pc { break }
                    a.swapAt(pb, pc)
                    pb += 1
                    pc -= 1
                }
                let pn = base + n
                var r = min(pa - base, pb - pa)
                swapRuns(base, pb - r, r)
                r = min(pd - pc, pn - pd - 1)
                swapRuns(pb, pn - r, r)
                r = pb - pa
                if r > 1 && wanted(base, r) { sortPart(base, r) }
                r = pd - pc
                guard r > 1 else { return }
                base = pn - r
                n = r
                if !wanted(base, n) { return }
            }
        }
        sortPart(0, a.count)
    }
}

extension ZSetValue {
    /// Visits the elements with `min <= score < max` in zset order until `body` returns false.
    /// `body` gets each score and the element's position for `member(atPosition:)`, so members
    /// are read only for the elements a caller keeps.
    func forEachScore(from min: Double, below max: Double, _ body: (Double, Int) -> Bool) {
        if let sl = skiplist {
            // Along level 0, each link carries the score of the element it leads to and where that
            // element's links start: a step reads the element's link and nothing else of it, and the
            // read is started before the caller's work on the element before.
            var l = sl.linkPastScorePrefix { $0 < min }
            sl.links.withUnsafeBufferPointer { links in
                while l.next != ZSkipList.nil32 {
                    let s = l.nextScore, x = Int(l.next)
                    if !(s < max) { return }
                    let at = links.baseAddress! + Int(l.nextBase)
                    cairn_prefetch(at)
                    if !body(s, x) { return }
                    l = at.pointee
                }
            }
            return
        }
        var i = countScorePrefix { $0 < min }
        while i < listpack.count {
            let s = listpack[i].score
            if !(s < max) || !body(s, i) { return }
            i += 1
        }
    }

    /// The member at a position `forEachScore` gave.
    @inline(__always)
    func member(atPosition p: Int) -> ByteString {
        skiplist != nil ? skiplist!.member[p] : listpack[p].member
    }
}
