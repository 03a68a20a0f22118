// Progress: the one progress bar every Cairn tool shows on a terminal — bytes done of the total, rate
// and ETA, redrawn at most 10 times a second on standard error. Nothing is drawn when standard error
// is not a terminal (piped or redirected output), or when the caller turns it off (--no-progress,
// --json), so scripts never see it.
#if canImport(Glibc)
import Glibc
#endif

public final class Progress {
    let total: Int?
    let label: String
    let enabled: Bool
    var lastDraw: Double = 0
    var start: Double
    var drawn = false

    /// `total`: bytes expected (nil when unknown, e.g. a pipe or gzip input). `enabled`: false to
    /// never draw; true draws only when standard error is a terminal.
    public init(label: String, total: Int?, enabled: Bool = true) {
        self.label = label
        self.total = total
        self.enabled = enabled && isatty(2) != 0
        start = Progress.now()
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Reports `done` bytes; cheap to call often (it only reads the clock every 64 KiB of progress).
    @inline(__always)
    public func update(_ done: Int) {
        guard enabled else { return }
        let t = Progress.now()
        if t - lastDraw < 0.1 { return }
        lastDraw = t
        draw(done, t)
    }

    /// Clears the bar (call before printing results).
    public func finish() {
        guard enabled, drawn else { return }
        write(2, "\r\u{1b}[K", 4)
        drawn = false
    }

    func draw(_ done: Int, _ t: Double) {
        let elapsed = max(t - start, 1e-6)
        let rate = Double(done) / elapsed
        var line = "\r\u{1b}[K\(label) "
        if let total, total > 0 {
            let frac = min(1, Double(done) / Double(total))
            let width = 30
            let filled = Int(frac * Double(width))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            line += "\(Int(frac * 100))% \(Progress.bytes(done))/\(Progress.bytes(total)) \(Progress.bytes(Int(rate)))/s"
            if rate > 0 { line += " ETA \(Progress.duration(Double(total - done) / rate))" }
        } else {
            line += "\(Progress.bytes(done)) \(Progress.bytes(Int(rate)))/s"
        }
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        drawn = true
    }

    /// "1.5 GB", "320 MB", "12 KB", "17 B".
    public static func bytes(_ n: Int) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var v = Double(n)
        var u = 0
        while v >= 1000 && u < units.count - 1 { v /= 1000; u += 1 }
        if u == 0 { return "\(n) B" }
        let tenths = Int((v * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[u])"
    }

    /// "42s", "3m07s", "1h02m".
    public static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let t = Int(s.rounded())
        if t < 60 { return "\(t)s" }
        if t < 3600 { return "\(t / 60)m\(t % 60 < 10 ? "0" : "")\(t % 60)s" }
        return "\(t / 3600)h\((t % 3600) / 60 < 10 ? "0" : "")\((t % 3600) / 60)m"
    }
}
