// RDBStats: the statistics of an RDB file gathered from RDBDecoder's per-key summaries — per database
// and per type: key counts, stored encodings and the encodings Redis 7.0 gives the values when it loads
// them (default config), keys with an expiry and keys already expired, total and largest key and value
// sizes, element counts, module types by name, function libraries — rendered as a table, JSON or CSV.
import StorageFormat

/// Counters for one (database, type) cell, or a total.
public struct RDBTypeStats: Sendable {
    public var keys = 0
    public var expiring = 0
    public var alreadyExpired = 0
    public var keyBytes = 0
    public var largestKeyBytes = 0
    public var largestKey: [UInt8] = []
    /// Serialized value bytes in the file.
    public var valueBytes = 0
    public var largestValueBytes = 0
    public var largestValueKey: [UInt8] = []
    public var elements: UInt64 = 0
    public var mostElements: UInt64 = 0
    public var mostElementsKey: [UInt8] = []
    public var largestElementBytes = 0
    /// Keys per RDB type code (the encoding in the file), and per encoding after loading (an index into
    /// `RDBStats.loadedNames`); module values are counted by name in RDBStats.
    var storedCounts = [Int](repeating: 0, count: 32)
    var loadedCounts = [Int](repeating: 0, count: RDBStats.loadedNames.count)

    /// Encoding in the file → keys.
    public var storedEncodings: [String: Int] {
        var d: [String: Int] = [:]
        for (code, n) in storedCounts.enumerated() where n > 0 { d[RDBType.encodingName(UInt8(code)), default: 0] += n }
        return d
    }

    /// Encoding after loading into Redis 7.0 with the default config → keys.
    public var loadedEncodings: [String: Int] {
        var d: [String: Int] = [:]
        for (i, n) in loadedCounts.enumerated() where n > 0 { d[RDBStats.loadedNames[i], default: 0] += n }
        return d
    }

    public init() {}

    @inline(__always)
    mutating func add(_ s: RDBKeySummary, loaded: Int, expired: Bool) {
        keys += 1
        if s.expiresAt != nil { expiring += 1 }
        if expired { alreadyExpired += 1 }
        let keyCount = s.key.count
        keyBytes += keyCount
        if keyCount > largestKeyBytes || keys == 1 {
            largestKeyBytes = keyCount
            largestKey = s.keyBytes
        }
        valueBytes += s.valueSize
        if s.valueSize > largestValueBytes || keys == 1 {
            largestValueBytes = s.valueSize
            largestValueKey = s.keyBytes
        }
        elements += s.elements
        if s.elements > mostElements || keys == 1 {
            mostElements = s.elements
            mostElementsKey = s.keyBytes
        }
        if s.largestElement > largestElementBytes { largestElementBytes = s.largestElement }
        storedCounts[Int(s.typeCode & 31)] += 1
        loadedCounts[loaded] += 1
    }

    mutating func merge(_ o: RDBTypeStats) {
        keys += o.keys
        expiring += o.expiring
        alreadyExpired += o.alreadyExpired
        keyBytes += o.keyBytes
        if o.largestKeyBytes > largestKeyBytes || largestKey.isEmpty { largestKeyBytes = o.largestKeyBytes; largestKey = o.largestKey }
        valueBytes += o.valueBytes
        if o.largestValueBytes > largestValueBytes || largestValueKey.isEmpty { largestValueBytes = o.largestValueBytes; largestValueKey = o.largestValueKey }
        elements += o.elements
        if o.mostElements > mostElements || mostElementsKey.isEmpty { mostElements = o.mostElements; mostElementsKey = o.mostElementsKey }
        largestElementBytes = max(largestElementBytes, o.largestElementBytes)
        for i in 0 ..< storedCounts.count { storedCounts[i] += o.storedCounts[i] }
        for i in 0 ..< loadedCounts.count { loadedCounts[i] += o.loadedCounts[i] }
    }
}

/// Everything the stats table shows.
public final class RDBStats {
    public static let typeOrder = ["string", "list", "set", "zset", "hash", "stream", "module"]

    public var file = ""
    public var fileSize: Int?
    public var dialect: RDBDialect?
    /// db → type name → counters.
    public var databases: [Int: [String: RDBTypeStats]] {
        var out: [Int: [String: RDBTypeStats]] = [:]
        for (db, cells) in cells {
            for (i, c) in cells.enumerated() where c.keys > 0 { out[db, default: [:]][RDBStats.typeOrder[i]] = c }
        }
        return out
    }
    /// db → counters per type index (RDBStats.typeOrder).
    @exclusivity(unchecked) var cells: [Int: [RDBTypeStats]] = [:]
    /// The last database's cells, kept out of the dictionary while keys of that database arrive.
    @exclusivity(unchecked) var currentDB = -1
    @exclusivity(unchecked) var current: [RDBTypeStats] = []
    /// Module type name → values of that type.
    @exclusivity(unchecked) public var moduleTypes: [String: Int] = [:]
    /// Module type name → MODULE_AUX records.
    public var moduleAux: [String: Int] = [:]
    /// Function library names (from `#!lua name=…`), in file order.
    public var functionLibraries: [String] = []
    public var aux: [(key: [UInt8], value: [UInt8])] = []
    /// Keys Redis would skip because their aggregate is empty.
    @exclusivity(unchecked) public var emptyKeys = 0
    /// Keys with expiry, and keys already expired at `now`.
    @exclusivity(unchecked) public var expires = 0
    public var alreadyExpired = 0
    /// Unix ms used for "already expired".
    public let now: Int64

    public init(now: Int64) { self.now = now }

    public var totalKeys: Int {
        cells.values.reduce(0) { $0 + $1.reduce(0) { $0 + $1.keys } } + current.reduce(0) { $0 + $1.keys }
    }

    /// Type index in `typeOrder` for a type code.
    static func typeIndex(_ code: UInt8) -> Int {
        switch code {
        case 0: return 0
        case 1, 10, 14, 18: return 1
        case 2, 11, 20: return 2
        case 3, 5, 12, 17: return 3
        case 4, 9, 13, 16, 22, 23, 24, 25: return 4
        case 15, 19, 21: return 5
        default: return 6
        }
    }

    /// Adds one key.
    public func add(_ s: RDBKeySummary) {
        if s.db != currentDB { switchDB(s.db) }
        let expired = s.expiresAt.map { $0 < now } ?? false
        if s.expiresAt != nil { expires += 1 }
        if expired { alreadyExpired += 1 }
        var loaded = RDBStats.loadedEncoding(s)
        if let m = s.moduleName {
            moduleTypes[m, default: 0] += 1
            loaded = RDBStats.loadedNames.count - 1
        }
        current[RDBStats.typeIndex(s.typeCode)].add(s, loaded: loaded, expired: expired)
    }

    func switchDB(_ db: Int) {
        if currentDB >= 0 { cells[currentDB] = current }
        currentDB = db
        current = cells[db] ?? [RDBTypeStats](repeating: RDBTypeStats(), count: RDBStats.typeOrder.count)
        cells[db] = nil
    }

    /// Folds the current database back (call before reading `databases`).
    func settle() {
        if currentDB >= 0 { cells[currentDB] = current }
        currentDB = -1
        current = []
    }

    /// A function library's name: the `name=` of its `#!engine name=…` first line.
    public func addFunction(_ code: [UInt8]) {
        functionLibraries.append(RDBStats.libraryName(code))
    }

    /// The `name=` of a library's `#!engine name=…` first line ("(unnamed)" without one), for messages.
    public static func libraryName(_ code: [UInt8]) -> String {
        let first = code.prefix { $0 != 0x0a }
        let text = String(decoding: first, as: UTF8.self)
        var name = "(unnamed)"
        for part in text.split(separator: " ") where part.hasPrefix("name=") {
            name = String(part.dropFirst(5))
        }
        return name
    }

    /// The encoding Redis 7.0 gives a value when it loads it with the default thresholds
    /// (hash-max-listpack-entries 512, -value 64; zset-max-listpack-entries 128, -value 64;
    /// set-max-intset-entries 512; strings int/embstr/raw).
    public static let loadedNames = ["int", "embstr", "raw", "quicklist", "intset", "hashtable", "listpack", "skiplist", "listpackex", "stream", "unknown", "module"]

    /// The encoding name Redis 7.0 gives a value when it loads it.
    public static func loadedEncodingName(_ s: RDBKeySummary) -> String { loadedNames[loadedEncoding(s)] }

    static func loadedEncoding(_ s: RDBKeySummary) -> Int {
        switch s.typeCode {
        case RDBType.string:
            if s.allIntegers && s.largestElement <= 20 { return 0 }
            return s.largestElement <= 44 ? 1 : 2
        case RDBType.list, RDBType.listZiplist, RDBType.listQuicklist, RDBType.listQuicklist2:
            return 3
        case RDBType.set:
            return s.elements <= 512 && s.allIntegers ? 4 : 5
        case RDBType.setIntset:
            return s.elements <= 512 ? 4 : 5
        case RDBType.setListpack:
            return s.elements <= 128 ? 6 : 5
        case RDBType.zset, RDBType.zset2:
            return s.elements <= 128 && s.largestElement <= 64 ? 6 : 7
        case RDBType.zsetZiplist, RDBType.zsetListpack:
            return s.elements <= 128 ? 6 : 7
        case RDBType.hash, RDBType.hashZipmap:
            return s.elements <= 512 && s.largestElement <= 64 ? 6 : 5
        case RDBType.hashZiplist, RDBType.hashListpack:
            return s.elements <= 512 ? 6 : 5
        case RDBType.hashListpackEx, RDBType.hashListpackExPreGA:
            return 8
        case RDBType.hashMetadata, RDBType.hashMetadataPreGA:
            return 5
        case RDBType.streamListpacks, RDBType.streamListpacks2, RDBType.streamListpacks3:
            return 9
        default:
            return 10
        }
    }

    /// Per-type totals over all databases.
    public func totalsByType() -> [String: RDBTypeStats] {
        settle()
        var out: [String: RDBTypeStats] = [:]
        let dbs = databases
        for db in dbs.keys.sorted() { for (t, s) in dbs[db]! { out[t, default: RDBTypeStats()].merge(s) } }
        return out
    }

    static func orderedTypes<S: Sequence>(_ names: S) -> [String] where S.Element == String {
        let set = Set(names)
        return typeOrder.filter { set.contains($0) } + set.subtracting(typeOrder).sorted()
    }

    static func encodings(_ d: [String: Int]) -> String {
        d.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " ")
    }

    static func printable(_ b: [UInt8]) -> String { ByteText.quoted(b, limit: 40) }

    // MARK: - Table

    /// The human-readable table.
    public func table() -> String {
        settle()
        var lines: [String] = []
        var head = "RDB file \(file)"
        if let d = dialect { head += ": \(d) (\(d.family == .valkey ? "Valkey" : "Redis") RDB version \(d.version))" }
        if let fileSize { head += ", \(fileSize) bytes" }
        lines.append(head)
        if !aux.isEmpty {
            lines.append("  aux fields: " + aux.map { String(decoding: $0.key, as: UTF8.self) + "=" + RDBStats.printable($0.value) }.joined(separator: " "))
        }
        lines.append("  function libraries: \(functionLibraries.count)" + (functionLibraries.isEmpty ? "" : " (" + functionLibraries.joined(separator: ", ") + ")"))
        let modules = RDBStats.orderedTypes(Set(moduleTypes.keys).union(moduleAux.keys))
        lines.append("  module types: " + (modules.isEmpty ? "none" : modules.map { "\($0) (\(moduleTypes[$0] ?? 0) values, \(moduleAux[$0] ?? 0) aux)" }.joined(separator: ", ")))
        lines.append("  keys: \(totalKeys), with expiry: \(expires), already expired: \(alreadyExpired)" + (emptyKeys > 0 ? ", empty (skipped by Redis): \(emptyKeys)" : ""))
        lines.append("")
        let header = ["db", "type", "keys", "expiring", "expired", "key bytes", "max key", "value bytes", "max value", "elements", "max elements", "max element", "encodings in file", "encodings after load (Redis 7.0)"]
        var rows: [[String]] = []
        func row(_ db: String, _ t: String, _ s: RDBTypeStats) -> [String] {
            let enc = t == "all" ? ["", ""] : [RDBStats.encodings(s.storedEncodings), RDBStats.encodings(s.loadedEncodings)]
            return [db, t, "\(s.keys)", "\(s.expiring)", "\(s.alreadyExpired)", "\(s.keyBytes)", "\(s.largestKeyBytes)", "\(s.valueBytes)", "\(s.largestValueBytes)",
             "\(s.elements)", "\(s.mostElements)", "\(s.largestElementBytes)"] + enc
        }
        let dbs = databases
        for db in dbs.keys.sorted() {
            let types = dbs[db]!
            var total = RDBTypeStats()
            for t in RDBStats.orderedTypes(types.keys) {
                rows.append(row("\(db)", t, types[t]!))
                total.merge(types[t]!)
            }
            if types.count > 1 { rows.append(row("\(db)", "all", total)) }
        }
        if dbs.count > 1 {
            let totals = totalsByType()
            var all = RDBTypeStats()
            for t in RDBStats.orderedTypes(totals.keys) {
                rows.append(row("all", t, totals[t]!))
                all.merge(totals[t]!)
            }
            rows.append(row("all", "all", all))
        }
        var widths = header.map { $0.count }
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func format(_ r: [String]) -> String {
            r.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return i < 2 || i >= 12 ? c + pad : pad + c
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
        lines.append(format(header))
        for r in rows { lines.append(format(r)) }
        let totals = totalsByType()
        if !totals.isEmpty {
            lines.append("")
            lines.append("largest per type:")
            for t in RDBStats.orderedTypes(totals.keys) {
                let s = totals[t]!
                lines.append("  \(t): value \(RDBStats.printable(s.largestValueKey)) \(s.largestValueBytes) bytes; most elements \(RDBStats.printable(s.mostElementsKey)) \(s.mostElements); longest key \(s.largestKeyBytes) bytes")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - CSV

    /// One row per (database, type), with a header.
    public func csv() -> String {
        settle()
        var out = "db,type,keys,expiring,already_expired,key_bytes,largest_key_bytes,largest_key,value_bytes,largest_value_bytes,largest_value_key,elements,most_elements,most_elements_key,largest_element_bytes,encodings_in_file,encodings_after_load\n"
        func q(_ s: String) -> String { "\"" + s.replacingAll("\"", with: "\"\"") + "\"" }
        func k(_ b: [UInt8]) -> String { q(String(ByteText.quoted(b, limit: 200).dropFirst().dropLast())) }
        let dbs = databases
        for db in dbs.keys.sorted() {
            for t in RDBStats.orderedTypes(dbs[db]!.keys) {
                let s = dbs[db]![t]!
                out += "\(db),\(t),\(s.keys),\(s.expiring),\(s.alreadyExpired),\(s.keyBytes),\(s.largestKeyBytes),\(k(s.largestKey)),"
                out += "\(s.valueBytes),\(s.largestValueBytes),\(k(s.largestValueKey)),\(s.elements),\(s.mostElements),"
                out += "\(k(s.mostElementsKey)),\(s.largestElementBytes),\(q(RDBStats.encodings(s.storedEncodings))),\(q(RDBStats.encodings(s.loadedEncodings)))\n"
            }
        }
        return out
    }

    // MARK: - JSON

    /// The stats as a JSON object (written into `out`).
    public func writeJSON(to out: FileOutput) throws {
        settle()
        func counts(_ d: [String: Int]) throws {
            out.writeASCII("{")
            for (i, k) in d.keys.sorted().enumerated() {
                if i > 0 { out.writeASCII(",") }
                out.writeJSONString(Array(k.utf8))
                try out.write(":\(d[k]!)")
            }
            out.writeASCII("}")
        }
        func cell(_ s: RDBTypeStats) throws {
            try out.write("{\"keys\":\(s.keys),\"expiring\":\(s.expiring),\"already_expired\":\(s.alreadyExpired),\"key_bytes\":\(s.keyBytes),\"largest_key_bytes\":\(s.largestKeyBytes),\"largest_key\":")
            out.writeJSONString(s.largestKey)
            try out.write(",\"value_bytes\":\(s.valueBytes),\"largest_value_bytes\":\(s.largestValueBytes),\"largest_value_key\":")
            out.writeJSONString(s.largestValueKey)
            try out.write(",\"elements\":\(s.elements),\"most_elements\":\(s.mostElements),\"most_elements_key\":")
            out.writeJSONString(s.mostElementsKey)
            try out.write(",\"largest_element_bytes\":\(s.largestElementBytes),\"encodings_in_file\":")
            try counts(s.storedEncodings)
            out.writeASCII(",\"encodings_after_load\":")
            try counts(s.loadedEncodings)
            out.writeASCII("}")
        }
        out.writeASCII("{\"keys\":")
        try out.write("\(totalKeys),\"expires\":\(expires),\"already_expired\":\(alreadyExpired),\"empty_keys\":\(emptyKeys),\"databases\":{")
        let dbs = databases
        for (i, db) in dbs.keys.sorted().enumerated() {
            if i > 0 { out.writeASCII(",") }
            try out.write("\"\(db)\":{")
            for (j, t) in RDBStats.orderedTypes(dbs[db]!.keys).enumerated() {
                if j > 0 { out.writeASCII(",") }
                try out.write("\"\(t)\":")
                try cell(dbs[db]![t]!)
            }
            out.writeASCII("}")
        }
        out.writeASCII("},\"types\":{")
        let totals = totalsByType()
        for (j, t) in RDBStats.orderedTypes(totals.keys).enumerated() {
            if j > 0 { out.writeASCII(",") }
            try out.write("\"\(t)\":")
            try cell(totals[t]!)
        }
        out.writeASCII("},\"module_types\":")
        try counts(moduleTypes)
        out.writeASCII(",\"module_aux\":")
        try counts(moduleAux)
        out.writeASCII(",\"function_libraries\":[")
        for (i, n) in functionLibraries.enumerated() {
            if i > 0 { out.writeASCII(",") }
            out.writeJSONString(Array(n.utf8))
        }
        out.writeASCII("],\"aux\":{")
        for (i, a) in aux.enumerated() {
            if i > 0 { out.writeASCII(",") }
            out.writeJSONString(a.key)
            out.writeASCII(":")
            out.writeJSONString(a.value)
        }
        out.writeASCII("}}")
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }

    func replacingAll(_ a: Character, with b: String) -> String {
        var out = ""
        for c in self { if c == a { out += b } else { out.append(c) } }
        return out
    }
}
