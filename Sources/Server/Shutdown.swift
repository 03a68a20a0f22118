// Shutdown: SHUTDOWN and the termination signals as Redis 7.0 runs them. A primary with replicas that
// have not acknowledged the whole stream does not exit at once: it asks them for an ACK, holds back
// writes (a write pause), and waits up to `shutdown-timeout` seconds; the cron finishes the shutdown
// as soon as every replica has acknowledged, or when the time is up. Meanwhile INFO shows
// shutdown_in_milliseconds, the SHUTDOWN clients stay blocked, and SHUTDOWN ABORT cancels. A shutdown
// that then fails (the final save fails, the first AOF is still being written) answers every blocked
// SHUTDOWN with an error and the server runs on.
#if canImport(Glibc)
import Glibc
#endif
import Engine
import Persistence

/// What a SHUTDOWN (or a signal, through shutdown-on-sigterm / shutdown-on-sigint) asked for.
struct ShutdownRequest {
    /// true: save; false: do not; nil: save when save points are configured.
    var save: Bool? = nil
    /// Do not wait for replicas.
    var now = false
    /// Exit even if the final save or the AOF fails.
    var force = false

    /// From the bit flags of shutdown-on-sigterm/-sigint (1 save, 2 nosave, 4 now, 8 force).
    init(signalFlags f: Int) {
        save = f & 2 != 0 ? false : f & 1 != 0 ? true : nil
        now = f & 4 != 0
        force = f & 8 != 0
    }

    init(save: Bool?, now: Bool, force: Bool) {
        self.save = save
        self.now = now
        self.force = force
    }
}

/// A shutdown that waits for replicas.
struct PendingShutdown {
    var request: ShutdownRequest
    /// Absolute ms at which it goes ahead even with lagging replicas.
    var deadline: Int64
    /// The write pause is ours (not a CLIENT PAUSE that was already in force).
    var pausedWrites: Bool
}

extension CairnServer {
    var shutdownInitiated: Bool { pendingShutdown != nil }

    /// SHUTDOWN from a client: it blocks until the shutdown ends (the process exits) or fails.
    func shutdownCommand(_ ctx: CommandContext, _ request: ShutdownRequest) {
        ctx.block(keys: [], deadline: 0, onTimeout: .nullArray)
        shutdownWaiters.append(ctx.session)
        beginShutdown(request)
    }

    /// Starts a shutdown: waits for lagging replicas unless told not to, else finishes it now. A
    /// shutdown already waiting is left as it is (the new SHUTDOWN client waits with it).
    func beginShutdown(_ request: ShutdownRequest) {
        guard !shutdownInitiated else { return }
        var request = request
        if engine.isLoading { request.save = false }
        log.warning("User requested shutdown...")
        let timeout = Int64(config.int("shutdown-timeout"))
        if !request.now && timeout != 0 && !replicasInSync {
            let paused = engine.pauseType == .off
            // Ask for fresh ACKs first: the pause stops the stream (requestAcks sends nothing then).
            if paused {
                replication.getAckDue = true
                requestAcks()
            }
            pendingShutdown = PendingShutdown(request: request, deadline: engine.now + timeout * 1000, pausedWrites: paused)
            engine.pauseClients(until: Int64.max, type: .write)
            log.notice("Waiting for replicas before shutting down.")
            return
        }
        pendingShutdown = PendingShutdown(request: request, deadline: engine.now, pausedWrites: false)
        finishShutdown()
    }

    /// Every replica has acknowledged the whole stream (or there are none).
    var replicasInSync: Bool {
        replication.replicas.allSatisfy { $0.ackOffset == replication.offset }
    }

    /// From the cron: a signal's shutdown starts; a waiting one finishes once replicas caught up or
    /// its time is up.
    func shutdownCron() {
        if shutdownASAP && !shutdownInitiated {
            let key = lastTerminationSignal == SIGINT ? "shutdown-on-sigint" : "shutdown-on-sigterm"
            beginShutdown(ShutdownRequest(signalFlags: config.int(key)))
        } else if let p = pendingShutdown, engine.now >= p.deadline || replicasInSync {
            finishShutdown()
        }
    }

    /// The last step: reports the replicas, stops the children, flushes the AOF, saves, exits. On an
    /// error the shutdown is cancelled and the server runs on.
    func finishShutdown() {
        guard let p = pendingShutdown else { return }
        var lagging = 0
        for l in replication.replicas where l.ackOffset != replication.offset {
            lagging += 1
            let lag = l.state == .online ? max(0, (engine.now - l.ackTime) / 1000) : 0
            log.warning("Lagging replica \(l.ip):\(l.listeningPort) reported offset \(replication.offset - l.ackOffset) behind master, lag=\(lag), state=\(l.state.infoName).")
        }
        if !replication.replicas.isEmpty {
            log.notice("\(replication.replicas.count - lagging) of \(replication.replicas.count) replicas are in sync when shutting down.")
        }
        if aof.state == .waitRewrite && aof.childRunning {
            if p.request.force {
                log.warning("Writing initial AOF. Exit anyway.")
            } else {
                log.warning("Writing initial AOF, can't exit.")
                failShutdown()
                return
            }
        }
        guard prepareForShutdown(save: p.request.save, force: p.request.force) else {
            failShutdown()
            return
        }
        shutdown(code: 0)
    }

    func failShutdown() {
        log.warning("Errors trying to shut down the server. Check the logs for more information.")
        cancelShutdown()
    }

    /// Back to serving: the blocked SHUTDOWN clients get an error, writes flow again.
    func cancelShutdown() {
        let p = pendingShutdown
        pendingShutdown = nil
        shutdownASAP = false
        lastTerminationSignal = 0
        for s in shutdownWaiters where s.blocked != nil && engine.sessions[s.id] != nil {
            engine.unblock(s)
            s.out += Array("-ERR Errors trying to SHUTDOWN. Check logs.\r\n".utf8)
            s.wakeup?()
        }
        shutdownWaiters.removeAll()
        if p?.pausedWrites == true { engine.unpauseClients() }
    }

    /// SHUTDOWN ABORT: false when no shutdown is waiting or scheduled.
    func abortShutdown() -> Bool {
        if shutdownInitiated {
            cancelShutdown()
        } else if shutdownASAP {
            shutdownASAP = false
        } else {
            return false
        }
        log.notice("Shutdown manually aborted.")
        return true
    }
}
