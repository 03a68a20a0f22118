// FUNCTION DUMP / FUNCTION RESTORE payloads: the libraries as RDB FUNCTION2 records (opcode 0xF5,
// then the library's code as an RDB string, LZF-compressed when that helps), then the RDB version
// (u16le) and the CRC64 (u64le) of every byte before it, the footer DUMP payloads have.

public enum FunctionDumpPayload {
    /// The payload holding `codes` (each a library's full source), for RDB `version` (10 = Redis 7.0).
    public static func encode(_ codes: [[UInt8]], version: Int = 10, compression: Bool = true) throws -> [UInt8] {
        var options = RDBWriterOptions(version: version)
        options.compression = compression
        options.checksum = false
        var bytes: [UInt8] = []
        let w = try RDBWriter(options: options) { bytes.append(contentsOf: $0) }
        for code in codes { try w.writeFunction(code: code) }
        try w.flush()
        DumpPayload.appendFooter(&bytes, version: version)
        return bytes
    }

    /// The libraries' codes in `payload`, or Redis's error text: a bad footer gives "DUMP payload
    /// version or checksum are wrong", a record that is not a function "given type is not a
    /// function", an unreadable one "can not read data type" / "failed loading the given functions payload".
    public static func decode(_ payload: [UInt8], maxVersion: Int = RDBDialect.newestRedisVersion) -> Result<[[UInt8]], DumpPayload.Rejection> {
        let n = payload.count
        guard n >= 10 else { return .failure(.init(message: "ERR DUMP payload version or checksum are wrong", cause: nil)) }
        let version = Int(payload[n - 10]) | Int(payload[n - 9]) << 8
        let stored = payload.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self).littleEndian }
        let computed = payload.withUnsafeBytes { CRC64.update(0, UnsafeRawBufferPointer(rebasing: $0[0 ..< n - 8])) }
        guard version <= maxVersion, version < 80, stored == computed else {
            return .failure(.init(message: "ERR DUMP payload version or checksum are wrong", cause: nil))
        }
        let body = Array(payload[0 ..< n - 10])
        var codes: [[UInt8]] = []
        do {
            let decoder = try RDBDecoder(payloadBody: body, version: max(version, 10))
            while decoder.input.offset < body.count + 9 {
                let type: UInt8
                do { type = try decoder.input.readByte("the record type") } catch {
                    return .failure(.init(message: "ERR can not read data type", cause: nil))
                }
                guard type == RDBOpcode.function2 else { return .failure(.init(message: "ERR given type is not a function", cause: nil)) }
                codes.append(try decoder.readSmallString("function library code"))
            }
        } catch let e as FormatError {
            return .failure(.init(message: "ERR failed loading the given functions payload", cause: e))
        } catch {
            return .failure(.init(message: "ERR failed loading the given functions payload", cause: nil))
        }
        return .success(codes)
    }
}
