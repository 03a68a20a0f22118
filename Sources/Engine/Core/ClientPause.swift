// ClientPause: CLIENT PAUSE as Redis 7.0 does it. A pause has a type (WRITE or ALL) and an end time.
// While it lasts, a client whose command it covers (ALL: any; WRITE: a write, a may-replicate command
// such as PUBLISH, or an EXEC whose queue holds one) is *postponed*: the command passes every check
// that can reject it first (arity, NOAUTH, ACL, OOM, MISCONF...), then the client blocks, counted in
// blocked_clients and flagged b in CLIENT LIST, its command kept aside by the server. When the pause
// ends (CLIENT UNPAUSE, or its time passes) the postponed clients are released in the order they
// blocked and the server runs their commands again from the start. The dataset stays still meanwhile:
// no key is expired (a read of an expired key answers as if it were gone) or evicted.

/// How much CLIENT PAUSE holds back, ordered from least to most restrictive.
public enum ClientPauseType: Int, Comparable, Sendable {
    case off = 0, write = 1, all = 2
    public static func < (a: ClientPauseType, b: ClientPauseType) -> Bool { a.rawValue < b.rawValue }
}

extension Engine {
    /// True while a CLIENT PAUSE is in force (ending it first if its time has passed).
    public var clientsPaused: Bool { checkPauseTimeout() }

    /// Clients blocked by the pause (counted in blocked_clients, never in the timeout table).
    public var postponedCount: Int { postponedSessions.count }

    /// Starts or extends a pause: as Redis, the type becomes the more restrictive one and the end
    /// time the later one. `end` is absolute (ms); an end already passed ends the pause at once.
    public func pauseClients(until end: Int64, type: ClientPauseType) {
        if pauseType == .off {
            pauseType = type
            pauseEnd = end
        } else {
            pauseType = max(pauseType, type)
            pauseEnd = max(pauseEnd, end)
        }
        setDeletionsHeld(true)
        _ = checkPauseTimeout()
    }

    /// Ends the pause and releases every postponed client, in order.
    public func unpauseClients() {
        guard pauseType != .off else { return }
        pauseType = .off
        pauseEnd = 0
        setDeletionsHeld(false)
        releasePostponed()
    }

    /// Ends a pause whose time has passed; returns whether clients are still paused.
    @discardableResult
    public func checkPauseTimeout() -> Bool {
        guard pauseType != .off else { return false }
        if pauseEnd < now { unpauseClients() }
        return pauseType != .off
    }

    /// Whether the pause in force holds back `spec` from `session`. Replicas are never paused; the
    /// primary's link on a replica is, as in Redis: its stream is still read but applied (and its
    /// offset moved) only once the pause ends.
    func pauseHolds(_ session: Session, _ spec: CommandSpec, _ args: [[UInt8]]) -> Bool {
        guard !replaying, !session.isReplica, checkPauseTimeout() else { return false }
        if pauseType == .all { return true }
        let covered: CommandFlags = [.write, .mayReplicate]
        // EVAL and FCALL: the flags of their script or function (a no-writes script is not held).
        if !(spec.dynamicFlags?(self, args) ?? spec.flags).isDisjoint(with: covered) { return true }
        if spec.name == "exec", let queue = session.multi {
            return queue.contains { !($0.spec.dynamicFlags?(self, $0.args) ?? $0.spec.flags).isDisjoint(with: covered) }
        }
        return false
    }

    /// Blocks `session` until the pause ends; the server keeps its command to run again.
    func postpone(_ session: Session) {
        guard !session.postponed else { return }
        session.postponed = true
        blockedCount += 1
        postponedSessions.append(session)
    }

    /// Releases the postponed clients into `resumedSessions`, which the server drains in order.
    func releasePostponed() {
        for s in postponedSessions {
            s.postponed = false
            blockedCount -= 1
            resumedSessions.append(s)
        }
        postponedSessions.removeAll()
    }

    /// Forgets a postponed session (its connection closed).
    func dropPostponed(_ s: Session) {
        resumedSessions.removeAll { $0 === s }
        guard s.postponed else { return }
        s.postponed = false
        blockedCount -= 1
        postponedSessions.removeAll { $0 === s }
    }

    /// The sessions released since the last call, oldest first (for the server to run their commands).
    public func takeResumedSessions() -> [Session] {
        defer { resumedSessions.removeAll() }
        return resumedSessions
    }

    /// While paused, expired keys read as absent but are not deleted (Redis keeps the dataset static).
    func setDeletionsHeld(_ held: Bool) {
        for db in databases { db.expiryHeld = held || replicaExpiry }
    }
}
