// ForkedChild: the one way persistence forks — BGSAVE and BGREWRITEAOF alike. The child runs its work
// (the writers and plain system calls only: no Foundation, no Dispatch), reports its progress and
// copy-on-write bytes through a pipe (ChildInfo) and _exits 0 or 1; the parent reads the reports and
// reaps it from the cron without blocking, or kills it (SHUTDOWN, FLUSHALL, turning the AOF off).
#if canImport(Glibc)
import Glibc
#endif

struct ForkedChild {
    let pid: pid_t
    let pipeFD: Int32
    /// What the child reported last (INFO's current_* fields).
    var progress: ChildProgress
    /// The copy-on-write bytes of the child's final report, once read.
    var finalCow: Int? = nil

    enum StartError: Error {
        case pipe(Int32)
        case fork(Int32)
    }

    enum Outcome {
        case success
        case failed
        case signaled(Int32)
    }

    /// Forks. In the child: `prepare()`, then `work()`; an error it throws is logged and makes the
    /// exit status 1.
    /// `keysTotal` is the number of keys the child will walk (current_save_keys_total).
    static func start(keysTotal: Int = 0, prepare: () -> Void, log: (Bool, String) -> Void, work: () throws -> Void) throws(StartError) -> ForkedChild {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 { throw .pipe(errno) }
        let pid = fork()
        if pid == 0 {
            close(fds[0])
            // SIGUSR1 ends the child (kill()), whatever disposition and mask the server was started with.
            signal(SIGUSR1, SIG_DFL)
            var usr1 = sigset_t()
            sigemptyset(&usr1)
            sigaddset(&usr1, SIGUSR1)
            sigprocmask(SIG_UNBLOCK, &usr1, nil)
            // Never block on a parent that does not read (DEBUG PAUSE-CRON): a report is dropped instead.
            _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
            ChildInfo.startInChild(pipe: fds[1])
            prepare()
            var status: Int32 = 0
            withoutActuallyEscaping(log) { log in
                ChildInfo.parentGone = { e in
                    log(true, "Child failed reporting info to parent, exiting. \(String(cString: strerror(e)))")
                    _exit(1)
                }
                do {
                    try work()
                } catch {
                    log(true, "\(error)")
                    status = 1
                }
                ChildInfo.parentGone = nil
            }
            ChildInfo.sendFinal()
            close(fds[1])
            _exit(status)
        }
        let e = errno
        close(fds[1])
        if pid < 0 {
            close(fds[0])
            throw .fork(e)
        }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        return ForkedChild(pid: pid, pipeFD: fds[0], progress: ChildProgress(keysTotal: keysTotal))
    }

    /// Reads the reports waiting on the pipe (from the cron, while the child runs).
    mutating func poll() {
        if let cow = ChildInfo.drain(pipeFD, into: &progress) { finalCow = cow }
    }

    /// The outcome and the child's copy-on-write bytes once it has exited; nil while it runs.
    mutating func reap() -> (outcome: Outcome, cowBytes: Int?)? {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        poll()
        close(pipeFD)
        let outcome: Outcome
        if (status & 0x7f) != 0 {
            outcome = .signaled(status & 0x7f)
        } else {
            outcome = (status >> 8) & 0xff == 0 ? .success : .failed
        }
        return (outcome, finalCow)
    }

    /// Kills the child and waits for it; returns its wait status. SIGUSR1 first (as Redis); a child that
    /// does not die of it within a second (the signal inherited ignored or blocked from whoever started
    /// the server) gets SIGKILL, so the parent never waits on a child blocked writing to it.
    @discardableResult
    func kill() -> Int32 {
        Glibc.kill(pid, SIGUSR1)
        var status: Int32 = 0
        for _ in 0 ..< 1000 {
            if waitpid(pid, &status, WNOHANG) == pid { close(pipeFD); return status }
            usleep(1000)
        }
        Glibc.kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        close(pipeFD)
        return status
    }
}
