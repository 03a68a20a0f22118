// Client-side caching (CLIENT TRACKING), as Redis 7.0 keeps it: a table of key names → ids of the
// clients that read them; a write to a key sends each of those clients one invalidation and forgets
// the key. BCAST clients instead register prefixes; keys written under a prefix during one event-loop
// iteration are sent together before the server next waits. Messages are RESP3 pushes
// (`>2 invalidate [keys]`), or, for a RESP2 client redirecting to a subscribed connection, messages on
// `__redis__:invalidate`. A client's own invalidations raised while its command runs are held until
// its reply is written (`pending`), so they never interleave with it.
import StorageFormat

/// One client's tracking mode (CLIENT TRACKING's options) and state.
public struct ClientTrackingState {
    public var on = false
    public var bcast = false
    public var optin = false
    public var optout = false
    public var noloop = false
    /// CLIENT CACHING yes|no was given for the next command (or transaction).
    public var caching = false
    /// The redirect target was gone when an invalidation was due (CLIENT LIST flag R).
    public var brokenRedirect = false
    /// The client id invalidations go to (0: this connection).
    public var redirect = 0
    /// BCAST prefixes, sorted.
    public var prefixes: [ByteString] = []
    public init() {}
}

/// A BCAST prefix: its clients and the keys written under it since the last broadcast (key → id of
/// the client that wrote it last, 0 when none did).
final class BroadcastPrefix {
    var clients: [Int] = []
    var keys: [ByteString: Int] = [:]
}

/// What an invalidation carries: one key, an already encoded array of keys, or null (a flush).
enum TrackingPayload {
    case key(ByteString)
    case encoded([UInt8])
    case null
}

/// The server-wide tracking state.
public final class TrackingTable {
    /// Key name → ids of the clients that may have cached it.
    var keys: [ByteString: [Int]] = [:]
    /// Ids across all keys (INFO tracking_total_items).
    public internal(set) var totalItems = 0
    var prefixes: [ByteString: BroadcastPrefix] = [:]
    /// Clients with tracking on (INFO tracking_clients).
    public internal(set) var clients = 0
    /// Invalidations for the running command's own client, sent after its reply (nil: a flush).
    var pending: [ByteString?] = []
    /// How many consecutive passes ended still over `maxKeys` (each pass then works harder).
    var overLimitPasses = 0
    /// tracking-table-max-keys (0: no limit).
    public var maxKeys = 1_000_000
    public var totalKeys: Int { keys.count }
    public var totalPrefixes: Int { prefixes.count }
    static let channel = ByteString(Array("__redis__:invalidate".utf8))
}

extension Engine {
    // MARK: - Turning tracking on and off

    /// CLIENT TRACKING ON with checked options.
    func enableTracking(_ s: Session, redirect: Int, bcast: Bool, optin: Bool, optout: Bool, noloop: Bool,
                        prefixes: [ByteString]) {
        if !s.tracking.on { tracking.clients += 1 }
        s.tracking.on = true
        s.tracking.brokenRedirect = false
        s.tracking.bcast = false
        s.tracking.optin = false
        s.tracking.optout = false
        s.tracking.noloop = false
        s.tracking.redirect = redirect
        if bcast {
            s.tracking.bcast = true
            if prefixes.isEmpty { addBroadcastPrefix(s, ByteString()) }
            for p in prefixes { addBroadcastPrefix(s, p) }
        }
        s.tracking.optin = optin
        s.tracking.optout = optout
        s.tracking.noloop = noloop
    }

    private func addBroadcastPrefix(_ s: Session, _ prefix: ByteString) {
        let state: BroadcastPrefix
        if let found = tracking.prefixes[prefix] {
            state = found
        } else {
            state = BroadcastPrefix()
            tracking.prefixes[prefix] = state
        }
        guard !state.clients.contains(s.id) else { return }
        state.clients.append(s.id)
        if !s.tracking.prefixes.contains(prefix) {
            s.tracking.prefixes.append(prefix)
            s.tracking.prefixes.sort()
        }
    }

    /// CLIENT TRACKING OFF, RESET, and a closing connection.
    public func disableTracking(_ s: Session) {
        if s.tracking.bcast {
            for p in s.tracking.prefixes {
                guard let state = tracking.prefixes[p] else { continue }
                state.clients.removeAll { $0 == s.id }
                if state.clients.isEmpty { tracking.prefixes[p] = nil }
            }
        }
        s.tracking.prefixes.removeAll()
        if s.tracking.on {
            tracking.clients -= 1
            let redirect = s.tracking.redirect
            s.tracking = ClientTrackingState()
            s.tracking.redirect = redirect
        }
    }

    /// Redis's overlap test for two prefixes: one starts with the other.
    static func prefixesOverlap(_ a: ByteString, _ b: ByteString) -> Bool {
        let x = a.bytes, y = b.bytes
        let n = min(x.count, y.count)
        return x[0 ..< n] == y[0 ..< n]
    }

    // MARK: - Remembering what a client read

    /// After a read-only command of a tracking (not BCAST) client: remembers the keys it read, unless
    /// OPTIN without CACHING yes, or OPTOUT with CACHING no.
    /// After a read-only command: its keys are remembered for its client when that client tracks (not in
    /// BCAST mode). A read inside a script remembers the keys its EVAL/FCALL declared, for the script's
    /// caller, as Redis does (a script that reads nothing tracks nothing).
    @inline(__always) func trackingAfterRead(_ session: Session, _ spec: CommandSpec, _ args: [[UInt8]]) {
        if session.isScript {
            guard tracking.clients > 0, let run = currentScript, run.caller.tracking.on, !run.caller.tracking.bcast,
                  let name = run.command.first, let callerSpec = lookupCommand(name) else { return }
            trackingRememberKeys(run.caller, callerSpec, run.command)
        } else if session.tracking.on && !session.tracking.bcast {
            // A read-only script's own keys count only through the reads it makes (above).
            if spec.name == "eval_ro" || spec.name == "evalsha_ro" || spec.name == "fcall_ro" { return }
            trackingRememberKeys(session, spec, args)
        }
    }

    func trackingRememberKeys(_ s: Session, _ spec: CommandSpec, _ args: [[UInt8]]) {
        let t = s.tracking
        if (t.optin && !t.caching) || (t.optout && t.caching) { return }
        if spec.flags.contains(.pubsub) { return }
        for i in trackedKeyIndices(spec, args) {
            let key = ByteString(args[i])
            if tracking.keys[key]?.contains(s.id) == true { continue }
            tracking.keys[key, default: []].append(s.id)
            tracking.totalItems += 1
        }
    }

    /// The key arguments of a command line, as COMMAND GETKEYS finds them.
    func trackedKeyIndices(_ spec: CommandSpec, _ args: [[UInt8]]) -> [Int] {
        guard var meta = CommandMetadata.table[spec.name] else { return spec.keyIndices(argc: args.count) }
        if !meta.subcommands.isEmpty {
            guard args.count > 1, let sub = meta.subcommand(String(decoding: args[1], as: UTF8.self)) else { return [] }
            meta = sub
        }
        return CommandIntrospection.keys(meta, args).map(\.index)
    }

    // MARK: - Invalidating

    /// A key changed: remembered for BCAST prefixes it falls under (when `bcast`), and every client
    /// that read it is told once (the running client's own message waits for its reply).
    func trackingInvalidateKey(_ key: ByteString, bcast: Bool, immediate: Bool = false) {
        if bcast && !tracking.prefixes.isEmpty {
            for (p, state) in tracking.prefixes where p.count <= key.count && Engine.prefixesOverlap(p, key) {
                state.keys[key] = currentSessionID
            }
        }
        guard let ids = tracking.keys.removeValue(forKey: key) else { return }
        tracking.totalItems -= ids.count
        for id in ids {
            guard let target = sessions[id], target.tracking.on, !target.tracking.bcast else { continue }
            if target.tracking.noloop && id == currentSessionID { continue }
            if id == currentSessionID && !immediate {
                tracking.pending.append(key)
            } else {
                sendTrackingMessage(target, .key(key))
            }
        }
    }

    /// FLUSHDB / FLUSHALL: every tracking client gets a null invalidation; the table empties.
    public func trackingInvalidateOnFlush() {
        if tracking.clients > 0 {
            for id in sessions.keys.sorted() {
                guard let s = sessions[id], s.tracking.on else { continue }
                if id == currentSessionID { tracking.pending.append(nil) } else { sendTrackingMessage(s, .null) }
            }
        }
        tracking.keys.removeAll()
        tracking.totalItems = 0
    }

    /// Sends the running client's held invalidations (after its reply).
    func trackingSendPending(_ s: Session) {
        let list = tracking.pending
        tracking.pending.removeAll()
        for entry in list {
            if let key = entry { sendTrackingMessage(s, .key(key)) } else { sendTrackingMessage(s, .null) }
        }
    }

    /// Writes one invalidation for tracking client `c`: to its redirect target if it has one (or a
    /// tracking-redir-broken push to `c` when that client is gone), as a RESP3 push, or as a
    /// `__redis__:invalidate` message to a subscribed RESP2 redirect target; a RESP2 client without
    /// redirect gets nothing.
    func sendTrackingMessage(_ c: Session, _ payload: TrackingPayload) {
        var target = c
        var redirected = false
        if c.tracking.redirect != 0 {
            guard let r = sessions[c.tracking.redirect] else {
                c.tracking.brokenRedirect = true
                if c.resp > 2 {
                    RESPEncoder.pushHeader(2, resp: 3, to: &c.out)
                    RESPEncoder.bulk(Array("tracking-redir-broken".utf8), to: &c.out)
                    RESPEncoder.integer(c.tracking.redirect, to: &c.out)
                    c.wakeup?()
                }
                return
            }
            target = r
            redirected = true
        }
        if target.resp > 2 {
            RESPEncoder.pushHeader(2, resp: 3, to: &target.out)
            RESPEncoder.bulk(Array("invalidate".utf8), to: &target.out)
        } else if redirected && target.subscriptionCount > 0 {
            RESPEncoder.arrayHeader(3, to: &target.out)
            RESPEncoder.bulk(Array("message".utf8), to: &target.out)
            TrackingTable.channel.withUnsafeBytes { RESPEncoder.bulk($0, to: &target.out) }
        } else {
            return
        }
        switch payload {
        case .key(let key):
            RESPEncoder.arrayHeader(1, to: &target.out)
            key.withUnsafeBytes { RESPEncoder.bulk($0, to: &target.out) }
        case .encoded(let bytes):
            target.out.append(contentsOf: bytes)
        case .null:
            // The tracking client's own protocol decides the null's form, as in Redis.
            target.out.append(contentsOf: c.resp > 2 ? Array("_\r\n".utf8) : Array("$-1\r\n".utf8))
        }
        target.wakeup?()
    }

    // MARK: - Periodic work

    /// Before the server waits: each BCAST prefix's clients get the keys written under it since the
    /// last call, in key order (a NOLOOP client without the keys it wrote itself).
    public func trackingBroadcast() {
        guard tracking.clients > 0, !tracking.prefixes.isEmpty else { return }
        for p in tracking.prefixes.keys.sorted() {
            guard let state = tracking.prefixes[p], !state.keys.isEmpty else { continue }
            let written = state.keys.sorted { $0.key < $1.key }
            state.keys.removeAll()
            func encode(excluding id: Int?) -> [UInt8]? {
                let shown = id.map { me in written.filter { $0.value != me } } ?? written
                if id != nil && shown.isEmpty { return nil }
                var out: [UInt8] = []
                RESPEncoder.arrayHeader(shown.count, to: &out)
                for (k, _) in shown { k.withUnsafeBytes { RESPEncoder.bulk($0, to: &out) } }
                return out
            }
            let common = encode(excluding: nil)!
            for id in state.clients {
                guard let c = sessions[id] else { continue }
                if c.tracking.noloop {
                    if let own = encode(excluding: id) { sendTrackingMessage(c, .encoded(own)) }
                } else {
                    sendTrackingMessage(c, .encoded(common))
                }
            }
        }
    }

    /// Keeps the table within tracking-table-max-keys: invalidates keys (arbitrary ones, as Redis
    /// picks at random) up to an effort that grows while a pass ends still over the limit.
    public func trackingLimitKeys() {
        let limit = tracking.maxKeys
        guard limit > 0, tracking.keys.count > limit else {
            tracking.overLimitPasses = 0
            return
        }
        var effort = 100 * (tracking.overLimitPasses + 1)
        while effort > 0, let key = tracking.keys.keys.first {
            effort -= 1
            trackingInvalidateKey(key, bcast: false, immediate: true)
            if tracking.keys.count <= limit {
                tracking.overLimitPasses = 0
                return
            }
        }
        tracking.overLimitPasses += 1
    }
}
