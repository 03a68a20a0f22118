// DebugDelays: the testing knobs `rdb-key-save-delay` and `key-load-delay` (microseconds per key
// saved or loaded) that Redis's test suite uses to make a snapshot or a load slow enough to observe.
// A negative value -N sleeps one microsecond on about one key in N, for delays under a microsecond.
#if canImport(Glibc)
import Glibc
#endif

public enum DebugDelays {
    /// Microseconds slept after each key written by a snapshot (0: none). Read in the forked child.
    nonisolated(unsafe) public static var keySave: Int32 = 0
    /// Microseconds slept after each key loaded from an RDB file (0: none).
    nonisolated(unsafe) public static var keyLoad: Int32 = 0

    @inline(__always)
    static func pause(_ micros: Int32) {
        if micros == 0 { return }
        var us = micros
        if us < 0 { us = random() % Int(-us) == 0 ? 1 : 0 }
        if us > 0 { usleep(useconds_t(us)) }
    }
}
