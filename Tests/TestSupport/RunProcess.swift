// Running a program to completion with its output captured: posix_spawn and waitpid, stdin fed and
// both outputs drained together (no pipe fills up), an optional time limit; and `which`.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// pipe2(2) and posix_spawn_file_actions_addchdir_np(3), which Glibc's Swift overlay does not export.
@_silgen_name("pipe2") private func c_pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32
@_silgen_name("posix_spawn_file_actions_addchdir_np")
private func c_addchdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: UnsafePointer<CChar>) -> Int32
private func cloexecPipe(_ fds: inout [Int32]) -> Int32 { fds.withUnsafeMutableBufferPointer { c_pipe2($0.baseAddress!, O_CLOEXEC) } }

/// Runs a program and returns its exit status (the signal number if a signal ended it), stdout and
/// stderr. Spawned with posix_spawn and reaped with waitpid: this helper runs thousands of tool
/// processes per suite, and Foundation.Process's exit notification was once seen to never arrive
/// (under AddressSanitizer), leaving waitUntilExit blocked forever on a child already gone.
/// - `stdin`: fed to the program, then closed (closed at once when nil or empty).
/// - `cwd`: the program's working folder (the caller's when nil).
/// - `stderrToStdout`: both outputs in `out`, interleaved as written (`err` stays empty).
/// - `timeout`: seconds after which the program is killed with SIGKILL (status 9).
@discardableResult
public func runProcess(_ exe: String, _ args: [String], stdin: Data? = nil, cwd: String? = nil,
                       stderrToStdout: Bool = false, timeout: Double? = nil) throws -> (status: Int32, out: Data, err: String) {
    // Close-on-exec from the start: a server another test spawns meanwhile must not inherit a pipe end.
    var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
    guard cloexecPipe(&inPipe) == 0, cloexecPipe(&outPipe) == 0, cloexecPipe(&errPipe) == 0 else {
        throw TestFailure(description: "pipe: \(String(cString: strerror(errno)))")
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, stderrToStdout ? outPipe[1] : errPipe[1], 2)
    if let cwd { _ = c_addchdir(&actions, cwd) }
    let argv: [UnsafeMutablePointer<CChar>?] = ([exe] + args).map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, exe, &actions, nil, argv, environ)
    for fd in [inPipe[0], outPipe[1], errPipe[1]] { close(fd) }
    guard rc == 0 else {
        for fd in [inPipe[1], outPipe[0], errPipe[0]] { close(fd) }
        throw TestFailure(description: "cannot run \(exe): \(String(cString: strerror(rc)))")
    }
    // Feed stdin and drain both outputs together, so no pipe can fill up and block the child.
    let input = [UInt8](stdin ?? Data())
    var written = 0
    var inFD: Int32 = inPipe[1]
    if input.isEmpty { close(inFD); inFD = -1 } else { _ = fcntl(inFD, F_SETFL, fcntl(inFD, F_GETFL) | O_NONBLOCK) }
    var out = [UInt8](), err = [UInt8]()
    var open: [Int32] = [outPipe[0], errPipe[0]]
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    let deadline = timeout.map { Date().addingTimeInterval($0) }
    var killed = false
    while !open.isEmpty || inFD >= 0 {
        var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        if inFD >= 0 { fds.append(pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0)) }
        var wait: Int32 = -1
        if let deadline, !killed {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 {
                kill(pid, SIGKILL)
                killed = true
                // A grandchild may still hold the outputs open: stop feeding it and stop waiting.
                if inFD >= 0 { close(inFD); inFD = -1 }
                for fd in open { close(fd) }
                open.removeAll()
                break
            }
            wait = Int32(min(left * 1000 + 1, 60_000))
        }
        let ready = poll(&fds, nfds_t(fds.count), wait)
        if ready < 0 {
            if errno == EINTR { continue }
            break
        }
        for f in fds where f.revents != 0 {
            if f.fd == inFD {
                let n = input.withUnsafeBytes { write(inFD, $0.baseAddress! + written, input.count - written) }
                if n > 0 { written += n }
                if n < 0 && errno == EAGAIN { continue }
                if n <= 0 || written == input.count { close(inFD); inFD = -1 }
                continue
            }
            let n = chunk.withUnsafeMutableBytes { read(f.fd, $0.baseAddress!, $0.count) }
            if n > 0 {
                if f.fd == outPipe[0] { out += chunk[0 ..< n] } else { err += chunk[0 ..< n] }
            } else if n == 0 || errno != EINTR {
                close(f.fd)
                open.removeAll { $0 == f.fd }
            }
        }
    }
    for fd in open { close(fd) }
    if inFD >= 0 { close(inFD) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    // Exit code when it exited, else the signal number (as Foundation.Process reports it).
    let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : status & 0x7f
    return (code, Data(out), String(decoding: err, as: UTF8.self))
}

/// The full path of an installed program, looked up in the usual system folders (not $PATH, so a
/// developer's own builds never stand in for Debian's).
public func which(_ name: String) -> String? {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin", "/usr/sbin"] {
        let p = dir + "/" + name
        if access(p, X_OK) == 0 { return p }
    }
    return nil
}
