// OOMScore: `oom-score-adj` and `oom-score-adj-values`, as redis-server applies them on Linux. When
// enabled, the process's /proc/self/oom_score_adj becomes the value for its class (the first of the
// three values for a primary, the second for a replica, set again when the role changes; the third for
// a forked snapshot or rewrite child): added to the score the process had
// when the setting was turned on (`yes`/`relative`) or taken as it is (`absolute`), clamped to
// -1000…1000. Turning it off puts the original score back.
#if canImport(Glibc)
import Glibc
#endif

final class OOMScoreAdjuster {
    /// The score the process had when adjusting was turned on; nil while off.
    private(set) var base: Int? = nil
    /// What a forked child writes to its own oom_score_adj (prepared in the parent: the child only writes).
    var childBytes: [UInt8] = []

    static func read() -> Int? {
        let fd = open("/proc/self/oom_score_adj", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 31) }
        guard n > 0 else { return nil }
        return Int(String(decoding: buf[0 ..< n].filter { $0 == UInt8(ascii: "-") || ($0 >= 48 && $0 <= 57) }, as: UTF8.self))
    }

    @discardableResult
    static func write(_ bytes: [UInt8]) -> Bool {
        let fd = open("/proc/self/oom_score_adj", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count
    }

    /// Applies `mode` (0 no, 1 relative, 2 absolute) with `values`; returns an error text on failure.
    func apply(mode: Int, values: [Int], replica: Bool) -> String? {
        guard mode != 0 else {
            if let b = base { OOMScoreAdjuster.write(Array(String(b).utf8)) }
            base = nil
            childBytes = []
            return nil
        }
        if base == nil { base = OOMScoreAdjuster.read() ?? 0 }
        func score(_ v: Int) -> Int { max(-1000, min(1000, mode == 1 ? base! + v : v)) }
        childBytes = Array(String(score(values.count > 2 ? values[2] : 0)).utf8)
        let own = replica ? (values.count > 1 ? values[1] : 0) : (values.first ?? 0)
        guard OOMScoreAdjuster.write(Array(String(score(own)).utf8)) else {
            return "Failed to set current oom_score_adj. Check server logs."
        }
        return nil
    }
}

extension CairnServer {
    /// Applies oom-score-adj for the current role (after a config change or a role change).
    @discardableResult
    func updateOOMScore() -> String? {
        var mode = 0, values: [Int] = []
        if case .enumeration(let m)? = config.value("oom-score-adj") { mode = m }
        if case .ints(let v)? = config.value("oom-score-adj-values") { values = v }
        return oomScore.apply(mode: mode, values: values, replica: masterLink != nil)
    }
}
