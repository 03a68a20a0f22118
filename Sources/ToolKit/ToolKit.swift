// ToolKit: what the offline tools share: exit codes, output, error reporting.
import StorageFormat

/// Exit codes every Cairn tool uses.
public enum ToolExit: Int32 {
    case ok = 0
    /// The input is invalid (a format problem was found).
    case invalid = 1
    /// Usage or I/O error.
    case usage = 2
}

/// Maps an error to the message a tool prints and its exit code.
public func classify(_ error: Error) -> (message: String, code: ToolExit) {
    switch error {
    case let e as FormatError: return ("invalid input: \(e)", .invalid)
    case let e as RDBWriteError: return ("cannot convert: \(e)", .usage)
    case let e as IOError: return ("I/O error: \(e)", .usage)
    default: return ("error: \(error)", .usage)
    }
}

#if canImport(Glibc)
import Glibc

/// Tools read regular files through read-only mappings. If another process truncates the file while
/// it is read, touching a page past the new end raises SIGBUS, which would kill the tool with no
/// explanation. This turns that into a clear message and exit code 2 (an I/O error).
public func installTruncatedInputGuard() {
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in
        // Only async-signal-safe calls here: write(2) of static bytes, then _exit.
        let text: StaticString = "error: the input file shrank while it was being read (SIGBUS); was it truncated or replaced?\n"
        _ = write(2, text.utf8Start, text.utf8CodeUnitCount)
        _exit(2)
    }
    sigemptyset(&action.sa_mask)
    sigaction(SIGBUS, &action, nil)
}
#endif
