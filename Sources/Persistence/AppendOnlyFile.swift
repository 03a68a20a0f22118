// AppendOnlyFile: Redis 7's multi-part AOF. Every write reaches `feed` in its replayable form and
// goes into a buffer; `flush` writes the buffer with one write() before the event loop sends replies,
// and fsyncs by policy (`always`: on this thread, before the replies; `everysec`: on the background
// thread, once a second, postponing a write for up to 2 s while an fsync is still running; `no`:
// never). BGREWRITEAOF forks a child that writes a new base file (an RDB, or commands) while the
// parent opens a new incremental file; when the child succeeds the parent commits a new manifest
// atomically and deletes the history. Start-up loading lives in AOFLoader.
#if canImport(Glibc)
import Glibc
#endif
import Engine
import StorageFormat

public enum AOFFsyncPolicy: String, Sendable {
    case always, everysec, no
}

/// What the AOF needs from the configuration, read fresh when it matters.
public struct AOFSettings: Sendable {
    public var dir: String
    public var dirName: String
    public var fileName: String
    public var useRDBPreamble: Bool
    public var autoRewritePercentage: Int
    public var autoRewriteMinSize: Int
    public var disableAutoGC: Bool
    public var loadTruncated: Bool
    public var rdbCompression: Bool
    public var rdbChecksum: Bool
    public init(dir: String, dirName: String, fileName: String, useRDBPreamble: Bool, autoRewritePercentage: Int,
                autoRewriteMinSize: Int, disableAutoGC: Bool, loadTruncated: Bool, rdbCompression: Bool, rdbChecksum: Bool) {
        self.dir = dir; self.dirName = dirName; self.fileName = fileName; self.useRDBPreamble = useRDBPreamble
        self.autoRewritePercentage = autoRewritePercentage; self.autoRewriteMinSize = autoRewriteMinSize
        self.disableAutoGC = disableAutoGC; self.loadTruncated = loadTruncated
        self.rdbCompression = rdbCompression; self.rdbChecksum = rdbChecksum
    }
    public var dirPath: String { dir + "/" + dirName }
}

public final class AppendOnlyFile {
    public enum State { case off, on, waitRewrite }

    let engine: Engine
    let settings: () -> AOFSettings
    /// (isWarning, message) → the server's log.
    public var log: (Bool, String) -> Void = { _, _ in }
    /// Called in a forked child right after fork().
    public var inChild: () -> Void = {}
    /// Bytes the allocator holds now (for the RDB preamble's used-mem aux field).
    public var usedMemory: () -> Int = { 0 }
    /// True while another child (a BGSAVE) runs: a rewrite then waits (is scheduled).
    public var otherChildRunning: () -> Bool = { false }
    /// Called after each rewrite fork with how long fork() took (µs), for INFO total_forks.
    public var forked: (Int) -> Void = { _ in }
    /// Exits the process (a write or fsync error under `always`, as Redis does).
    public var fatal: (String) -> Never = { m in
        let line = Array((m + "\n").utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        exit(1)
    }

    public private(set) var state: State = .off
    /// Hot settings, refreshed by the server on CONFIG SET.
    public var policy: AOFFsyncPolicy = .everysec
    public var timestamps = false
    public var noFsyncOnRewrite = false

    var manifest = AOFManifest()
    /// The incremental file being appended to (or, while turning on, the temporary one).
    var fd: Int32 = -1
    var buffer: [UInt8] = []
    var selectedDB = -1
    var lastTimestamp: Int64 = 0
    /// Size of the current incremental file after the last good write (a failed write truncates back to it).
    var incrSize = 0
    var syncedIncrSize = 0
    public private(set) var currentSize = 0
    public private(set) var baseSize = 0
    var lastFsyncSecond: Int64 = 0
    var postponedSince: Int64 = 0
    public private(set) var delayedFsync = 0
    public private(set) var lastWriteOK = true {
        didSet { engine.persistenceFailing.aof = !lastWriteOK }
    }
    var lastWriteError = ""
    var lastWriteRetry: Int64 = 0
    let jobs = BackgroundJobs()

    // Rewrite child.
    var child: ForkedChild? = nil {
        // While a child runs, accesses leave keys' LRU/LFU bits alone (no copy-on-write for reads).
        didSet { if (oldValue == nil) != (child == nil) { engine.keyAccess.forkedChildren += child == nil ? -1 : 1 } }
    }
    var childStart: Int64 = 0
    var childTemp = ""
    var childUsesPreamble = true
    public var rewriteScheduled = false
    public private(set) var lastRewriteOK = true
    public private(set) var lastRewriteTimeSec = -1
    public private(set) var rewrites = 0
    public private(set) var consecutiveFailures = 0
    /// The automatic-rewrite limit after repeated failures (autoRewriteLimited).
    var limitDelayMinutes = 0
    var limitUntil: Int64 = 0
    public private(set) var lastCowSize = 0
    /// Temporary incremental file used while turning the AOF on (not in the manifest yet).
    var tempIncrName: String { "temp-" + settings().fileName + ".incr" }

    public init(engine: Engine, settings: @escaping () -> AOFSettings) {
        self.engine = engine
        self.settings = settings
    }

    public var childRunning: Bool { child != nil }
    /// Everything written so far is in the file and fsynced (WAITAOF's local acknowledgement).
    public var allFsynced: Bool { fd >= 0 && buffer.isEmpty && syncedIncrSize == incrSize && jobs.pendingFsyncs == 0 }
    public var childPID: pid_t { child?.pid ?? -1 }
    public var enabled: Bool { state != .off }

    static func nowSeconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }

    static func monotonicMS() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    static func errnoText(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }

    // MARK: - Feeding

    static let selectName = Array("SELECT".utf8)

    /// The engine's propagation sink: one write in its replayable form.
    public func feed(_ db: Int, _ args: [[UInt8]]) {
        guard prepareRecord(db) else { return }
        AOFCommands.append(args, to: &buffer)
    }

    /// A write whose request bytes are already its record (checked by the engine): copied as they are.
    public func feedRaw(_ db: Int, _ record: UnsafeRawBufferPointer) {
        guard prepareRecord(db) else { return }
        buffer.append(contentsOf: record)
    }

    /// The timestamp annotation and SELECT a record needs first; false when nothing is logged now.
    @inline(__always)
    func prepareRecord(_ db: Int) -> Bool {
        // While turning on, writes made before the rewrite child forks are in its snapshot.
        if state == .waitRewrite && !childRunning { return false }
        if timestamps {
            let sec = engine.now / 1000
            if sec != lastTimestamp {
                lastTimestamp = sec
                AOFCommands.appendTimestamp(sec, to: &buffer)
            }
        }
        if db != selectedDB {
            AOFCommands.append([AppendOnlyFile.selectName, StrictInteger.format(Int64(db))], to: &buffer)
            selectedDB = db
        }
        return true
    }

    /// The MISCONF error for write commands after a failed AOF write, or nil.
    public var writeRefusal: String? {
        if lastWriteOK { return nil }
        return "MISCONF Errors writing to the AOF file: " + lastWriteError
    }

    // MARK: - Writing and fsync

    /// Writes the buffer (and fsyncs by policy). Called before the event loop sends replies; `force`
    /// writes even while a background fsync runs (shutdown, rewrite start).
    /// DEBUG AOF-FLUSH-SLEEP: microseconds to sleep before each write of the AOF buffer.
    public var flushSleepMicros = 0

    public func flush(force: Bool = false) {
        guard fd >= 0 else { return }
        if buffer.isEmpty {
            // everysec: data written but not yet fsynced gets its fsync even with nothing new.
            if policy == .everysec && syncedIncrSize != incrSize && lastWriteOK { fsyncBySecond() }
            return
        }
        if policy == .everysec && !force && jobs.pendingFsyncs > 0 {
            let now = AppendOnlyFile.monotonicMS()
            if postponedSince == 0 { postponedSince = now; return }
            if now - postponedSince < 2000 { return }
            delayedFsync += 1
            log(false, "Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.")
        }
        postponedSince = 0
        if flushSleepMicros > 0 { usleep(useconds_t(flushSleepMicros)) }
        var written = 0
        var failure: Int32 = 0
        buffer.withUnsafeBytes { raw in
            while written < raw.count {
                let n = write(fd, raw.baseAddress! + written, raw.count - written)
                if n > 0 { written += n; continue }
                if n < 0 && errno == EINTR { continue }
                failure = n < 0 ? errno : ENOSPC
                break
            }
        }
        if failure != 0 {
            handleWriteError(written: written, errno: failure)
            return
        }
        incrSize += written
        currentSize += written
        buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
        if !lastWriteOK {
            log(true, "AOF write error looks solved, Redis can write again.")
            lastWriteOK = true
        }
        if noFsyncOnRewrite && (childRunning || otherChildRunning()) { return }
        switch policy {
        case .always:
            let t0 = engine.latency.threshold > 0 ? AppendOnlyFile.monotonicMS() : 0
            do throws(FileError) {
                try DurableFile.syncData(fd, path: "AOF")
            } catch {
                fatal("Can't persist AOF for fsync error when the AOF fsync policy is 'always': \(error.reason). Exiting...")
            }
            if engine.latency.threshold > 0 {
                engine.latency.add("aof-fsync-always", ms: Int(AppendOnlyFile.monotonicMS() - t0), now: Int(engine.now / 1000))
            }
            syncedIncrSize = incrSize
        case .everysec:
            fsyncBySecond()
        case .no:
            break
        }
    }

    func fsyncBySecond() {
        let now = AppendOnlyFile.nowSeconds()
        guard now != lastFsyncSecond, jobs.pendingFsyncs == 0 else { return }
        lastFsyncSecond = now
        jobs.submit(.fsync(fd))
        syncedIncrSize = incrSize
    }

    func handleWriteError(written: Int, errno e: Int32) {
        let text = AppendOnlyFile.errnoText(e)
        if policy == .always {
            fatal("Can't recover from AOF write error when the AOF fsync policy is 'always' (\(text)). Exiting...")
        }
        if written > 0 {
            // Take back the partial write so the file never ends in half a command.
            if ftruncate(fd, off_t(incrSize)) == 0 {
                lseek(fd, off_t(incrSize), SEEK_SET)
            } else {
                // Could not truncate: the written part stays in the file; drop it from the buffer.
                incrSize += written
                currentSize += written
                buffer.removeFirst(written)
            }
        }
        if lastWriteOK || lastWriteError != text {
            log(true, "Error writing to the AOF file: \(text)")
        }
        lastWriteOK = false
        lastWriteError = text
        lastWriteRetry = AppendOnlyFile.nowSeconds()
    }

    // MARK: - Files and the manifest

    var dirPath: String { settings().dirPath }

    func path(_ name: String) -> String { dirPath + "/" + name }

    static func fileSize(_ path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : 0
    }

    static func fsyncDirectory(_ path: String) throws {
        do throws(FileError) {
            try DurableFile.syncDirectory(path)
        } catch {
            throw SnapshotError("Failed to fsync the append-only dir \(path): \(error.reason)")
        }
    }

    /// Writes `m` as the manifest atomically: temp file, fsync, rename, fsync the directory.
    func persistManifest(_ m: AOFManifest) throws {
        let s = settings()
        let name = AOFManifest.manifestName(s.fileName)
        let temp = path("temp-" + name)
        let target = path(name)
        let bytes = m.encoded()
        let f = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard f >= 0 else { throw SnapshotError("Can't open the AOF manifest file \(temp): \(AppendOnlyFile.errnoText())") }
        do throws(FileError) {
            try DurableFile.writeAll(f, bytes, path: temp)
        } catch {
            close(f)
            unlink(temp)
            throw SnapshotError("Error trying to write the temporary AOF manifest file \(temp): \(error.reason)")
        }
        do throws(FileError) {
            try DurableFile.commit(f, temp: temp, to: target)
        } catch {
            switch error.operation {
            case .rename:
                throw SnapshotError("Error trying to rename the temporary AOF manifest file \(temp) into \(target): \(error.reason)")
            case .fsyncDirectory:
                throw SnapshotError("Failed to fsync the append-only dir \(dirPath): \(error.reason)")
            default:
                throw SnapshotError("Error trying to write the temporary AOF manifest file \(temp): \(error.reason)")
            }
        }
    }

    func ensureDirectory() throws {
        let p = dirPath
        if mkdir(p, 0o755) != 0 && errno != EEXIST {
            throw SnapshotError("Can't open or create append-only dir \(p): \(AppendOnlyFile.errnoText())")
        }
    }

    /// Switches appending to `name` (created empty), closing the old file in the background.
    func switchIncr(to name: String, create: Bool) throws {
        let flags = O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : O_CREAT)
        let f = open(path(name), flags, 0o644)
        guard f >= 0 else { throw SnapshotError("Can't open the append-only file \(name): \(AppendOnlyFile.errnoText())") }
        if fd >= 0 { jobs.submit(.fsyncAndClose(fd)) }
        fd = f
        incrSize = create ? 0 : AppendOnlyFile.fileSize(path(name))
        syncedIncrSize = incrSize
        selectedDB = -1
        lastTimestamp = 0
    }

    /// Opens a new incremental file for appending: the next INCR in the manifest when on; a temporary
    /// one (added at the rewrite's end) while turning on.
    func openNewIncr() throws {
        // With the AOF off a rewrite only writes a new base: there is nothing to append to.
        if state == .off { return }
        if state == .waitRewrite {
            try switchIncr(to: tempIncrName, create: true)
            return
        }
        // With the AOF off a rewrite only writes a new BASE (Redis opens no INCR then).
        if state == .off { return }
        let s = settings()
        var m = manifest
        let seq = m.takeNextIncrSeq()
        let name = AOFManifest.incrName(s.fileName, seq: seq)
        m.incrs.append(AOFManifestEntry(name: name, seq: seq, type: .incr))
        let oldFD = fd
        let f = open(path(name), O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard f >= 0 else { throw SnapshotError("Can't open the append-only file \(name): \(AppendOnlyFile.errnoText())") }
        do {
            try persistManifest(m)
        } catch {
            close(f)
            unlink(path(name))
            throw error
        }
        manifest = m
        if oldFD >= 0 { jobs.submit(.fsyncAndClose(oldFD)) }
        fd = f
        incrSize = 0
        syncedIncrSize = 0
        selectedDB = -1
        lastTimestamp = 0
        log(false, "Creating AOF incr file \(name) on background rewrite")
    }

    // MARK: - Turning on and off

    /// After loading at start: opens the last INCR of the manifest for appending (creating the base
    /// and a first INCR when there are none, as Redis does on a first start).
    public func openAtStart(loadedManifest: AOFManifest?) throws {
        let s = settings()
        try ensureDirectory()
        state = .on
        if let m = loadedManifest {
            manifest = m
        }
        if manifest.base == nil && manifest.incrs.isEmpty {
            // No files at all: write the (empty) dataset as the first base right away.
            var m = manifest
            let seq = m.takeNextBaseSeq()
            let name = AOFManifest.baseName(s.fileName, seq: seq, rdb: s.useRDBPreamble)
            try writeBaseSynchronously(name: name)
            m.base = AOFManifestEntry(name: name, seq: seq, type: .base)
            manifest = m
            log(false, "Creating AOF base file \(name) on server start")
        }
        if let last = manifest.incrs.last {
            try switchIncr(to: last.name, create: false)
            log(false, "Opening AOF incr file \(last.name) on server start")
        } else {
            let seq = manifest.takeNextIncrSeq()
            let name = AOFManifest.incrName(s.fileName, seq: seq)
            manifest.incrs.append(AOFManifestEntry(name: name, seq: seq, type: .incr))
            try switchIncr(to: name, create: true)
            log(false, "Creating AOF incr file \(name) on server start")
        }
        try persistManifest(manifest)
        baseSize = manifest.base.map { AppendOnlyFile.fileSize(path($0.name)) } ?? 0
        currentSize = baseSize + manifest.incrs.reduce(0) { $0 + AppendOnlyFile.fileSize(path($1.name)) }
        installSinks()
    }

    func installSinks() {
        engine.propagationSink = { [unowned self] db, args in self.feed(db, args) }
        engine.propagationRawSink = { [unowned self] db, raw in self.feedRaw(db, raw) }
    }

    func removeSinks() {
        engine.propagationSink = nil
        engine.propagationRawSink = nil
    }

    /// CONFIG SET appendonly yes: starts a rewrite; the AOF is on when it succeeds.
    public func turnOn() -> String? {
        guard state == .off else { return nil }
        do { try ensureDirectory() } catch { return "\(error)" }
        // Pick up whatever manifest is on disk so sequence numbers keep growing.
        let s = settings()
        if let bytes = try? readWholeFile(path(AOFManifest.manifestName(s.fileName))), let m = try? AOFManifest.parse(bytes) {
            manifest = m
        }
        state = .waitRewrite
        installSinks()
        if childRunning || otherChildRunning() {
            rewriteScheduled = true
            log(true, "AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.")
            return nil
        }
        if engine.executingTransaction {
            // Inside EXEC the fork waits for the end of the transaction (the cron starts it).
            rewriteScheduled = true
            log(true, "AOF was enabled during a transaction. An AOF background was scheduled to start when possible.")
            return nil
        }
        if let e = backgroundRewrite() {
            state = .off
            removeSinks()
            log(true, "Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.")
            return e
        }
        return nil
    }

    /// CONFIG SET appendonly no (and shutdown): flushes, fsyncs and closes; kills a rewrite.
    public func turnOff() {
        guard state != .off else { return }
        flush(force: true)
        if fd >= 0 {
            syncBeforeClosing()
            jobs.submit(.close(fd))
            fd = -1
        }
        if childRunning { killChild() }
        if state == .waitRewrite { unlink(path(tempIncrName)) }
        state = .off
        removeSinks()
        buffer.removeAll()
        lastWriteOK = true
        rewriteScheduled = false
    }

    /// Shutdown: write and fsync what is buffered, stop the child.
    public func prepareForShutdown() {
        if childRunning { killChild() }
        guard fd >= 0 else { return }
        flush(force: true)
        log(false, "Calling fsync() on the AOF file.")
        syncBeforeClosing()
        jobs.drain()
    }

    /// The last fsync before the file is closed (AOF turned off, shutdown): a failure is logged.
    func syncBeforeClosing() {
        do throws(FileError) {
            try DurableFile.syncData(fd, path: "AOF")
        } catch {
            log(true, "Fail to fsync the AOF file: \(error.reason).")
        }
    }

    // MARK: - Rewrite

    /// Writes the dataset as a base file in this process (first start with no files).
    func writeBaseSynchronously(name: String) throws {
        let s = settings()
        let temp = path("temp-rewriteaof-\(getpid()).aof")
        try AOFRewriter.writeFile(engine, path: temp, preamble: s.useRDBPreamble, timestamps: timestamps,
                                  compression: s.rdbCompression, checksum: s.rdbChecksum, usedMemory: usedMemory())
        do throws(FileError) {
            try DurableFile.rename(temp, over: path(name))
        } catch {
            if error.operation == .rename { unlink(temp) }
            throw SnapshotError(error.operation == .rename
                ? "Error trying to rename the temporary AOF base file into \(name): \(error.reason)"
                : "Failed to fsync the append-only dir \(dirPath): \(error.reason)")
        }
    }

    /// The file a rewrite child with this pid writes the new base to.
    static func rewriteTempName(_ pid: pid_t) -> String { "temp-rewriteaof-bg-\(pid).aof" }

    /// BGREWRITEAOF: nil when started, else Redis's error text.
    public func backgroundRewrite() -> String? {
        if childRunning { return "ERR Background append only file rewriting already in progress" }
        if otherChildRunning() {
            rewriteScheduled = true
            return nil
        }
        let s = settings()
        do { try ensureDirectory() } catch {
            lastRewriteOK = false
            return "ERR \(error)"
        }
        if state == .off {
            // The manifest on disk is the one the new base replaces (sequence numbers keep growing).
            if let bytes = try? readWholeFile(path(AOFManifest.manifestName(s.fileName))), let m = try? AOFManifest.parse(bytes) {
                manifest = m
            }
        }
        flush(force: true)
        do {
            try openNewIncr()
        } catch {
            log(true, "\(error)")
            lastRewriteOK = false
            return "ERR Can't open new AOF incr file: \(error)"
        }
        let preamble = s.useRDBPreamble
        let ts = timestamps
        let used = usedMemory()
        let dir = dirPath
        let started: ForkedChild
        var t0 = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t0)
        do {
            started = try ForkedChild.start(keysTotal: engine.databases.reduce(0) { $0 + $1.count }, prepare: inChild, log: log) {
                let name = AppendOnlyFile.rewriteTempName(getpid())
                try AOFRewriter.writeFile(engine, path: dir + "/" + name, preamble: preamble, timestamps: ts,
                                          compression: s.rdbCompression, checksum: s.rdbChecksum, usedMemory: used)
                log(false, "Successfully created the temporary AOF base file \(name)")
            }
        } catch {
            switch error {
            case .pipe(let e):
                return "ERR Can't create pipe: \(AppendOnlyFile.errnoText(e))"
            case .fork(let e):
                lastRewriteOK = false
                let text = AppendOnlyFile.errnoText(e)
                log(true, "Can't rewrite append only file in background: fork: \(text)")
                return "ERR Can't rewrite append only file in background: fork: \(text)"
            }
        }
        var t1 = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t1)
        forked(Int(t1.tv_sec - t0.tv_sec) * 1_000_000 + Int(t1.tv_nsec - t0.tv_nsec) / 1000)
        child = started
        childStart = AppendOnlyFile.nowSeconds()
        childTemp = dir + "/" + AppendOnlyFile.rewriteTempName(started.pid)
        childUsesPreamble = preamble
        rewriteScheduled = false
        log(false, "Background append only file rewriting started by pid \(started.pid)")
        return nil
    }

    /// Reaps a finished rewrite child (from the cron) and commits its base file.
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
        lastRewriteTimeSec = Int(AppendOnlyFile.nowSeconds() - childStart)
        switch outcome {
        case .success:
            log(false, "Background AOF rewrite terminated with success")
            do {
                try commitRewrite()
                lastRewriteOK = true
                consecutiveFailures = 0
                rewrites += 1
                log(false, "Background AOF rewrite finished successfully")
            } catch {
                log(true, "\(error)")
                rewriteFailed()
            }
        case .failed, .signaled:
            if case .signaled(let signo) = outcome {
                log(true, "Background AOF rewrite terminated by signal \(signo)")
            } else {
                log(true, "Background AOF rewrite terminated with error")
            }
            unlink(childTemp)
            rewriteFailed()
        }
        return true
    }

    func rewriteFailed() {
        lastRewriteOK = false
        consecutiveFailures += 1
        if state == .waitRewrite {
            // Turning on retries from the cron, with a new temporary INCR: what this one collected
            // is in no base.
            buffer.removeAll()
            removeTempIncr()
            rewriteScheduled = true
        }
    }

    /// Deletes the temporary INCR used while turning on. Unlinked here, not on the background
    /// thread, so a late unlink cannot remove the next rewrite's new temporary INCR; our fd keeps the
    /// data alive until the next switch closes it in the background, so this never frees blocks.
    func removeTempIncr() {
        log(false, "Removing the temp incr aof file \(tempIncrName) in the background")
        unlink(path(tempIncrName))
    }

    /// The child's base file becomes the BASE; the old base and the INCRs before the fork become
    /// HISTORY; the manifest is committed; history files are deleted.
    func commitRewrite() throws {
        let s = settings()
        var m = manifest
        let baseSeq = m.takeNextBaseSeq()
        let baseName = AOFManifest.baseName(s.fileName, seq: baseSeq, rdb: childUsesPreamble)
        guard rename(childTemp, path(baseName)) == 0 else {
            let e = AppendOnlyFile.errnoText()
            unlink(childTemp)
            throw SnapshotError("Error trying to rename the temporary AOF base file \(childTemp) into \(baseName): \(e)")
        }
        log(false, "Successfully renamed the temporary AOF base file \(childTemp.split(separator: "/").last.map(String.init) ?? childTemp) into \(baseName)")
        // As Redis orders HISTORY: the newest first (the old base, then the INCRs it replaces).
        if let old = m.base { m.history.insert(AOFManifestEntry(name: old.name, seq: old.seq, type: .history), at: 0) }
        m.base = AOFManifestEntry(name: baseName, seq: baseSeq, type: .base)
        var renamedTempIncr: String? = nil
        if state == .waitRewrite {
            // Everything written since the fork is in the temporary INCR: it becomes the only INCR.
            let seq = m.takeNextIncrSeq()
            let name = AOFManifest.incrName(s.fileName, seq: seq)
            guard rename(path(tempIncrName), path(name)) == 0 else {
                let e = AppendOnlyFile.errnoText()
                unlink(path(baseName))
                throw SnapshotError("Error trying to rename the temporary AOF incr file \(tempIncrName) into \(name): \(e)")
            }
            renamedTempIncr = name
            m.incrs.append(AOFManifestEntry(name: name, seq: seq, type: .incr))
        }
        // Every INCR the new base covers becomes HISTORY: all but the one being appended to, or all
        // of them when the AOF is off.
        let keep = state == .off ? 0 : 1
        for old in m.incrs.dropLast(keep).reversed() {
            m.history.insert(AOFManifestEntry(name: old.name, seq: old.seq, type: .history), at: 0)
        }
        m.incrs = Array(m.incrs.suffix(keep))
        do {
            try persistManifest(m)
        } catch {
            unlink(path(baseName))
            if let n = renamedTempIncr { rename(path(n), path(tempIncrName)) }
            throw error
        }
        manifest = m
        if state == .waitRewrite {
            state = .on
            log(false, "Background AOF rewrite finished successfully, AOF is on")
        }
        baseSize = AppendOnlyFile.fileSize(path(baseName))
        currentSize = baseSize + (state == .off ? 0 : incrSize)
        deleteHistory()
    }

    /// Deletes the HISTORY files and drops them from the manifest, unless aof-disable-auto-gc is set.
    public func deleteHistory() {
        guard !settings().disableAutoGC, !manifest.history.isEmpty else { return }
        for h in manifest.history {
            log(false, "Removing the history file \(h.name) in the background")
            jobs.submit(.unlink(path(h.name)))
        }
        var m = manifest
        m.history = []
        do {
            try persistManifest(m)
            manifest = m
        } catch {
            log(true, "\(error)")
        }
    }

    /// Kills a running rewrite and removes its temporary file.
    public func killChild() {
        guard let c = child else { return }
        let status = c.kill()
        unlink(childTemp)
        child = nil
        log(false, "Killing running AOF rewrite child: \(status)")
    }

    // MARK: - Cron

    /// Once per cron tick: reap the child, retry a failed write, fsync everysec, scheduled and
    /// automatic rewrites.
    public func cron() {
        checkChild()
        if state != .off { cronWrites() }
        guard !childRunning, !otherChildRunning() else { return }
        // A BGREWRITEAOF scheduled behind a BGSAVE runs whether the AOF is on or off, as in Redis.
        if rewriteScheduled {
            if !autoRewriteLimited() { _ = backgroundRewrite() }
            return
        }
        let s = settings()
        if state == .on && s.autoRewritePercentage > 0 && currentSize > s.autoRewriteMinSize {
            let base = max(baseSize, 1)
            let growth = (currentSize * 100 / base) - 100
            if growth >= s.autoRewritePercentage && !autoRewriteLimited() {
                log(false, "Starting automatic rewriting of AOF on \(growth)% growth")
                _ = backgroundRewrite()
            }
        }
    }

    /// The cron's part for the AOF being on: fsync errors, retrying a failed write, everysec flushes.
    func cronWrites() {
        if let e = Optional(jobs.takeFsyncError()), e != 0 {
            let text = AppendOnlyFile.errnoText(e)
            log(true, "Error syncing the AOF file: \(text)")
            lastWriteOK = false
            lastWriteError = text
        }
        if !lastWriteOK && !buffer.isEmpty {
            flush(force: false)
        } else if !lastWriteOK {
            // The failed part was taken back; a successful fsync clears the state.
            if fd >= 0 && (try? DurableFile.syncData(fd, path: "AOF")) != nil {
                log(true, "AOF write error looks solved, Redis can write again.")
                lastWriteOK = true
            }
        } else if policy == .everysec {
            flush(force: false)
        }
    }

    /// After 3 consecutive failed rewrites, automatic rewrites wait 1 minute, then 2, 4… up to 60
    /// between attempts, as in Redis; a success (or a manual rewrite that succeeds) lifts the limit.
    func autoRewriteLimited() -> Bool {
        guard consecutiveFailures >= 3 else {
            limitDelayMinutes = 0
            limitUntil = 0
            return false
        }
        let now = AppendOnlyFile.nowSeconds()
        if limitUntil != 0 {
            if now < limitUntil { return true }
            limitUntil = 0
            return false
        }
        limitDelayMinutes = limitDelayMinutes == 0 ? 1 : min(limitDelayMinutes * 2, 60)
        limitUntil = now + Int64(limitDelayMinutes) * 60
        log(true, "Background AOF rewrite has repeatedly failed and triggered the limit, will retry in \(limitDelayMinutes) minutes")
        return true
    }

    // MARK: - INFO

    /// The running rewrite child's last report.
    public var childProgress: ChildProgress? { child?.progress }

    public func infoFields() -> [String] {
        let now = AppendOnlyFile.nowSeconds()
        var f = [
            "aof_enabled:\(state != .off ? 1 : 0)", "aof_rewrite_in_progress:\(childRunning ? 1 : 0)",
            "aof_rewrite_scheduled:\(rewriteScheduled ? 1 : 0)", "aof_last_rewrite_time_sec:\(lastRewriteTimeSec)",
            "aof_current_rewrite_time_sec:\(childRunning ? Int(now - childStart) : -1)",
            "aof_last_bgrewrite_status:\(lastRewriteOK ? "ok" : "err")", "aof_rewrites:\(rewrites)",
            "aof_rewrites_consecutive_failures:\(consecutiveFailures)",
            "aof_last_write_status:\(lastWriteOK ? "ok" : "err")", "aof_last_cow_size:\(lastCowSize)",
            "module_fork_in_progress:0", "module_fork_last_cow_size:0",
        ]
        if state != .off {
            f += ["aof_current_size:\(currentSize)", "aof_base_size:\(baseSize)", "aof_pending_rewrite:\(rewriteScheduled ? 1 : 0)",
                  "aof_buffer_length:\(buffer.count)", "aof_pending_bio_fsync:\(jobs.pendingFsyncs)", "aof_delayed_fsync:\(delayedFsync)"]
        }
        return f
    }

    /// Bytes waiting in the AOF buffer (INFO mem_aof_buffer).
    public var bufferedBytes: Int { buffer.count }
}

/// Reads a whole (small) file.
func readWholeFile(_ path: String) throws -> [UInt8] {
    let f = open(path, O_RDONLY | O_CLOEXEC)
    guard f >= 0 else { throw IOError(path: path, errno: errno) }
    defer { close(f) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(f, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw IOError(path: path, errno: errno)
        }
        if n == 0 { break }
        out.append(contentsOf: chunk[0 ..< n])
    }
    return out
}
