// WaitCommands: WAIT numreplicas timeout (the replicas that acknowledged this node's stream up to now)
// and WAITAOF numlocal numreplicas timeout (Redis 7.2: the writes fsynced to the local AOF, and
// replicas whose REPLCONF ACK ... FACK says they fsynced them; a replica that never sends FACK never
// counts). A client that cannot be answered at once blocks until enough acknowledge or the timeout
// passes; inside MULTI it is answered at once.
import Engine
import StorageFormat

/// A client blocked in WAIT or WAITAOF.
struct ReplicationWaiter {
    let session: Session
    let target: Int
    let replicas: Int
    /// WAITAOF: the local fsyncs wanted (0 or 1); nil for WAIT.
    let local: Int?
    /// Absolute ms; 0 = forever.
    let deadline: Int64
}

extension CairnServer {
    func registerWaitCommands() {
        engine.register([
            CommandSpec("wait", arity: 3, flags: [.noScript]) { [unowned self] ctx in self.waitCommand(ctx, aof: false) },
            CommandSpec("waitaof", arity: 4, flags: [.noScript]) { [unowned self] ctx in self.waitCommand(ctx, aof: true) },
        ])
    }

    func waitCommand(_ ctx: CommandContext, aof wantsAOF: Bool) {
        let name = wantsAOF ? "WAITAOF" : "WAIT"
        if masterLink != nil {
            ctx.error("ERR \(name) cannot be used with replica instances. Please also note that writes to replicas are just local and are not propagated.")
            return
        }
        var local: Int? = nil
        if wantsAOF {
            guard let n = ctx.integerArgument(1) else { return } // (it replied)
            if n < 0 { ctx.error("ERR value is out of range, must be positive"); return }
            if n > 1 { ctx.error("ERR numlocal should be either 0 or 1"); return }
            if n > 0 && !aof.enabled {
                ctx.error("ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.")
                return
            }
            local = Int(n)
        }
        let ri = wantsAOF ? 2 : 1
        guard let wanted = ctx.integerArgument(ri) else { return } // (it replied)
        guard let timeout = StrictInteger.parse(ctx.args[ri + 1]) else { ctx.error("ERR timeout is not an integer or out of range"); return }
        if timeout < 0 { ctx.error("ERR timeout is negative"); return }
        let waiter = ReplicationWaiter(session: ctx.session, target: ctx.session.replicationWriteOffset, replicas: Int(wanted), local: local,
                                       deadline: timeout == 0 ? 0 : engine.now + timeout)
        let (done, reply) = waiterState(waiter)
        if done || ctx.inTransaction || ctx.session.multi != nil {
            writeWaitReply(ctx.session, waiter, reply)
            return
        }
        ctx.block(keys: [], deadline: 0, onTimeout: .nullArray)
        waiters.append(waiter)
        replication.getAckDue = true
    }

    /// Whether the waiter is satisfied, and its reply counts (local, replicas).
    func waiterState(_ w: ReplicationWaiter) -> (Bool, (Int, Int)) {
        var acked = 0
        for l in replication.replicas where l.state == .online && !l.oldProtocol {
            if w.local != nil ? l.ackAOFOffset >= w.target : l.ackOffset >= w.target { acked += 1 }
        }
        var localOK = 0
        if let _ = w.local, aof.enabled, aof.allFsynced { localOK = 1 }
        let done = acked >= w.replicas && localOK >= (w.local ?? 0)
        return (done, (localOK, acked))
    }

    func writeWaitReply(_ s: Session, _ w: ReplicationWaiter, _ counts: (Int, Int)) {
        if w.local != nil {
            RESPEncoder.arrayHeader(2, to: &s.out)
            RESPEncoder.integer(counts.0, to: &s.out)
            RESPEncoder.integer(counts.1, to: &s.out)
        } else {
            RESPEncoder.integer(counts.1, to: &s.out)
        }
    }

    /// Answers the waiters that are satisfied or timed out (after ACKs, replica changes, and the cron).
    func checkWaitingClients() {
        guard !waiters.isEmpty else { return }
        var keep: [ReplicationWaiter] = []
        for w in waiters {
            let s = w.session
            guard s.blocked != nil, engine.sessions[s.id] != nil else { continue }
            let (done, counts) = waiterState(w)
            if done || (w.deadline != 0 && engine.now >= w.deadline) {
                engine.unblock(s)
                writeWaitReply(s, w, counts)
                s.wakeup?()
            } else {
                keep.append(w)
            }
        }
        waiters = keep
    }
}
