// ReplicationInfo: INFO replication with Redis's field names, and ROLE, for either role.
import Engine

extension CairnServer {
    func registerRoleCommand() {
        engine.register([
            CommandSpec("role", arity: 1, flags: [.noScript, .loading, .stale, .fast]) { [unowned self] ctx in self.roleCommand(ctx) },
        ])
    }

    func roleCommand(_ ctx: CommandContext) {
        if let m = masterLink {
            ctx.arrayHeader(5)
            ctx.bulk("slave")
            ctx.bulk(m.host)
            ctx.integer(m.port)
            let state: String
            switch m.state {
            case .connect: state = "connect"
            case .connecting: state = "connecting"
            case .transfer: state = "sync"
            case .connected: state = "connected"
            default: state = "handshake"
            }
            ctx.bulk(state)
            ctx.integer(m.state == .connected ? replication.offset : -1)
            return
        }
        ctx.arrayHeader(3)
        ctx.bulk("master")
        ctx.integer(replication.offset)
        // SYNC clients (redis-cli --replica) included, as Redis lists them.
        let online = replication.replicas.filter { $0.state == .online }
        ctx.arrayHeader(online.count)
        for l in online {
            ctx.arrayHeader(3)
            ctx.bulk(l.ip)
            ctx.bulk(String(l.listeningPort))
            ctx.bulk(String(l.ackOffset))
        }
    }

    /// Bytes read from the primary's stream and not applied yet (slave_read_repl_offset less
    /// slave_repl_offset): a transaction under way, a command CLIENT PAUSE holds, the arguments of a
    /// request that is not complete, and what is not parsed. In the primary's canonical encoding.
    func unappliedStreamBytes(_ m: MasterLink) -> Int {
        guard let c = m.conn, !c.closed else { return 0 }
        func digits(_ n: Int) -> Int { String(n).utf8.count }
        var n = m.multiBytes.count + c.queryLength
        if let held = c.heldCommand {
            n += 3 + digits(held.count)
            for a in held { n += 5 + digits(a.count) + a.count }
        }
        let p = c.partial
        if p.remaining > 0 {
            n += 3 + digits(p.args.count + p.remaining)
            for a in p.args { n += 5 + digits(a.count) + a.count }
            if p.bulkLength >= 0 { n += 3 + digits(p.bulkLength) }
        }
        return n
    }

    func replicationInfoLines() -> [String] {
        var lines = ["# Replication"]
        func f(_ k: String, _ v: Any) { lines.append("\(k):\(v)") }
        let now = engine.now
        if let m = masterLink {
            f("role", "slave")
            f("master_host", m.host)
            f("master_port", m.port)
            f("master_link_status", m.state == .connected ? "up" : "down")
            f("master_last_io_seconds_ago", m.state == .connected ? Int((now - m.lastIO) / 1000) : -1)
            f("master_sync_in_progress", m.state == .transfer ? 1 : 0)
            f("slave_read_repl_offset", replication.offset + unappliedStreamBytes(m))
            f("slave_repl_offset", replication.offset)
            if m.state == .transfer {
                f("master_sync_total_bytes", m.bulkLength)
                f("master_sync_read_bytes", m.received)
                f("master_sync_left_bytes", m.bulkLength >= 0 ? m.bulkLength - m.received : -1)
                f("master_sync_perc", m.bulkLength > 0 ? String(format2(Double(m.received) * 100 / Double(m.bulkLength))) : "-0.00")
                f("master_sync_last_io_seconds_ago", Int((now - m.lastIO) / 1000))
            }
            if m.state != .connected { f("master_link_down_since_seconds", m.downSince > 0 ? Int((now - m.downSince) / 1000) : -1) }
            f("slave_priority", config.int("replica-priority"))
            f("slave_read_only", config.bool("replica-read-only") ? 1 : 0)
            f("replica_announced", config.bool("replica-announced") ? 1 : 0)
        } else {
            f("role", "master")
        }
        let listed = replication.replicas
        f("connected_slaves", listed.count)
        // In either role, as Redis (Sentinel and the suite read it on primaries; a replica with
        // replicas of its own counts them too).
        let minReplicas = config.int("min-replicas-to-write"), maxLag = config.int("min-replicas-max-lag")
        if minReplicas > 0 && maxLag > 0 { f("min_slaves_good_slaves", goodReplicas(maxLag: maxLag)) }
        for (i, l) in listed.enumerated() {
            let lag = l.ackTime > 0 ? Int((now - l.ackTime) / 1000) : 0
            lines.append("slave\(i):ip=\(l.ip),port=\(l.listeningPort),state=\(l.state.infoName),offset=\(l.ackOffset),lag=\(lag)")
        }
        f("master_failover_state", failover.state.rawValue)
        f("master_replid", replication.replid)
        f("master_replid2", replication.replid2)
        f("master_repl_offset", replication.offset)
        f("second_repl_offset", replication.secondOffset)
        let b = replication.backlog
        f("repl_backlog_active", b == nil ? 0 : 1)
        f("repl_backlog_size", config.int("repl-backlog-size"))
        f("repl_backlog_first_byte_offset", b?.firstByteOffset ?? 0)
        f("repl_backlog_histlen", b?.histlen ?? 0)
        return lines
    }

    func format2(_ v: Double) -> String {
        let scaled = Int((v * 100).rounded())
        let frac = scaled % 100
        return "\(scaled / 100)." + (frac < 10 ? "0" : "") + "\(frac)"
    }
}

extension ReplicaLink.State {
    /// The state INFO's slaveN lines show: Redis names both waits for a snapshot `wait_bgsave`.
    var infoName: String { self == .waitBgsaveEnd ? "wait_bgsave" : rawValue }
}
