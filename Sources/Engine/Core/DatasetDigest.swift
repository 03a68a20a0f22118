// DatasetDigest: DEBUG DIGEST and DEBUG DIGEST-VALUE, computed as Redis 7.0 computes them so a
// dataset's digest can be compared between Redis and Cairn. Built from SHA-1 with two steps:
//   xor(d, data): d ^= SHA1(data)                 (order-independent)
//   mix(d, data): d = SHA1(d ^ SHA1(data))        (order-dependent)
// A value's digest starts at zero: mix the type number (4 bytes, big-endian), then
//   string — mix the bytes;  list — mix each element, head first;  set — xor each member;
//   zset — per member, e = mix(mix(0, member), "%.17g" score), then xor(d, e);
//   hash — per field, e = mix(mix(0, field), value), then xor(d, e);
// and, when the key has an expiry, xor "!!expire!!". The dataset digest starts at zero; for each
// non-empty database, mix its number (4 bytes, big-endian), then for each key k = mix(0, key)
// followed by the value's steps on k, and xor(digest, k). Expired keys not yet removed count.
import StorageFormat

extension SHA1Digest {
    /// d ^= SHA1(data).
    @inline(__always)
    mutating func xorIn(_ data: UnsafeRawBufferPointer) { self ^= SHA1.hash(data) }

    /// d = SHA1(d ^ SHA1(data)).
    @inline(__always)
    mutating func mixIn(_ data: UnsafeRawBufferPointer) {
        xorIn(data)
        self = withUnsafeBytes { SHA1.hash($0) }
    }

    mutating func mixIn(_ b: ByteString) { b.withUnsafeBytes { mixIn($0) } }
    mutating func mixIn(_ b: [UInt8]) { b.withUnsafeBytes { mixIn($0) } }
    mutating func xorIn(_ b: ByteString) { b.withUnsafeBytes { xorIn($0) } }

    /// d ^= SHA1(other's 20 bytes).
    mutating func xorIn(digest other: SHA1Digest) { other.withUnsafeBytes { xorIn($0) } }

    mutating func mixIn(bigEndian v: UInt32) {
        var be = v.bigEndian
        Swift.withUnsafeBytes(of: &be) { mixIn($0) }
    }

    /// The value's steps (see the file comment) applied to `self`: the type number from the type
    /// table, then the type's own steps (StoredType.digest, in its <Type>Persistence.swift).
    mutating func mixValue(_ value: RedisValue, hasExpire: Bool) {
        let stored = value.stored
        mixIn(bigEndian: stored.row.digestNumber)
        stored.digest(into: &self)
        if hasExpire {
            let marker: StaticString = "!!expire!!"
            xorIn(UnsafeRawBufferPointer(start: marker.utf8Start, count: marker.utf8CodeUnitCount))
        }
    }
}

/// DEBUG DIGEST-VALUE of one value: 20 bytes (all zero for a missing key).
public func valueDigest(_ value: RedisValue, expiresAt: Int64?) -> [UInt8] {
    valueSHA1Digest(value, expiresAt: expiresAt).bytes
}

func valueSHA1Digest(_ value: RedisValue?, expiresAt: Int64?) -> SHA1Digest {
    var d = SHA1Digest.zero
    if let value { d.mixValue(value, hasExpire: expiresAt != nil) }
    return d
}

/// DEBUG DIGEST of every database: 20 bytes, all zero for an empty dataset.
public func datasetDigest(_ engine: Engine) -> [UInt8] { datasetSHA1Digest(engine).bytes }

func datasetSHA1Digest(_ engine: Engine) -> SHA1Digest {
    var final = SHA1Digest.zero
    for (j, db) in engine.databases.enumerated() where db.count > 0 {
        final.mixIn(bigEndian: UInt32(truncatingIfNeeded: j))
        let hasExpires = db.expires.count > 0
        db.keys.forEach { key, value in
            var k = SHA1Digest.zero
            k.mixIn(key)
            k.mixValue(value, hasExpire: hasExpires && db.expires[key] != nil)
            final.xorIn(digest: k)
        }
    }
    return final
}
