// The server's side of RDB persistence: loading dbfilename at start (answering -LOADING meanwhile),
// SAVE, BGSAVE [SCHEDULE], LASTSAVE, DEBUG RELOAD, save points from the cron, MISCONF after a failed
// background save, and saving at SHUTDOWN / SIGTERM when save points are configured.
#if canImport(Glibc)
import Glibc
#endif
import Engine
import Persistence

extension CairnServer {
    func persistenceSettings() -> PersistenceSettings {
        PersistenceSettings(dir: config.dir, dbfilename: config.dbfilename, compression: config.rdbcompression,
                            checksum: config.rdbchecksum, saveParams: config.saveParams,
                            stopWritesOnBgsaveError: config.stopWritesOnBgsaveError)
    }

    func setUpPersistence() {
        snapshots.log = { [unowned self] warning, message in
            if warning { self.log.warning(message) } else { self.log.notice(message) }
        }
        snapshots.usedMemory = { [unowned self] in self.usedMemory() }
        snapshots.inChild = { [unowned self] in
            self.log.role = "C"
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
                if let e = self.snapshots.backgroundSave() { ctx.error(e) } else { ctx.simple("Background saving started") }
            },
        ])
    }

    /// DEBUG RELOAD: save, empty the dataset, load it back.
    func debugPersistence(_ ctx: CommandContext) -> Bool {
        guard ctx.option(1) == "RELOAD" else { return false }
        if let e = snapshots.save() {
            ctx.error("ERR Error trying to save the DB: \(e)")
            return true
        }
        engine.flushAll()
        do {
            snapshots.lastLoad = try RDBLoader.load(path: rdbPath(), into: engine)
            log.notice("DB reloaded by DEBUG RELOAD")
            ctx.ok()
        } catch {
            ctx.error("ERR Error trying to load the RDB dump: \(error)")
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
        let path = rdbPath()
        guard access(path, F_OK) == 0 else { return true }
        let t0 = EventLoop.monotonicMS()
        engine.isLoading = true
        loadingStart = engine.now / 1000
        defer { engine.isLoading = false }
        var lastPoll = t0
        do {
            let result = try RDBLoader.load(path: path, into: engine) { [unowned self] bytes in
                self.loadingBytes = bytes
                let now = EventLoop.monotonicMS()
                if now - lastPoll >= 50 {
                    lastPoll = now
                    self.engine.updateClock()
                    self.loop.runOnce()
                }
            }
            snapshots.lastLoad = result
            if result.emptyKeysSkipped > 0 { log.notice("Done loading RDB, keys loaded: \(result.keysLoaded), keys expired: \(result.keysExpired), empty keys skipped: \(result.emptyKeysSkipped).") }
            else { log.notice("Done loading RDB, keys loaded: \(result.keysLoaded), keys expired: \(result.keysExpired).") }
            log.notice("DB loaded from disk: \(formatFixed(Double(EventLoop.monotonicMS() - t0) / 1000, 3)) seconds")
            return true
        } catch {
            log.warning("Fatal error loading the DB (\(path)): \(error). Exiting.")
            return false
        }
    }

    /// Redis's shutdown sequence: kill a child, save if asked or if save points exist (unless NOSAVE),
    /// then exit. A failed save refuses to exit unless `force`. Returns false when it refused.
    func prepareForShutdown(save: Bool?, force: Bool) -> Bool {
        snapshots.killChild()
        let wantSave = save ?? !config.saveParams.isEmpty
        if wantSave {
            log.notice("Saving the final RDB snapshot before exiting.")
            if let e = snapshots.save() {
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
