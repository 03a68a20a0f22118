// Snapshots: SAVE, BGSAVE in a fork()ed child, save points, and the state INFO persistence reports.
// The child writes temp-<pid>.rdb, fsyncs, renames it over dbfilename, fsyncs the directory, sends
// its copy-on-write byte count through a pipe and _exits; the parent keeps serving and reaps it
// from the cron. Only one child at a time.
#if canImport(Glibc)
import Glibc
#endif
import Engine
import StorageFormat

/// What the snapshot code needs from the configuration, read fresh each time.
public struct PersistenceSettings: Sendable {
    public var dir: String
    public var dbfilename: String
    public var compression: Bool
    public var checksum: Bool
    public var saveParams: [(seconds: Int, changes: Int)]
    public var stopWritesOnBgsaveError: Bool
    /// This node's place in replication, saved as the aux fields repl-stream-db, repl-id, repl-offset
    /// (nil: none), so a restarted replica can continue from its primary with a partial resync.
    public var replicationAux: ReplicationAux? = nil
    public init(dir: String, dbfilename: String, compression: Bool, checksum: Bool,
                saveParams: [(seconds: Int, changes: Int)], stopWritesOnBgsaveError: Bool) {
        self.dir = dir; self.dbfilename = dbfilename; self.compression = compression; self.checksum = checksum
        self.saveParams = saveParams; self.stopWritesOnBgsaveError = stopWritesOnBgsaveError
    }
}

public final class Snapshots {
    let engine: Engine
    let settings: () -> PersistenceSettings
    /// (isWarning, message) → the server's log.
    public var log: (Bool, String) -> Void = { _, _ in }
    /// Bytes the allocator holds now (for the used-mem aux field).
    public var usedMemory: () -> Int = { 0 }
    /// Called in the child right after fork() (the server marks its log role 'C', closes listeners...).
    public var inChild: () -> Void = {}
    /// True while another child (an AOF rewrite) runs: BGSAVE is refused and save points wait.
    public var otherChildRunning: () -> Bool = { false }
    /// Told when a background save ends (true: the file is in place), e.g. to feed waiting replicas.
    public var onBackgroundSaveDone: (Bool) -> Void = { _ in }

    public private(set) var lastSave: Int64          // Unix seconds
    public private(set) var lastBgsaveOK = true {
        didSet { engine.persistenceFailing.snapshot = !lastBgsaveOK }
    }
    public private(set) var lastBgsaveTry: Int64 = 0
    public private(set) var lastBgsaveTimeSec = -1
    public private(set) var rdbSaves = 0
    public private(set) var lastCowSize = 0
    public private(set) var totalForks = 0
    public private(set) var latestForkUsec = 0
    var child: ForkedChild? = nil {
        // While a child runs, accesses leave keys' LRU/LFU bits alone (no copy-on-write for reads).
        didSet { if (oldValue == nil) != (child == nil) { engine.keyAccess.forkedChildren += child == nil ? -1 : 1 } }
    }
    var childStart: Int64 = 0
    var dirtyAtFork = 0
    public var bgsaveScheduled = false
    /// Last RDB load (INFO rdb_last_load_keys_*).
    public var lastLoad = LoadResult()

    public init(engine: Engine, settings: @escaping () -> PersistenceSettings) {
        self.engine = engine
        self.settings = settings
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        lastSave = Int64(ts.tv_sec)
    }

    public var childRunning: Bool { child != nil }
    public var childPID: pid_t { child?.pid ?? -1 }
    /// The running child's last report.
    public var childProgress: ChildProgress? { child?.progress }

    static func nowSeconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }

    static func monotonicUsec() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    var options: SnapshotOptions {
        let s = settings()
        var o = SnapshotOptions()
        o.compression = s.compression
        o.checksum = s.checksum
        o.replicationAux = s.replicationAux
        return o
    }

    /// The MISCONF error for write commands after a failed background save, or nil.
    public var writeRefusal: String? {
        if lastBgsaveOK { return nil } // the common case, without reading the configuration
        let s = settings()
        guard s.stopWritesOnBgsaveError, !s.saveParams.isEmpty, !lastBgsaveOK else { return nil }
        return "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."
    }

    // MARK: - SAVE

    /// A blocking save in this process. Returns nil on success, else the error.
    @discardableResult
    /// `onKey` runs after each key written (the server polls for signals there).
    public func save(onKey: (() -> Void)? = nil) -> String? {
        let s = settings()
        let start = Snapshots.nowSeconds()
        do {
            _ = try SnapshotWriter.saveFile(engine, dir: s.dir, dbfilename: s.dbfilename, options: options, usedMemory: usedMemory(), onKey: onKey)
            log(false, "DB saved on disk")
            engine.dirty = 0
            lastSave = start
            lastBgsaveOK = true
            rdbSaves += 1
            return nil
        } catch {
            log(true, "\(error)")
            return "\(error)"
        }
    }

    // MARK: - BGSAVE

    /// Starts a background save. Returns nil when started, else Redis's error text.
    public func backgroundSave() -> String? {
        if childRunning { return "ERR Background save already in progress" }
        if otherChildRunning() {
            return "ERR An AOF log rewriting in progress: can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible."
        }
        let tryTime = Snapshots.nowSeconds()
        dirtyAtFork = engine.dirty
        let s = settings()
        let opts = options
        let used = usedMemory()
        let t0 = Snapshots.monotonicUsec()
        let started: ForkedChild
        do {
            started = try ForkedChild.start(keysTotal: engine.databases.reduce(0) { $0 + $1.count }, prepare: inChild, log: log) {
                _ = try SnapshotWriter.saveFile(engine, dir: s.dir, dbfilename: s.dbfilename, options: opts, usedMemory: used)
            }
        } catch {
            switch error {
            case .pipe(let e):
                return "ERR Can't create pipe: \(String(cString: strerror(e)))"
            case .fork(let e):
                lastBgsaveTry = tryTime
                lastBgsaveOK = false
                let text = String(cString: strerror(e))
                log(true, "Can't save in background: fork: \(text)")
                return "ERR Can't save in background: fork: \(text)"
            }
        }
        lastBgsaveTry = tryTime
        recordFork(usec: Int(Snapshots.monotonicUsec() - t0))
        child = started
        childStart = Snapshots.nowSeconds()
        log(false, "Background saving started by pid \(started.pid)")
        return nil
    }

    /// The running child's report pipe (it hangs up when the child exits), for a caller that wants to
    /// reap it as soon as it ends rather than at the next cron tick.
    public var childPipeFD: Int32? { child?.pipeFD }

    /// True while the running child streams to a pipe for replicas (diskless sync): its end is not a save.
    public private(set) var childIsDiskless = false

    /// Diskless replication: forks a child that writes the RDB to a pipe. Returns the pipe's read end
    /// (non-blocking; EOF when the child is done), or Redis's error text.
    /// `excludeData` / `excludeFunctions`: a filtered RDB (a replica's REPLCONF rdb-filter-only).
    public func backgroundSaveToPipe(excludeData: Bool = false, excludeFunctions: Bool = false) -> Result<Int32, SnapshotError> {
        if childRunning || otherChildRunning() { return .failure(SnapshotError("ERR a child process is already running")) }
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 { return .failure(SnapshotError("ERR Can't create pipe: \(String(cString: strerror(errno)))")) }
        var opts = options
        opts.excludeData = excludeData
        opts.excludeFunctions = excludeFunctions
        let used = usedMemory()
        let writeEnd = fds[1], readEnd = fds[0]
        let t0 = Snapshots.monotonicUsec()
        let started: ForkedChild
        do {
            started = try ForkedChild.start(keysTotal: engine.databases.reduce(0) { $0 + $1.count }, prepare: { [inChild] in
                close(readEnd)
                inChild()
            }, log: log) {
                defer { close(writeEnd) }
                _ = try SnapshotWriter.write(engine, to: writeEnd, options: opts, usedMemory: used, syncEvery4MB: false)
            }
        } catch {
            close(fds[0]); close(fds[1])
            return .failure(SnapshotError("ERR Can't fork for diskless replication"))
        }
        close(writeEnd)
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
        recordFork(usec: Int(Snapshots.monotonicUsec() - t0))
        child = started
        childIsDiskless = true
        childStart = Snapshots.nowSeconds()
        log(false, "Starting BGSAVE for SYNC with target: replicas sockets")
        log(false, "Background RDB transfer started by pid \(started.pid)")
        return .success(readEnd)
    }

    /// Counts a fork (this BGSAVE's or an AOF rewrite's) for INFO total_forks, latest_fork_usec and
    /// the "fork" latency event.
    public func recordFork(usec: Int) {
        latestForkUsec = usec
        engine.latency.add("fork", ms: usec / 1000, now: Int(engine.now / 1000))
        totalForks += 1
    }

    /// Reaps a finished child (called from the cron). Returns true if one finished.
    @discardableResult
    public func checkChild() -> Bool {
        guard var c = child else { return false }
        guard let (outcome, cow) = c.reap() else {
            c.poll()
            child = c
            return false
        }
        child = nil
        if let cow { lastCowSize = cow }
        if childIsDiskless {
            childIsDiskless = false
            if case .success = outcome { onBackgroundSaveDone(true) } else {
                log(true, "Diskless replication child failed")
                onBackgroundSaveDone(false)
            }
            return true
        }
        lastBgsaveTimeSec = Int(Snapshots.nowSeconds() - childStart)
        switch outcome {
        case .success:
            log(false, "Background saving terminated with success")
            engine.dirty = max(0, engine.dirty - dirtyAtFork)
            lastSave = childStart
            lastBgsaveOK = true
            rdbSaves += 1
        case .failed:
            log(true, "Background saving error")
            lastBgsaveOK = false
        case .signaled(let signo):
            log(true, "Background saving terminated by signal \(signo)")
            removeTempFile(of: c.pid)
            // SIGUSR1 is how a save is stopped on purpose (Redis's convention): not an error.
            if signo != SIGUSR1 { lastBgsaveOK = false }
        }
        if case .success = outcome { onBackgroundSaveDone(true) } else { onBackgroundSaveDone(false) }
        return true
    }

    /// Kills a running child and removes its temporary file (SHUTDOWN, FLUSHALL).
    public func killChild() {
        guard let c = child else { return }
        c.kill()
        if !childIsDiskless { removeTempFile(of: c.pid) }
        child = nil
        childIsDiskless = false
        onBackgroundSaveDone(false)
    }

    /// Removes a stopped save's temporary file, timed as Redis's "rdb-unlink-temp-file" latency event.
    func removeTempFile(of pid: pid_t) {
        let t0 = Snapshots.monotonicUsec()
        unlink(settings().dir + "/temp-\(pid).rdb")
        engine.latency.add("rdb-unlink-temp-file", ms: Int((Snapshots.monotonicUsec() - t0) / 1000), now: Int(engine.now / 1000))
    }

    /// The cron's part: reap the child, start a scheduled BGSAVE, and check the save points.
    public func cron() {
        checkChild()
        guard !childRunning, !otherChildRunning() else { return }
        if bgsaveScheduled {
            bgsaveScheduled = false
            _ = backgroundSave()
            return
        }
        let s = settings()
        let now = Snapshots.nowSeconds()
        for p in s.saveParams where engine.dirty >= p.changes && now - lastSave > Int64(p.seconds)
            && (lastBgsaveOK || now - lastBgsaveTry > 5) {
            log(false, "\(p.changes) changes in \(p.seconds) seconds. Saving...")
            _ = backgroundSave()
            break
        }
    }

    /// INFO persistence's RDB fields.
    /// `current` is the running child's progress (a BGSAVE's or an AOF rewrite's), if any.
    public func infoFields(loading: Bool, asyncLoading: Bool = false, current: ChildProgress?) -> [String] {
        let now = Snapshots.nowSeconds()
        return ["loading:\(loading ? 1 : 0)", "async_loading:\(asyncLoading ? 1 : 0)"] + ChildProgress.infoFields(current) + [
            "rdb_changes_since_last_save:\(engine.dirty)", "rdb_bgsave_in_progress:\(childRunning ? 1 : 0)",
            "rdb_last_save_time:\(lastSave)", "rdb_last_bgsave_status:\(lastBgsaveOK ? "ok" : "err")",
            "rdb_last_bgsave_time_sec:\(lastBgsaveTimeSec)", "rdb_current_bgsave_time_sec:\(childRunning ? Int(now - childStart) : -1)",
            "rdb_saves:\(rdbSaves)", "rdb_last_cow_size:\(lastCowSize)",
            "rdb_last_load_keys_expired:\(lastLoad.keysExpired)", "rdb_last_load_keys_loaded:\(lastLoad.keysLoaded)",
        ]
    }

    /// Private dirty bytes of this process (the copy-on-write cost of a forked child).
    static func privateDirtyBytes() -> Int {
        let fd = open("/proc/self/smaps_rollup", O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &buf, 4095)
        guard n > 0 else { return 0 }
        // Find "Private_Dirty:   1234 kB".
        let text = buf[0 ..< n]
        let needle = Array("Private_Dirty:".utf8)
        var i = 0
        while i + needle.count < text.count {
            if Array(text[i ..< i + needle.count]) == needle {
                var j = i + needle.count
                while j < text.count && text[j] == 32 { j += 1 }
                var v = 0
                while j < text.count && text[j] >= 48 && text[j] <= 57 { v = v * 10 + Int(text[j] - 48); j += 1 }
                return v * 1024
            }
            i += 1
        }
        return 0
    }
}
