// The replies of COMMAND, COMMAND INFO, COMMAND DOCS, COMMAND LIST and COMMAND GETKEYS(ANDFLAGS), written
// from CommandMetadata in Redis 7.0's shapes (sets and maps in RESP3, flat arrays in RESP2), and key
// finding from key specs, with Redis's fallbacks for the commands whose specs cannot always say.
import StorageFormat

public enum CommandIntrospection {
    // MARK: - COMMAND INFO

    /// One command's 10-element COMMAND INFO entry, subcommands included.
    public static func writeInfo(_ ctx: CommandContext, _ m: CommandMetadata) {
        ctx.arrayHeader(10)
        ctx.bulk(m.name)
        ctx.integer(m.arity)
        ctx.setHeader(m.flags.count)
        for f in m.flags { ctx.simple(f) }
        ctx.integer(m.firstKey)
        ctx.integer(m.lastKey)
        ctx.integer(m.step)
        ctx.setHeader(m.aclCategories.count)
        for c in m.aclCategories { ctx.simple(c) }
        ctx.setHeader(m.tips.count)
        for t in m.tips { ctx.bulk(t) }
        ctx.setHeader(m.keySpecs.count)
        for s in m.keySpecs { writeKeySpec(ctx, s) }
        // Redis sends a container's subcommands as an array, and "none" as an empty set.
        if m.subcommands.isEmpty { ctx.setHeader(0) } else { ctx.arrayHeader(m.subcommands.count) }
        for s in m.subcommands { writeInfo(ctx, s) }
    }

    static func writeKeySpec(_ ctx: CommandContext, _ s: KeySpec) {
        ctx.mapHeader(s.notes == nil ? 3 : 4)
        if let notes = s.notes {
            ctx.bulk("notes")
            ctx.bulk(notes)
        }
        ctx.bulk("flags")
        ctx.setHeader(s.flags.count)
        for f in s.flags { ctx.simple(f) }
        ctx.bulk("begin_search")
        ctx.mapHeader(2)
        ctx.bulk("type")
        switch s.beginSearch {
        case .index(let i):
            ctx.bulk("index")
            ctx.bulk("spec")
            ctx.mapHeader(1)
            ctx.bulk("index"); ctx.integer(i)
        case .keyword(let k, let from):
            ctx.bulk("keyword")
            ctx.bulk("spec")
            ctx.mapHeader(2)
            ctx.bulk("keyword"); ctx.bulk(k)
            ctx.bulk("startfrom"); ctx.integer(from)
        case .unknown:
            ctx.bulk("unknown")
            ctx.bulk("spec")
            ctx.mapHeader(0)
        }
        ctx.bulk("find_keys")
        ctx.mapHeader(2)
        ctx.bulk("type")
        switch s.findKeys {
        case .range(let last, let step, let limit):
            ctx.bulk("range")
            ctx.bulk("spec")
            ctx.mapHeader(3)
            ctx.bulk("lastkey"); ctx.integer(last)
            ctx.bulk("keystep"); ctx.integer(step)
            ctx.bulk("limit"); ctx.integer(limit)
        case .keynum(let idx, let first, let step):
            ctx.bulk("keynum")
            ctx.bulk("spec")
            ctx.mapHeader(3)
            ctx.bulk("keynumidx"); ctx.integer(idx)
            ctx.bulk("firstkey"); ctx.integer(first)
            ctx.bulk("keystep"); ctx.integer(step)
        case .unknown:
            ctx.bulk("unknown")
            ctx.bulk("spec")
            ctx.mapHeader(0)
        }
    }

    // MARK: - COMMAND DOCS

    /// One command's COMMAND DOCS map (without its name), subcommands included.
    public static func writeDocs(_ ctx: CommandContext, _ m: CommandMetadata) {
        let d = m.docs
        var fields = 0
        for present in [d.summary != nil, d.since != nil, d.group != nil, d.complexity != nil, !d.docFlags.isEmpty,
                        d.deprecatedSince != nil, d.replacedBy != nil, !d.history.isEmpty, !d.arguments.isEmpty,
                        !m.subcommands.isEmpty] where present { fields += 1 }
        ctx.mapHeader(fields)
        if let v = d.summary { ctx.bulk("summary"); ctx.bulk(v) }
        if let v = d.since { ctx.bulk("since"); ctx.bulk(v) }
        if let v = d.group { ctx.bulk("group"); ctx.bulk(v) }
        if let v = d.complexity { ctx.bulk("complexity"); ctx.bulk(v) }
        if !d.docFlags.isEmpty {
            ctx.bulk("doc_flags")
            ctx.setHeader(d.docFlags.count)
            for f in d.docFlags { ctx.simple(f) }
        }
        if let v = d.deprecatedSince { ctx.bulk("deprecated_since"); ctx.bulk(v) }
        if let v = d.replacedBy { ctx.bulk("replaced_by"); ctx.bulk(v) }
        if !d.history.isEmpty {
            ctx.bulk("history")
            ctx.setHeader(d.history.count)
            for h in d.history {
                ctx.arrayHeader(2)
                ctx.bulk(h.version)
                ctx.bulk(h.change)
            }
        }
        if !d.arguments.isEmpty {
            ctx.bulk("arguments")
            writeArguments(ctx, d.arguments)
        }
        if !m.subcommands.isEmpty {
            ctx.bulk("subcommands")
            ctx.mapHeader(m.subcommands.count)
            for s in m.subcommands {
                ctx.bulk(s.name)
                writeDocs(ctx, s)
            }
        }
    }

    static func writeArguments(_ ctx: CommandContext, _ args: [CommandArgument]) {
        ctx.arrayHeader(args.count)
        for a in args {
            var fields = 2
            for present in [a.keySpecIndex != nil, a.token != nil, a.since != nil, a.deprecatedSince != nil,
                            !a.flags.isEmpty, !a.arguments.isEmpty] where present { fields += 1 }
            ctx.mapHeader(fields)
            ctx.bulk("name"); ctx.bulk(a.name)
            ctx.bulk("type"); ctx.bulk(a.type)
            if let v = a.keySpecIndex { ctx.bulk("key_spec_index"); ctx.integer(v) }
            if let v = a.token { ctx.bulk("token"); ctx.bulk(v) }
            if let v = a.since { ctx.bulk("since"); ctx.bulk(v) }
            if let v = a.deprecatedSince { ctx.bulk("deprecated_since"); ctx.bulk(v) }
            if !a.flags.isEmpty {
                ctx.bulk("flags")
                ctx.setHeader(a.flags.count)
                for f in a.flags { ctx.simple(f) }
            }
            if !a.arguments.isEmpty {
                ctx.bulk("arguments")
                writeArguments(ctx, a.arguments)
            }
        }
    }

    // MARK: - COMMAND LIST

    /// A COMMAND LIST FILTERBY filter.
    public enum ListFilter {
        case module(String)
        case aclCategory(String)
        case pattern([UInt8])

        func matches(_ m: CommandMetadata) -> Bool {
            switch self {
            case .module: return false // no modules
            case .aclCategory(let c): return m.isInCategory(c)
            case .pattern: return matches(name: m.name)
            }
        }

        /// Whether a bare command name passes (only a pattern can match without metadata).
        func matches(name: String) -> Bool {
            if case .pattern(let p) = self { return globMatch(pattern: p, string: Array(name.utf8), noCase: true) }
            return false
        }
    }

    /// Command names, subcommands after their container, that pass `filter` (every one when nil).
    public static func listNames(_ commands: [CommandMetadata], filter: ListFilter?) -> [String] {
        var out: [String] = []
        func visit(_ m: CommandMetadata) {
            if filter?.matches(m) ?? true { out.append(m.name) }
            m.subcommands.forEach(visit)
        }
        commands.forEach(visit)
        return out
    }

    // MARK: - Keys

    /// A key argument found in a command line: its index and how the command uses it.
    public struct KeyReference: Equatable, Sendable {
        public let index: Int
        public let flags: [String]
    }

    /// The keys of the full command line `args` (args[0] is the command name) for the command `m`
    /// describes, as Redis 7.0 finds them: from the key specs when they can say, else by the
    /// command's own rules (SORT, SET, and the commands that take a key count). Empty when there are
    /// none or the line is malformed.
    public static func keys(_ m: CommandMetadata, _ args: [[UInt8]]) -> [KeyReference] {
        if m.name == "migrate" { return migrateKeys(m, args) }
        let usable = m.keySpecs.contains { !$0.flags.contains("not_key") }
        let variable = m.keySpecs.contains { $0.flags.contains("variable_flags") }
        if usable && !variable, let found = keysFromSpecs(m, args) { return found }
        return keysByCommandRules(m.name, args)
    }

    /// MIGRATE's keys as Redis finds them: with KEYS (found among the options, past AUTH's and AUTH2's
    /// values) and an empty key argument, the keys after it; otherwise the key argument.
    static func migrateKeys(_ m: CommandMetadata, _ args: [[UInt8]]) -> [KeyReference] {
        let flags = (m.keySpecs.first.map(\.flags) ?? []).filter { $0 != "incomplete" }
        var i = 6
        while i < args.count {
            switch asciiLowercased(args[i]) {
            case Array("auth".utf8): i += 1
            case Array("auth2".utf8): i += 2
            case Array("keys".utf8):
                // KEYS with a non-empty key argument is malformed: no keys, as Redis.
                guard args[3].isEmpty else { return [] }
                return (i + 1 ..< args.count).map { KeyReference(index: $0, flags: flags) }
            default: break
            }
            i += 1
        }
        return args.count > 3 ? [KeyReference(index: 3, flags: flags)] : []
    }

    /// True when the command has keys at all (a spec that is not `not_key`, or its own rules).
    public static func hasKeys(_ m: CommandMetadata) -> Bool {
        m.keySpecs.contains { !$0.flags.contains("not_key") } || keyRules[m.name] != nil
    }

    /// Keys by the specs; nil when a spec cannot be applied to this line (the caller falls back).
    static func keysFromSpecs(_ m: CommandMetadata, _ args: [[UInt8]]) -> [KeyReference]? {
        let argc = args.count
        var out: [KeyReference] = []
        for spec in m.keySpecs where !spec.flags.contains("not_key") {
            var first = 0
            switch spec.beginSearch {
            case .index(let i): first = i
            case .keyword(let word, let from):
                let target = Array(word.lowercased().utf8)
                let backwards = from <= 0
                var i = backwards ? argc + from : from
                let stop = backwards ? 0 : argc - 1
                while i != stop, i >= 1, i < argc {
                    if asciiLowercased(args[i]) == target { first = i + 1; break }
                    i += backwards ? -1 : 1
                }
                if first == 0 { continue } // the keyword is not there: no keys from this spec
            case .unknown: return nil
            }
            var last: Int, step: Int
            switch spec.findKeys {
            case .range(let lastKey, let keyStep, let limit):
                step = keyStep
                if lastKey >= 0 {
                    last = first + lastKey
                } else if limit == 0 {
                    last = argc + lastKey
                } else {
                    last = first + ((argc - first) / limit + lastKey)
                }
            case .keynum(let numIndex, let firstKey, let keyStep):
                step = keyStep
                guard first + numIndex < argc, let n = StrictInteger.parse(args[first + numIndex]), n >= 0,
                      n <= Int64(argc) else { return nil }
                first += firstKey
                last = first + Int(n) - 1
            case .unknown: return nil
            }
            if last >= argc || last < first || first >= argc { return nil }
            var i = first
            while i <= last {
                out.append(KeyReference(index: i, flags: spec.flags))
                i += max(step, 1)
            }
        }
        return out
    }

    /// Where a command that counts its keys finds them: the count's index, the first key's, and the
    /// destination's (0 for none, listed last).
    struct CountedKeys {
        let countAt: Int, firstAt: Int, destinationAt: Int
    }

    static let keyRules: [String: CountedKeys] = [
        "zunion": CountedKeys(countAt: 1, firstAt: 2, destinationAt: 0),
        "zinter": CountedKeys(countAt: 1, firstAt: 2, destinationAt: 0),
        "zdiff": CountedKeys(countAt: 1, firstAt: 2, destinationAt: 0),
        "zintercard": CountedKeys(countAt: 1, firstAt: 2, destinationAt: 0),
        "sintercard": CountedKeys(countAt: 1, firstAt: 2, destinationAt: 0),
        "lmpop": CountedKeys(countAt: 1, firstAt: 2, destinationAt: 0),
        "zmpop": CountedKeys(countAt: 1, firstAt: 2, destinationAt: 0),
        "blmpop": CountedKeys(countAt: 2, firstAt: 3, destinationAt: 0),
        "bzmpop": CountedKeys(countAt: 2, firstAt: 3, destinationAt: 0),
        "zunionstore": CountedKeys(countAt: 2, firstAt: 3, destinationAt: 1),
        "zinterstore": CountedKeys(countAt: 2, firstAt: 3, destinationAt: 1),
        "zdiffstore": CountedKeys(countAt: 2, firstAt: 3, destinationAt: 1),
        // SORT, SORT_RO and SET have rules of their own below; these entries only mark that they have rules.
        "sort": CountedKeys(countAt: 0, firstAt: 0, destinationAt: 0),
        "sort_ro": CountedKeys(countAt: 0, firstAt: 0, destinationAt: 0),
        "set": CountedKeys(countAt: 0, firstAt: 0, destinationAt: 0),
        "bitfield": CountedKeys(countAt: 0, firstAt: 0, destinationAt: 0),
    ]

    static func keysByCommandRules(_ name: String, _ args: [[UInt8]]) -> [KeyReference] {
        let argc = args.count
        switch name {
        case "set":
            // The key is read as well as written when GET is among the options.
            let get = argc > 3 && args[3...].contains { asciiLowercased($0) == Array("get".utf8) }
            return [KeyReference(index: 1, flags: get ? ["RW", "access", "update"] : ["OW", "update"])]
        case "bitfield":
            // Read-only while every operation is a GET (or OVERFLOW); a SET, an INCRBY or anything
            // unparsable makes it a write, as Redis decides its key's flags.
            guard argc > 1 else { return [] }
            var readOnly = true
            var i = 2
            scan: while i < argc {
                let left = argc - i - 1
                switch asciiLowercased(args[i]) {
                case Array("get".utf8) where left >= 2: i += 3
                case Array("overflow".utf8) where left >= 1: i += 2
                default: readOnly = false; break scan
                }
            }
            return [KeyReference(index: 1, flags: readOnly ? ["RO", "access"] : ["RW", "access", "update"])]
        case "sort", "sort_ro":
            var out = [KeyReference(index: 1, flags: ["RO", "access"])]
            guard name == "sort" else { return out }
            // Options with arguments are skipped whole; the last STORE wins.
            var store: Int? = nil
            var i = 2
            while i < argc {
                switch asciiLowercased(args[i]) {
                case Array("limit".utf8): i += 2
                case Array("get".utf8), Array("by".utf8): i += 1
                case Array("store".utf8) where i + 1 < argc: store = i + 1
                default: break
                }
                i += 1
            }
            if let store { out.append(KeyReference(index: store, flags: ["OW", "update"])) }
            return out
        default:
            guard let r = keyRules[name], r.countAt > 0, r.countAt < argc else { return [] }
            let n = leadingInteger(args[r.countAt])
            guard n >= 1, n <= argc - r.firstAt else { return [] }
            var out = (0 ..< n).map { KeyReference(index: r.firstAt + $0, flags: []) }
            if r.destinationAt > 0 { out.append(KeyReference(index: r.destinationAt, flags: [])) }
            return out
        }
    }

    /// The integer a C `atoi` reads from the start of `b` (leading blanks, a sign, then digits).
    static func leadingInteger(_ b: [UInt8]) -> Int {
        var i = 0
        while i < b.count, b[i] == 32 || (b[i] >= 9 && b[i] <= 13) { i += 1 }
        var negative = false
        if i < b.count, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") {
            negative = b[i] == UInt8(ascii: "-")
            i += 1
        }
        var v = 0
        while i < b.count, b[i] >= 48, b[i] <= 57, v < Int(Int32.max) {
            v = v * 10 + Int(b[i] - 48)
            i += 1
        }
        return negative ? -v : v
    }

    static func asciiLowercased(_ b: [UInt8]) -> [UInt8] { b.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 } }
}
