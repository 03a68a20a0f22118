// DumpCommands: DUMP and RESTORE. A payload is what Redis 7.0 writes: the value's RDB type byte and
// body (RDB version 10, strings LZF-compressed unless rdbcompression is off, each value in the
// encoding it has in memory), the RDB version as a little-endian u16, and a CRC64 of everything
// before it (StorageFormat's DumpPayload).
// RESTORE checks, in Redis's order: options, BUSYKEY, the TTL, the payload's footer, the value.
import StorageFormat

public enum DumpCommands {
    public static var all: [CommandSpec] {
        [
            CommandSpec("dump", arity: 2, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1) { dump($0) },
            CommandSpec("restore", arity: -4, flags: [.write, .denyOOM], firstKey: 1, lastKey: 1, step: 1) { restore($0) },
            // What a cluster's MIGRATE sends; a standalone server takes it as RESTORE.
            CommandSpec("restore-asking", arity: -4, flags: [.write, .denyOOM], firstKey: 1, lastKey: 1, step: 1) { restore($0) },
        ]
    }

    /// The RDB version Redis 7.0 writes and the newest it restores.
    static let rdbVersion = 10

    static let busyKeyError = "BUSYKEY Target key name already exists."
    static let badDataError = "ERR Bad data format"

    /// The DUMP payload of `value`, as Redis 7.0 writes it.
    public static func payload(_ value: RedisValue, config: EngineConfig) throws -> [UInt8] {
        var options = RDBWriterOptions(version: rdbVersion)
        options.compression = config.rdbCompression
        value.pinEncoding(&options, config: config)
        return try DumpPayload.encode(value.rdbValue, options: options)
    }

    /// The value a RESTORE payload holds, or the error text Redis replies with.
    /// `warn` gets Redis's log line for a corrupt value ("... integrity check failed.").
    public static func restoredValue(_ payload: [UInt8], config: EngineConfig,
                                     warn: (String) -> Void = { _ in }) -> Result<RedisValue, RestoreError> {
        // Redis 7.0 accepts a 10-byte payload's footer (then finds no type byte); DumpPayload refuses
        // anything shorter than 11 bytes outright.
        if payload.count == 10 {
            let version = Int(payload[0]) | Int(payload[1]) << 8
            let stored = payload.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 2, as: UInt64.self).littleEndian }
            let crc = payload.withUnsafeBytes { CRC64.update(0, UnsafeRawBufferPointer(rebasing: $0[0 ..< 2])) }
            return .failure(RestoreError(version <= rdbVersion && stored == crc ? badDataError
                                                                                   : DumpPayload.versionOrChecksumError))
        }
        let decoded: (type: UInt8, value: RDBValue)
        do {
            decoded = try DumpPayload.decode(payload, maxVersion: rdbVersion, verifyChecksum: !config.skipChecksumValidation)
        } catch let r as DumpPayload.Rejection {
            if let e = r.cause { reportCorruption(e, typeCode: payload[0], warn: warn) }
            return .failure(RestoreError(r.message.hasPrefix("ERR ") ? r.message : "ERR " + r.message))
        } catch {
            return .failure(RestoreError(badDataError))
        }
        // Types Redis 7.0 does not know (8, and 20 on: listpack sets, stream v3, field TTLs) are bad data.
        let t = decoded.type
        if t == 8 || t > RDBType.streamListpacks2 { return .failure(RestoreError(badDataError)) }
        // An intset must be sorted without duplicates (Redis checks it when sanitizing payloads).
        if t == RDBType.setIntset, case .set(let members) = decoded.value {
            var last = Int64.min
            for (i, m) in members.enumerated() {
                guard let v = StrictInteger.parse(m), i == 0 || v > last else {
                    reportCorruption(FormatError(offset: 0, context: "intset", expected: "sorted distinct integers", found: "member \(i) out of order"),
                                     typeCode: t, warn: warn)
                    return .failure(RestoreError(badDataError))
                }
                last = v
            }
        }
        do {
            return .success(try RedisValue(rdb: decoded.value, config: config, typeCode: t))
        } catch let e as ValueConversionError where e.kind == .unsupportedType {
            return .failure(RestoreError(badDataError + " (" + e.message + ")"))
        } catch let e as ValueConversionError where e.kind == .duplicate && t >= RDBType.hashZipmap {
            // An encoded blob with the same member twice fails Redis's integrity check.
            reportCorruption(FormatError(offset: 0, context: "RDB", expected: "distinct members", found: e.message),
                             typeCode: t, warn: warn)
            return .failure(RestoreError(badDataError))
        } catch {
            return .failure(RestoreError(badDataError))
        }
    }

    /// Logs a corrupt value as Redis does: "Internal error in RDB reading ... -> <reason>".
    static func reportCorruption(_ e: FormatError, typeCode: UInt8, warn: (String) -> Void) {
        guard let reason = RDBCorruption.reason(e, typeCode: e.typeCode ?? typeCode) else { return }
        warn("Internal error in RDB reading offset \(e.offset) -> \(reason) (\(e.context): expected \(e.expected), found \(e.found))")
    }

    /// A RESTORE refused: `message` is the error reply's text.
    public struct RestoreError: Error, Sendable {
        public var message: String
        init(_ message: String) { self.message = message }
    }

    static func dump(_ ctx: CommandContext) {
        guard let v = ctx.lookupRead(ctx.key(1)) else { ctx.null(); return }
        do {
            ctx.bulk(try payload(v, config: ctx.config))
        } catch {
            ctx.error("ERR \(error)")
        }
    }

    /// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
    static func restore(_ ctx: CommandContext) {
        var replace = false, absTTL = false
        var idle: Int64 = -1, freq: Int64 = -1
        var j = 4
        while j < ctx.argc {
            let more = ctx.argc - j - 1
            switch ctx.option(j) {
            case "REPLACE":
                replace = true
            case "ABSTTL":
                absTTL = true
            case "IDLETIME" where more >= 1 && freq == -1:
                guard let v = ctx.integerArgument(j + 1) else { return }
                guard v >= 0 else { ctx.error("ERR Invalid IDLETIME value, must be >= 0"); return }
                idle = v
                j += 1
            case "FREQ" where more >= 1 && idle == -1:
                guard let v = ctx.integerArgument(j + 1) else { return }
                guard v >= 0 && v <= 255 else { ctx.error("ERR Invalid FREQ value, must be >= 0 and <= 255"); return }
                freq = v
                j += 1
            default:
                ctx.syntaxError()
                return
            }
            j += 1
        }
        let key = ctx.key(1)
        if !replace && ctx.lookupWrite(key) != nil { ctx.error(busyKeyError); return }
        guard var ttl = ctx.integerArgument(2) else { return }
        guard ttl >= 0 else { ctx.error("ERR Invalid TTL value, must be >= 0"); return }

        let value: RedisValue
        let engine = ctx.engine
        switch restoredValue(ctx.args[3], config: engine.config, warn: { engine.hooks.warning?($0) }) {
        case .success(let v): value = v
        case .failure(let e): ctx.error(e.message); return
        }

        let db = ctx.db
        let deleted = replace && db.remove(key)
        // A relative TTL is added to the clock (wrapping as Redis's does on overflow).
        if ttl != 0 && !absTTL { ttl = ttl &+ ctx.now }
        if ttl != 0 && ttl <= ctx.now {
            // Already expired: the key is not created (and an old one REPLACE removed stays removed).
            if deleted {
                ctx.modified(key)
                ctx.propagate([Engine.delName, ctx.args[1]])
            }
            ctx.ok()
            return
        }
        db.set(key, value)
        if ttl != 0 { db.setExpire(key, at: ttl) }
        db.applyAccessRecord(key, idle: idle >= 0 ? Int(idle) : nil, freq: freq >= 0 ? Int(freq) : nil)
        ctx.modified(key)
        ctx.notify(KeyspaceEventClass.generic, "restore", key)
        // A relative TTL is logged as the absolute time it gave.
        if ttl != 0 && !absTTL && ctx.propagating {
            var op = ctx.args
            op[2] = StrictInteger.format(ttl)
            op.append(Array("ABSTTL".utf8))
            ctx.propagate(op)
        }
        if !value.typeRow.blockingCommandPrefixes.isEmpty { ctx.signalReady(key) }
        ctx.ok()
    }
}
