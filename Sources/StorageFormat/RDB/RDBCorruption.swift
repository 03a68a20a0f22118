// RDBCorruption: Redis's own words for a corrupt value, so logs say what Redis's say. Redis checks each
// encoded blob (ziplist, listpack, zipmap, intset) before using it and, when the check fails, reports
// "<Type> <encoding> integrity check failed."; a bad file checksum is "RDB CRC error". Our decoders
// find the same problems (with more detail, kept in FormatError); this maps one to the other.

public enum RDBCorruption {
    /// Redis's reason for `error`, met while reading a value of RDB type `typeCode` (when known);
    /// nil when Redis would not call it an integrity failure.
    public static func reason(_ error: FormatError, typeCode: UInt8?) -> String? {
        // The checker's scanner prefixes the value's context ("type 13 (hash-ziplist) value: ziplist").
        let context = error.context.split(separator: ":").last.map { $0.trimmingPrefix(" ") }.map(String.init) ?? error.context
        switch context {
        case "RDB checksum":
            return "RDB CRC error"
        case "ziplist", "listpack", "zipmap", "intset", "stream listpack":
            break
        case "RDB" where typeCode.map({ $0 >= RDBType.hashZipmap }) ?? false && error.found != "end of file":
            // A well-formed blob whose contents do not fit the type (duplicates, an odd count...).
            break
        default:
            return nil
        }
        switch typeCode {
        case RDBType.hashZipmap: return "Zipmap integrity check failed."
        case RDBType.listZiplist: return "List ziplist integrity check failed."
        case RDBType.setIntset: return "Intset integrity check failed."
        case RDBType.zsetZiplist: return "Zset ziplist integrity check failed."
        case RDBType.hashZiplist: return "Hash ziplist integrity check failed."
        case RDBType.listQuicklist: return "Ziplist integrity check failed."
        case RDBType.hashListpack: return "Hash listpack integrity check failed."
        case RDBType.zsetListpack: return "Zset listpack integrity check failed."
        case RDBType.listQuicklist2: return "Listpack integrity check failed."
        case RDBType.streamListpacks, RDBType.streamListpacks2, RDBType.streamListpacks3: return "Stream listpack integrity check failed."
        default:
            let c = context
            return c.prefix(1).uppercased() + c.dropFirst() + " integrity check failed."
        }
    }
}
