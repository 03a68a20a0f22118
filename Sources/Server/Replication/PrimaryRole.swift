// PrimaryRole: this node as a replication primary. SYNC and PSYNC attach a replica: PSYNC with a
// replication ID and offset the backlog still covers gets `+CONTINUE` and the missing bytes; anything
// else gets `+FULLRESYNC <replid> <offset>` (SYNC: nothing), then the RDB of a background save as
// `$<length>\r\n<bytes>`, then the stream written meanwhile. Every propagated write goes, encoded once,
// into the backlog and to each replica, preceded by SELECT when the database changes; the cron adds a
// PING every repl-ping-replica-period seconds. REPLCONF carries the replica's port, address,
// capabilities and ACKs.
#if canImport(Glibc)
import Glibc
#endif
import Engine
import Persistence
import StorageFormat

extension CairnServer {
    func registerPrimaryRole() {
        engine.register([
            CommandSpec("sync", arity: 1, flags: [.admin, .noScript, .noMulti]) { [unowned self] ctx in
                self.syncCommand(ctx, psync: false)
            },
            CommandSpec("psync", arity: -3, flags: [.admin, .noScript, .noMulti]) { [unowned self] ctx in
                self.syncCommand(ctx, psync: true)
            },
            CommandSpec("replconf", arity: -1, flags: [.admin, .noScript, .loading, .stale]) { [unowned self] ctx in
                self.replconfCommand(ctx)
            },
        ])
        snapshots.onBackgroundSaveDone = { [unowned self] ok in self.backgroundSaveDone(ok) }
    }

    var replication: ReplicationState { replicationState }

    // MARK: - REPLCONF

    func replconfCommand(_ ctx: CommandContext) {
        let s = ctx.session
        if ctx.argc % 2 == 0 { ctx.syntaxError(); return }
        let link = replication.replicas.first { $0.session === s } ?? replication.handshaking[s.id] ?? {
            let l = ReplicaLink(session: s)
            replication.handshaking[s.id] = l
            return l
        }()
        var i = 1
        while i < ctx.argc {
            let opt = ctx.option(i), value = String(decoding: ctx.args[i + 1], as: UTF8.self)
            switch opt {
            case "LISTENING-PORT":
                guard let p = Int(value) else { ctx.error("ERR value is not an integer or out of range"); return }
                link.listeningPort = p
            case "IP-ADDRESS":
                link.announcedIP = value
            case "CAPA":
                if value.lowercased() == "eof" { link.capaEOF = true }
                if value.lowercased() == "psync2" { link.capaPSYNC2 = true }
            case "ACK":
                // Only from an attached replica, and never answered.
                guard s.isReplica, let off = Int(value) else { return }
                if off > link.ackOffset { link.ackOffset = off }
                if i + 3 < ctx.argc, ctx.option(i + 2) == "FACK", let f = Int(String(decoding: ctx.args[i + 3], as: UTF8.self)) {
                    if f > link.ackAOFOffset { link.ackAOFOffset = f }
                }
                link.ackTime = engine.now
                if link.state == .sendBulk {
                    link.state = .online
                    if link.awaitingFirstAck {
                        link.awaitingFirstAck = false
                        if let c = bySession[s.id] { scheduleReplica(c) }
                    }
                }
                checkWaitingClients()
                return
            case "GETACK":
                if let m = masterLink { m.ackRequested = true }
                return
            case "RDB-ONLY":
                guard let v = Int(value) else { ctx.error("ERR value is not an integer or out of range"); return }
                guard v == 0 || v == 1 else { ctx.error("ERR value is out of range, value must between 0 and 1"); return }
                link.rdbOnly = v == 1
            case "RDB-FILTER-ONLY":
                // Include filters: everything is left out but what is named; "functions" is the only one.
                guard let words = ctx.args[i + 1].withUnsafeBytes({ RESPRequestParser.splitArguments($0) }) else {
                    ctx.error("ERR Missing rdb-filter-only values")
                    return
                }
                var f = RDBFilter(excludeData: true, excludeFunctions: true)
                for w in words {
                    guard w.count == 9, w.map({ $0 | 0x20 }) == Array("functions".utf8) else {
                        ctx.error("ERR Unsupported rdb-filter-only option: \(String(decoding: w, as: UTF8.self))")
                        return
                    }
                    f.excludeFunctions = false
                }
                link.filter = f
            default:
                ctx.error("ERR Unrecognized REPLCONF option: \(String(decoding: ctx.args[i], as: UTF8.self))")
                return
            }
            i += 2
        }
        ctx.ok()
    }

    // MARK: - SYNC / PSYNC

    func syncCommand(_ ctx: CommandContext, psync: Bool) {
        let s = ctx.session
        if s.isReplica { return }
        if psync && ctx.argc > 3 && ctx.option(3) == "FAILOVER" {
            // PSYNC replid offset FAILOVER: our primary hands over to us; we promote ourselves first.
            // (Other words after the offset are ignored, as Redis does.)
            let replid = String(decoding: ctx.args[1], as: UTF8.self)
            log.warning("Failover request received for replid \(replid).")
            guard masterLink != nil else { ctx.error("ERR PSYNC FAILOVER can't be sent to a master."); return }
            guard replid.lowercased() == replication.replid.lowercased() else {
                ctx.error("ERR PSYNC FAILOVER replid must match my replid.")
                return
            }
            becomePrimary()
            log.notice("MASTER MODE enabled (failover request from '\(ConnectionCommands.clientLine(engine, s))')")
        }
        // No replica syncs with us while we hand over to one.
        if failover.state != .none {
            ctx.error("NOMASTERLINK Can't SYNC while failing over")
            return
        }
        if let m = masterLink, m.state != .connected {
            ctx.error("NOMASTERLINK Can't SYNC while not connected with my master")
            return
        }
        if !s.out.isEmpty {
            ctx.error("ERR SYNC and PSYNC are invalid with pending output")
            return
        }
        let link = replication.handshaking[s.id] ?? ReplicaLink(session: s)
        // A filtered RDB is only ever made for the socket, so the replica must take the $EOF: framing.
        if !link.filter.isEmpty && !link.capaEOF {
            ctx.error("ERR Filtered replica requires EOF capability")
            return
        }
        log.notice("Replica \(link.ip):\(link.listeningPort) asks for synchronization")
        if psync {
            let wantedID = String(decoding: ctx.args[1], as: UTF8.self)
            guard let wantedOffset = Int(String(decoding: ctx.args[2], as: UTF8.self)) else {
                log.warning("Replica \(link.ip):\(link.listeningPort) asks for synchronization but with a wrong offset")
                ctx.error("ERR value is not an integer or out of range")
                return
            }
            replication.handshaking[s.id] = nil
            if tryPartialResync(link, replid: wantedID, offset: wantedOffset) {
                replication.syncPartialOK += 1
                return
            }
            if wantedID != "?" { replication.syncPartialErr += 1 }
        } else {
            replication.handshaking[s.id] = nil
            link.oldProtocol = true
        }
        replication.syncFull += 1
        s.isReplica = true
        link.state = .waitBgsaveStart
        replication.replicas.append(link)
        if replication.backlog == nil {
            if replication.replicas.count == 1 && masterLink == nil { replication.startNewHistory() }
            createBacklog()
        }
        // A save for replicas is running: share it if a replica waits at its start offset.
        // (Not a diskless transfer: its bytes already went out to the replicas in it.)
        // Only with the same filter, and not on the save of an RDB-only replica (which holds no stream)
        // unless this one wants the RDB only too.
        if snapshots.childRunning && replication.bgsaveForReplication && replication.disklessPipe < 0,
           let peer = replication.replicas.first(where: {
               $0 !== link && $0.state == .waitBgsaveEnd && $0.filter == link.filter && (!$0.rdbOnly || link.rdbOnly)
           }) {
            setUpFullResync(link, offset: peer.syncOffset)
            log.notice("Waiting for end of BGSAVE for SYNC")
            return
        }
        link.waitingSince = engine.now
        if !snapshots.childRunning && !aof.childRunning {
            // Diskless with a delay waits in the cron for more replicas to come.
            if !(disklessEligible && config.int("repl-diskless-sync-delay") > 0) { startBgsaveForReplication() }
        } else {
            log.notice("Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC")
        }
    }

    /// PSYNC's partial path: true when the replica continues from the backlog.
    func tryPartialResync(_ link: ReplicaLink, replid: String, offset: Int) -> Bool {
        let r = replication
        let sameHistory = replid == r.replid || (replid == r.replid2 && offset <= r.secondOffset)
        guard sameHistory, let backlog = r.backlog, backlog.holds(from: offset) else {
            if replid != "?" {
                if replid != r.replid && replid != r.replid2 {
                    log.notice("Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '\(replid)', my replication IDs are '\(r.replid)' and '\(r.replid2)')")
                } else {
                    log.notice("Unable to partial resync with replica \(link.ip):\(link.listeningPort) for lack of backlog (Replica request was: \(offset)).")
                }
            }
            return false
        }
        let s = link.session
        s.isReplica = true
        link.state = .online
        link.ackTime = engine.now
        replication.replicas.append(link)
        s.out += Array((link.capaPSYNC2 ? "+CONTINUE \(r.replid)\r\n" : "+CONTINUE\r\n").utf8)
        // What it missed is sent from the shared buffer, as the stream that follows.
        link.streamFrom = offset
        s.wakeup?()
        log.notice("Partial resynchronization request from \(link.ip):\(link.listeningPort) accepted. Sending \(r.offset + 1 - offset) bytes of backlog starting from offset \(offset).")
        return true
    }

    func createBacklog() {
        replication.backlog = ReplicationBacklog(size: config.int("repl-backlog-size"), startingAfter: replication.offset)
        installReplicationSinks()
    }

    /// The engine's way into the stream, for the current role. A replica relays its primary's stream
    /// as it arrives and streams none of its own writes: with no sink, its commands skip the
    /// propagation path altogether. The server lives as long as the process: no reference counting on
    /// the write path.
    func installReplicationSinks() {
        engine.replicationSink = masterLink == nil ? { [unowned(unsafe) self] db, args in self.propagate(db, args) } : nil
        engine.replicationRawSink = { [unowned(unsafe) self] db, raw in self.propagateRaw(db, raw) }
    }

    func freeBacklog() {
        replication.backlog = nil
        engine.replicationSink = nil
    }

    /// The replica waits for the RDB of the save that starts (or started) at `offset`.
    func setUpFullResync(_ link: ReplicaLink, offset: Int) {
        link.syncOffset = offset
        link.streamFrom = offset + 1
        link.state = .waitBgsaveEnd
        replication.selectedDB = -1
        if !link.oldProtocol {
            link.session.out += Array("+FULLRESYNC \(replication.replid) \(offset)\r\n".utf8)
            link.session.wakeup?()
        }
    }

    /// Diskless sync applies when it is on and every waiting replica understands `$EOF:`.
    var disklessEligible: Bool {
        config.bool("repl-diskless-sync") && replication.replicas.allSatisfy { $0.state != .waitBgsaveStart || $0.capaEOF }
    }

    /// Starts the save for the replicas waiting with the first waiting one's filter (the others wait
    /// for the next one). A filtered RDB goes to the socket whatever repl-diskless-sync says, so the
    /// dump file never holds a filtered snapshot.
    func startBgsaveForReplication() {
        guard let first = replication.replicas.first(where: { $0.state == .waitBgsaveStart }) else { return }
        if !first.filter.isEmpty || disklessEligible { startDisklessSync(filter: first.filter); return }
        log.notice("Starting BGSAVE for SYNC with target: disk")
        if let e = snapshots.backgroundSave() {
            log.warning("BGSAVE for replication failed: \(e)")
            for l in replication.replicas where l.state == .waitBgsaveStart && l.filter.isEmpty {
                l.session.out += Array("-ERR BGSAVE failed, replication can't continue\r\n".utf8)
                l.session.closeAfterReply = true
                l.session.wakeup?()
            }
            return
        }
        replication.bgsaveForReplication = true
        for l in replication.replicas where l.state == .waitBgsaveStart && l.filter.isEmpty {
            setUpFullResync(l, offset: replication.offset)
        }
        watchSnapshotChild()
    }

    /// The child of a save for replicas is reaped as soon as it exits (its report pipe hangs up), not at
    /// the next cron tick, so the file starts going out at once.
    func watchSnapshotChild() {
        guard let fd = snapshots.childPipeFD else { return }
        replication.childWatchFD = fd
        loop.add(fd) { [unowned self] _, _, _ in
            guard self.snapshots.childPipeFD == fd else { self.unwatchSnapshotChild(); return }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, 0)
            // A progress report: read it (checkChild drains the pipe while the child runs).
            guard p.revents & Int16(POLLHUP) != 0 else { self.snapshots.checkChild(); return }
            self.unwatchSnapshotChild()
            for _ in 0 ..< 400 {
                if self.snapshots.checkChild() { return }
                usleep(250)
            }
        }
    }

    func unwatchSnapshotChild() {
        guard replication.childWatchFD >= 0 else { return }
        loop.remove(replication.childWatchFD)
        replication.childWatchFD = -1
    }

    /// A background save ended: replicas waiting for it get the file, or are dropped if it failed.
    func backgroundSaveDone(_ ok: Bool) {
        unwatchSnapshotChild()
        guard replication.bgsaveForReplication || replication.replicas.contains(where: { $0.state == .waitBgsaveEnd }) else { return }
        replication.bgsaveForReplication = false
        if replication.disklessPipe >= 0 { disklessSyncDone(ok); return }
        let waiting = replication.replicas.filter { $0.state == .waitBgsaveEnd && !$0.diskless }
        for l in waiting {
            // The file goes out from disk as the socket takes it (RDBFileTransfer), not read whole.
            if ok && startRDBFileTransfer(l, path: rdbPath()) { continue }
            log.warning("SYNC failed. BGSAVE child returned an error")
            if let c = bySession[l.session.id] { closeConnection(c) }
        }
        startBgsaveForWaitingReplicas()
    }

    /// After a save for replicas: those that could not share it get the next one now, unless diskless
    /// sync is on (the cron starts it, after repl-diskless-sync-delay lets more arrive).
    func startBgsaveForWaitingReplicas() {
        if replication.replicas.contains(where: { $0.state == .waitBgsaveStart }) && !disklessEligible { startBgsaveForReplication() }
    }

    // MARK: - The stream

    /// One write from the engine (this node as the origin of the stream).
    func propagate(_ db: Int, _ args: [[UInt8]]) {
        if masterLink != nil { return } // a replica relays its primary's stream verbatim instead
        streamCommand(args, selecting: db)
    }

    /// A write whose request bytes are its canonical encoding: streamed as they are.
    func propagateRaw(_ db: Int, _ raw: UnsafeRawBufferPointer) {
        if masterLink != nil { return }
        if db != replication.selectedDB { streamCommand([], selecting: db) }
        feedStream(raw)
    }

    /// Encodes `args` as a RESP command (after a SELECT when `db` is given and is not the stream's
    /// database) and streams it. One buffer is reused for every command (no allocation per write).
    func streamCommand(_ args: [[UInt8]], selecting db: Int? = nil) {
        var bytes = replication.encodeBuffer
        replication.encodeBuffer = []
        bytes.removeAll(keepingCapacity: true)
        defer { replication.encodeBuffer = bytes }
        if let db, db != replication.selectedDB {
            AOFCommands.append([Array("SELECT".utf8), Array(String(db).utf8)], to: &bytes)
            replication.selectedDB = db
        }
        if !args.isEmpty { AOFCommands.append(args, to: &bytes) }
        feedStream(bytes)
    }

    /// Stream bytes into the backlog and to every replica past the snapshot.
    func feedStream(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feedStream($0) }
    }

    /// The same from borrowed bytes (a replica relays the request bytes it read from its primary). The
    /// bytes go into the shared buffer once; the replicas being streamed to are scheduled to be sent them.
    func feedStream(_ bytes: UnsafeRawBufferPointer) {
        guard let backlog = replication.backlog else { return }
        backlog.append(bytes)
        replication.offset += bytes.count
        for l in replication.replicas where l.streaming {
            // A replica CLIENT KILL marked gets nothing more (Redis's CLOSE_ASAP), even inside the same MULTI.
            if l.session.closeAfterReply { continue }
            // Scheduled once per event-loop pass: a pipeline of writes does not redo the replica's
            // output-limit and memory accounting for every command (the pass's write sends them all).
            if let c = bySession[l.session.id] {
                if !c.pending { scheduleReplica(c) }
            } else {
                l.session.wakeup?()
            }
        }
        if backlog.addedBlocks {
            backlog.addedBlocks = false
            trimBacklog()
        }
    }

    /// Drops the stream bytes that neither the backlog nor any replica needs any more.
    func trimBacklog() {
        guard let backlog = replication.backlog else { return }
        var needed = Int.max
        for l in replication.replicas where l.holdsStream { needed = min(needed, l.streamFrom) }
        backlog.trim(keepingFrom: needed)
    }

    /// Queues a replica's connection for writing: the stream it has not been sent is in the shared
    /// buffer, not in its output buffer, so `schedule` would not see it.
    func scheduleReplica(_ c: Connection) {
        if c.closed || c.pending { return }
        if checkOutputLimit(c) { return }
        c.pending = true
        pendingWrites.append(c)
    }

    /// Sends a streaming replica what it has not had of the stream. A plain socket is written straight
    /// from the shared buffer; a TLS one gets a piece copied into its output buffer (returns true: the
    /// caller writes it). Returns false when nothing more is to be sent, or the socket is full (then
    /// `wouldBlock` is set), or the connection failed (`failed`).
    func sendReplicaStream(_ conn: Connection, wouldBlock: inout Bool, failed: inout Bool) -> Bool {
        let s = conn.session
        guard s.isReplica, !s.closeAfterReply, let backlog = replication.backlog,
              let l = replication.replicas.first(where: { $0.session === s }), l.streaming,
              l.streamFrom < backlog.endOffset else { return false }
        if conn.ssl != nil {
            s.resetOutput()
            conn.sent = 0
            l.rdbEnd = 0
            let want = min(backlog.endOffset - l.streamFrom, 256 * 1024)
            let got = backlog.read(from: l.streamFrom) { piece in
                let n = min(piece.count, want - s.out.count)
                s.out.append(contentsOf: UnsafeRawBufferPointer(rebasing: piece[0 ..< n]))
                return n
            }
            l.streamFrom += got
            return got > 0
        }
        l.rdbEnd = 0
        var error = false
        let sent = backlog.read(from: l.streamFrom) { piece in
            var done = 0
            while done < piece.count {
                let n = Glibc.write(conn.fd, piece.baseAddress! + done, piece.count - done)
                if n > 0 { done += n; continue }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && errno == EAGAIN { wouldBlock = true } else { error = true }
                break
            }
            return done
        }
        l.streamFrom += sent
        stats.netOutputBytes += sent
        if error { failed = true }
        return false
    }

    /// An attached replica's command produced a reply: it must not reach the replication link (the
    /// replica would take it for stream), so it is dropped and the replica disconnected, as Redis 7.0.
    func replicaGeneratedReply(_ conn: Connection, _ args: [[UInt8]], from start: Int) {
        let s = conn.session
        let name = engine.commandLogName(args)
        if s.out[start] == UInt8(ascii: "-") {
            var text = Array(s.out[(start + 1)...])
            if let cr = text.firstIndex(of: 13) { text.removeSubrange(cr...) }
            log.warning("== CRITICAL == This master is sending an error to its replica: '\(String(decoding: text, as: UTF8.self))' after processing the command '\(name)'")
        }
        s.out.removeSubrange(start...)
        log.warning("Replica generated a reply to command '\(name)', disconnecting it: \(ConnectionCommands.clientLine(engine, s))")
        closeConnection(conn)
    }

    func isReplconf(_ name: [UInt8]) -> Bool {
        name.count == 8 && name.map { $0 | 0x20 } == Array("replconf".utf8)
    }

    /// A connection closed: if it was a replica, it leaves.
    func detachReplica(_ s: Session) {
        replication.handshaking[s.id] = nil
        guard s.isReplica else { return }
        guard let i = replication.replicas.firstIndex(where: { $0.session === s }) else { return }
        let l = replication.replicas.remove(at: i)
        if !l.oldProtocol { log.notice("Connection with replica \(l.ip):\(l.listeningPort) lost.") }
        if replication.replicas.isEmpty { replication.noReplicasSince = engine.now }
        // What only it still needed of the stream goes.
        trimBacklog()
        // A diskless relay paused for this replica's socket goes on for the others (or stops with none).
        if l.diskless && l.state == .waitBgsaveEnd { disklessReplicaLeft() }
        // A save made only for replicas that all left is of no use: without save points it is killed.
        if !l.diskless && l.state == .waitBgsaveEnd && replication.bgsaveForReplication && replication.disklessPipe < 0
            && snapshots.childRunning && !replication.replicas.contains(where: { $0.state == .waitBgsaveEnd })
            && persistenceSettings().saveParams.isEmpty {
            log.warning("Background saving for replication is no longer needed: killing the child.")
            snapshots.killChild()
        }
        checkWaitingClients()
    }

    /// Pending output that counts against a replica's output-buffer limit (the RDB does not).
    func replicaPendingBytes(_ conn: Connection) -> Int64? {
        guard conn.session.isReplica, let l = replication.replicas.first(where: { $0.session === conn.session }) else { return nil }
        let s = conn.session
        let from = l.rdbEnd <= s.out.count ? max(conn.sent, l.rdbEnd) : conn.sent
        let stream = l.holdsStream ? max(0, (replication.backlog?.endOffset ?? l.streamFrom) - l.streamFrom) : 0
        return Int64(max(0, s.out.count - from)) + Int64(stream)
    }

    /// The memory of the shared replication buffer (the backlog and what replicas have not been sent).
    var replicationBufferMemory: Int { replication.backlog?.memory ?? 0 }

    /// Once a second: PINGs to replicas, newlines to those waiting for a snapshot, the backlog's TTL.
    func replicationCron() {
        let now = engine.now
        guard now - replication.lastReplicationCron >= 1000 else { return }
        replication.lastReplicationCron = now
        replication.cronLoops += 1
        masterLinkCron()
        trimBacklog()
        let period = max(1, config.int("repl-ping-replica-period"))
        if masterLink == nil && !replication.replicas.isEmpty && replication.cronLoops % period == 0 && engine.pauseType == .off {
            propagatePing()
        }
        for l in replication.replicas where l.state == .waitBgsaveStart || l.state == .waitBgsaveEnd {
            // Not inside a diskless transfer (the RDB is already flowing), nor to SYNC clients mid-save.
            if l.state == .waitBgsaveEnd && (l.oldProtocol || l.diskless) { continue }
            l.session.out.append(10)
            l.session.wakeup?()
        }
        // Replicas that stopped acknowledging for repl-timeout go.
        let timeout = Int64(config.int("repl-timeout")) * 1000
        // And those of a diskless transfer whose socket has taken nothing for as long.
        for l in replication.replicas where l.diskless && l.state == .waitBgsaveEnd && l.lastPartialWrite > 0
            && now - l.lastPartialWrite > timeout {
            log.warning("Disconnecting timedout replica (full sync): \(l.ip):\(l.listeningPort)")
            if let c = bySession[l.session.id] { closeConnection(c) }
        }
        for l in replication.replicas where l.state == .online && !l.oldProtocol && l.ackTime > 0 && now - l.ackTime > timeout {
            log.warning("Disconnecting timedout replica (streaming sync): \(l.ip):\(l.listeningPort)")
            if let c = bySession[l.session.id] { closeConnection(c) }
        }
        let ttl = Int64(config.int("repl-backlog-ttl")) * 1000
        if replication.backlog != nil && replication.replicas.isEmpty && masterLink == nil && ttl > 0
            && now - replication.noReplicasSince > ttl {
            replication.startNewHistory()
            freeBacklog()
            log.notice("Replication backlog freed after \(ttl / 1000) seconds without connected replicas.")
        }
        let waiting = replication.replicas.filter { $0.state == .waitBgsaveStart }
        if !snapshots.childRunning && !aof.childRunning, let first = waiting.map(\.waitingSince).min() {
            let delay = Int64(config.int("repl-diskless-sync-delay")) * 1000
            let maxReplicas = config.int("repl-diskless-sync-max-replicas")
            if !disklessEligible || now - first >= delay || (maxReplicas > 0 && waiting.count >= maxReplicas) {
                startBgsaveForReplication()
            }
        }
    }

    func propagatePing() {
        var bytes: [UInt8] = []
        RESPEncoder.arrayHeader(1, to: &bytes)
        RESPEncoder.bulk(Array("PING".utf8), to: &bytes)
        feedStream(bytes)
    }

    /// REPLCONF GETACK * to every replica (WAIT asked for fresh acknowledgements).
    func requestAcks() {
        // Not while clients are paused: the stream must stand still (FAILOVER waits for offsets to match).
        guard replication.getAckDue, engine.pauseType == .off else { return }
        // A replica's stream is its primary's alone.
        if masterLink != nil { replication.getAckDue = false; return }
        replication.getAckDue = false
        var bytes: [UInt8] = []
        RESPEncoder.arrayHeader(3, to: &bytes)
        for a in ["REPLCONF", "GETACK", "*"] { RESPEncoder.bulk(Array(a.utf8), to: &bytes) }
        feedStream(bytes)
    }
}
