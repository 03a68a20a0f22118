// ForkedChild: the one way persistence forks — BGSAVE and BGREWRITEAOF alike. The child runs its work
// (the writers and plain system calls only: no Foundation, no Dispatch), sends its copy-on-write byte
// count back through a pipe and _exits 0 or 1; the parent reaps it from the cron without blocking, or
// kills it (SHUTDOWN, FLUSHALL, turning the AOF off).
#if canImport(Glibc)
import Glibc
#endif

struct ForkedChild {
    let pid: pid_t
    let pipeFD: Int32

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
    static func start(prepare: () -> Void, log: (Bool, String) -> Void, work: () throws -> Void) throws(StartError) -> ForkedChild {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 { throw .pipe(errno) }
        let pid = fork()
        if pid == 0 {
            close(fds[0])
            prepare()
            var status: Int32 = 0
            do {
                try work()
            } catch {
                log(true, "\(error)")
                status = 1
            }
            var cow = Int64(Snapshots.privateDirtyBytes())
            _ = write(fds[1], &cow, 8)
            close(fds[1])
            _exit(status)
        }
        let e = errno
        close(fds[1])
        if pid < 0 {
            close(fds[0])
            throw .fork(e)
        }
        return ForkedChild(pid: pid, pipeFD: fds[0])
    }

    /// The outcome and the child's copy-on-write bytes once it has exited; nil while it runs.
    func reap() -> (outcome: Outcome, cowBytes: Int?)? {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        var cow: Int64 = 0
        let gotCow = read(pipeFD, &cow, 8) == 8
        close(pipeFD)
        let outcome: Outcome
        if (status & 0x7f) != 0 {
            outcome = .signaled(status & 0x7f)
        } else {
            outcome = (status >> 8) & 0xff == 0 ? .success : .failed
        }
        return (outcome, gotCow ? Int(cow) : nil)
    }

    /// Kills the child and waits for it; returns its wait status.
    @discardableResult
    func kill() -> Int32 {
        Glibc.kill(pid, SIGUSR1)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(pipeFD)
        return status
    }
}
