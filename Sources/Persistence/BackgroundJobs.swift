// BackgroundJobs: one thread that runs the AOF's slow system calls — fsync of the incremental file
// under `appendfsync everysec`, closing a replaced file, unlinking history files — so the event loop
// never waits on the disk for them. The main thread asks whether an fsync is still running (Redis's
// 2-second postponement rule) and reads the error of the last one.
//
// Fork safety: BGSAVE and BGREWRITEAOF fork while this thread may be running. A forked child inherits
// every lock as it was, so if this thread held one of the Swift runtime's locks (taken lazily, e.g.
// when generic code first needs a witness table) the child would deadlock on it. So this thread runs
// Swift code only while holding `mutex`, a pthread_atfork handler takes `mutex` around every fork,
// and outside it the thread makes only plain C calls (fdatasync, close, unlink, free).
#if canImport(Glibc)
import Glibc
#endif

/// The instance the fork handlers lock (the server has one).
nonisolated(unsafe) private var forkGuarded: BackgroundJobs? = nil

final class BackgroundJobs: @unchecked Sendable {
    enum Job {
        case fsync(Int32)
        case close(Int32)
        case fsyncAndClose(Int32)
        case unlink(String)
    }

    /// A job as plain values, so the unlocked part of the thread needs no Swift runtime.
    private struct Plain {
        static let fsync: Int32 = 0, close: Int32 = 1, fsyncAndClose: Int32 = 2, unlink: Int32 = 3
        var kind: Int32
        var fd: Int32
        /// strdup'ed path for unlink, freed by the thread.
        var path: UnsafeMutablePointer<CChar>?
    }

    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var queue: [Plain] = []
    /// fsync jobs queued or running.
    private var fsyncsPending = 0
    /// errno of the last failed background fsync, 0 when the last one succeeded.
    private var fsyncErrno: Int32 = 0
    private var started = false
    /// Fault injection for tests of a slow disk: CAIRN_DEBUG_FSYNC_DELAY_MS makes every background
    /// fsync take that much longer (read once, at start).
    private let fsyncDelayMicros: UInt32

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
        if let v = getenv("CAIRN_DEBUG_FSYNC_DELAY_MS"), let ms = UInt32(String(cString: v)) {
            fsyncDelayMicros = min(ms, 60_000) * 1000
        } else {
            fsyncDelayMicros = 0
        }
    }

    private func startIfNeeded() {
        if started { return }
        started = true
        if forkGuarded == nil {
            forkGuarded = self
            pthread_atfork({ forkGuarded?.lockForFork() }, { forkGuarded?.unlockAfterFork() }, nil)
        }
        var tid = pthread_t()
        let arg = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&tid, nil, { arg in
            let me = Unmanaged<BackgroundJobs>.fromOpaque(arg!).takeRetainedValue()
            me.run()
            return nil
        }, arg)
        pthread_detach(tid)
    }

    fileprivate func lockForFork() { pthread_mutex_lock(&mutex) }
    fileprivate func unlockAfterFork() { pthread_mutex_unlock(&mutex) }

    func submit(_ job: Job) {
        var plain: Plain
        switch job {
        case .fsync(let fd): plain = Plain(kind: Plain.fsync, fd: fd, path: nil)
        case .close(let fd): plain = Plain(kind: Plain.close, fd: fd, path: nil)
        case .fsyncAndClose(let fd): plain = Plain(kind: Plain.fsyncAndClose, fd: fd, path: nil)
        case .unlink(let path): plain = Plain(kind: Plain.unlink, fd: -1, path: strdup(path))
        }
        pthread_mutex_lock(&mutex)
        startIfNeeded()
        queue.append(plain)
        if plain.kind == Plain.fsync || plain.kind == Plain.fsyncAndClose { fsyncsPending += 1 }
        pthread_cond_signal(&cond)
        pthread_mutex_unlock(&mutex)
    }

    /// Number of fsyncs queued or running (INFO aof_pending_bio_fsync).
    var pendingFsyncs: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return fsyncsPending
    }

    /// Takes the errno of a failed background fsync (0 when none failed since the last call).
    func takeFsyncError() -> Int32 {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let e = fsyncErrno
        fsyncErrno = 0
        return e
    }

    /// Waits until every queued job has run (shutdown, switching files under `always`).
    func drain() {
        pthread_mutex_lock(&mutex)
        while !queue.isEmpty || fsyncsPending > 0 {
            pthread_mutex_unlock(&mutex)
            usleep(1000)
            pthread_mutex_lock(&mutex)
        }
        pthread_mutex_unlock(&mutex)
    }

    private func run() {
        pthread_mutex_lock(&mutex)
        while true {
            while queue.isEmpty { pthread_cond_wait(&cond, &mutex) }
            let job = queue.removeFirst()
            pthread_mutex_unlock(&mutex)
            // Unlocked: plain C calls only (see the fork-safety note above).
            var failed: Int32 = 0
            let kind = job.kind
            if fsyncDelayMicros > 0 && (kind == Plain.fsync || kind == Plain.fsyncAndClose) { usleep(fsyncDelayMicros) }
            if kind == Plain.fsync {
                if fdatasync(job.fd) != 0 && errno != EBADF && errno != EINVAL { failed = errno }
            } else if kind == Plain.fsyncAndClose {
                if fdatasync(job.fd) != 0 && errno != EINVAL { failed = errno }
                Glibc.close(job.fd)
            } else if kind == Plain.close {
                Glibc.close(job.fd)
            } else if let p = job.path {
                Glibc.unlink(p)
                free(p)
            }
            pthread_mutex_lock(&mutex)
            if kind == Plain.fsync || kind == Plain.fsyncAndClose {
                fsyncsPending -= 1
                if failed != 0 { fsyncErrno = failed }
            }
        }
    }
}
