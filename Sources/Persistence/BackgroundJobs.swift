// BackgroundJobs: one thread that runs the AOF's slow system calls — fsync of the incremental file
// under `appendfsync everysec`, closing a replaced file, unlinking history files — so the event loop
// never waits on the disk for them. The main thread asks whether an fsync is still running (Redis's
// 2-second postponement rule) and reads the error of the last one.
#if canImport(Glibc)
import Glibc
#endif

final class BackgroundJobs: @unchecked Sendable {
    enum Job {
        case fsync(Int32)
        case close(Int32)
        case fsyncAndClose(Int32)
        case unlink(String)
    }

    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var queue: [Job] = []
    /// fsync jobs queued or running.
    private var fsyncsPending = 0
    /// errno of the last failed background fsync, 0 when the last one succeeded.
    private var fsyncErrno: Int32 = 0
    private var started = false

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
    }

    private func startIfNeeded() {
        if started { return }
        started = true
        var tid = pthread_t()
        let arg = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&tid, nil, { arg in
            let me = Unmanaged<BackgroundJobs>.fromOpaque(arg!).takeRetainedValue()
            me.run()
            return nil
        }, arg)
        pthread_detach(tid)
    }

    func submit(_ job: Job) {
        pthread_mutex_lock(&mutex)
        startIfNeeded()
        queue.append(job)
        switch job {
        case .fsync, .fsyncAndClose: fsyncsPending += 1
        default: break
        }
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
        while true {
            pthread_mutex_lock(&mutex)
            while queue.isEmpty { pthread_cond_wait(&cond, &mutex) }
            let job = queue.removeFirst()
            pthread_mutex_unlock(&mutex)
            var failed: Int32 = 0
            var wasFsync = false
            switch job {
            case .fsync(let fd):
                wasFsync = true
                if fdatasync(fd) != 0 && errno != EBADF && errno != EINVAL { failed = errno }
            case .fsyncAndClose(let fd):
                wasFsync = true
                if fdatasync(fd) != 0 && errno != EINVAL { failed = errno }
                Glibc.close(fd)
            case .close(let fd):
                Glibc.close(fd)
            case .unlink(let path):
                Glibc.unlink(path)
            }
            pthread_mutex_lock(&mutex)
            if wasFsync {
                fsyncsPending -= 1
                if failed != 0 { fsyncErrno = failed }
            }
            pthread_mutex_unlock(&mutex)
        }
    }
}
