// ChildInfo: what a forked child (BGSAVE, BGREWRITEAOF) tells its parent while it runs and when it
// ends, through the pipe ForkedChild opens. Each message is four little-endian Int64s:
//   kind (1: progress, 2: final), keys processed, copy-on-write bytes, when the COW was measured (µs,
//   CLOCK_MONOTONIC, the same clock in both processes).
// As in Redis, the child reports progress at most once a second (checked every 1024 keys), and
// measures its copy-on-write (a read of /proc/self/smaps_rollup) no more than 1% of the time.
#if canImport(Glibc)
import Glibc
#endif

/// The parent's view of a running child: INFO's current_cow_* and current_save_keys_* fields.
public struct ChildProgress: Sendable {
    public var keysProcessed = 0
    public var keysTotal = 0
    public var cowBytes = 0
    public var cowPeak = 0
    /// Monotonic µs of the last COW measurement (0: none yet).
    public var cowUpdatedUsec: Int64 = 0
    public init(keysTotal: Int = 0) { self.keysTotal = keysTotal }

    /// INFO persistence's current_* fields (all zero when no child runs).
    public static func infoFields(_ p: ChildProgress?) -> [String] {
        guard let p else {
            return ["current_cow_peak:0", "current_cow_size:0", "current_cow_size_age:0", "current_fork_perc:0.00",
                    "current_save_keys_processed:0", "current_save_keys_total:0"]
        }
        let age = p.cowUpdatedUsec == 0 ? 0 : max(0, (ChildInfo.monotonicUsec() - p.cowUpdatedUsec) / 1_000_000)
        let perc = p.keysTotal > 0 ? Double(p.keysProcessed) * 100 / Double(p.keysTotal) : 0
        let hundredths = Int((perc * 100).rounded())
        let frac = hundredths % 100
        return ["current_cow_peak:\(p.cowPeak)", "current_cow_size:\(p.cowBytes)", "current_cow_size_age:\(age)",
                "current_fork_perc:\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)",
                "current_save_keys_processed:\(p.keysProcessed)", "current_save_keys_total:\(p.keysTotal)"]
    }
}

public enum ChildInfo {
    static let progressKind: Int64 = 1
    static let finalKind: Int64 = 2

    // The child's side: set right after fork(), used by that single thread only.
    nonisolated(unsafe) static var pipeFD: Int32 = -1
    nonisolated(unsafe) static var keys = 0
    nonisolated(unsafe) static var lastReportMS: Int64 = 0
    nonisolated(unsafe) static var cow = 0
    nonisolated(unsafe) static var cowUpdated: Int64 = 0
    nonisolated(unsafe) static var cowCost: Int64 = 0

    static func monotonicUsec() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    /// In the child, right after fork().
    static func startInChild(pipe fd: Int32) {
        pipeFD = fd
        keys = 0
        lastReportMS = monotonicUsec() / 1000
        cow = 0
        cowUpdated = 0
        cowCost = 0
    }

    /// Called by a child's writer after each key (a no-op outside a child, e.g. SAVE).
    @inline(__always)
    static func keyDone() {
        guard pipeFD >= 0 else { return }
        let before = keys
        keys += 1
        if before & 1023 == 0 { reportIfDue() }
    }

    static func reportIfDue() {
        let now = monotonicUsec()
        guard now / 1000 - lastReportMS >= 1000 else { return }
        lastReportMS = now / 1000
        // Measuring is costly on a big process: keep it under about 1% of the child's time.
        if cowUpdated == 0 || now - cowUpdated > cowCost * 100 { measureCow() }
        send(progressKind)
    }

    static func measureCow() {
        let t0 = monotonicUsec()
        cow = Snapshots.privateDirtyBytes()
        cowUpdated = monotonicUsec()
        cowCost = cowUpdated - t0
    }

    /// The last message, as the child ends.
    static func sendFinal() {
        guard pipeFD >= 0 else { return }
        measureCow()
        send(finalKind)
    }

    /// In the child: called when a report finds the parent gone (the pipe's read end closed with it);
    /// logs and exits, so a killed server leaves no snapshot child running on (Redis's child does so too).
    nonisolated(unsafe) static var parentGone: ((Int32) -> Void)? = nil

    static func send(_ kind: Int64) {
        var msg: (Int64, Int64, Int64, Int64) = (kind, Int64(keys), Int64(cow), cowUpdated)
        let n = withUnsafeBytes(of: &msg) { write(pipeFD, $0.baseAddress, $0.count) }
        // EAGAIN: a parent that does not read now (DEBUG PAUSE-CRON) loses this report, nothing more.
        if n < 0 && errno == EPIPE, kind == progressKind, let gone = parentGone { gone(errno) }
    }

    /// The parent's side: reads every whole message waiting on the (non-blocking) pipe into
    /// `progress`; returns the final COW bytes if the final message was among them.
    static func drain(_ fd: Int32, into progress: inout ChildProgress) -> Int? {
        var final: Int? = nil
        while true {
            var msg: (Int64, Int64, Int64, Int64) = (0, 0, 0, 0)
            let n = withUnsafeMutableBytes(of: &msg) { read(fd, $0.baseAddress, $0.count) }
            guard n == MemoryLayout.size(ofValue: msg) else { break }
            if msg.0 == finalKind {
                final = Int(msg.2)
            } else {
                progress.keysProcessed = Int(msg.1)
                progress.cowBytes = Int(msg.2)
                progress.cowPeak = max(progress.cowPeak, Int(msg.2))
                progress.cowUpdatedUsec = msg.3
            }
        }
        return final
    }
}
