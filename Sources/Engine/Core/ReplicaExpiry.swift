// ReplicaExpiry: how keys expire on a replica, as Redis 7.0 does it. The replica never deletes an
// expired key itself: a client's read finds it absent (nil) but the key stays until the primary's
// DEL arrives in the stream, and the primary's own commands see every key, expired or not.
extension Engine {
    /// Turns replica expiry on (REPLICAOF host port) or off (REPLICAOF NO ONE).
    public func setReplicaExpiry(_ on: Bool) {
        replicaExpiry = on
        let paused = pauseType != .off
        for db in databases {
            db.expiryHeld = on || paused
            db.recordOwnExpires = on
            if !on { db.ownExpiringKeys = [] }
        }
    }

    /// True while this node replicates a primary (REPLICAOF host port): HELLO reports role `replica`.
    public var isReplica: Bool { replicaExpiry }

    /// While on, no key is considered expired: the commands of the primary's stream run so. Set around
    /// a whole batch of the link's input (nothing else runs in between), not once per command.
    public func holdExpiryForPrimaryStream(_ on: Bool) {
        for db in databases {
            db.expiryPaused = on || loadingAOF
            db.recordOwnExpires = !on && replicaExpiry
        }
    }

    /// A replica's share of the active expiry cycle: only the keys its own clients gave an expiry.
    func expireReplicaOwnKeys() -> Int {
        var removed = 0
        for db in databases where !db.ownExpiringKeys.isEmpty { removed += db.expireOwnKeys(now: now) }
        return removed
    }
}
