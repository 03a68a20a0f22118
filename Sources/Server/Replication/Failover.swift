// Failover: FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms], a coordinated hand-over of the primary
// role. Writes pause, replicas are asked for an ACK, and once the target (or any replica) has
// acknowledged the whole stream this node becomes its replica, sending `PSYNC <replid> <offset> FAILOVER`:
// the target promotes itself before answering, so the old primary continues from it without a full sync.
// With TIMEOUT the attempt is abandoned (or, with FORCE, made anyway) when the replica does not catch up.
import Engine

/// master_failover_state.
enum FailoverState: String {
    case none = "no-failover"
    case waitingForSync = "waiting-for-sync"
    case inProgress = "failover-in-progress"
}

/// The failover under way.
struct FailoverPlan {
    var state = FailoverState.none
    var host: String? = nil
    var port = 0
    var force = false
    /// Absolute ms; 0 = none.
    var endTime: Int64 = 0
}

extension CairnServer {
    func registerFailover() {
        engine.register([
            CommandSpec("failover", arity: -1, flags: [.admin, .noScript, .stale]) { [unowned self] ctx in self.failoverCommand(ctx) },
        ])
    }

    func failoverCommand(_ ctx: CommandContext) {
        var host: String? = nil, port = 0, force = false, abort = false, timeout: Int64 = 0
        var i = 1
        while i < ctx.argc {
            switch ctx.option(i) {
            case "TO" where i + 2 < ctx.argc && host == nil:
                host = String(decoding: ctx.args[i + 1], as: UTF8.self)
                guard let p = ctx.integerArgument(i + 2) else { return } // (it replied)
                port = Int(p)
                i += 3
            case "FORCE" where !force:
                force = true
                i += 1
            case "ABORT" where !abort:
                abort = true
                i += 1
            case "TIMEOUT" where i + 1 < ctx.argc && timeout == 0:
                guard let t = ctx.integerArgument(i + 1) else { return } // (it replied)
                if t <= 0 { ctx.error("ERR FAILOVER timeout must be greater than 0"); return }
                timeout = t
                i += 2
            default:
                ctx.syntaxError()
                return
            }
        }
        if abort {
            if host != nil || force || timeout != 0 { ctx.syntaxError(); return }
            guard failover.state != .none else { ctx.error("ERR No failover in progress."); return }
            abortFailover("Failover manually aborted")
            ctx.ok()
            return
        }
        if masterLink != nil { ctx.error("ERR FAILOVER is not valid when server is a replica."); return }
        if replication.replicas.filter({ !$0.oldProtocol }).isEmpty { ctx.error("ERR FAILOVER requires connected replicas."); return }
        if force && (timeout == 0 || host == nil) {
            ctx.error("ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
            return
        }
        if failover.state != .none { ctx.error("ERR FAILOVER already in progress."); return }
        if let host {
            guard let target = replication.replicas.first(where: { $0.ip == host && $0.listeningPort == port }) else {
                ctx.error("ERR FAILOVER target HOST and PORT is not a replica.")
                return
            }
            guard target.state == .online else { ctx.error("ERR FAILOVER target replica is not online."); return }
        }
        failover = FailoverPlan(state: .waitingForSync, host: host, port: port, force: force,
                                endTime: timeout > 0 ? engine.now + timeout : 0)
        log.notice(host.map { "FAILOVER requested to \($0):\(port)." } ?? "FAILOVER requested to any replica.")
        engine.pauseClients(until: Int64.max, type: .write)
        replication.getAckDue = true
        ctx.ok()
    }

    /// From the cron and before sleeping: starts the hand-over once a replica has caught up.
    func updateFailoverStatus() {
        guard failover.state == .waitingForSync else { return }
        if failover.endTime != 0 && engine.now >= failover.endTime {
            if failover.force, let host = failover.host {
                log.notice("FAILOVER to \(host):\(failover.port) time out exceeded, failing over.")
                startFailoverHandover(host: host, port: failover.port)
            } else {
                abortFailover("Replica never caught up before timeout")
            }
            return
        }
        let candidates = replication.replicas.filter { l in
            l.state == .online && !l.oldProtocol && (failover.host == nil || (l.ip == failover.host && l.listeningPort == failover.port))
        }
        guard let synced = candidates.first(where: { $0.ackOffset == replication.offset }) else { return }
        log.notice("Failover target \(synced.ip):\(synced.listeningPort) is synced, failing over.")
        startFailoverHandover(host: synced.ip, port: synced.listeningPort)
    }

    func startFailoverHandover(host: String, port: Int) {
        failover.state = .inProgress
        failover.host = host
        failover.port = port
        setMaster(host: host, port: port)
    }

    /// The PSYNC FAILOVER got its answer: writes go on (now refused as a replica's).
    func failoverHandoverDone() {
        guard failover.state == .inProgress else { return }
        log.notice("Failover to \(failover.host ?? ""):\(failover.port) completed.")
        clearFailover()
    }

    func abortFailover(_ reason: String) {
        guard failover.state != .none else { return }
        if failover.state == .inProgress { becomePrimary() }
        // Redis's lines (the suite counts them).
        log.notice(failover.host.map { "FAILOVER to \($0):\(failover.port) aborted: \(reason)" } ?? "FAILOVER to any replica aborted: \(reason)")
        clearFailover()
    }

    func clearFailover() {
        failover = FailoverPlan()
        engine.unpauseClients()
    }
}
