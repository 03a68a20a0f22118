// GeoHash: the arithmetic behind the geo commands, as Redis 7.0 does it, so that scores, search
// areas and distances agree with Redis to the last bit. A geo set is a zset whose scores are
// 52-bit geohashes: longitude and latitude are each scaled to a 26-bit integer over their range
// (longitude -180..180, latitude -85.05112878..85.05112878, Web Mercator's limits) and the two are
// interleaved bit by bit, latitude in the even bits, longitude in the odd ones. A search finds the
// geohash box (of a precision chosen from the radius) holding the centre and its eight neighbours,
// reads each box's contiguous run of scores from the zset, and keeps the points that pass the
// exact test (great-circle distance for a radius, per-axis distances for a box). Distances use the
// haversine formula on a sphere of radius 6372797.560856 m.
#if canImport(Glibc)
import Glibc
#endif

/// A geohash of `step` bits per axis (`2 * step` bits in all). Bits 0 and step 0 mean "no box".
struct GeoHashBits: Equatable {
    var bits: UInt64
    var step: UInt8

    static let zero = GeoHashBits(bits: 0, step: 0)
    var isZero: Bool { bits == 0 && step == 0 }

    /// The hash shifted to the 52-bit precision the zset scores use.
    var aligned52: UInt64 { bits << UInt64(52 - Int(step) * 2) }
}

struct GeoRange {
    var min: Double
    var max: Double
}

/// The rectangle a geohash covers.
struct GeoArea {
    var longitude = GeoRange(min: 0, max: 0)
    var latitude = GeoRange(min: 0, max: 0)
}

/// What a search looks for: a circle of `radius`, or a `width` x `height` box, centred on
/// (longitude, latitude); sizes in the request's unit, `conversion` metres per unit.
struct GeoShape {
    enum Kind { case circle, box }
    var kind = Kind.circle
    var longitude = 0.0
    var latitude = 0.0
    var radius = 0.0
    var width = 0.0
    var height = 0.0
    var conversion = 1.0
}

/// The nine boxes a search reads: the centre's, then north, south, east, west, north-east,
/// north-west, south-east, south-west (the order Redis reads them in; a zero box is skipped).
struct GeoSearchAreas {
    var boxes: [GeoHashBits]
}

enum GeoHash {
    static let latitudeMin = -85.05112878
    static let latitudeMax = 85.05112878
    static let longitudeMin = -180.0
    static let longitudeMax = 180.0
    static let stepMax: UInt8 = 26
    static let earthRadius = 6372797.560856
    static let mercatorMax = 20037726.37
    static let degreesToRadians = Double.pi / 180.0

    /// The geohash alphabet (no a, i, l, o).
    static let base32 = Array("0123456789bcdefghjkmnpqrstuvwxyz".utf8)

    static let wgs84Longitude = GeoRange(min: longitudeMin, max: longitudeMax)
    static let wgs84Latitude = GeoRange(min: latitudeMin, max: latitudeMax)

    // MARK: - Bit interleaving

    /// Spreads the 32 bits of `v` to the even bit positions of a 64-bit word.
    @inline(__always)
    static func spread(_ v: UInt32) -> UInt64 {
        var x = UInt64(v)
        x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF
        x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF
        x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F
        x = (x | (x << 2)) & 0x3333_3333_3333_3333
        x = (x | (x << 1)) & 0x5555_5555_5555_5555
        return x
    }

    /// Gathers the even bits of `v` into the low 32 bits.
    @inline(__always)
    static func gather(_ v: UInt64) -> UInt64 {
        var x = v & 0x5555_5555_5555_5555
        x = (x | (x >> 1)) & 0x3333_3333_3333_3333
        x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F
        x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF
        x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF
        x = (x | (x >> 16)) & 0x0000_0000_FFFF_FFFF
        return x
    }

    /// Latitude bits in the even positions, longitude bits in the odd ones.
    @inline(__always)
    static func interleave(latitude: UInt32, longitude: UInt32) -> UInt64 {
        spread(latitude) | (spread(longitude) << 1)
    }

    /// The (latitude, longitude) integers of an interleaved hash.
    @inline(__always)
    static func deinterleave(_ v: UInt64) -> (latitude: UInt32, longitude: UInt32) {
        (UInt32(truncatingIfNeeded: gather(v)), UInt32(truncatingIfNeeded: gather(v >> 1)))
    }

    // MARK: - Encoding and decoding

    /// The geohash of (longitude, latitude) at `step` bits per axis over the given ranges; nil when
    /// the point is outside the WGS84 limits or the ranges.
    static func encode(longitudeRange: GeoRange, latitudeRange: GeoRange, longitude: Double, latitude: Double,
                       step: UInt8) -> GeoHashBits? {
        guard step > 0, step <= 32 else { return nil }
        if longitude > longitudeMax || longitude < longitudeMin || latitude > latitudeMax || latitude < latitudeMin {
            return nil
        }
        if latitude < latitudeRange.min || latitude > latitudeRange.max
            || longitude < longitudeRange.min || longitude > longitudeRange.max {
            return nil
        }
        let scale = Double(UInt64(1) << UInt64(step))
        let latOffset = (latitude - latitudeRange.min) / (latitudeRange.max - latitudeRange.min) * scale
        let lonOffset = (longitude - longitudeRange.min) / (longitudeRange.max - longitudeRange.min) * scale
        return GeoHashBits(bits: interleave(latitude: cUInt32(latOffset), longitude: cUInt32(lonOffset)), step: step)
    }

    /// A double converted to uint32 as C truncates it (the offsets here are always in range).
    @inline(__always)
    static func cUInt32(_ d: Double) -> UInt32 {
        guard d >= 0, d < 4294967296.0 else { return 0 }
        return UInt32(d)
    }

    /// The geohash of a valid WGS84 point at `step` bits per axis.
    @inline(__always)
    static func encodeWGS84(longitude: Double, latitude: Double, step: UInt8) -> GeoHashBits? {
        encode(longitudeRange: wgs84Longitude, latitudeRange: wgs84Latitude, longitude: longitude, latitude: latitude, step: step)
    }

    /// The 52-bit score of a valid WGS84 point (GEOADD's score).
    static func score(longitude: Double, latitude: Double) -> UInt64 {
        encodeWGS84(longitude: longitude, latitude: latitude, step: stepMax)?.aligned52 ?? 0
    }

    /// The rectangle `hash` covers over the given ranges (nil for the zero hash).
    static func decode(longitudeRange: GeoRange, latitudeRange: GeoRange, _ hash: GeoHashBits) -> GeoArea? {
        if hash.isZero { return nil }
        let (ilat, ilon) = deinterleave(hash.bits)
        let latScale = latitudeRange.max - latitudeRange.min
        let lonScale = longitudeRange.max - longitudeRange.min
        let div = Double(UInt64(1) << UInt64(hash.step))
        var area = GeoArea()
        area.latitude.min = latitudeRange.min + (Double(ilat) * 1.0 / div) * latScale
        area.latitude.max = latitudeRange.min + (Double(ilat &+ 1) * 1.0 / div) * latScale
        area.longitude.min = longitudeRange.min + (Double(ilon) * 1.0 / div) * lonScale
        area.longitude.max = longitudeRange.min + (Double(ilon &+ 1) * 1.0 / div) * lonScale
        return area
    }

    @inline(__always)
    static func decodeWGS84(_ hash: GeoHashBits) -> GeoArea? {
        decode(longitudeRange: wgs84Longitude, latitudeRange: wgs84Latitude, hash)
    }

    /// A zset score as C converts a double to uint64 on x86-64 (what Redis does with any score).
    @inline(__always)
    static func scoreBits(_ score: Double) -> UInt64 {
        if score < 9223372036854775808.0 {
            guard score > -9223372036854775809.0 else { return 0x8000_0000_0000_0000 }
            return UInt64(bitPattern: Int64(score))
        }
        let shifted = score - 9223372036854775808.0
        guard shifted < 9223372036854775808.0 else { return 0 }
        return UInt64(bitPattern: Int64(shifted)) ^ 0x8000_0000_0000_0000
    }

    /// The (longitude, latitude) a score stands for: the centre of its 52-bit box, clamped to the limits.
    static func position(ofScore score: Double) -> (longitude: Double, latitude: Double) {
        let area = decodeWGS84(GeoHashBits(bits: scoreBits(score), step: stepMax))!
        var lon = (area.longitude.min + area.longitude.max) / 2
        if lon > longitudeMax { lon = longitudeMax }
        if lon < longitudeMin { lon = longitudeMin }
        var lat = (area.latitude.min + area.latitude.max) / 2
        if lat > latitudeMax { lat = latitudeMax }
        if lat < latitudeMin { lat = latitudeMin }
        return (lon, lat)
    }

    /// GEOHASH's text: the position re-encoded over the standard latitude range -90..90, as eleven
    /// base-32 characters (the last one always '0', since only 52 bits exist).
    static func standardString(ofScore score: Double) -> [UInt8] {
        let (lon, lat) = position(ofScore: score)
        let bits = encode(longitudeRange: GeoRange(min: -180, max: 180), latitudeRange: GeoRange(min: -90, max: 90),
                          longitude: lon, latitude: lat, step: 26)?.bits ?? 0
        let alphabet = base32
        var out = [UInt8](repeating: alphabet[0], count: 11)
        for i in 0 ..< 10 {
            out[i] = alphabet[Int((bits >> UInt64(52 - (i + 1) * 5)) & 0x1F)]
        }
        return out
    }

    // MARK: - Neighbours

    /// Moves `hash` one box east (+1) or west (-1): longitude sits in the odd bits.
    static func moveX(_ hash: inout GeoHashBits, _ d: Int) { move(&hash, d, lane: 0xAAAA_AAAA_AAAA_AAAA) }

    /// Moves `hash` one box north (+1) or south (-1): latitude sits in the even bits.
    static func moveY(_ hash: inout GeoHashBits, _ d: Int) { move(&hash, d, lane: 0x5555_5555_5555_5555) }

    /// Adds or subtracts one in the interleaved bits `lane` selects, leaving the other axis's bits as
    /// they are: the other lane is filled with ones so that the carry (or borrow) runs through it.
    static func move(_ hash: inout GeoHashBits, _ d: Int, lane: UInt64) {
        if d == 0 { return }
        let shift = UInt64(64 - Int(hash.step) * 2)
        var v = hash.bits & lane
        let other = hash.bits & ~lane
        let zz = ~lane >> shift
        if d > 0 {
            v = v &+ (zz &+ 1)
        } else {
            v = v | zz
            v = v &- (zz &+ 1)
        }
        v &= lane >> shift
        hash.bits = v | other
    }

    @inline(__always)
    static func moved(_ hash: GeoHashBits, _ dx: Int, _ dy: Int) -> GeoHashBits {
        var h = hash
        moveX(&h, dx)
        moveY(&h, dy)
        return h
    }

    // MARK: - Distances

    @inline(__always) static func radians(_ degrees: Double) -> Double { degrees * degreesToRadians }
    @inline(__always) static func degrees(_ radians: Double) -> Double { radians / degreesToRadians }

    /// Metres between two latitudes along a meridian.
    @inline(__always)
    static func latitudeDistance(_ lat1: Double, _ lat2: Double) -> Double {
        earthRadius * abs(radians(lat2) - radians(lat1))
    }

    /// Great-circle distance in metres (haversine; the same longitude short-cuts to the meridian).
    static func distance(_ lon1: Double, _ lat1: Double, _ lon2: Double, _ lat2: Double) -> Double {
        let lon1r = radians(lon1)
        let lon2r = radians(lon2)
        let v = sin((lon2r - lon1r) / 2)
        if v == 0.0 { return latitudeDistance(lat1, lat2) }
        let lat1r = radians(lat1)
        let lat2r = radians(lat2)
        let u = sin((lat2r - lat1r) / 2)
        let a = u * u + cos(lat1r) * cos(lat2r) * v * v
        return 2.0 * earthRadius * asin(sqrt(a))
    }

    /// The distance of (lon, lat) from the shape's centre when the point is inside the shape.
    @inline(__always)
    static func distanceIfInside(_ shape: GeoShape, _ lon: Double, _ lat: Double) -> Double? {
        switch shape.kind {
        case .circle:
            let radius = shape.radius * shape.conversion
            // The arc between the two latitudes is never longer than the great-circle distance, so a
            // point clearly farther north or south than the radius is outside without the full formula.
            // The margin leaves every point near the edge to the exact computation (Redis's answer).
            if latitudeDistance(lat, shape.latitude) > radius * 1.000001 + 1 { return nil }
            let d = distance(shape.longitude, shape.latitude, lon, lat)
            return d > radius ? nil : d
        case .box:
            let widthM = shape.width * shape.conversion
            let heightM = shape.height * shape.conversion
            if latitudeDistance(lat, shape.latitude) > heightM / 2 { return nil }
            if distance(lon, lat, shape.longitude, lat) > widthM / 2 { return nil }
            return distance(shape.longitude, shape.latitude, lon, lat)
        }
    }

    // MARK: - Search areas

    /// The precision (bits per axis) whose boxes are about the size of `meters`, coarser near the poles.
    static func estimateSteps(meters: Double, latitude: Double) -> UInt8 {
        if meters == 0 { return 26 }
        var range = meters
        var step = 1
        while range < mercatorMax {
            range *= 2
            step += 1
        }
        step -= 2
        if latitude > 66 || latitude < -66 {
            step -= 1
            if latitude > 80 || latitude < -80 { step -= 1 }
        }
        if step < 1 { step = 1 }
        if step > 26 { step = 26 }
        return UInt8(step)
    }

    /// The shape's bounding box as (min longitude, min latitude, max longitude, max latitude).
    static func boundingBox(_ shape: GeoShape) -> (Double, Double, Double, Double) {
        let lon = shape.longitude, lat = shape.latitude
        let height = shape.conversion * (shape.kind == .circle ? shape.radius : shape.height / 2)
        let width = shape.conversion * (shape.kind == .circle ? shape.radius : shape.width / 2)
        let latDelta = degrees(height / earthRadius)
        let lonDeltaTop = degrees(width / earthRadius / cos(radians(lat + latDelta)))
        let lonDeltaBottom = degrees(width / earthRadius / cos(radians(lat - latDelta)))
        // South of the equator the box is widest at its top edge, north of it at its bottom edge.
        let southern = lat < 0
        let minLon = southern ? lon - lonDeltaBottom : lon - lonDeltaTop
        let maxLon = southern ? lon + lonDeltaBottom : lon + lonDeltaTop
        return (minLon, lat - latDelta, maxLon, lat + latDelta)
    }

    /// The boxes to read for `shape`, in Redis's order, with useless ones zeroed.
    static func searchAreas(_ shape: GeoShape) -> GeoSearchAreas {
        let (minLon, minLat, maxLon, maxLat) = boundingBox(shape)
        let lon = shape.longitude, lat = shape.latitude
        var radiusMeters: Double
        switch shape.kind {
        case .circle: radiusMeters = shape.radius
        case .box: radiusMeters = sqrt((shape.width / 2) * (shape.width / 2) + (shape.height / 2) * (shape.height / 2))
        }
        radiusMeters *= shape.conversion

        var steps = estimateSteps(meters: radiusMeters, latitude: lat)
        var hash = encodeWGS84(longitude: lon, latitude: lat, step: steps) ?? GeoHashBits(bits: 0, step: steps)
        var area = decodeWGS84(hash) ?? GeoArea()

        // When a neighbour does not reach the bounding box's edge, use boxes one step coarser.
        let north = decodeWGS84(moved(hash, 0, 1)) ?? GeoArea()
        let south = decodeWGS84(moved(hash, 0, -1)) ?? GeoArea()
        let east = decodeWGS84(moved(hash, 1, 0)) ?? GeoArea()
        let west = decodeWGS84(moved(hash, -1, 0)) ?? GeoArea()
        let decrease = north.latitude.max < maxLat || south.latitude.min > minLat
            || east.longitude.max < maxLon || west.longitude.min > minLon
        if steps > 1 && decrease {
            steps -= 1
            hash = encodeWGS84(longitude: lon, latitude: lat, step: steps) ?? GeoHashBits(bits: 0, step: steps)
            area = decodeWGS84(hash) ?? GeoArea()
        }

        var n = moved(hash, 0, 1), s = moved(hash, 0, -1), e = moved(hash, 1, 0), w = moved(hash, -1, 0)
        var ne = moved(hash, 1, 1), nw = moved(hash, -1, 1), se = moved(hash, 1, -1), sw = moved(hash, -1, -1)
        if steps >= 2 {
            if area.latitude.min < minLat { s = .zero; sw = .zero; se = .zero }
            if area.latitude.max > maxLat { n = .zero; ne = .zero; nw = .zero }
            if area.longitude.min < minLon { w = .zero; sw = .zero; nw = .zero }
            if area.longitude.max > maxLon { e = .zero; se = .zero; ne = .zero }
        }
        return GeoSearchAreas(boxes: [hash, n, s, e, w, ne, nw, se, sw])
    }

    // MARK: - Reply text

    /// A coordinate as Redis prints it: `%.17f` with trailing zeros (and a bare dot) removed; "-0" is "0".
    static func humanText(_ d: Double, into buf: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        if d.isInfinite {
            let t: StaticString = d > 0 ? "inf" : "-inf"
            for i in 0 ..< t.utf8CodeUnitCount { buf[i] = CChar(bitPattern: t.utf8Start[i]) }
            return t.utf8CodeUnitCount
        }
        var n = Int(withVaList([d]) { vsnprintf(buf, capacity, "%.17f", $0) })
        if n >= capacity { n = capacity - 1 }
        var hasDot = false
        for i in 0 ..< n where buf[i] == CChar(UInt8(ascii: ".")) { hasDot = true; break }
        if hasDot {
            while n > 0 && buf[n - 1] == CChar(UInt8(ascii: "0")) { n -= 1 }
            if n > 0 && buf[n - 1] == CChar(UInt8(ascii: ".")) { n -= 1 }
        }
        if n == 2 && buf[0] == CChar(UInt8(ascii: "-")) && buf[1] == CChar(UInt8(ascii: "0")) {
            buf[0] = CChar(UInt8(ascii: "0"))
            n = 1
        }
        return n
    }

    /// A distance as Redis prints it: rounded (to nearest, ties to even) to 4 decimals.
    static func distanceText(_ d: Double) -> [UInt8] {
        withDistanceText(d) { Array($0) }
    }

    /// Calls `body` with the distance text (see `distanceText`) in a stack buffer.
    static func withDistanceText<R>(_ d: Double, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buf -> R in
            let p = buf.baseAddress!
            if d == 0 {
                for (i, c) in "0.0000".utf8.enumerated() { p[i] = c }
                return body(UnsafeRawBufferPointer(start: p, count: 6))
            }
            let scaled = (d * 10000.0).rounded(.toNearestOrEven)
            // Out of range (or NaN), llrint gives LLONG_MIN, which Redis then prints.
            let v: Int64 = scaled.magnitude < 9.2e18 ? Int64(scaled) : Int64.min
            // Digits of |v|, at least five (so there is an integer digit), from the right.
            var mag = v.magnitude
            var digits = 0
            var end = 31
            while mag > 0 || digits < 5 {
                if digits == 4 {
                    p[end] = UInt8(ascii: ".")
                    end -= 1
                }
                p[end] = UInt8(ascii: "0") + UInt8(mag % 10)
                mag /= 10
                digits += 1
                end -= 1
            }
            if v < 0 {
                p[end] = UInt8(ascii: "-")
                end -= 1
            }
            return body(UnsafeRawBufferPointer(start: p + end + 1, count: 31 - end))
        }
    }
}
