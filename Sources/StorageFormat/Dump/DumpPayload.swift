// DUMP/RESTORE payloads (FORMATS.md §10): <type u8> <value as in RDB> <u16le RDB version> <u64le CRC64>.
// The CRC covers every byte before it. There is no magic, key or expiry. A payload newer than the
// reader's version, or with a wrong checksum, is refused with Redis's text.

public enum DumpPayload {
    /// Redis's reply to a payload with a bad footer.
    public static let versionOrChecksumError = "ERR DUMP payload version or checksum are wrong"
    /// Redis's reply to a payload whose value does not decode.
    public static let badDataError = "Bad data format"

    /// A payload refused by `decode`: `message` is the error text Redis replies with.
    public struct Rejection: Error, Sendable, CustomStringConvertible {
        public var message: String
        /// The format problem behind a bad-data rejection, when there is one.
        public var cause: FormatError?
        public var description: String { cause.map { "\(message) (\($0))" } ?? message }
    }

    /// The payload of `value` for RDB `version` (10 = Redis 7.0). Returns the bytes and the type code used.
    public static func encode(_ value: RDBValue, version: Int = 10, compression: Bool = true) throws -> [UInt8] {
        var options = RDBWriterOptions(version: version)
        options.compression = compression
        return try encode(value, options: options)
    }

    /// The payload of `value` written with `options` (version, compression and the encoding
    /// thresholds, which a caller can set to reproduce the encoding its value has in memory).
    public static func encode(_ value: RDBValue, options: RDBWriterOptions) throws -> [UInt8] {
        var options = options
        let version = options.version
        options.checksum = false
        var bytes: [UInt8] = []
        let w = try RDBWriter(options: options) { bytes.append(contentsOf: $0) }
        w.out.append(0)
        let type = try w.writeValueBody(value, key: nil)
        w.out.bytes[0] = type
        try w.flush()
        appendFooter(&bytes, version: version)
        return bytes
    }

    /// Ends a payload: the RDB version (2 bytes, little-endian), then the CRC64 of everything before
    /// it (8 bytes, little-endian). Value and function payloads share it.
    static func appendFooter(_ bytes: inout [UInt8], version: Int) {
        bytes.append(UInt8(version & 0xFF))
        bytes.append(UInt8(version >> 8))
        let crc = bytes.withUnsafeBytes { CRC64.update(0, $0) }
        withUnsafeBytes(of: crc.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Checks the footer of `payload` (version not newer than `maxVersion`, CRC64 unless it is 0 and
    /// `allowZeroChecksum`) and decodes the value. Returns the type code and the value.
    public static func decode(_ payload: [UInt8], maxVersion: Int = RDBDialect.newestRedisVersion,
                              verifyChecksum: Bool = true) throws -> (type: UInt8, value: RDBValue) {
        guard payload.count >= 11 else { throw Rejection(message: versionOrChecksumError, cause: nil) }
        let n = payload.count
        let version = Int(payload[n - 10]) | Int(payload[n - 9]) << 8
        guard version <= maxVersion, version < 80 else { throw Rejection(message: versionOrChecksumError, cause: nil) }
        if verifyChecksum {
            let stored = payload.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self).littleEndian }
            let computed = payload.withUnsafeBytes { CRC64.update(0, UnsafeRawBufferPointer(rebasing: $0[0 ..< n - 8])) }
            guard stored == computed else { throw Rejection(message: versionOrChecksumError, cause: nil) }
        }
        // Decode the body as a one-key RDB stream: a reader positioned after a synthetic header.
        let body = Array(payload[0 ..< n - 10])
        do {
            let decoder = try RDBDecoder(payloadBody: body, version: max(version, 1))
            let type = try decoder.input.readByte("the type byte")
            guard RDBType.firstVersion(type, in: decoder.dialect) != nil else {
                throw FormatError(offset: 0, context: "DUMP payload", expected: "an object type", found: "\(type)")
            }
            let builder = RDBValueBuilder()
            let value = try decoder.decodeValue(type: type, into: builder) ? builder.value : RDBValue.empty(typeCode: type)
            guard decoder.input.offset == body.count + 9 else {
                throw FormatError(offset: decoder.input.offset - 9, context: "DUMP payload", expected: "the end of the value",
                                  found: "\(body.count + 9 - decoder.input.offset) extra bytes")
            }
            return (type, value)
        } catch var e as FormatError {
            e.offset = max(0, e.offset - 9)
            throw Rejection(message: badDataError, cause: e)
        }
    }
}

extension RDBDecoder {
    /// A decoder over a DUMP payload body (type byte + value), in the dialect of `version`, with
    /// RESTORE's checks (duplicate members refused). Offsets are those of a file with a 9-byte magic in
    /// front; `DumpPayload` corrects them.
    convenience init(payloadBody body: [UInt8], version: Int) throws {
        var options = Options()
        options.verifyChecksum = false
        options.checkDuplicateKeys = false
        options.strictTypeVersions = false
        options.fingerprintBudget = 1 << 20
        let magic = RDBDialect(family: .redis, version: min(version, RDBDialect.newestRedisVersion)).magic
        try self.init(source: MemorySource(magic + body), options: options)
        _ = try input.span(0, "")
    }
}
