// The server's side of RDB persistence: loading dbfilename at start (answering -LOADING meanwhile),
// SAVE, BGSAVE [SCHEDULE], LASTSAVE, DEBUG RELOAD, save points from the cron, MISCONF after a failed
// background save, and saving at SHUTDOWN / SIGTERM when save points are configured.
#if canImport(Glibc)
import Glibc
#endif
import Engine
import Persistence
import StorageFormat
import ToolKit

extension CairnServer {
    func persistenceSettings() -> PersistenceSettings {
        var s = PersistenceSettings(dir: config.dir, dbfilename: config.dbfilename, compression: config.rdbcompression,
                                    checksum: config.rdbchecksum, saveParams: config.saveParams,
                                    stopWritesOnBgsaveError: config.stopWritesOnBgsaveError)
        // A replica keeps its primary's ID and offset in the file (Redis's rdbPopulateSaveInfo).
        // A primary in a replication chain too: restarted from this file it keeps its old ID as
        // master_replid2, so its replicas continue with a partial resync (Redis 7.0).
        let streamDB = masterLink.map { $0.conn?.session.db ?? $0.cachedDB }
            ?? (replication.backlog != nil ? max(0, replication.selectedDB) : nil)
        if let db = streamDB {
            s.replicationAux = ReplicationAux(streamDB: db, id: replication.replid, offset: replication.offset)
        }
        return s
    }

    func aofSettings() -> AOFSettings {
        AOFSettings(dir: config.dir, dirName: config.appenddirname, fileName: config.appendfilename,
                    useRDBPreamble: config.aofUseRdbPreamble, autoRewritePercentage: config.autoAofRewritePercentage,
                    autoRewriteMinSize: config.autoAofRewriteMinSize, disableAutoGC: config.bool("aof-disable-auto-gc"),
                    loadTruncated: config.aofLoadTruncated, rdbCompression: config.rdbcompression, rdbChecksum: config.rdbchecksum)
    }

    func refreshAOFSettings() {
        aof.policy = AOFFsyncPolicy(rawValue: config.appendfsync) ?? .everysec
        aof.timestamps = config.aofTimestampEnabled
        aof.noFsyncOnRewrite = config.noAppendfsyncOnRewrite
    }

    func setUpAOF() {
        aof.log = { [unowned self] warning, message in
            if warning { self.log.warning(message) } else { self.log.notice(message) }
        }
        aof.usedMemory = { [unowned self] in self.usedMemory() }
        aof.inChild = snapshots.inChild
        aof.otherChildRunning = { [unowned self] in self.snapshots.childRunning }
        aof.forked = { [unowned self] usec in self.snapshots.recordFork(usec: usec) }
        snapshots.otherChildRunning = { [unowned self] in self.aof.childRunning }
        aof.fatal = { [unowned self] message in
            self.log.warning(message)
            exit(1)
        }
        refreshAOFSettings()
        for name in ["appendfsync", "aof-timestamp-enabled", "no-appendfsync-on-rewrite"] {
            config.onChange[name] = { [unowned self] _ in
                self.refreshAOFSettings()
                return nil
            }
        }
        // Turning automatic clean-up back on deletes the HISTORY files kept meanwhile, as in Redis.
        config.onChange["aof-disable-auto-gc"] = { [unowned self] _ in
            self.aof.deleteHistory()
            return nil
        }
        config.onChange["appendonly"] = { [unowned self] c in
            if c.appendonly {
                if let e = self.aof.turnOn() { return e.hasPrefix("ERR ") ? String(e.dropFirst(4)) : e }
            } else {
                self.aof.turnOff()
            }
            return nil
        }
        engine.hooks.writeRefusal = { [unowned self] in self.snapshots.writeRefusal ?? self.aof.writeRefusal }
        engine.register([
            CommandSpec("bgrewriteaof", arity: 1, flags: [.admin, .noScript]) { [unowned self] ctx in
                if self.aof.childRunning {
                    ctx.error("ERR Background append only file rewriting already in progress")
                } else if self.snapshots.childRunning || self.engine.executingTransaction {
                    // Inside EXEC the rewrite only gets scheduled (Redis's in_exec): the cron starts it
                    // after the transaction, so its fork sees the whole transaction.
                    self.aof.rewriteScheduled = true
                    ctx.simple("Background append only file rewriting scheduled")
                } else if let e = self.aof.backgroundRewrite() {
                    ctx.error(e)
                } else {
                    ctx.simple("Background append only file rewriting started")
                }
            },
        ])
    }

    func setUpPersistence() {
        snapshots.log = { [unowned self] warning, message in
            if warning { self.log.warning(message) } else { self.log.notice(message) }
        }
        snapshots.usedMemory = { [unowned self] in self.usedMemory() }
        snapshots.inChild = { [unowned self] in
            self.log.role = "C"
            if !self.oomScore.childBytes.isEmpty { OOMScoreAdjuster.write(self.oomScore.childBytes) }
            signal(SIGTERM, SIG_DFL)
            signal(SIGINT, SIG_DFL)
        }
        engine.hooks.lastSave = { [unowned self] in Int(self.snapshots.lastSave) }
        engine.hooks.writeRefusal = { [unowned self] in self.snapshots.writeRefusal }
        engine.hooks.afterFlushAll = { [unowned self] in
            self.snapshots.killChild()
            if !self.config.saveParams.isEmpty { self.snapshots.save() }
        }
        engine.hooks.debug = { [unowned self] ctx in self.debugPersistence(ctx) }
        engine.hooks.log = { [unowned self] line in self.log.warning("DEBUG LOG: \(line)") }
        engine.hooks.warning = { [unowned self] line in self.log.warning(line) }
        setUpAOF()
        engine.register([
            CommandSpec("save", arity: 1, flags: [.admin, .noScript, .noMulti]) { [unowned self] ctx in
                if self.snapshots.childRunning {
                    ctx.error("ERR Background save already in progress")
                    return
                }
                if self.snapshots.save() == nil { ctx.ok() } else { ctx.error("ERR") }
            },
            CommandSpec("bgsave", arity: -1, flags: [.admin, .noScript]) { [unowned self] ctx in
                var schedule = false
                if ctx.argc > 1 {
                    guard ctx.argc == 2, ctx.option(1) == "SCHEDULE" else { ctx.syntaxError(); return }
                    schedule = true
                }
                if self.snapshots.childRunning {
                    if schedule {
                        self.snapshots.bgsaveScheduled = true
                        ctx.simple("Background saving scheduled")
                    } else {
                        ctx.error("ERR Background save already in progress")
                    }
                    return
                }
                if self.aof.childRunning && schedule {
                    self.snapshots.bgsaveScheduled = true
                    ctx.simple("Background saving scheduled")
                    return
                }
                if let e = self.snapshots.backgroundSave() { ctx.error(e) } else { ctx.simple("Background saving started") }
            },
        ])
    }

    /// DEBUG RELOAD: save, empty the dataset, load it back.
    func debugPersistence(_ ctx: CommandContext) -> Bool {
        if ctx.option(1) == "LOADAOF" {
            // Write out the AOF buffer, empty the dataset, load it back from the AOF (the files
            // on disk, even with the AOF off, as Redis does).
            if aof.enabled { aof.flush(force: true) }
            engine.flushAll()
            let sink = engine.propagationSink, rawSink = engine.propagationRawSink, replicas = engine.replicationSink
            engine.replicationSink = nil
            engine.propagationSink = nil
            engine.propagationRawSink = nil
            defer {
                engine.propagationSink = sink
                engine.replicationSink = replicas
                engine.propagationRawSink = rawSink
            }
            do {
                try aof.reloadForDebug()
                log.notice("Append Only File loaded by DEBUG LOADAOF")
                ctx.ok()
            } catch {
                ctx.error("ERR Error loading the AOF: \(error)")
            }
            return true
        }
        switch ctx.option(1) {
        case "PAUSE-CRON" where ctx.argc == 3:
            cronPaused = (StrictInteger.parse(ctx.args[2]) ?? 0) != 0
            ctx.ok()
            return true
        case "SEGFAULT" where ctx.argc == 2:
            // The crash report (CSystem's handler) writes the stack trace to the log, then the process dies.
            raise(SIGSEGV)
            return true
        case "PANIC" where ctx.argc == 2, "ASSERT" where ctx.argc == 2:
            log.warning("------------------------------------------------")
            log.warning("!!! Software Failure. Press left mouse button to continue")
            log.warning("Guru Meditation: DEBUG \(ctx.option(1)) #\(ctx.option(1) == "PANIC" ? "debug.c" : "assertion")")
            raise(SIGABRT)
            return true
        case "CONFIG-REWRITE-FORCE-ALL" where ctx.argc == 2:
            // Redis's text carries the errno of the failure; with no config file that is EFAULT.
            guard config.configFile != nil else { ctx.error("ERR CONFIG-REWRITE-FORCE-ALL failed: \(String(cString: strerror(EFAULT)))"); return true }
            if let e = config.rewriteConfigFile(forceAll: true) {
                let reason = e.hasPrefix("ERR Rewriting config file: ") ? String(e.dropFirst("ERR Rewriting config file: ".count)) : e
                ctx.error("ERR CONFIG-REWRITE-FORCE-ALL failed: \(reason)")
            } else {
                ctx.ok()
            }
            return true
        case "REPLICATE" where ctx.argc >= 3:
            // The given command goes down the replication stream only (the dataset here is not
            // touched): a test of a replica's divergence handling, as Redis's DEBUG REPLICATE.
            if masterLink == nil, replication.backlog != nil { streamCommand(Array(ctx.args[2...])) }
            ctx.ok()
            return true
        case "AOF-FLUSH-SLEEP" where ctx.argc == 3:
            aof.flushSleepMicros = Int(StrictInteger.parse(ctx.args[2]) ?? 0)
            ctx.ok()
            return true
        case "RELOAD":
            break
        default:
            return false
        }
        // DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty the dataset, load it back; NOSAVE loads
        // the file as it is, NOFLUSH keeps the dataset, MERGE lets loaded keys replace existing ones.
        var save = true, flush = true, merge = false
        for j in 2 ..< ctx.argc {
            switch ctx.option(j) {
            case "MERGE": merge = true
            case "NOFLUSH": flush = false
            case "NOSAVE": save = false
            default:
                ctx.error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
                return true
            }
        }
        if save, let e = snapshots.save() {
            ctx.error("ERR Error trying to save the DB: \(e)")
            return true
        }
        if flush {
            engine.flushAll()
            engine.flushFunctionLibraries()
        }
        do {
            snapshots.lastLoad = try RDBLoader.load(path: rdbPath(), into: engine, replaceExisting: merge)
            log.warning("DB reloaded by DEBUG RELOAD")
            ctx.ok()
        } catch {
            log.warning("\(error)")
            ctx.error("ERR Error trying to load the RDB dump, check server logs.")
        }
        return true
    }

    func rdbPath() -> String {
        let f = config.dbfilename
        return f.hasPrefix("/") ? f : config.dir + "/" + f
    }

    /// Loads dbfilename if it exists, serving -LOADING to clients meanwhile. Returns false on a
    /// corrupt or unloadable file (the file is left untouched; the caller exits).
    func loadDataAtStart() -> Bool {
        if config.appendonly { return loadAOFAtStart() }
        let path = rdbPath()
        guard access(path, F_OK) == 0 else { return true }
        let t0 = EventLoop.monotonicMS()
        engine.isLoading = true
        loadingStart = engine.now / 1000
        defer { engine.isLoading = false }
        var isReplica = false
        if case .replica(let r)? = config.value("replicaof"), r != nil { isReplica = true }
        // A primary keeps a backlog from the start: keys found expired in the file become DELs in it,
        // so replicas that continue its stream delete them too.
        if !isReplica { createBacklog() }
        do {
            let del = Array((config.bool("lazyfree-lazy-expire") ? "UNLINK" : "DEL").utf8)
            let result = try RDBLoader.load(path: path, into: engine, progress: loadingProgress(),
                                            onExpiredKey: isReplica ? nil : { [unowned self] db, key in self.propagate(db, [del, key]) })
            snapshots.lastLoad = result
            let aux = result.replicationAux.flatMap { $0.id.count == 40 ? $0 : nil }
            if isReplica, let aux {
                // A replica restarting from its own save continues where it was: PSYNC asks for the next byte.
                replication.replid = aux.id
                replication.offset = aux.offset
                replication.restoredStreamDB = aux.streamDB
            } else if !isReplica {
                if let aux, let backlog = replication.backlog {
                    // A primary restarting from its own save: its old ID stays valid up to the saved
                    // offset, and its offsets continue from there.
                    replication.replid2 = aux.id
                    replication.secondOffset = aux.offset + 1
                    replication.offset += aux.offset
                    backlog.rebase(endingAt: replication.offset)
                    replication.noReplicasSince = engine.now
                } else {
                    freeBacklog()
                }
            }
            for k in result.emptyKeyNames { log.notice("rdbLoadObject skipping empty key: \(String(decoding: k, as: UTF8.self))") }
            if result.emptyKeysSkipped > 0 { log.notice("Done loading RDB, keys loaded: \(result.keysLoaded), keys expired: \(result.keysExpired), empty keys skipped: \(result.emptyKeysSkipped).") }
            else { log.notice("Done loading RDB, keys loaded: \(result.keysLoaded), keys expired: \(result.keysExpired).") }
            log.notice("DB loaded from disk: \(formatFixed(Double(EventLoop.monotonicMS() - t0) / 1000, 3)) seconds")
            return true
        } catch let e as FormatError {
            reportCorruptRDB(path: path, error: e)
            return false
        } catch {
            log.warning("Fatal error loading the DB (\(path)): \(error). Exiting.")
            return false
        }
    }

    /// A corrupt RDB at start, reported as Redis does: the reason, the checker's report on the file
    /// (printed as it is, not as log lines), and the line saying the server stops.
    func reportCorruptRDB(path: String, error e: FormatError) {
        let reason = RDBCorruption.reason(e, typeCode: e.typeCode).map { "\($0) " } ?? ""
        let key = e.key.map { " key \(ByteText.quoted($0))" } ?? ""
        log.warning("Internal error in RDB reading offset \(e.offset)\(key) -> \(reason)(\(e.context): expected \(e.expected), found \(e.found))")
        var options = RDBCheckOptions()
        options.progress = false
        options.databases = engine.databases.count
        let check = RDBCheck(path: path, options: options)
        check.emit = { [unowned self] line in self.log.raw(.warning, line + "\n") }
        try? check.run()
        log.warning("Terminating server after rdb file reading failure.")
    }

    /// Progress while loading at start: records the bytes read and, every 50 ms, runs the event loop
    /// once so clients get -LOADING instead of waiting.
    func loadingProgress() -> (Int) -> Void {
        var lastPoll = EventLoop.monotonicMS()
        return { [unowned self] bytes in
            self.loadingBytes = bytes
            let now = EventLoop.monotonicMS()
            if now - lastPoll >= 50 {
                lastPoll = now
                self.engine.updateClock()
                if let serve = self.servingDuringLoad { serve { self.loop.runOnce() } } else { self.loop.runOnce() }
                // A shutdown signal while loading ends the process without saving the half-loaded data
                // (beginShutdown drops the save while loading, as Redis). A SHUTDOWN served meanwhile ends
                // it the same way. The loader is below on the stack: the process ends here.
                if self.shutdownASAP && self.engine.isLoading && !self.shutdownInitiated {
                    self.beginShutdown(ShutdownRequest(save: false, now: true, force: false))
                }
                if let code = self.exitCode { exit(code) }
            }
        }
    }

    /// With appendonly yes the AOF is the only source: load it, then open it for appending.
    func loadAOFAtStart() -> Bool {
        engine.isLoading = true
        loadingStart = engine.now / 1000
        var loaded: (AOFManifest, AOFLoadSummary)? = nil
        do {
            loaded = try aof.loadAtStart(progress: loadingProgress())
        } catch {
            engine.isLoading = false
            for line in "\(error)".split(separator: "\n") { log.warning(String(line)) }
            return false
        }
        engine.isLoading = false
        engine.resetStats()
        do {
            try aof.openAtStart(loadedManifest: loaded?.0)
        } catch {
            log.warning("Can't open the append-only file: \(error)")
            return false
        }
        return true
    }

    /// Redis's shutdown sequence: kill a child, save if asked or if save points exist (unless NOSAVE),
    /// then exit. A failed save refuses to exit unless `force`. Returns false when it refused.
    func prepareForShutdown(save: Bool?, force: Bool) -> Bool {
        snapshots.killChild()
        aof.prepareForShutdown()
        let wantSave = save ?? !config.saveParams.isEmpty
        if wantSave {
            log.notice("Saving the final RDB snapshot before exiting.")
            // A second SIGINT during this save exits at once (polled between keys).
            var sincePoll = 0
            let onKey = { [unowned self] in
                sincePoll += 1
                if sincePoll >= 1024 || DebugDelays.keySave != 0 {
                    sincePoll = 0
                    self.pollTerminationSignals()
                }
            }
            if let e = snapshots.save(onKey: onKey) {
                if force {
                    log.warning("Error trying to save the DB, but FORCE was given: exiting anyway (\(e)).")
                } else {
                    log.warning("Error trying to save the DB, can't exit.")
                    return false
                }
            }
        }
        return true
    }
}
