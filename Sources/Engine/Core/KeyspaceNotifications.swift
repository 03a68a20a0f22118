// Keyspace notifications (notify-keyspace-events): after a command changes a key, Redis publishes the
// event on two channels when their classes are enabled: `__keyspace@<db>__:<key>` with the event
// name as the message (K), and `__keyevent@<db>__:<event>` with the key as the message (E). Each
// event belongs to a class (g generic, $ string, l list, s set, h hash, z sorted set, x expired,
// e evicted, t stream, m key miss, d module, n new key); only enabled classes are published.

/// The event classes, with the bit values the configuration parser uses.
public enum KeyspaceEventClass {
    public static let keyspace = 1 << 0, keyevent = 1 << 1, generic = 1 << 2, string = 1 << 3, list = 1 << 4
    public static let set = 1 << 5, hash = 1 << 6, zset = 1 << 7, expired = 1 << 8, evicted = 1 << 9, stream = 1 << 10
    public static let keyMiss = 1 << 11, module = 1 << 12, new = 1 << 13
}

extension Engine {
    /// Publishes `event` for `key` in database `db` if its class is enabled. O(1) when notifications are off.
    @inline(__always)
    public func notify(_ cls: Int, _ event: StaticString, _ key: ByteString, db: Int) {
        guard notifyFlags & cls != 0 else { return }
        publishKeyspaceEvent(event, key, db: db)
    }

    func publishKeyspaceEvent(_ event: StaticString, _ key: ByteString, db: Int) {
        let name = UnsafeRawBufferPointer(start: event.utf8Start, count: event.utf8CodeUnitCount)
        if notifyFlags & KeyspaceEventClass.keyspace != 0 {
            var channel = Array("__keyspace@\(db)__:".utf8)
            key.withUnsafeBytes { channel.append(contentsOf: $0) }
            _ = publish(channel: ByteString(channel), message: ByteString(Array(name)))
        }
        if notifyFlags & KeyspaceEventClass.keyevent != 0 {
            var channel = Array("__keyevent@\(db)__:".utf8)
            channel.append(contentsOf: name)
            _ = publish(channel: ByteString(channel), message: key)
        }
    }
}

extension CommandContext {
    /// Publishes a keyspace event for `key` in the session's database (see KeyspaceNotifications.swift).
    @inline(__always)
    public func notify(_ cls: Int, _ event: StaticString, _ key: ByteString) {
        guard withEngine({ $0.notifyFlags }) & cls != 0 else { return }
        let id = withSession { $0.db }
        withEngine { $0.publishKeyspaceEvent(event, key, db: id) }
    }
}
