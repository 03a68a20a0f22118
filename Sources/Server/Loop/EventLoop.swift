// EventLoop: Cairn's own small epoll loop (DESIGN.md: one command thread, no thread pools, so a
// fork() for snapshots never inherits a lock held by another thread). Descriptors are registered
// with a handler; a `beforeSleep` hook runs before each wait (replies and AOF are flushed there);
// timers are checked after each wake-up.
#if canImport(Glibc)
import Glibc
#endif
import CSystem

public final class EventLoop {
    public typealias Handler = (_ readable: Bool, _ writable: Bool, _ hangup: Bool) -> Void

    let epfd: Int32
    var handlers: [Int32: Handler] = [:]
    var interest: [Int32: UInt32] = [:]
    var timers: [(id: Int, due: Int64, interval: Int64, body: () -> Void)] = []
    var nextTimerID = 1
    public var beforeSleep: (() -> Void)? = nil
    /// Set (by `beforeSleep`) while background work is unfinished: the next poll does not wait.
    public var busy = false
    public private(set) var stopped = false
    let maxEvents = 1024
    var readyFDs: [Int32]
    var readyEvents: [UInt32]

    // Spinning before sleeping. On a virtual machine a core that goes idle is handed back to the host,
    // and waking it for the next request costs more than serving it: a request-reply client (one
    // request in flight per connection) then waits on that wake-up every round trip. So after a pass
    // that had work, the loop looks for new events for a short while before it blocks. It adapts: a
    // spin that finds nothing doubles the number of later sleeps that go without one (up to
    // `spinBackoffMax`), so an idle or lightly loaded server does not burn a core; a spin that finds
    // an event resets it.
    /// How long one spin looks for events, in nanoseconds (0 turns spinning off).
    public var spinNanoseconds = 50_000
    static let spinBackoffMax = 1024
    var lastPollHadEvents = false
    var spinBackoff = 0
    var sleepsUntilSpin = 0

    public init() {
        epfd = cairn_epoll_create()
        precondition(epfd >= 0, "epoll_create1 failed")
        readyFDs = [Int32](repeating: 0, count: maxEvents)
        readyEvents = [UInt32](repeating: 0, count: maxEvents)
    }

    deinit {
        close(epfd)
    }

    /// Monotonic milliseconds.
    public static func monotonicMS() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Watches `fd` for reading (and writing when `writable`).
    public func add(_ fd: Int32, writable: Bool = false, handler: @escaping Handler) {
        handlers[fd] = handler
        let events = CAIRN_EV_READ | (writable ? CAIRN_EV_WRITE : 0)
        interest[fd] = events
        cairn_epoll_ctl(epfd, 1, fd, events)
    }

    /// Turns write interest on or off for `fd`.
    public func setWritable(_ fd: Int32, _ on: Bool) {
        guard let cur = interest[fd] else { return }
        let want = on ? (cur | CAIRN_EV_WRITE) : (cur & ~CAIRN_EV_WRITE)
        if want == cur { return }
        interest[fd] = want
        cairn_epoll_ctl(epfd, 2, fd, want)
    }

    public func remove(_ fd: Int32) {
        guard handlers.removeValue(forKey: fd) != nil else { return }
        interest[fd] = nil
        cairn_epoll_ctl(epfd, 3, fd, 0)
    }

    /// Runs `body` every `intervalMS` milliseconds. Returns the timer's id.
    @discardableResult
    public func every(_ intervalMS: Int64, _ body: @escaping () -> Void) -> Int {
        let id = nextTimerID
        nextTimerID += 1
        timers.append((id, EventLoop.monotonicMS() + intervalMS, intervalMS, body))
        return id
    }

    public func setInterval(_ id: Int, _ intervalMS: Int64) {
        if let i = timers.firstIndex(where: { $0.id == id }) { timers[i].interval = intervalMS }
    }

    public func stop() { stopped = true }

    /// Runs until `stop()`.
    public func run() {
        while !stopped {
            beforeSleep?()
            if stopped { break }
            let now = EventLoop.monotonicMS()
            var timeout: Int64 = 1000
            for t in timers { timeout = min(timeout, max(0, t.due - now)) }
            poll(timeoutMS: busy ? 0 : timeout)
            let after = EventLoop.monotonicMS()
            for i in timers.indices where timers[i].due <= after {
                timers[i].due = after + timers[i].interval
                timers[i].body()
            }
        }
    }

    /// One pass without timers: write pending output, then handle ready descriptors (waiting at
    /// most `timeoutMS`). Used while loading data at start-up, to answer clients with -LOADING.
    public func runOnce(timeoutMS: Int64 = 0) {
        beforeSleep?()
        poll(timeoutMS: timeoutMS)
        beforeSleep?()
    }

    @inline(__always)
    func wait(_ timeout: Int32) -> Int32 {
        readyFDs.withUnsafeMutableBufferPointer { fds in
            readyEvents.withUnsafeMutableBufferPointer { evs in
                cairn_epoll_wait(epfd, fds.baseAddress, evs.baseAddress, Int32(maxEvents), timeout)
            }
        }
    }

    /// Looks for events without sleeping for up to `spinNanoseconds` (see above); 0 when none came.
    func spin() -> Int32 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let end = Int(ts.tv_sec) &* 1_000_000_000 &+ Int(ts.tv_nsec) &+ spinNanoseconds
        while true {
            let n = wait(0)
            if n != 0 { return n }
            // Another process runnable on this core (a replica, the client) gets it meanwhile.
            sched_yield()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            if Int(ts.tv_sec) &* 1_000_000_000 &+ Int(ts.tv_nsec) >= end { return 0 }
        }
    }

    func poll(timeoutMS timeout: Int64) {
        do {
            var n: Int32 = 0
            if timeout > 0 && lastPollHadEvents && spinNanoseconds > 0 {
                if sleepsUntilSpin > 0 {
                    sleepsUntilSpin -= 1
                } else {
                    n = spin()
                    if n > 0 {
                        spinBackoff = 0
                    } else {
                        spinBackoff = min(EventLoop.spinBackoffMax, max(1, spinBackoff * 2))
                        sleepsUntilSpin = spinBackoff
                    }
                }
            }
            if n == 0 { n = wait(Int32(timeout)) }
            lastPollHadEvents = n > 0
            if n > 0 {
                for i in 0 ..< Int(n) {
                    let fd = readyFDs[i]
                    guard let h = handlers[fd] else { continue }
                    let e = readyEvents[i]
                    h(e & CAIRN_EV_READ != 0, e & CAIRN_EV_WRITE != 0, e & CAIRN_EV_HANGUP != 0)
                }
            }
        }
    }
}
