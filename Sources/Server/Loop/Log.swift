// Log: Redis's log line format, `pid:M 21 Nov 2026 05:31:02.772 * message`, with its levels
// (debug `.`, verbose `-`, notice `*`, warning `#`), to `logfile` or standard output.
#if canImport(Glibc)
import Glibc
#endif
import CSystem

public enum LogLevel: Int, Sendable {
    case debug = 0, verbose, notice, warning

    public init?(name: String) {
        switch name.lowercased() {
        case "debug": self = .debug
        case "verbose": self = .verbose
        case "notice": self = .notice
        case "warning": self = .warning
        default: return nil
        }
    }

    var mark: String {
        switch self {
        case .debug: return "."
        case .verbose: return "-"
        case .notice: return "*"
        case .warning: return "#"
        }
    }
}

public final class Log {
    public var level: LogLevel = .notice
    /// Empty: standard output.
    public var file = "" {
        didSet { reopen() }
    }
    /// M for the main process, C for a forked child.
    public var role: Character = "M"
    var fd: Int32 = 1

    public init() {}

    func reopen() {
        if fd > 2 { close(fd) }
        fd = 1
        if !file.isEmpty {
            let d = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            if d >= 0 { fd = d }
        }
        cairn_set_crash_log_fd(fd)
    }

    public func log(_ l: LogLevel, _ message: String) {
        guard l.rawValue >= level.rawValue else { return }
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var tmv = tm()
        localtime_r(&t, &tmv)
        var buf = [CChar](repeating: 0, count: 64)
        let n = strftime(&buf, 64, "%d %b %Y %H:%M:%S", &tmv)
        let stamp = String(decoding: buf[0 ..< n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let ms = Int(ts.tv_nsec / 1_000_000)
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        let line = "\(getpid()):\(role) \(stamp).\(msText) \(l.mark) \(message)\n"
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Writes `text` as it is, without the line prefix (Redis's raw log lines: the start-up logo).
    public func raw(_ l: LogLevel, _ text: String) {
        guard l.rawValue >= level.rawValue else { return }
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
    }

    public func notice(_ m: String) { log(.notice, m) }
    public func warning(_ m: String) { log(.warning, m) }
    public func verbose(_ m: String) { log(.verbose, m) }
    public func debug(_ m: String) { log(.debug, m) }
}
