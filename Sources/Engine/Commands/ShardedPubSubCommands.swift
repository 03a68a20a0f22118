// SSUBSCRIBE / SUNSUBSCRIBE / SPUBLISH: Redis 7.0's shard channels on a standalone server, where every
// channel lives on this one shard. They are a namespace apart from SUBSCRIBE's channels (a PUBLISH
// never reaches an SSUBSCRIBE), messages are "smessage", and confirmations count shard channels only.
// Like SUBSCRIBE, they put a RESP2 client in subscribe mode.
import StorageFormat

public enum ShardedPubSubCommands {
    public static var all: [CommandSpec] {
        [
            CommandSpec("ssubscribe", arity: -2, flags: PubSubCommands.subFlags, firstKey: 1, lastKey: -1, step: 1) { ctx in
                let e = ctx.engine, s = ctx.session
                // Inside MULTI (a client that cannot wait for messages), as Redis.
                if e.executingTransaction {
                    ctx.error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
                    return
                }
                for i in 1 ..< ctx.argc {
                    let ch = ctx.key(i)
                    if s.shardChannels.insert(ch).inserted { e.shardChannels[ch, default: []].append(s) }
                    PubSubCommands.confirm(ctx, "ssubscribe", ch, s.shardChannels.count)
                }
            },
            CommandSpec("sunsubscribe", arity: -1, flags: PubSubCommands.subFlags, firstKey: 1, lastKey: -1, step: 1) { ctx in
                let s = ctx.session
                let targets = ctx.argc > 1 ? (1 ..< ctx.argc).map { ctx.key($0) } : Array(s.shardChannels)
                if targets.isEmpty { PubSubCommands.confirm(ctx, "sunsubscribe", nil, s.shardChannels.count) }
                for ch in targets {
                    ctx.engine.shardUnsubscribe(s, ch)
                    PubSubCommands.confirm(ctx, "sunsubscribe", ch, s.shardChannels.count)
                }
            },
            CommandSpec("spublish", arity: 3, flags: [.pubsub, .loading, .stale, .fast, .mayReplicate], firstKey: 1, lastKey: 1, step: 1) { ctx in
                ctx.integer(ctx.engine.spublish(channel: ctx.key(1), message: ctx.key(2)))
                ctx.engine.propagateToReplicas(ctx.session.db, ctx.args)
            },
        ]
    }
}

extension Engine {
    func shardUnsubscribe(_ s: Session, _ channel: ByteString) {
        guard s.shardChannels.remove(channel) != nil else { return }
        shardChannels[channel]?.removeAll { $0 === s }
        if shardChannels[channel]?.isEmpty == true { shardChannels[channel] = nil }
    }

    /// Delivers `message` to the subscribers of shard channel `channel`; returns how many got it.
    public func spublish(channel: ByteString, message: ByteString) -> Int {
        guard let list = shardChannels[channel] else { return 0 }
        stats.pubsubMessages += 1
        return deliver(Engine.shardMessageKind, channel: channel, message: message, to: list)
    }
}
