// Access control (Redis 7.0 ACLs): users with passwords, key patterns (read/write), channel
// patterns and command permissions, grouped in selectors; the rule language of ACL SETUSER and the
// canonical text ACL LIST prints; the permission check dispatch runs; the ACL LOG.
//
// Command permissions are a bitmap over every command and subcommand Redis 7.0 knows (the command
// metadata table), plus one bit for "commands added in the future", which only +@all sets. Like
// Redis, ACL LIST does not replay the rules as given: it describes the bitmap by fitting
// categories, then lists single commands that still differ.

/// Every command and subcommand, numbered, with their ACL categories as bits.
final class ACLCommandTable: Sendable {
    static let shared = ACLCommandTable()
    /// Redis's category table, in its order (ACL CAT lists them this way).
    static let categoryNames = ["keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
                                "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
                                "dangerous", "connection", "transaction", "scripting"]

    let names: [String]
    let categories: [UInt32]
    let arity: [Int]
    let noAuth: [Bool]
    let children: [[Int]]
    let topLevel: [Int]
    let byName: [String: Int]
    /// Key specs where Cairn has them (the commands it implements); nil otherwise.
    let metadata: [CommandMetadata?]
    /// The bit only +@all sets.
    var futureBit: Int { names.count }
    var wordCount: Int { (names.count + 1 + 63) / 64 }

    init() {
        var names: [String] = [], cats: [UInt32] = [], arity: [Int] = [], noAuth: [Bool] = []
        var children: [[Int]] = [], top: [Int] = [], byName: [String: Int] = [:], meta: [CommandMetadata?] = []
        for line in ACLCommandList.text.split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            let id = names.count
            names.append(f[0]); arity.append(Int(f[1])!); noAuth.append(f[2] == "1")
            var b: UInt32 = 0
            for c in f[3].split(separator: ",") {
                if let i = ACLCommandTable.categoryNames.firstIndex(of: String(c)) { b |= 1 << UInt32(i) }
            }
            cats.append(b); children.append([]); meta.append(CommandMetadata.lookup(f[0]))
            byName[f[0]] = id
            if let bar = f[0].firstIndex(of: "|") {
                children[byName[String(f[0][..<bar])]!].append(id)
            } else {
                top.append(id)
            }
        }
        self.names = names; self.categories = cats; self.arity = arity; self.noAuth = noAuth
        self.children = children; self.topLevel = top; self.byName = byName; self.metadata = meta
    }

    static func categoryBit(_ name: String) -> UInt32? {
        let l = name.lowercased()
        return categoryNames.firstIndex(of: l).map { 1 << UInt32($0) }
    }

    /// ACL rule lookup: "name" or "container|sub" (any case); nil otherwise.
    func lookup(_ name: [UInt8]) -> Int? {
        let parts = name.split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return nil }
        let lower = String(decoding: name.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
        guard let id = byName[lower] else { return nil }
        if parts.count == 2 && !lower.contains("|") { return nil }
        return id
    }

    func isContainer(_ id: Int) -> Bool { !children[id].isEmpty }
    func isSubcommand(_ id: Int) -> Bool { names[id].contains("|") }
}

/// Key pattern permissions.
public struct ACLKeyPattern: Equatable {
    public static let read: UInt8 = 1
    public static let write: UInt8 = 2
    public var pattern: [UInt8]
    public var flags: UInt8

    func described() -> [UInt8] {
        switch flags {
        case ACLKeyPattern.read | ACLKeyPattern.write: return [UInt8(ascii: "~")] + pattern
        case ACLKeyPattern.read: return Array("%R~".utf8) + pattern
        default: return Array("%W~".utf8) + pattern
        }
    }
}

/// One set of permissions: the user's root selector, or one of its "(...)" selectors.
public struct ACLSelector {
    var root: Bool
    var allKeys = false
    var allChannels = false
    var allCommands = false
    var patterns: [ACLKeyPattern] = []
    var channels: [[UInt8]] = []
    var bits: [UInt64]
    /// Allowed first arguments of commands otherwise denied (+select|0).
    var firstArgs: [Int: [[UInt8]]] = [:]

    init(root: Bool, allChannels: Bool) {
        self.root = root
        self.allChannels = allChannels
        bits = [UInt64](repeating: 0, count: ACLCommandTable.shared.wordCount)
    }

    func bit(_ id: Int) -> Bool { bits[id >> 6] & (1 << UInt64(id & 63)) != 0 }

    mutating func setBit(_ id: Int, _ on: Bool) {
        if on {
            bits[id >> 6] |= 1 << UInt64(id & 63)
        } else {
            bits[id >> 6] &= ~(1 << UInt64(id & 63))
            allCommands = false
        }
    }

    /// Allows or denies a command and, for a container, all its subcommands.
    mutating func changePermission(_ id: Int, _ on: Bool) {
        setBit(id, on)
        firstArgs[id] = nil
        for c in ACLCommandTable.shared.children[id] { setBit(c, on) }
    }

    mutating func changeCategory(_ cat: UInt32, _ on: Bool) {
        let t = ACLCommandTable.shared
        for id in 0 ..< t.names.count where t.categories[id] & cat != 0 { changePermission(id, on) }
    }

    func countCategory(_ cat: UInt32) -> (on: Int, off: Int) {
        let t = ACLCommandTable.shared
        var on = 0, off = 0
        for id in 0 ..< t.names.count where t.categories[id] & cat != 0 {
            if bit(id) { on += 1 } else { off += 1 }
        }
        return (on, off)
    }

    enum RuleError: Error { case syntax, unknown, keysAfterAll, channelsAfterAll, subcommandFirstArg }

    /// Applies one selector rule (everything but the user-level ones).
    mutating func apply(_ op: [UInt8]) throws(RuleError) {
        let t = ACLCommandTable.shared
        let lower = String(decoding: op, as: UTF8.self).lowercased()
        switch lower {
        case "allkeys", "~*":
            allKeys = true; patterns.removeAll()
            return
        case "resetkeys":
            allKeys = false; patterns.removeAll()
            return
        case "allchannels", "&*":
            allChannels = true; channels.removeAll()
            return
        case "resetchannels":
            allChannels = false; channels.removeAll()
            return
        case "allcommands", "+@all":
            for i in bits.indices { bits[i] = ~0 }
            allCommands = true; firstArgs.removeAll()
            return
        case "nocommands", "-@all":
            for i in bits.indices { bits[i] = 0 }
            allCommands = false; firstArgs.removeAll()
            return
        default: break
        }
        guard let first = op.first else { return }
        switch first {
        case UInt8(ascii: "~"), UInt8(ascii: "%"):
            if allKeys { throw .keysAfterAll }
            var flags: UInt8 = 0
            var offset = 1
            if first == UInt8(ascii: "%") {
                while offset < op.count {
                    let c = op[offset] & ~0x20
                    if c == UInt8(ascii: "R") && flags & ACLKeyPattern.read == 0 {
                        flags |= ACLKeyPattern.read
                    } else if c == UInt8(ascii: "W") && flags & ACLKeyPattern.write == 0 {
                        flags |= ACLKeyPattern.write
                    } else if op[offset] == UInt8(ascii: "~") {
                        offset += 1
                        break
                    } else {
                        throw .syntax
                    }
                    offset += 1
                }
                if flags == 0 { throw .syntax }
            } else {
                flags = ACLKeyPattern.read | ACLKeyPattern.write
            }
            let pattern = Array(op[min(offset, op.count)...])
            if let i = patterns.firstIndex(where: { $0.pattern == pattern }) {
                patterns[i].flags |= flags
            } else {
                patterns.append(ACLKeyPattern(pattern: pattern, flags: flags))
            }
        case UInt8(ascii: "&"):
            if allChannels { throw .channelsAfterAll }
            let pattern = Array(op.dropFirst())
            if !channels.contains(pattern) { channels.append(pattern) }
        case UInt8(ascii: "+") where op.count > 1 && op[1] != UInt8(ascii: "@"):
            let name = Array(op.dropFirst())
            guard let bar = name.lastIndex(of: UInt8(ascii: "|")) else {
                guard let id = t.lookup(name) else { throw .unknown }
                changePermission(id, true)
                return
            }
            guard let id = t.lookup(Array(name[..<bar])) else { throw .unknown }
            if t.isSubcommand(id) { throw .subcommandFirstArg }
            let sub = Array(name[(bar + 1)...])
            if sub.isEmpty { throw .syntax }
            if t.isContainer(id) {
                guard let subID = t.lookup(name) else { throw .unknown }
                changePermission(subID, true)
            } else {
                let lowered = sub.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
                var list = firstArgs[id] ?? []
                if !list.contains(where: { $0.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 } == lowered }) { list.append(sub) }
                firstArgs[id] = list
            }
        case UInt8(ascii: "-") where op.count > 1 && op[1] != UInt8(ascii: "@"):
            guard let id = t.lookup(Array(op.dropFirst())) else { throw .unknown }
            changePermission(id, false)
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard op.count > 2, let cat = ACLCommandTable.categoryBit(String(decoding: op.dropFirst(2), as: UTF8.self)) else {
                throw .unknown
            }
            changeCategory(cat, first == UInt8(ascii: "+"))
        default:
            throw .syntax
        }
    }

    /// The command part of the canonical description ("-@all +@read -get ...").
    func describeCommands() -> String {
        let t = ACLCommandTable.shared
        var rules: [String] = []
        var fake = ACLSelector(root: false, allChannels: false)
        let additive: Bool
        if bit(t.futureBit) {
            additive = false
            rules.append("+@all")
            try? fake.apply(Array("+@all".utf8))
        } else {
            additive = true
            rules.append("-@all")
        }
        var temp = self
        var applied = [Bool](repeating: false, count: ACLCommandTable.categoryNames.count)
        while true {
            var best = -1, minDiff = Int.max, maxSame = 0
            for (j, _) in ACLCommandTable.categoryNames.enumerated() where !applied[j] {
                let (on, off) = temp.countCategory(1 << UInt32(j))
                let diff = additive ? off : on
                let same = additive ? on : off
                if same > diff && (diff < minDiff || (diff == minDiff && same > maxSame)) {
                    best = j; minDiff = diff; maxSame = same
                }
            }
            if best < 0 { break }
            let cat: UInt32 = 1 << UInt32(best)
            fake.changeCategory(cat, additive)
            temp.changeCategory(cat, !additive)
            rules.append((additive ? "+@" : "-@") + ACLCommandTable.categoryNames[best])
            applied[best] = true
        }
        func single(_ id: Int) {
            let userBit = bit(id)
            if userBit != fake.bit(id) {
                rules.append((userBit ? "+" : "-") + t.names[id])
                fake.changePermission(id, userBit)
            }
            for c in t.children[id] { single(c) }
            if !userBit, let list = firstArgs[id] {
                for a in list { rules.append("+" + t.names[id] + "|" + String(decoding: a, as: UTF8.self)) }
            }
        }
        for id in t.topLevel { single(id) }
        return rules.joined(separator: " ")
    }

    /// Keys as GETUSER shows them: "~*", or the patterns separated by spaces.
    func describeKeys() -> [UInt8] {
        if allKeys { return Array("~*".utf8) }
        var out: [UInt8] = []
        for (i, p) in patterns.enumerated() {
            if i > 0 { out.append(32) }
            out += p.described()
        }
        return out
    }

    func describeChannels() -> [UInt8] {
        if allChannels { return Array("&*".utf8) }
        var out: [UInt8] = []
        for (i, c) in channels.enumerated() {
            if i > 0 { out.append(32) }
            out.append(UInt8(ascii: "&"))
            out += c
        }
        return out
    }

    /// The selector as ACL LIST prints it.
    func describe() -> [UInt8] {
        var out: [UInt8] = []
        if allKeys {
            out += Array("~* ".utf8)
        } else {
            for p in patterns { out += p.described(); out.append(32) }
        }
        if allChannels {
            out += Array("&* ".utf8)
        } else {
            out += Array("resetchannels ".utf8)
            for c in channels { out.append(UInt8(ascii: "&")); out += c; out.append(32) }
        }
        out += Array(describeCommands().utf8)
        return out
    }

    // MARK: Checking

    func checkKey(_ key: [UInt8], _ flags: UInt8) -> Bool {
        if allKeys { return true }
        for p in patterns where p.flags & flags == flags {
            if globMatch(pattern: p.pattern, string: key, noCase: false) { return true }
        }
        return false
    }

    func checkChannel(_ channel: [UInt8], isPattern: Bool) -> Bool {
        if allChannels { return true }
        for c in channels {
            if isPattern ? c == channel : globMatch(pattern: c, string: channel, noCase: false) { return true }
        }
        return false
    }

    /// Checks one command line; on denial, the reason and the offending argument's index.
    func check(_ request: ACLRequest) -> (ACLDenial, Int)? {
        let t = ACLCommandTable.shared
        let id = request.commandID
        if !allCommands && !t.noAuth[id] && !bit(id) {
            let argIndex = t.isSubcommand(id) ? 2 : 1
            guard request.args.count > argIndex, let list = firstArgs[id] else { return (.command, 0) }
            let a = request.args[argIndex].map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
            if !list.contains(where: { $0.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 } == a }) { return (.command, 0) }
        }
        if !allKeys {
            for k in request.keys where !checkKey(request.args[k.index], k.flags) { return (.key, k.index) }
        }
        if !allChannels {
            for c in request.channels where !checkChannel(request.args[c.index], isPattern: c.isPattern) {
                return (.channel, c.index)
            }
        }
        return nil
    }
}

/// Why a command was refused (Redis's order: a command denial ranks below key below auth below channel).
public enum ACLDenial: Int, Comparable {
    case command = 1, key = 2, auth = 3, channel = 4
    public static func < (a: ACLDenial, b: ACLDenial) -> Bool { a.rawValue < b.rawValue }
    var logName: String {
        switch self {
        case .command: return "command"
        case .key: return "key"
        case .auth: return "auth"
        case .channel: return "channel"
        }
    }
}

/// A command line prepared for checking: its command id, keys and channels, found once.
struct ACLRequest {
    let commandID: Int
    let args: [[UInt8]]
    let keys: [(index: Int, flags: UInt8)]
    let channels: [(index: Int, isPattern: Bool)]

    init(commandID: Int, args: [[UInt8]]) {
        self.commandID = commandID
        self.args = args
        let t = ACLCommandTable.shared
        var keys: [(Int, UInt8)] = []
        if let m = t.metadata[commandID], CommandIntrospection.hasKeys(m) {
            for k in CommandIntrospection.keys(m, args) {
                var f: UInt8 = 0
                if k.flags.contains("access") { f |= ACLKeyPattern.read }
                if k.flags.contains("insert") || k.flags.contains("delete") || k.flags.contains("update") { f |= ACLKeyPattern.write }
                keys.append((k.index, f))
            }
        }
        self.keys = keys
        var channels: [(Int, Bool)] = []
        switch t.names[commandID] {
        case "publish", "spublish": if args.count > 1 { channels.append((1, false)) }
        case "subscribe", "ssubscribe": for i in 1 ..< args.count { channels.append((i, false)) }
        case "psubscribe": for i in 1 ..< args.count { channels.append((i, true)) }
        default: break
        }
        self.channels = channels
    }
}

/// A user: flags, password hashes (SHA-256, hex), and selectors (the root one first).
public final class ACLUser {
    public let name: [UInt8]
    var state: State {
        didSet { unrestricted = ACLUser.isUnrestricted(state) }
    }
    /// Every command, key and channel allowed: dispatch skips the checks (read on every command).
    private(set) var unrestricted = false

    static func isUnrestricted(_ s: State) -> Bool {
        let root = s.selectors[0]
        return root.allCommands && root.allKeys && root.allChannels
    }

    public struct State {
        var enabled = false
        var disabled = true
        var nopass = false
        var skipSanitize = false
        var sanitize = false
        var passwords: [String] = []
        var selectors: [ACLSelector]
    }

    init(name: [UInt8], allChannels: Bool) {
        self.name = name
        state = State(selectors: [ACLSelector(root: true, allChannels: allChannels)])
        unrestricted = ACLUser.isUnrestricted(state)
    }

    public var isEnabled: Bool { state.enabled && !state.disabled }
    public var hasNoPass: Bool { state.nopass }

    var flagNames: [String] {
        var out: [String] = []
        if state.enabled { out.append("on") }
        if state.disabled { out.append("off") }
        if state.nopass { out.append("nopass") }
        if state.skipSanitize { out.append("skip-sanitize-payload") }
        if state.sanitize { out.append("sanitize-payload") }
        return out
    }

    /// The rules after "user <name> " in ACL LIST and the ACL file.
    public func describe() -> [UInt8] {
        var out: [UInt8] = []
        for f in flagNames { out += Array(f.utf8); out.append(32) }
        for p in state.passwords { out.append(UInt8(ascii: "#")); out += Array(p.utf8); out.append(32) }
        for s in state.selectors {
            if s.root {
                out += s.describe()
            } else {
                out += Array(" (".utf8) + s.describe() + [UInt8(ascii: ")")]
            }
        }
        return out
    }

    func passwordMatches(_ password: [UInt8]) -> Bool {
        let h = Array(sha256Hex(password).utf8)
        var found = false
        for p in state.passwords {
            let b = Array(p.utf8)
            var diff: UInt8 = b.count == h.count ? 0 : 1
            for i in 0 ..< min(b.count, h.count) { diff |= b[i] ^ h[i] }
            if diff == 0 { found = true }
        }
        return found
    }
}

/// One ACL LOG entry.
public struct ACLLogEntry {
    public var count: Int
    public var reason: String
    public var context: String
    public var object: [UInt8]
    public var username: [UInt8]
    public var ctime: Int64
    public var clientInfo: String
}

enum MergedRules {
    case rules([[UInt8]])
    case failure(Int)
}

/// ACL file text read into users, or Redis's error text.
public enum ParsedUsers {
    case users([ACLUser])
    case failure(String)
}

/// The users, the log, and the rule language.
public final class AccessControl {
    public private(set) var users: [ByteString: ACLUser] = [:]
    public private(set) var defaultUser: ACLUser
    public var log: [ACLLogEntry] = []
    public var logMaxLen = 128
    /// acl-pubsub-default: whether new users start with allchannels.
    public var pubsubDefaultAllChannels = false
    /// ACL LOAD / ACL SAVE: the server does the file work; nil when no aclfile is configured.
    public var loadFile: (() -> String?)? = nil
    public var saveFile: (() -> String?)? = nil
    /// enable-debug-command (the server sets it from its configuration; in-process engines allow DEBUG).
    public var debugCommand: ProtectedAction = .yes

    /// The user internal clients (AOF replay) run as: allowed everything, never listed.
    public let internalUser: ACLUser = {
        let u = ACLUser(name: Array("(internal)".utf8), allChannels: true)
        for op in ["+@all", "~*", "&*", "on", "nopass"] { _ = try? AccessControl.applyUserRule(&u.state, Array(op.utf8), allChannels: true) }
        return u
    }()

    public init() {
        defaultUser = AccessControl.makeDefaultUser()
        users[ByteString(defaultUser.name)] = defaultUser
    }

    static func makeDefaultUser() -> ACLUser {
        let u = ACLUser(name: Array("default".utf8), allChannels: false)
        for op in ["+@all", "~*", "&*", "on", "nopass"] { _ = try? AccessControl.applyUserRule(&u.state, Array(op.utf8), allChannels: false) }
        return u
    }

    public func user(named name: [UInt8]) -> ACLUser? { users[ByteString(name)] }

    /// Users sorted by name (ACL LIST / USERS order).
    public var sortedUsers: [ACLUser] { users.values.sorted { $0.name.lexicographicallyPrecedes($1.name) } }

    /// Whether a fresh connection is authenticated without AUTH.
    /// Whether `s`'s user may run everything (dispatch then skips the permission checks).
    @inline(__always) func sessionUnrestricted(_ s: Session) -> Bool {
        if let u = s.user { return u.unrestricted }
        return defaultUser.unrestricted
    }
    public var defaultAutoAuth: Bool { defaultUser.state.nopass && !defaultUser.state.disabled }

    /// requirepass: the default user's password (nil = nopass).
    public func setDefaultPassword(_ password: [UInt8]?) {
        _ = try? AccessControl.applyUserRule(&defaultUser.state, Array("resetpass".utf8), allChannels: pubsubDefaultAllChannels)
        if let password {
            _ = try? AccessControl.applyUserRule(&defaultUser.state, [UInt8(ascii: ">")] + password, allChannels: pubsubDefaultAllChannels)
        } else {
            _ = try? AccessControl.applyUserRule(&defaultUser.state, Array("nopass".utf8), allChannels: pubsubDefaultAllChannels)
        }
    }

    enum UserRuleError: Error {
        case selector(ACLSelector.RuleError), passwordMissing, badHash
        var message: String {
            switch self {
            case .selector(.unknown): return "Unknown command or category name in ACL"
            case .selector(.syntax): return "Syntax error"
            case .selector(.keysAfterAll):
                return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
            case .selector(.channelsAfterAll):
                return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"
            case .selector(.subcommandFirstArg): return "Allowing first-arg of a subcommand is not supported"
            case .passwordMissing: return "The password you are trying to remove from the user does not exist"
            case .badHash: return "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
            }
        }
    }

    static func validHash(_ h: ArraySlice<UInt8>) -> Bool {
        h.count == 64 && h.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// Applies one rule to a user's state.
    static func applyUserRule(_ u: inout ACLUser.State, _ op: [UInt8], allChannels: Bool) throws(UserRuleError) {
        if op.isEmpty { return }
        let lower = String(decoding: op, as: UTF8.self).lowercased()
        switch lower {
        case "on": u.enabled = true; u.disabled = false; return
        case "off": u.disabled = true; u.enabled = false; return
        case "skip-sanitize-payload": u.skipSanitize = true; u.sanitize = false; return
        case "sanitize-payload": u.skipSanitize = false; u.sanitize = true; return
        case "nopass": u.nopass = true; u.passwords.removeAll(); return
        case "resetpass": u.nopass = false; u.passwords.removeAll(); return
        case "clearselectors": u.selectors.removeAll { !$0.root }; return
        case "reset":
            for r in ["resetpass", "resetkeys", "resetchannels"] + (allChannels ? ["allchannels"] : [])
                + ["off", "sanitize-payload", "clearselectors", "-@all"] {
                try applyUserRule(&u, Array(r.utf8), allChannels: allChannels)
            }
            return
        default: break
        }
        switch op[0] {
        case UInt8(ascii: ">"), UInt8(ascii: "#"):
            let hash: String
            if op[0] == UInt8(ascii: ">") {
                hash = sha256Hex(Array(op.dropFirst()))
            } else {
                guard validHash(op.dropFirst()) else { throw .badHash }
                hash = String(decoding: op.dropFirst(), as: UTF8.self)
            }
            if !u.passwords.contains(hash) { u.passwords.append(hash) }
            u.nopass = false
        case UInt8(ascii: "<"), UInt8(ascii: "!"):
            let hash: String
            if op[0] == UInt8(ascii: "<") {
                hash = sha256Hex(Array(op.dropFirst()))
            } else {
                guard validHash(op.dropFirst()) else { throw .badHash }
                hash = String(decoding: op.dropFirst(), as: UTF8.self)
            }
            guard let i = u.passwords.firstIndex(of: hash) else { throw .passwordMissing }
            u.passwords.remove(at: i)
        case UInt8(ascii: "(") where op.last == UInt8(ascii: ")"):
            var s = ACLSelector(root: false, allChannels: allChannels)
            for part in splitArgs(Array(op.dropFirst().dropLast())) {
                do { try s.apply(part) } catch { throw .selector(error) }
            }
            u.selectors.append(s)
        default:
            do { try u.selectors[0].apply(op) } catch { throw .selector(error) }
        }
    }

    /// Splits a selector's inner text on spaces (Redis uses its argument splitter; rules have no quotes).
    static func splitArgs(_ b: [UInt8]) -> [[UInt8]] {
        b.split(whereSeparator: { $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }).map(Array.init)
    }

    /// Joins "(" ... ")" arguments into single selector rules; nil with the index of an unmatched one.
    static func mergeSelectorArguments(_ args: [[UInt8]]) -> MergedRules {
        var out: [[UInt8]] = []
        var open: [UInt8]? = nil
        var openAt = 0
        for (i, a) in args.enumerated() {
            if var cur = open {
                cur.append(32)
                cur += a
                if a.last == UInt8(ascii: ")") { out.append(cur); open = nil } else { open = cur }
            } else if a.first == UInt8(ascii: "("), a.last != UInt8(ascii: ")") {
                open = a
                openAt = i
            } else {
                out.append(a)
            }
        }
        if open != nil { return .failure(openAt) }
        return .rules(out)
    }

    /// ACL SETUSER: applies every rule or none. Returns the error text (without "ERR ") or nil.
    /// `changed` is called with an existing user and its previous rules.
    public func setUser(_ name: [UInt8], _ rules: [[UInt8]], changed: ((ACLUser, ACLUser.State) -> Void)? = nil) -> String? {
        let merged: [[UInt8]]
        switch AccessControl.mergeSelectorArguments(rules) {
        case .failure(let i):
            return "Unmatched parenthesis in acl selector starting at '\(String(decoding: rules[i], as: UTF8.self))'."
        case .rules(let m): merged = m
        }
        let existing = user(named: name)
        var state = existing?.state ?? ACLUser(name: name, allChannels: pubsubDefaultAllChannels).state
        for op in merged {
            do {
                try AccessControl.applyUserRule(&state, op, allChannels: pubsubDefaultAllChannels)
            } catch {
                return "Error in ACL SETUSER modifier '\(String(decoding: op, as: UTF8.self))': \(error.message)"
            }
        }
        if let existing {
            let old = existing.state
            existing.state = state
            changed?(existing, old)
        } else {
            let u = ACLUser(name: name, allChannels: pubsubDefaultAllChannels)
            u.state = state
            users[ByteString(name)] = u
        }
        return nil
    }

    /// Removes a user (not "default"); returns it when it existed.
    public func deleteUser(_ name: [UInt8]) -> ACLUser? {
        guard let u = users.removeValue(forKey: ByteString(name)) else { return nil }
        return u
    }

    /// Parses users from ACL file text ("user <name> <rules...>" lines, split on single spaces, as
    /// Redis 7.0 reads them: no comments, no quoting). Returns the users (not yet installed) or
    /// Redis's error text, which lists every bad line.
    public func parseUsers(_ text: [UInt8], path: String) -> ParsedUsers {
        var errors = ""
        var parsed: [ACLUser] = []
        var seen = Set<ByteString>()
        let lines = text.split(separator: 10, omittingEmptySubsequences: false)
        func isTrim(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }
        for (n, rawLine) in lines.enumerated() {
            var line = Array(rawLine)
            while let l = line.last, isTrim(l) { line.removeLast() }
            while let f = line.first, isTrim(f) { line.removeFirst() }
            if line.isEmpty { continue }
            let argv = line.split(separator: 32, omittingEmptySubsequences: false).map(Array.init)
            let lineNo = n + 1
            guard argv.count >= 2, argv[0] == Array("user".utf8) else {
                errors += "\(path):\(lineNo) should start with user keyword followed by the username. "
                continue
            }
            let name = argv[1]
            if AccessControl.hasSpaces(name) {
                errors += "'\(path):\(lineNo): username '\(String(decoding: name, as: UTF8.self))' contains invalid characters. "
                continue
            }
            if seen.contains(ByteString(name)) {
                errors += "WARNING: Duplicate user '\(String(decoding: name, as: UTF8.self))' found on line \(lineNo). "
                continue
            }
            seen.insert(ByteString(name))
            var merged: [[UInt8]] = []
            switch AccessControl.mergeSelectorArguments(Array(argv.dropFirst(2))) {
            case .failure:
                errors += "\(path):\(lineNo): Unmatched parenthesis in selector definition."
            case .rules(let m): merged = m
            }
            let u = ACLUser(name: name, allChannels: pubsubDefaultAllChannels)
            var syntaxError = false
            for var op in merged {
                while let l = op.last, l == 9 || l == 13 || l == 10 { op.removeLast() }
                while let f = op.first, f == 9 || f == 13 || f == 10 { op.removeFirst() }
                do {
                    try AccessControl.applyUserRule(&u.state, op, allChannels: pubsubDefaultAllChannels)
                } catch {
                    if case .selector(.unknown) = error {
                        errors += "\(path):\(lineNo): Error in applying operation '\(String(decoding: op, as: UTF8.self))': \(error.message). "
                    } else if !syntaxError {
                        errors += "\(path):\(lineNo): \(error.message). "
                        syntaxError = true
                    }
                }
            }
            parsed.append(u)
        }
        if !errors.isEmpty {
            return .failure(errors + "WARNING: ACL errors detected, no change to the previously active ACL rules was performed")
        }
        return .users(parsed)
    }

    /// Redis refuses user names with white space or NUL bytes.
    public static func hasSpaces(_ name: [UInt8]) -> Bool {
        name.contains { $0 == 0 || $0 == 32 || ($0 >= 9 && $0 <= 13) }
    }

    /// Replaces every user with `list` (ACL LOAD, or the aclfile at start). The default user object
    /// stays the same (its rules are replaced); a file without it leaves it as a fresh default user.
    /// Returns the users that were replaced (their clients are disconnected).
    @discardableResult
    public func install(_ list: [ACLUser]) -> [ACLUser] {
        let old = users.values.filter { $0 !== defaultUser }
        users.removeAll()
        defaultUser.state = AccessControl.makeDefaultUser().state
        users[ByteString(defaultUser.name)] = defaultUser
        for u in list {
            if u.name == defaultUser.name {
                defaultUser.state = u.state
            } else {
                users[ByteString(u.name)] = u
            }
        }
        return old
    }

    /// The ACL file text: one "user" line per user, sorted.
    public func fileText() -> [UInt8] {
        var out: [UInt8] = []
        for u in sortedUsers {
            out += Array("user ".utf8) + u.name + [32] + u.describe() + [10]
        }
        return out
    }

    /// Adds an entry to the ACL LOG, merging it with a recent identical one as Redis does.
    public func addLogEntry(reason: ACLDenial, context: String, object: [UInt8], username: [UInt8], now: Int64, clientInfo: String) {
        for i in 0 ..< min(10, log.count) {
            let e = log[i]
            if e.reason == reason.logName && e.context == context && e.object == object && e.username == username
                && now - e.ctime <= 60000 {
                var m = log.remove(at: i)
                m.count += 1
                m.ctime = now
                m.clientInfo = clientInfo
                log.insert(m, at: 0)
                return
            }
        }
        log.insert(ACLLogEntry(count: 1, reason: reason.logName, context: context, object: object, username: username,
                               ctime: now, clientInfo: clientInfo), at: 0)
        if log.count > max(0, logMaxLen) { log.removeLast(log.count - max(0, logMaxLen)) }
    }

    /// The command id for a dispatched command: its subcommand's for a container (nil when the
    /// subcommand is unknown or its arity is wrong: the handler then replies the error, as Redis
    /// does before checking permissions), or nil for a command the table lacks.
    func commandID(_ name: String, _ args: [[UInt8]]) -> Int? {
        let t = ACLCommandTable.shared
        guard let id = t.byName[name] else { return nil }
        guard t.isContainer(id) else { return id }
        guard args.count >= 2 else { return nil }
        let sub = name + "|" + String(decoding: args[1].map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
        guard let sid = t.byName[sub] else { return nil }
        let a = t.arity[sid]
        if (a > 0 && args.count != a) || (a < 0 && args.count < -a) { return nil }
        return sid
    }

    /// Checks a user's permission for a command line: nil when allowed, else the most relevant
    /// denial over all selectors and its argument index.
    func check(_ u: ACLUser, commandID: Int, args: [[UInt8]]) -> (ACLDenial, Int)? {
        let request = ACLRequest(commandID: commandID, args: args)
        var relevant = ACLDenial.command
        var lastIndex = 0
        for s in u.state.selectors {
            guard let (d, i) = s.check(request) else { return nil }
            if d > relevant || (d == relevant && i > lastIndex) {
                relevant = d
                lastIndex = i
            }
        }
        return (relevant, lastIndex)
    }

    /// The user's channel patterns across selectors, or nil when one selector allows every channel.
    static func channelPatterns(_ s: ACLUser.State) -> [[UInt8]]? {
        if s.selectors.contains(where: { $0.allChannels }) { return nil }
        return s.selectors.flatMap { $0.channels }
    }
}
